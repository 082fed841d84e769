/* The container's own addresses, its networks' broadcast addresses and its
 * gateways, read from the kernel at start for the answer policy
 * (rebind.h): getifaddrs (netlink; no NSS) for the addresses,
 * /proc/net/route and /proc/net/ipv6_route for the gateways. The parsing of
 * the route tables is pure; hostnet_read touches the kernel. */
#ifndef PALISADE_HOSTNET_H
#define PALISADE_HOSTNET_H

#include "../lib/err.h"
#include "rebind.h"

#define PROC_ROUTE4 "/proc/net/route"
#define PROC_ROUTE6 "/proc/net/ipv6_route"

/* One line of /proc/net/route or /proc/net/ipv6_route: adds its gateway,
 * if it has one, to h. A header or malformed line is skipped (0). Returns
 * 0, or -1 when out of memory. */
int hostnet_route4_line(struct hostnet *h, const char *line);
int hostnet_route6_line(struct hostnet *h, const char *line);

/* Adds an interface address of prefix bits (a host in a, the network's
 * length in prefix) to h: the address itself and, for IPv4 networks of
 * /30 and wider, their broadcast address. brd: the broadcast address the
 * kernel reports for it, or NULL. Returns 0, or -1 when out of memory. */
int hostnet_add_ifaddr(struct hostnet *h, const struct net_addr *a, unsigned prefix,
		       const struct net_addr *brd);

/* Reads the container's addresses and gateways into h (added to what is
 * there). Returns 0, or -1 with what failed in err. */
int hostnet_read(struct hostnet *h, struct perr *err);

#endif
