#include "allowlist.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../dns/dnsmsg.h"
#include "../lib/array.h"
#include "presets.h"
#include "safefile.h"

/* Largest allowlist file read: far above any real list. */
#define ALLOW_FILE_MAX (16u << 20)

bool domain_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > DOMAIN_MAX)
		return false;
	size_t label = 0;
	bool all_digits = true; /* of the current label */
	for (size_t i = 0; i <= len; i++) {
		char c = name[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63)
				return false;
			if (name[i - 1] == '-' || name[i - label] == '-')
				return false;
			if (c == '\0' && all_digits)
				return false; /* "1.2.3" is a bad address, not a name */
			label = 0;
			all_digits = true;
			continue;
		}
		if (!(isalnum((unsigned char)c) || c == '-' || c == '_'))
			return false;
		if (!isdigit((unsigned char)c))
			all_digits = false;
		label++;
	}
	return true;
}

static int bad(struct perr *err, const char *text, const char *what)
{
	return perr_set(err, "\"%s\" %s", text, what);
}

static bool looks_numeric(const char *s)
{
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && *s != '.' && *s != '/')
			return false;
	return true;
}

int entry_parse(const char *text, struct entry *out, struct perr *err)
{
	char host[ALLOW_LINE_MAX + 1];
	struct perr why = PERR_INIT;
	size_t len = strlen(text);

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return bad(err, text, "is empty");
	if (len > ALLOW_LINE_MAX)
		return perr_set(err, "an entry of %zu bytes is longer than %d", len, ALLOW_LINE_MAX);

	const char *port = NULL;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close)
			return bad(err, text, "opens '[' without closing it");
		size_t hl = (size_t)(close - text - 1);
		memcpy(host, text + 1, hl);
		host[hl] = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return bad(err, text, "has text after ']' that is not :PORT");
		if (net_parse(host, true, &out->net, &why) < 0 ||
		    out->net.family != NET_V6)
			return bad(err, text, "has no IPv6 address or network inside [ ]");
		out->kind = ENTRY_NET;
	} else {
		const char *colon = strchr(text, ':');
		if (colon && strchr(colon + 1, ':')) {
			/* Two colons or more: a bare IPv6 address or network. */
			if (net_parse(text, true, &out->net, &why) < 0) {
				if (strchr(text, '/') && why.err != EAFNOSUPPORT)
					return bad(err, text, why.msg);
				return bad(err, text,
					    "is not an IPv6 address or network (write one with a port as [ADDRESS]:PORT)");
			}
			out->kind = ENTRY_NET;
		} else {
			size_t hl = colon ? (size_t)(colon - text) : len;
			memcpy(host, text, hl);
			host[hl] = '\0';
			if (colon)
				port = colon + 1;
			if (host[0] == '\0')
				return bad(err, text, "has no host before ':'");
			if (net_parse(host, true, &out->net, &why) == 0) {
				out->kind = ENTRY_NET;
			} else if (looks_numeric(host)) {
				return bad(err, text, why.err == EAFNOSUPPORT
							      ? "is not a domain, address or CIDR"
							      : why.msg);
			} else {
				bool wild = strncmp(host, "*.", 2) == 0;
				char *name = wild ? host + 2 : host;
				size_t nl = strlen(name);
				if (nl > 1 && name[nl - 1] == '.')
					name[--nl] = '\0';
				for (char *p = name; *p; p++)
					*p = (char)tolower((unsigned char)*p);
				if (!domain_valid(name)) {
					if (wild || strchr(name, '*'))
						return bad(err, text,
							    "is not a wildcard: write *.example.com (the * stands for any subdomain)");
					return bad(err, text, "is not a domain, address or CIDR");
				}
				out->kind = wild ? ENTRY_WILDCARD : ENTRY_DOMAIN;
				memcpy(out->name, name, nl + 1);
			}
		}
	}

	out->ports = PORTS_DEFAULT;
	if (port) {
		char num[8];
		size_t pl = strlen(port);
		if (pl > 4 && strcmp(port + pl - 4, "/tls") == 0) {
			/* name:PORT/tls: the name check reads the server name of
			 * each connection to PORT, as on 80 and 443. */
			if (out->kind == ENTRY_NET)
				return bad(err, text, "marks an address as TLS; only names are "
					   "checked (write NAME:PORT/tls)");
			if (pl - 4 >= sizeof(num))
				return bad(err, text, "has a port that is not 1-65535 or *");
			memcpy(num, port, pl - 4);
			num[pl - 4] = '\0';
			port = num;
			out->tls = true;
		}
		if (strcmp(port, "*") == 0 && !out->tls) {
			out->ports = PORTS_ALL;
		} else if (port_parse(port, &out->port) == 0) {
			out->ports = PORTS_ONE;
		} else {
			return bad(err, text, "has a port that is not 1-65535 or *");
		}
	}
	return 0;
}

void entry_format(const struct entry *e, char *buf, size_t len)
{
	char host[DOMAIN_MAX + NET_ADDR_STRLEN + 8];
	switch (e->kind) {
	case ENTRY_DOMAIN:
		snprintf(host, sizeof(host), "%s", e->name);
		break;
	case ENTRY_WILDCARD:
		snprintf(host, sizeof(host), "*.%s", e->name);
		break;
	case ENTRY_NET: {
		char a[NET_ADDR_STRLEN];
		net_format(&e->net, a, sizeof(a));
		if (e->net.family == NET_V6 && e->ports != PORTS_DEFAULT)
			snprintf(host, sizeof(host), "[%s]", a);
		else
			snprintf(host, sizeof(host), "%s", a);
		break;
	}
	}
	if (e->ports == PORTS_ONE)
		snprintf(buf, len, "%s:%u%s", host, e->port, e->tls ? "/tls" : "");
	else if (e->ports == PORTS_ALL)
		snprintf(buf, len, "%s:*", host);
	else
		snprintf(buf, len, "%s", host);
}

/* Duplicate detection: a hash of the entry's identity (not its origin). */
static uint64_t entry_hash(const struct entry *e)
{
	uint64_t h = 1469598103934665603ull;
#define MIX(b) (h = (h ^ (uint8_t)(b)) * 1099511628211ull)
	MIX(e->kind);
	MIX(e->ports);
	MIX(e->port);
	MIX(e->port >> 8);
	if (e->kind == ENTRY_NET) {
		MIX(e->net.family);
		MIX(e->net.prefix);
		for (size_t i = 0; i < 16; i++)
			MIX(e->net.bytes[i]);
	} else {
		for (const char *p = e->name; *p; p++)
			MIX(*p);
	}
#undef MIX
	return h;
}

static bool entry_same(const struct entry *a, const struct entry *b)
{
	if (a->kind != b->kind || a->ports != b->ports || a->port != b->port)
		return false;
	if (a->kind == ENTRY_NET)
		return net_equal(&a->net, &b->net);
	return strcmp(a->name, b->name) == 0;
}

/* The index holds entry positions + 1 (0 is an empty slot). */
struct allowlist_index {
	size_t cap;
	size_t slot[];
};

void allowlist_init(struct allowlist *l)
{
	memset(l, 0, sizeof(*l));
}

void allowlist_free(struct allowlist *l)
{
	free(l->v);
	free(l->index);
	free(l->priv);
	memset(l, 0, sizeof(*l));
}

void allowlist_keep_names(struct allowlist *l)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].kind == ENTRY_DOMAIN || l->v[i].kind == ENTRY_WILDCARD)
			l->v[n++] = l->v[i];
	l->n = n;
	if (n < l->cap) {
		struct entry *v = n ? realloc(l->v, n * sizeof(*v)) : NULL;
		if (!n) {
			free(l->v);
			l->v = NULL;
			l->cap = 0;
		} else if (v) {
			l->v = v;
			l->cap = n;
		}
	}
	/* No more adding: the index that finds duplicates is not needed. */
	free(l->index);
	l->index = NULL;
}

static int index_grow(struct allowlist *l)
{
	size_t cap = l->index ? l->index->cap * 2 : 64;
	struct allowlist_index *ix = calloc(1, sizeof(*ix) + cap * sizeof(size_t));
	if (!ix)
		return -1;
	ix->cap = cap;
	for (size_t i = 0; i < l->n; i++) {
		size_t s = (size_t)entry_hash(&l->v[i]) & (cap - 1);
		while (ix->slot[s])
			s = (s + 1) & (cap - 1);
		ix->slot[s] = i + 1;
	}
	free(l->index);
	l->index = ix;
	return 0;
}

/* Appends e unless an equal entry is there. Returns 1 added, 0 duplicate, -1 no memory. */
static int allowlist_push(struct allowlist *l, const struct entry *e)
{
	if (!l->index || (l->n + 1) * 2 > l->index->cap)
		if (index_grow(l) < 0)
			return -1;
	size_t cap = l->index->cap;
	size_t s = (size_t)entry_hash(e) & (cap - 1);
	while (l->index->slot[s]) {
		if (entry_same(&l->v[l->index->slot[s] - 1], e))
			return 0;
		s = (s + 1) & (cap - 1);
	}
	if (l->n == l->cap) {
		struct entry *nv = array_grow(l->v, &l->cap, sizeof(*nv), 32);
		if (!nv)
			return -1;
		l->v = nv;
	}
	l->v[l->n] = *e;
	l->index->slot[s] = ++l->n;
	return 1;
}

static int add_entry(struct allowlist *l, const char *text, const char *origin,
		     struct perr *err)
{
	struct entry e;
	if (entry_parse(text, &e, err) < 0)
		return perr_prefix(err, "%s", origin);
	snprintf(e.origin, sizeof(e.origin), "%s", origin);
	if (allowlist_push(l, &e) < 0)
		return perr_code(err, ENOMEM, "%s: out of memory", origin);
	return 0;
}

int allowlist_add(struct allowlist *l, const char *text, const char *origin,
		  struct perr *err)
{
	if (text[0] != '@')
		return add_entry(l, text, origin, err);
	const struct preset *p = preset_find(text + 1);
	if (!p)
		return perr_set(err, "%s: unknown preset \"%s\" (palisade --list-presets lists them)",
				origin, text);
	char o[ORIGIN_MAX];
	snprintf(o, sizeof(o), "@%s", p->name);
	for (const char *const *x = p->entries; *x; x++)
		if (add_entry(l, *x, o, err) < 0)
			return -1;
	return 0;
}

/* Adds every item of a list separated by commas, spaces, tabs or
 * newlines with add, each with its origin "ORIGIN entry N". */
static int add_each(struct allowlist *l, const char *text, const char *origin,
		    int (*add)(struct allowlist *, const char *, const char *, struct perr *),
		    struct perr *err)
{
	const char *sep = ", \t\r\n";
	size_t index = 0;
	const char *p = text;
	while (*p) {
		p += strspn(p, sep);
		size_t n = strcspn(p, sep);
		if (n == 0)
			break;
		index++;
		char item[ALLOW_LINE_MAX + 1];
		char o[ORIGIN_MAX];
		snprintf(o, sizeof(o), "%s entry %zu", origin, index);
		if (n > ALLOW_LINE_MAX)
			return perr_set(err, "%s: an entry of %zu bytes is longer than %d", o, n,
					ALLOW_LINE_MAX);
		memcpy(item, p, n);
		item[n] = '\0';
		if (add(l, item, o, err) < 0)
			return -1;
		p += n;
	}
	return 0;
}

int allowlist_add_list(struct allowlist *l, const char *text, const char *origin,
		       struct perr *err)
{
	return add_each(l, text, origin, allowlist_add, err);
}

int allowlist_add_private(struct allowlist *l, const char *text, const char *origin,
			  struct perr *err)
{
	struct entry e;
	if (entry_parse(text, &e, err) < 0)
		return perr_prefix(err, "%s", origin);
	if (e.kind == ENTRY_NET)
		return perr_set(err, "%s: \"%s\" is an address or network, which the allowlist "
				"allows as written (-a %s); opt in a name to let it resolve to "
				"private addresses", origin, text, text);
	if (e.ports != PORTS_DEFAULT)
		return perr_set(err, "%s: \"%s\" has a port: opt in the name alone (the "
				"entries that allow it say which ports)", origin, text);
	for (size_t i = 0; i < l->npriv; i++)
		if (l->priv[i].kind == e.kind && strcmp(l->priv[i].name, e.name) == 0)
			return 0;
	if (l->npriv == l->privcap) {
		struct private_name *v = array_grow(l->priv, &l->privcap, sizeof(*v), 8);
		if (!v)
			return perr_code(err, ENOMEM, "%s: out of memory", origin);
		l->priv = v;
	}
	struct private_name *p = &l->priv[l->npriv++];
	memset(p, 0, sizeof(*p));
	p->kind = e.kind;
	memcpy(p->name, e.name, sizeof(p->name));
	snprintf(p->origin, sizeof(p->origin), "%s", origin);
	return 0;
}

int allowlist_add_private_list(struct allowlist *l, const char *text, const char *origin,
			       struct perr *err)
{
	return add_each(l, text, origin, allowlist_add_private, err);
}

/* name is pattern (ENTRY_DOMAIN) or strictly under it (ENTRY_WILDCARD). */
static bool name_matches(enum entry_kind kind, const char *pattern, const char *name)
{
	if (kind == ENTRY_DOMAIN)
		return strcmp(pattern, name) == 0;
	if (kind == ENTRY_WILDCARD)
		return dns_name_under(pattern, name);
	return false;
}

bool entry_matches(const struct entry *e, const char *name)
{
	return name_matches(e->kind, e->name, name);
}

bool allowlist_private_ok(const struct allowlist *l, const char *name)
{
	for (size_t i = 0; i < l->npriv; i++)
		if (name_matches(l->priv[i].kind, l->priv[i].name, name))
			return true;
	return false;
}

int allowlist_check_private(const struct allowlist *l, struct perr *err)
{
	for (size_t i = 0; i < l->npriv; i++) {
		const struct private_name *p = &l->priv[i];
		bool wild = p->kind == ENTRY_WILDCARD;
		bool found = false;
		for (size_t k = 0; k < l->n && !found; k++) {
			const struct entry *e = &l->v[k];
			if (e->kind == ENTRY_DOMAIN)
				found = wild ? dns_name_under(p->name, e->name)
					     : strcmp(e->name, p->name) == 0;
			else if (e->kind == ENTRY_WILDCARD)
				found = dns_name_under(e->name, p->name) ||
					(wild && (strcmp(e->name, p->name) == 0 ||
						  dns_name_under(p->name, e->name)));
		}
		if (!found)
			return perr_set(err, "%s: \"%s%s\" may resolve to private addresses, but no "
					"entry allows it; allow it too (-a '%s%s')", p->origin,
					wild ? "*." : "", p->name, wild ? "*." : "", p->name);
	}
	return 0;
}

int allowlist_add_text(struct allowlist *l, const char *buf, size_t len,
		       const char *origin, struct perr *err)
{
	size_t lineno = 0;
	size_t pos = 0;
	while (pos < len) {
		lineno++;
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl ? 1 : 0);
		if (n > ALLOW_LINE_MAX)
			return perr_set(err, "%s line %zu: the line is %zu bytes long, more than %d: "
					"one entry a line", origin, lineno, n, ALLOW_LINE_MAX);
		if (memchr(line, '\0', n))
			return perr_set(err, "%s line %zu: the line holds a NUL byte: "
					"this is not a text file of entries", origin, lineno);
		char item[ALLOW_LINE_MAX + 1];
		memcpy(item, line, n);
		item[n] = '\0';
		char *hash = strchr(item, '#');
		if (hash)
			*hash = '\0';
		char *s = item;
		while (*s && isspace((unsigned char)*s))
			s++;
		char *end = s + strlen(s);
		while (end > s && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*s == '\0')
			continue;
		char o[ORIGIN_MAX];
		snprintf(o, sizeof(o), "%s line %zu", origin, lineno);
		/* "private NAME": entries hold no blanks, so the keyword and a
		 * blank cannot start one. */
		if (strncmp(s, "private", 7) == 0 && isspace((unsigned char)s[7])) {
			char *name = s + 7;
			while (isspace((unsigned char)*name))
				name++;
			if (strpbrk(name, " \t\r\v\f"))
				return perr_set(err, "%s: \"%s\": write one name after \"private\"",
						o, s);
			if (allowlist_add_private(l, name, o, err) < 0)
				return -1;
			continue;
		}
		if (allowlist_add(l, s, o, err) < 0)
			return -1;
	}
	return 0;
}

int allowlist_read_file(struct allowlist *l, const char *path, struct perr *err)
{
	int fd = safefile_open(path, "allowlist file", err);
	if (fd < 0)
		return -1;
	char *buf = NULL;
	size_t len = 0;
	int rc = safefile_read_all(fd, path, ALLOW_FILE_MAX, &buf, &len, err);
	close(fd);
	if (rc < 0)
		return -1;
	rc = allowlist_add_text(l, buf, len, path, err);
	free(buf);
	return rc;
}
