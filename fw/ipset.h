/* The kernel's ip_set, spoken to over netfilter netlink with libnl-3 (the
 * ipset protocol, version 6 and up), without libipset. */
#ifndef PALISADE_IPSET_H
#define PALISADE_IPSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/err.h"
#include "net.h"

struct ipset;

/* One member: a host or network, with a protocol and port in
 * "hash:net,port" sets. timeout is in seconds; 0 means permanent. */
struct set_elem {
	struct net_addr net;
	uint8_t proto;
	uint16_t port;
	uint32_t timeout;
};

/* Opens a netlink socket and checks that the kernel speaks the ipset
 * protocol. Errors name the cause (no ip_set in the kernel, no
 * CAP_NET_ADMIN) and the fix. */
struct ipset *ipset_open(struct perr *err);
void ipset_close(struct ipset *s);

/* 1 when the set exists, 0 when not, -1 on error. */
int ipset_exists(struct ipset *s, const char *name, struct perr *err);
/* Creates a set with timeout support (default 0: permanent). */
int ipset_create(struct ipset *s, const char *name, const char *type,
		 enum net_family family, uint32_t maxelem, struct perr *err);
int ipset_destroy(struct ipset *s, const char *name, bool missing_ok, struct perr *err);
int ipset_swap(struct ipset *s, const char *a, const char *b, struct perr *err);
/* Adds members, many to a message; existing members get the new timeout. */
int ipset_add(struct ipset *s, const char *name, const struct set_elem *v,
	      size_t n, struct perr *err);
/* Lists a set's members, in the kernel's order, into a new array. */
int ipset_list(struct ipset *s, const char *name, struct set_elem **v, size_t *n,
	       struct perr *err);

/* The kernel's index of a set, which iptables' set match refers to. Uses
 * the SO_IP_SET socket option (needs CAP_NET_ADMIN). */
int ipset_index(const char *name, enum net_family family, uint16_t *index,
		struct perr *err);

#endif
