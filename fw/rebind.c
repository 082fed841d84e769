#include "rebind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/array.h"

void hostnet_init(struct hostnet *h)
{
	memset(h, 0, sizeof(*h));
}

void hostnet_free(struct hostnet *h)
{
	free(h->v);
	memset(h, 0, sizeof(*h));
}

int hostnet_add(struct hostnet *h, const struct net_addr *a, enum host_role role,
		const struct net_addr *net)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].role == role && net_equal(&h->v[i].addr, a))
			return 0;
	if (h->n == h->cap) {
		struct host_addr *v = array_grow(h->v, &h->cap, sizeof(*v), 16);
		if (!v)
			return -1;
		h->v = v;
	}
	struct host_addr *e = &h->v[h->n++];
	memset(e, 0, sizeof(*e));
	e->addr = *a;
	e->role = role;
	if (net)
		e->net = *net;
	return 0;
}

struct range {
	struct net_addr net;
	enum rebind_verdict verdict;
	const char *why;
};

#define R4(a, b, c, d, p, v, w) \
	{ { .family = NET_V4, .prefix = (p), .bytes = { a, b, c, d } }, v, w }

/* First match wins: the more specific ranges come first. */
static const struct range ranges4[] = {
	R4(0, 0, 0, 0, 8, REBIND_NEVER, "an unspecified address (0.0.0.0/8)"),
	R4(127, 0, 0, 0, 8, REBIND_NEVER, "a loopback address (127.0.0.0/8)"),
	R4(169, 254, 0, 0, 16, REBIND_NEVER,
	   "a link-local address (169.254.0.0/16: cloud metadata and other services of the host)"),
	R4(192, 0, 0, 0, 24, REBIND_NEVER,
	   "an IETF protocol assignment (192.0.0.0/24: DS-Lite and NAT64 tunnel ends)"),
	R4(224, 0, 0, 0, 4, REBIND_NEVER, "a multicast address (224.0.0.0/4)"),
	R4(255, 255, 255, 255, 32, REBIND_NEVER, "the limited broadcast address (255.255.255.255)"),
	R4(240, 0, 0, 0, 4, REBIND_NEVER, "a reserved address (240.0.0.0/4)"),
	R4(10, 0, 0, 0, 8, REBIND_PRIVATE, "a private address (10.0.0.0/8)"),
	R4(172, 16, 0, 0, 12, REBIND_PRIVATE, "a private address (172.16.0.0/12)"),
	R4(192, 168, 0, 0, 16, REBIND_PRIVATE, "a private address (192.168.0.0/16)"),
	R4(100, 64, 0, 0, 10, REBIND_PRIVATE,
	   "a shared address (100.64.0.0/10: carrier-grade NAT)"),
	R4(198, 18, 0, 0, 15, REBIND_PRIVATE, "a benchmarking address (198.18.0.0/15)"),
	R4(192, 0, 2, 0, 24, REBIND_PRIVATE, "a documentation address (192.0.2.0/24)"),
	R4(198, 51, 100, 0, 24, REBIND_PRIVATE, "a documentation address (198.51.100.0/24)"),
	R4(203, 0, 113, 0, 24, REBIND_PRIVATE, "a documentation address (203.0.113.0/24)"),
};

#define R6(p, v, w, ...) { { .family = NET_V6, .prefix = (p), .bytes = { __VA_ARGS__ } }, v, w }

static const struct range ranges6[] = {
	R6(128, REBIND_NEVER, "the unspecified address (::)", 0),
	R6(128, REBIND_NEVER, "the loopback address (::1)", [15] = 1),
	R6(96, REBIND_NEVER, "an IPv4-translated address (::ffff:0:0:0/96)", [8] = 0xff, [9] = 0xff),
	R6(96, REBIND_NEVER, "an IPv4-compatible address (::/96, deprecated)", 0),
	R6(64, REBIND_NEVER, "a discard-only address (100::/64)", 0x01, 0x00),
	R6(10, REBIND_NEVER, "a link-local address (fe80::/10)", 0xfe, 0x80),
	R6(8, REBIND_NEVER, "a multicast address (ff00::/8)", 0xff),
	R6(7, REBIND_PRIVATE, "a unique local address (fc00::/7)", 0xfc),
	R6(10, REBIND_PRIVATE, "a site-local address (fec0::/10, deprecated)", 0xfe, 0xc0),
	R6(32, REBIND_PRIVATE, "a documentation address (2001:db8::/32)", 0x20, 0x01, 0x0d, 0xb8),
	R6(48, REBIND_PRIVATE, "a benchmarking address (2001:2::/48)", 0x20, 0x01, 0x00, 0x02),
	R6(48, REBIND_PRIVATE, "a local-use NAT64 address (64:ff9b:1::/48)", 0x00, 0x64, 0xff,
	   0x9b, 0x00, 0x01),
};

/* IPv6 forms that carry an IPv4 address: where it is, and what to call it. */
static const struct embed {
	struct net_addr net;
	size_t at;           /* offset of the IPv4 address in the IPv6 one */
	bool never;          /* never, whatever the IPv4 address */
	const char *what;
} embeds[] = {
	{ { .family = NET_V6, .prefix = 96, .bytes = { [10] = 0xff, [11] = 0xff } }, 12, true,
	  "an IPv4-mapped address (::ffff:0:0/96, sent over IPv4)" },
	{ { .family = NET_V6, .prefix = 96, .bytes = { 0x00, 0x64, 0xff, 0x9b } }, 12, false,
	  "a NAT64 address (64:ff9b::/96)" },
	{ { .family = NET_V6, .prefix = 16, .bytes = { 0x20, 0x02 } }, 2, false,
	  "a 6to4 address (2002::/16)" },
};

static enum rebind_verdict said(enum rebind_verdict v, char *why, size_t whylen,
			       const char *text)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", text);
	return v;
}

static enum rebind_verdict host_role_of(const struct net_addr *a, const struct hostnet *h,
					char *why, size_t whylen)
{
	if (!h)
		return REBIND_OK;
	/* One address may have several roles: the gateway that is also the
	 * resolver is called the gateway. */
	static const enum host_role order[] = { HOST_OWN, HOST_GATEWAY, HOST_BROADCAST,
						HOST_RESOLVER };
	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
		for (size_t i = 0; i < h->n; i++) {
			const struct host_addr *x = &h->v[i];
			if (x->role != order[o] || !net_equal(&x->addr, a))
				continue;
			switch (x->role) {
			case HOST_OWN:
				return said(REBIND_NEVER, why, whylen,
					    "one of the container's own addresses");
			case HOST_GATEWAY:
				return said(REBIND_NEVER, why, whylen, "the container's gateway");
			case HOST_BROADCAST: {
				char n[NET_ADDR_STRLEN];
				if (!x->net.family)
					return said(REBIND_NEVER, why, whylen, "the broadcast "
						    "address of one of the container's networks");
				net_format(&x->net, n, sizeof(n));
				if (why && whylen)
					snprintf(why, whylen, "the broadcast address of the "
						 "container's network %s", n);
				return REBIND_NEVER;
			}
			case HOST_RESOLVER:
				return said(REBIND_NEVER, why, whylen,
					    "one of the container's DNS resolvers");
			}
		}
	}
	return REBIND_OK;
}

static enum rebind_verdict in_ranges(const struct net_addr *a, const struct range *r,
				     size_t n, char *why, size_t whylen)
{
	for (size_t i = 0; i < n; i++)
		if (net_contains(&r[i].net, a))
			return said(r[i].verdict, why, whylen, r[i].why);
	return REBIND_OK;
}

enum rebind_verdict rebind_classify(const struct net_addr *a, const struct hostnet *h,
				    char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	enum rebind_verdict v = host_role_of(a, h, why, whylen);
	if (v != REBIND_OK)
		return v;
	if (a->family == NET_V4)
		return in_ranges(a, ranges4, sizeof(ranges4) / sizeof(ranges4[0]), why, whylen);

	for (size_t i = 0; i < sizeof(embeds) / sizeof(embeds[0]); i++) {
		const struct embed *e = &embeds[i];
		if (!net_contains(&e->net, a))
			continue;
		struct net_addr v4 = { .family = NET_V4, .prefix = 32 };
		memcpy(v4.bytes, a->bytes + e->at, 4);
		char inner[REBIND_WHY_MAX], t[NET_ADDR_STRLEN];
		enum rebind_verdict iv = rebind_classify(&v4, h, inner, sizeof(inner));
		if (iv == REBIND_OK && !e->never)
			return REBIND_OK;
		net_format(&v4, t, sizeof(t));
		if (why && whylen) {
			if (iv == REBIND_OK)
				snprintf(why, whylen, "%s of %s", e->what, t);
			else
				snprintf(why, whylen, "%s of %s, %s", e->what, t, inner);
		}
		return REBIND_NEVER;
	}
	return in_ranges(a, ranges6, sizeof(ranges6) / sizeof(ranges6[0]), why, whylen);
}

bool rebind_allowed(enum rebind_verdict v, bool opted_in)
{
	return v == REBIND_OK || (v == REBIND_PRIVATE && opted_in);
}

void rebind_message(const char *name, const struct net_addr *a, enum rebind_verdict v,
		    const char *why, char *buf, size_t len)
{
	char t[NET_ADDR_STRLEN];
	net_format(a, t, sizeof(t));
	if (v == REBIND_PRIVATE)
		snprintf(buf, len, "refused %s for %s: %s; allowed for a name only with "
			 "--allow-private %s", t, name, why, name);
	else
		snprintf(buf, len, "refused %s for %s: %s; never allowed for a name", t, name, why);
}
