/* Installing and reading back the filter tables through libiptc (IPv4) and
 * libip6tc (IPv6). Each family's table is replaced by one commit. The
 * names are palisade's own (filter_*), apart from libiptc's iptc_* and
 * ip6tc_*. */
#ifndef PALISADE_FILTERTABLE_H
#define PALISADE_FILTERTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/err.h"
#include "rules.h"

struct filter_table;

/* Opens a family's filter table. Fails with the cause and the fix when the
 * kernel has no ip_tables/ip6_tables or NET_ADMIN is missing; *absent is
 * set when the protocol is not there at all (ENOPROTOOPT, EAFNOSUPPORT). */
struct filter_table *filter_table_open(enum net_family family, bool *absent,
				   struct perr *err);
void filter_table_close(struct filter_table *t);

/* Replaces the whole filter table with rs: policies DROP, every other rule
 * and user chain gone, one commit. Set names are looked up in the kernel. */
int filter_table_install(struct filter_table *t, const struct ruleset *rs, struct perr *err);

/* Reads the table back from the kernel and compares every chain's policy
 * and rules with rs. Any difference is an error naming it. */
int filter_table_verify(enum net_family family, const struct ruleset *rs, struct perr *err);

/* The revisions of the extensions that have several, the newest the
 * kernel offers, as iptables itself picks them (iptables-save prints only
 * the revision it would use): the set match (1 or 4), the CONNMARK target
 * (1 or 2) and the NFQUEUE target (0 or 3). */
struct xt_revs {
	uint8_t set, connmark, nfqueue;
};

/* Encodes one rule as the kernel entry (struct ipt_entry or ip6t_entry with
 * its matches and target) into buf. set_index is the kernel's index of
 * r->set. Returns the entry's length, or 0 when buf is too small. Pure. */
size_t filter_rule_encode(const struct rule *r, enum net_family family, uint16_t set_index,
			  const struct xt_revs *revs, void *buf, size_t len);

#endif
