/* The fence through the kernel's nf_tables, over netfilter netlink with
 * libnftnl: tables `ip palisade` and `ip6 palisade`, each with the filter
 * chains input, forward and output (policy drop), and for each kind of set
 * of the plan (default, port, all) two sets: `<kind>_host` for single
 * addresses (the DNS filter adds its members there, with timeouts) and
 * `<kind>_net` for networks, as non-overlapping ranges. */
#ifndef PALISADE_NFT_H
#define PALISADE_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/err.h"
#include "ipset.h"
#include "nftplan.h"
#include "rules.h"

struct fence_plan;

/* Whether the kernel offers nf_tables to this process: 0, or the errno of
 * the first refusal (EPERM: no CAP_NET_ADMIN; EPROTONOSUPPORT, ENOENT,
 * EOPNOTSUPP: no nf_tables). Changes nothing. */
int nft_probe(void);
/* The message for nft_probe's answer e (not 0): what is missing and how to
 * add it. Returns -1. Pure but for asking whether CAP_NET_ADMIN is held. */
int nft_probe_error(struct perr *err, int e);

/* Installs the plan's tables, sets, members, chains and rules of every
 * fenced family in one transaction that replaces palisade's tables, if
 * any, as a whole: it all takes effect, or nothing changes. */
int nft_install(const struct fence_plan *plan, struct perr *err);
/* Reads the tables back and compares their chains, rules, sets and members
 * with the plan's; a difference is an error that names it. */
int nft_verify(const struct fence_plan *plan, struct perr *err);

/* A socket to add the DNS filter's members through. */
struct nft;
struct nft *nft_open(struct perr *err);
void nft_close(struct nft *n);
/* Adds host members (v, all of family and kind) to `<kind>_host` with
 * their timeouts; a member already there gets the new timeout, in one
 * transaction (no moment without it). */
int nft_allow(struct nft *n, enum net_family family, enum set_kind kind,
	      const struct set_elem *v, size_t nv, struct perr *err);

/* The members of palisade's sets of family f as the kernel has them, each
 * with its timeout and time left (nftplan_elem's timeout, expires), into
 * sets[kind][part], in nftplan's order; free them with nft_sets_free.
 * *table says whether the family's table is there (without it the sets
 * are empty, and that is no error). Changes nothing. */
int nft_read_sets(struct nft *n, enum net_family f,
		  struct nftplan_set sets[SET_KINDS][NFTPLAN_PARTS], bool *table, struct perr *err);
void nft_sets_free(struct nftplan_set sets[SET_KINDS][NFTPLAN_PARTS]);

#endif
