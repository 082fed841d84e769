/* The answer policy: which addresses an allowed name may bring into the
 * fence. Whoever controls the DNS of one allowed name (any name under an
 * allowed *.suffix) chooses its answers; an answer that points into the
 * container's neighbourhood (the cloud metadata service, the gateway, the
 * subnet's broadcast address, loopback) must never become a fence entry,
 * and a private address only for a name the user opted in. Addresses and
 * networks written in the allowlist are not judged here: they mean what
 * they say. Pure code: the container's own addresses, networks and
 * gateways are data that fw/hostnet.c reads from the kernel. */
#ifndef PALISADE_REBIND_H
#define PALISADE_REBIND_H

#include <stdbool.h>
#include <stddef.h>

#include "net.h"

enum rebind_verdict {
	REBIND_OK,      /* any allowed name may resolve to it */
	REBIND_PRIVATE, /* only a name opted in with --allow-private */
	REBIND_NEVER,   /* no name, ever */
};

/* What an address is to the container. */
enum host_role {
	HOST_OWN,       /* one of its addresses */
	HOST_BROADCAST, /* the broadcast address of one of its networks */
	HOST_GATEWAY,   /* the next hop of one of its routes */
	HOST_RESOLVER,  /* a DNS server of its resolv.conf */
};

struct host_addr {
	struct net_addr addr;  /* a host: prefix 32 or 128 */
	enum host_role role;
	struct net_addr net;   /* HOST_OWN, HOST_BROADCAST: the network, for messages */
};

/* The container's own addresses, broadcast addresses, gateways and
 * resolvers. */
struct hostnet {
	struct host_addr *v;
	size_t n, cap;
};

void hostnet_init(struct hostnet *h);
void hostnet_free(struct hostnet *h);
/* Adds an address (a host; net may be NULL) unless it is there with the
 * same role. Returns 0, or -1 when out of memory. */
int hostnet_add(struct hostnet *h, const struct net_addr *a, enum host_role role,
		const struct net_addr *net);

/* Longest reason rebind_classify writes, and longest rebind_message. */
#define REBIND_WHY_MAX 192
#define REBIND_MSG_MAX (REBIND_WHY_MAX + 2 * 253 + 2 * NET_ADDR_STRLEN + 80)

/* Judges one address (a host) from a DNS answer. h may be NULL (no
 * container addresses known). For REBIND_PRIVATE and REBIND_NEVER, why
 * says what the address is, e.g. "a link-local address (169.254.0.0/16:
 * cloud metadata and other services of the host)"; for REBIND_OK it is "".
 *
 * Never: loopback, link-local, multicast, unspecified, broadcast (the
 * limited one and the container's networks'), reserved (240/4), the IETF
 * protocol assignments (192.0.0.0/24), IPv4-mapped, IPv4-compatible and
 * IPv4-translated IPv6 addresses, the discard prefix (100::/64), and the
 * container's own addresses, gateways and resolvers. Private: RFC 1918,
 * shared address space (100.64/10), benchmarking, documentation, unique
 * local (fc00::/7), site-local (fec0::/10) and the local-use NAT64 prefix
 * (64:ff9b:1::/48). NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses
 * are judged by the IPv4 address they carry: fine when it is, never
 * otherwise (neither may carry a non-global address). */
enum rebind_verdict rebind_classify(const struct net_addr *a, const struct hostnet *h,
				    char *why, size_t whylen);

/* Whether an answer with this verdict is added for a name; opted_in: the
 * name is one the user let resolve to private addresses. */
bool rebind_allowed(enum rebind_verdict v, bool opted_in);

/* The log line for a refused answer, without the program's prefix:
 * `refused 169.254.169.254 for meta.example: a link-local address (...);
 * never allowed for a name`, or, for a private one, `...; allowed for a
 * name only with --allow-private meta.example`. */
void rebind_message(const char *name, const struct net_addr *a, enum rebind_verdict v,
		    const char *why, char *buf, size_t len);

#endif
