#include "resolvconf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../lib/fdio.h"
#include "../lib/text.h"

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
	if (net_parse(buf, false, &a, NULL) < 0)
		return;
	for (size_t i = 0; i < *n; i++)
		if (net_equal(&v[i], &a))
			return;
	v[(*n)++] = a;
}

static const char marker[] = "# palisade upstreams:";

static bool starts(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);
	return (size_t)(end - p) >= n && strncmp(p, word, n) == 0;
}

/* Adds each address of "a b c" (up to end) to v. */
static void add_list(struct net_addr *v, size_t *n, const char *p, const char *end)
{
	while (p < end) {
		while (p < end && (isspace((unsigned char)*p) || *p == '[' || *p == ']'))
			p++;
		const char *q = p;
		while (q < end && !isspace((unsigned char)*q) && *q != ']')
			q++;
		if (q > p && strncmp(p, "host(", 5) != 0)
			add(v, n, p, (size_t)(q - p));
		p = q;
	}
}

void resolvconf_parse(const char *text, struct resolvers *out)
{
	memset(out, 0, sizeof(*out));
	struct net_addr marked[RESOLVERS_MAX];
	size_t nmarked = 0;
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
			add_list(out->ext, &out->n_ext, p + sizeof(ext) - 1, end);
		} else if (starts(p, end, marker)) {
			out->filtered = true;
			add_list(marked, &nmarked, p + sizeof(marker) - 1, end);
		}
	}
	/* A file palisade already pointed at itself (a restarted container):
	 * the upstreams are the ones it recorded. */
	if (out->filtered) {
		memcpy(out->v, marked, nmarked * sizeof(marked[0]));
		out->n = nmarked;
	}
}

ssize_t resolvconf_filtered(const char *text, const struct resolvers *up, bool v6,
			    char *buf, size_t cap)
{
	struct text t;
	text_init(&t, buf, cap);
	textf(&t, "# palisade serves DNS here and forwards allowed names to the upstreams.\n");
	textf(&t, "%s", marker);
	for (size_t i = 0; i < up->n; i++) {
		char a[NET_ADDR_STRLEN];
		net_format(&up->v[i], a, sizeof(a));
		textf(&t, " %s", a);
	}
	textf(&t, "\nnameserver 127.0.0.1\n");
	if (v6)
		textf(&t, "nameserver ::1\n");
	const char *line = text;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *start = line, *p = line, *end = line + len;
		line = nl ? nl + 1 : NULL;
		while (p < end && isspace((unsigned char)*p))
			p++;
		if ((starts(p, end, "nameserver") && end - p > 10 && isspace((unsigned char)p[10])) ||
		    starts(p, end, marker) || starts(p, end, "# palisade serves DNS here"))
			continue;
		textf(&t, "%.*s\n", (int)len, start);
	}
	return t.used >= cap ? -1 : (ssize_t)t.used;
}

int resolvconf_load(const char *path, char *buf, size_t cap, struct perr *err)
{
	long n = read_text(path, buf, cap);
	if (n < 0 && errno == ENOENT) {
		buf[0] = '\0';
		return 0;
	}
	if (n < 0)
		return perr_sys(err, errno, "cannot read %s", path);
	return (int)n;
}

int resolvconf_write(const char *path, const char *text, size_t len, struct perr *err)
{
	/* In place: in a container the file is often a bind mount, which a
	 * rename cannot replace. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return perr_sys(err, errno, "cannot open %s", path);
	if (write_full(fd, text, len) < 0) {
		int e = errno;
		close(fd);
		return perr_sys(err, e, "cannot write %s", path);
	}
	if (close(fd) < 0)
		return perr_sys(err, errno, "cannot write %s", path);
	return 0;
}

int resolvconf_read(const char *path, struct resolvers *out, struct perr *err)
{
	memset(out, 0, sizeof(*out));
	char buf[RESOLVCONF_MAX];
	if (resolvconf_load(path, buf, sizeof(buf), err) < 0)
		return -1;
	resolvconf_parse(buf, out);
	return 0;
}
