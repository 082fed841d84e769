/* The fence plan as nftables sees it: the members of the nft sets, and the
 * ruleset as `nft list ruleset` prints it. Pure code: fw/nft.c turns the
 * same values into netlink messages.
 *
 * One table per fenced family (`ip palisade`, `ip6 palisade`) with the
 * base chains input, forward and output (type filter, priority 0, policy
 * drop), and for each set kind k of the plan (default, port, all) two sets:
 *   <k>_host  full-length members (/32, /128), flags timeout: the
 *             allowlist's addresses, the names resolved at start
 *             (permanent), and the addresses the DNS filter adds later
 *             (with a timeout);
 *   <k>_net   the allowlist's networks, flags interval, permanent only,
 *             merged into ranges that neither overlap nor touch (the kernel
 *             refuses overlapping intervals).
 * The port kind's key is the concatenation address . inet_proto .
 * inet_service. A plan rule that matches a set becomes two nft rules, one
 * looking up <k>_host, one <k>_net, identical otherwise. */
#ifndef PALISADE_NFTPLAN_H
#define PALISADE_NFTPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/err.h"
#include "fence.h"

#define NFTPLAN_TABLE "palisade"

/* "input", "forward", "output", by enum chain. */
extern const char *const nftplan_chain_names[CHAINS];

enum nftplan_part { NFTPLAN_HOST, NFTPLAN_NET };
#define NFTPLAN_PARTS 2

/* "default_host", "port_net", ... */
const char *nftplan_set_name(enum set_kind kind, enum nftplan_part part);

/* One member: the addresses first..last, BOTH INCLUDED, in network order
 * (net_len(family) bytes used). A host has first == last. In port kind
 * sets proto (PROTO_TCP/PROTO_UDP) and port are the rest of the key; in
 * the others they are 0. timeout in seconds, 0 permanent (always 0 in
 * <k>_net sets). */
struct nftplan_elem {
	uint8_t first[16];
	uint8_t last[16];
	uint8_t proto;
	uint16_t port;
	uint32_t timeout;
	uint32_t expires;  /* read back from the kernel: seconds left of the
			    * timeout (0 in a plan) */
};

struct nftplan_set {
	enum net_family family;
	enum set_kind kind;
	enum nftplan_part part;
	struct nftplan_elem *v;  /* host sets by address, then proto and port;
				  * net sets by proto, port, then address */
	size_t n, cap;
};

struct nftplan {
	bool v6;  /* the ip6 table is there */
	struct nftplan_set sets[NET_FAMILIES][SET_KINDS][NFTPLAN_PARTS];
};

/* Sorts the plan's set members into the nft sets. Hosts go to <k>_host,
 * one member each (duplicates collapse: permanent wins over a timeout, a
 * longer timeout over a shorter one). Networks go to <k>_net, overlapping
 * and adjacent ones of the same proto and port merged. A network with a
 * timeout, or a member of another family than its set, is an error.
 * Families the plan does not fence have empty sets. out is freed with
 * nftplan_free, also after an error. */
int nftplan_build(const struct fence_plan *plan, struct nftplan *out, struct perr *err);
void nftplan_free(struct nftplan *np);

/* Member m as an nft member: its addresses first..last, protocol, port and
 * timeout. */
void nftplan_elem_of(const struct set_elem *m, struct nftplan_elem *e);

/* Appends e to s; -1 when out of memory. */
int nftplan_set_add(struct nftplan_set *s, const struct nftplan_elem *e);

/* Member e of set s as nft lists it ("10.0.0.0/8", "192.0.2.1 . tcp . 443
 * timeout 5m expires 4m59s"), in buf (cut to len bytes). */
void nftplan_elem_format(const struct nftplan_set *s, const struct nftplan_elem *e, char *buf,
			 size_t len);

/* Only its addresses: "192.0.2.1", "10.0.0.0/8", "10.0.0.1-10.0.0.5". */
void nftplan_elem_addrs(const struct nftplan_set *s, const struct nftplan_elem *e, char *buf,
			size_t len);

/* Puts a set's members in the order nftplan_build leaves them: hosts made
 * unique, networks merged. For members read back from the kernel. */
void nftplan_set_normalize(struct nftplan_set *s);

/* The address after a (net_len(f) bytes), into next: what an interval's
 * exclusive end is (the kernel's rbtree sets mark an interval's end there).
 * Returns false, next unset, when a is the family's last address (all
 * ones): the interval runs to the end of the address space, and there is
 * no end to mark. */
bool nftplan_next_addr(enum net_family f, const uint8_t *a, uint8_t next[16]);

/* The kind of set a rule looks up, or -1 when it looks up none. */
int nftplan_rule_set_kind(const struct rule *r, enum net_family f);

/* The nft rules a plan rule becomes: one per set it looks up (<k>_host,
 * then <k>_net; one when it looks up none), each once per port of its
 * list (a list of ports is one rule per port, not an anonymous set: the
 * kernel's rules stay comparable one by one with the plan's). */
size_t nftplan_rule_count(const struct rule *r, enum net_family f);
/* The i-th of them (i < nftplan_rule_count): the nft set it looks up
 * (NULL: none) and the port of r's list it matches (0: r has no list). */
void nftplan_rule_nth(const struct rule *r, enum net_family f, size_t i, const char **set,
		      uint16_t *port);

/* One nft rule as `nft list ruleset` prints it, without indent or newline:
 * r with its set lookup on the nft set named set (NULL when r looks up no
 * set), and port the one of r's list of ports it matches (see
 * nftplan_rule_nth). The matches come in the order of struct rule's fields
 * (iface, dst, proto, owner, socket, source type, conntrack state,
 * original port, icmpv6 type, set, sport, dport, the port of the list),
 * then the verdict; a `meta l4proto` that a later tcp/udp/icmpv6 match or a
 * tcp reset implies is left out, as nft prints it (but kept before `ct
 * original proto-dst`, which nft cannot read without it). */
void nftplan_rule_render(const struct rule *r, enum net_family f, const char *set, uint16_t port,
			 char *buf, size_t len);

/* The tables, their sets with members and their chains, in the form of
 * `nft list ruleset`; also valid input for `nft -f`. */
void nftplan_render(const struct fence_plan *plan, const struct nftplan *np, FILE *out);
/* nftplan_build then nftplan_render; an error is printed as a comment. */
void nftplan_print(const struct fence_plan *plan, FILE *out);

#endif
