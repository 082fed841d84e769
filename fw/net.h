/* Addresses, networks and ports: the values the fence is made of. Pure code. */
#ifndef PALISADE_NET_H
#define PALISADE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/err.h"

enum net_family { NET_V4 = 4, NET_V6 = 6 };

/* Arrays indexed by family hold IPv4 at [0] and IPv6 at [1]. */
#define NET_FAMILIES 2
static inline int net_family_index(enum net_family f)
{
	return f == NET_V4 ? 0 : 1;
}
static inline enum net_family net_family_at(int i)
{
	return i == 0 ? NET_V4 : NET_V6;
}

/* An address or a network: `prefix` is 32 (v4) or 128 (v6) for one host.
 * `bytes` are in network order; a v4 value uses the first four. */
struct net_addr {
	uint8_t family;
	uint8_t prefix;
	uint8_t bytes[16];
};

/* An address of the family: 32 bits in 4 bytes, or 128 in 16. */
static inline unsigned net_bits(enum net_family f)
{
	return f == NET_V4 ? 32 : 128;
}
static inline size_t net_len(enum net_family f)
{
	return f == NET_V4 ? 4 : 16;
}
/* AF_INET or AF_INET6. */
int net_af(enum net_family f);

/* The host of family f whose address is bytes (net_len(f) of them). */
struct net_addr net_host(enum net_family f, const uint8_t *bytes);
/* 127.0.0.1 or ::1: where palisade serves DNS. */
struct net_addr net_loopback(enum net_family f);
/* Whether a is a loopback address: in 127.0.0.0/8, or ::1. */
bool net_is_loopback(const struct net_addr *a);

/* Longest text net_format writes, with its NUL ("ffff:...:ffff/128"). */
#define NET_ADDR_STRLEN 50

/* Parses "192.0.2.1", "2001:db8::1" (host) or, with allow_prefix,
 * "192.0.2.0/24" and "2001:db8::/32". A network must have no host bits set
 * and a prefix of at least 1. Returns 0, or -1 with err (may be NULL)
 * saying what is wrong with the text: EAFNOSUPPORT "is not an address"
 * when it is no address at all (it may be a name), EINVAL when it is one
 * with a /prefix that is not allowed or not valid. */
int net_parse(const char *text, bool allow_prefix, struct net_addr *out, struct perr *err);

/* Writes the address, with "/prefix" when it is a network. */
void net_format(const struct net_addr *a, char *buf, size_t len);

bool net_equal(const struct net_addr *a, const struct net_addr *b);
bool net_is_host(const struct net_addr *a);
/* True when host address h lies inside network n. */
bool net_contains(const struct net_addr *n, const struct net_addr *h);

enum proto { PROTO_TCP = 6, PROTO_UDP = 17 };

/* Which ports of a destination are allowed. */
enum port_scope {
	PORTS_DEFAULT, /* the --default-ports list */
	PORTS_ONE,     /* one port, TCP and UDP */
	PORTS_ALL,     /* every port and protocol */
};

/* A port allowed for one protocol. */
struct port_proto {
	uint8_t proto;
	uint16_t port;
};

#define PORT_LIST_MAX 15 /* what one iptables multiport match holds */

struct port_list {
	size_t n;
	struct port_proto v[2 * PORT_LIST_MAX];
};

/* Parses "80,443,443/udp": ports separated by commas, each optionally
 * followed by /tcp or /udp (tcp when absent). Duplicates are dropped.
 * Returns 0, or -1 with err (EINVAL; may be NULL) saying what is wrong. */
int port_list_parse(const char *text, struct port_list *out, struct perr *err);
/* Parses one decimal port 1..65535. */
int port_parse(const char *text, uint16_t *out);
/* How many entries of the list are for proto. */
size_t port_list_count(const struct port_list *l, uint8_t proto);
int port_list_add(struct port_list *l, uint8_t proto, uint16_t port);
/* "80,443/tcp 443/udp"-style text for messages. */
void port_list_format(const struct port_list *l, char *buf, size_t len);

#endif
