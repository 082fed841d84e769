#include "net.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/err.h"
#include "../lib/text.h"

int net_af(enum net_family f)
{
	return f == NET_V4 ? AF_INET : AF_INET6;
}

struct net_addr net_host(enum net_family f, const uint8_t *bytes)
{
	struct net_addr a;
	memset(&a, 0, sizeof(a));
	a.family = (uint8_t)f;
	a.prefix = (uint8_t)net_bits(f);
	memcpy(a.bytes, bytes, net_len(f));
	return a;
}

struct net_addr net_loopback(enum net_family f)
{
	static const uint8_t v4[4] = { 127, 0, 0, 1 }, v6[16] = { [15] = 1 };
	return net_host(f, f == NET_V4 ? v4 : v6);
}

bool net_is_loopback(const struct net_addr *a)
{
	if (a->family == NET_V4)
		return a->bytes[0] == 127;
	struct net_addr lo = net_loopback(NET_V6);
	return memcmp(a->bytes, lo.bytes, 16) == 0;
}

int net_parse(const char *text, bool allow_prefix, struct net_addr *out, struct perr *err)
{
	char buf[64];
	size_t len = strlen(text);
	if (len == 0 || len >= sizeof(buf))
		return perr_code(err, EAFNOSUPPORT, "is not an address");
	memcpy(buf, text, len + 1);

	long prefix = -1;
	char *slash = strchr(buf, '/');
	if (slash) {
		if (!allow_prefix)
			return perr_set(err, "takes no /prefix here");
		*slash = '\0';
		const char *p = slash + 1;
		if (*p < '0' || *p > '9' || strlen(p) > 3)
			return perr_set(err, "has a malformed /prefix");
		for (const char *q = p; *q; q++)
			if (*q < '0' || *q > '9')
				return perr_set(err, "has a malformed /prefix");
		prefix = strtol(p, NULL, 10);
	}

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->bytes) == 1) {
		out->family = NET_V4;
		out->prefix = 32;
	} else if (inet_pton(AF_INET6, buf, out->bytes) == 1) {
		out->family = NET_V6;
		out->prefix = 128;
	} else {
		return perr_code(err, EAFNOSUPPORT, "is not an address");
	}
	if (prefix >= 0) {
		if (prefix > out->prefix)
			return perr_set(err, "has a /prefix longer than the address");
		if (prefix == 0)
			return perr_set(err, "is a /0 network: that allows every address, which is no fence");
		out->prefix = (uint8_t)prefix;
		/* Host bits must be zero, so that what is allowed is what was written. */
		unsigned total = net_bits(out->family);
		for (unsigned bit = out->prefix; bit < total; bit++) {
			if (out->bytes[bit / 8] & (0x80u >> (bit % 8))) {
				struct net_addr fixed = *out;
				for (unsigned b = out->prefix; b < total; b++)
					fixed.bytes[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
				char f[NET_ADDR_STRLEN];
				net_format(&fixed, f, sizeof(f));
				return perr_set(err, "has host bits set after the /%u prefix (did "
						"you mean %s?)", out->prefix, f);
			}
		}
	}
	return 0;
}

void net_format(const struct net_addr *a, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN];
	int af = net_af(a->family);
	if (!inet_ntop(af, a->bytes, s, sizeof(s)))
		snprintf(s, sizeof(s), "?");
	if (net_is_host(a))
		snprintf(buf, len, "%s", s);
	else
		snprintf(buf, len, "%s/%u", s, a->prefix);
}

bool net_is_host(const struct net_addr *a)
{
	return a->prefix == net_bits(a->family);
}

bool net_equal(const struct net_addr *a, const struct net_addr *b)
{
	size_t n = net_len(a->family);
	return a->family == b->family && a->prefix == b->prefix &&
	       memcmp(a->bytes, b->bytes, n) == 0;
}

bool net_contains(const struct net_addr *n, const struct net_addr *h)
{
	if (n->family != h->family)
		return false;
	unsigned full = n->prefix / 8, rest = n->prefix % 8;
	if (memcmp(n->bytes, h->bytes, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xffu << (8 - rest));
	return (n->bytes[full] & mask) == (h->bytes[full] & mask);
}

int port_parse(const char *text, uint16_t *out)
{
	size_t len = strlen(text);
	if (len == 0 || len > 5)
		return -1;
	unsigned v = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(text[i] - '0');
	}
	if (v == 0 || v > 65535 || (len > 1 && text[0] == '0'))
		return -1;
	*out = (uint16_t)v;
	return 0;
}

size_t port_list_count(const struct port_list *l, uint8_t proto)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += l->v[i].proto == proto;
	return n;
}

int port_list_add(struct port_list *l, uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].proto == proto && l->v[i].port == port)
			return 0;
	if (port_list_count(l, proto) >= PORT_LIST_MAX)
		return -1;
	l->v[l->n].proto = proto;
	l->v[l->n].port = port;
	l->n++;
	return 0;
}

int port_list_parse(const char *text, struct port_list *out, struct perr *err)
{
	char buf[512];
	if (strlen(text) >= sizeof(buf))
		return perr_set(err, "is too long");
	memcpy(buf, text, strlen(text) + 1);
	memset(out, 0, sizeof(*out));
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint8_t proto = PROTO_TCP;
		char *slash = strchr(tok, '/');
		if (slash) {
			*slash = '\0';
			if (strcmp(slash + 1, "tcp") == 0)
				proto = PROTO_TCP;
			else if (strcmp(slash + 1, "udp") == 0)
				proto = PROTO_UDP;
			else {
				return perr_set(err, "\"%s\" is not tcp or udp", slash + 1);
			}
		}
		uint16_t port;
		if (port_parse(tok, &port) < 0)
			return perr_set(err, "\"%s\" is not a port (1-65535)", tok);
		if (port_list_add(out, proto, port) < 0)
			return perr_set(err, "more than %d ports for one protocol", PORT_LIST_MAX);
	}
	if (out->n == 0)
		return perr_set(err, "names no port");
	return 0;
}

void port_list_format(const struct port_list *l, char *buf, size_t len)
{
	struct text t;
	text_init(&t, buf, len);
	static const uint8_t protos[] = { PROTO_TCP, PROTO_UDP };
	for (size_t p = 0; p < 2; p++) {
		bool first = true;
		for (size_t i = 0; i < l->n; i++) {
			if (l->v[i].proto != protos[p])
				continue;
			if (first)
				textf(&t, "%s%s ", t.used ? " " : "", protos[p] == PROTO_TCP ? "tcp" : "udp");
			textf(&t, "%s%u", first ? "" : ",", l->v[i].port);
			first = false;
		}
	}
}
