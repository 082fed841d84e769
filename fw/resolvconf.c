#include "resolvconf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static void add(struct net_addr *v, size_t *n, const char *text, size_t len)
{
	char buf[64];
	if (len == 0 || len >= sizeof(buf) || *n >= RESOLVERS_MAX)
		return;
	memcpy(buf, text, len);
	buf[len] = '\0';
	char *pct = strchr(buf, '%');
	if (pct)
		*pct = '\0';
	struct net_addr a;
	if (net_parse(buf, false, &a, NULL, 0) < 0)
		return;
	for (size_t i = 0; i < *n; i++)
		if (net_equal(&v[i], &a))
			return;
	v[(*n)++] = a;
}

void resolvconf_parse(const char *text, struct resolvers *out)
{
	memset(out, 0, sizeof(*out));
	const char *line = text;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *p = line, *end = line + len;
		line = nl ? nl + 1 : NULL;
		while (p < end && isspace((unsigned char)*p))
			p++;

		static const char ns[] = "nameserver";
		static const char ext[] = "# ExtServers:";
		if ((size_t)(end - p) > sizeof(ns) && strncmp(p, ns, sizeof(ns) - 1) == 0 &&
		    isspace((unsigned char)p[sizeof(ns) - 1])) {
			p += sizeof(ns) - 1;
			while (p < end && isspace((unsigned char)*p))
				p++;
			const char *q = p;
			while (q < end && !isspace((unsigned char)*q))
				q++;
			add(out->v, &out->n, p, (size_t)(q - p));
		} else if ((size_t)(end - p) >= sizeof(ext) - 1 &&
			   strncmp(p, ext, sizeof(ext) - 1) == 0) {
			/* "# ExtServers: [host(127.0.0.53) 192.0.2.53]" */
			p += sizeof(ext) - 1;
			while (p < end) {
				while (p < end && (isspace((unsigned char)*p) || *p == '[' || *p == ']'))
					p++;
				const char *q = p;
				while (q < end && !isspace((unsigned char)*q) && *q != ']')
					q++;
				if (q > p && strncmp(p, "host(", 5) != 0)
					add(out->ext, &out->n_ext, p, (size_t)(q - p));
				p = q;
			}
		}
	}
}

int resolvconf_read(const char *path, struct resolvers *out)
{
	memset(out, 0, sizeof(*out));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	char buf[16384];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[got] = '\0';
	resolvconf_parse(buf, out);
	return 0;
}
