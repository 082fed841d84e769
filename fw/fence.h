/* The egress fence as a whole: the sets and the rules of both families,
 * planned from resolved destinations, installed in the kernel, and read
 * back to check. */
#ifndef PALISADE_FENCE_H
#define PALISADE_FENCE_H

#include <stdbool.h>
#include <stdio.h>

#include "../lib/err.h"
#include "ipset.h"
#include "rules.h"

/* An allowed destination: an address or network, with its ports. */
struct fence_dest {
	struct net_addr net;
	enum port_scope ports;
	uint16_t port;
};

struct set_plan {
	const char *name;
	enum set_kind kind;
	enum net_family family;
	struct set_elem *v;
	size_t n, cap;
};

/* How the fence is put in the kernel: nf_tables (fw/nft.c), or the
 * legacy x_tables through libiptc with ip_set (fw/filtertable.c,
 * fw/ipset.c); auto picks nf_tables when the kernel offers it. */
enum fence_backend { FENCE_BACKEND_AUTO, FENCE_BACKEND_NFT, FENCE_BACKEND_LEGACY };

/* "auto", "nft" or "legacy". */
const char *fence_backend_name(enum fence_backend b);
/* Parses those names; -1 for another text. */
int fence_backend_parse(const char *text, enum fence_backend *out);
/* The backend to use when wanted was asked for and the kernel's nf_tables
 * answered nft_errno (0: it works; see nft_probe), and why, for the log
 * (in why, len bytes). Pure. */
enum fence_backend fence_backend_decide(enum fence_backend wanted, int nft_errno, char *why,
					size_t len);

/* fence_backend_decide on what the kernel answers: nf_tables is asked
 * (nft_probe, which only reads: *nft_errno is its answer) unless legacy is
 * wanted. Changes nothing, so --check may call it. */
enum fence_backend fence_backend_choose(enum fence_backend wanted, int *nft_errno, char *why,
					size_t len);

struct fence_plan {
	bool v6;                              /* fence IPv6 too */
	enum fence_backend backend;           /* set by the caller after planning */
	struct ruleset rules[NET_FAMILIES];   /* [0] IPv4, [1] IPv6 */
	struct set_plan sets[NET_FAMILIES][SET_KINDS];
};

/* How many families the plan fences: IPv4, and IPv6 unless the container
 * has none, so that `for (f = 0; f < fence_families(plan); f++)` goes over
 * the fenced ones. */
static inline int fence_families(const struct fence_plan *plan)
{
	return plan->v6 ? 2 : 1;
}

#define SET_MAXELEM (1u << 20)

/* Members compared by address, prefix, protocol and port (not timeout):
 * equality, and an order for qsort. */
bool set_elem_equal(const struct set_elem *a, const struct set_elem *b);
int set_elem_cmp(const void *a, const void *b);

/* The members that let d through, each with timeout (0: permanent), and
 * the kind of set of d's family they go in: one member, or two (TCP and
 * UDP) for one port. Returns how many. The plan made at start and the
 * addresses the DNS filter adds later both take their members from here. */
size_t fence_dest_members(const struct fence_dest *d, uint32_t timeout, struct set_elem v[2],
			  enum set_kind *kind);

/* Plans the sets and rules. Destinations of a family that is not fenced
 * are left out. Duplicates are dropped. */
int fence_plan_build(const struct fence_dest *dests, size_t n,
		     const struct fence_spec *spec, bool v6, struct fence_plan *plan,
		     struct perr *err);
void fence_plan_free(struct fence_plan *plan);

/* Lets d through the installed fence for timeout seconds: adds its members
 * to their set (an existing member gets the new timeout), except those the
 * plan holds permanently (an address of the allowlist, or of a name
 * resolved at start), which a timeout would make expire. A destination of
 * a family the plan does not fence is left out. */
struct fence_handle;
/* A handle on the installed fence of plan's backend, for fence_allow. */
struct fence_handle *fence_open(const struct fence_plan *plan, struct perr *err);
void fence_close(struct fence_handle *h);
int fence_allow(struct fence_handle *h, const struct fence_plan *plan, const struct fence_dest *d,
		uint32_t timeout, struct perr *err);
/* What fence_allow adds: the members (at most 2) and their set's name.
 * Returns how many. Pure. */
size_t fence_allow_members(const struct fence_plan *plan, const struct fence_dest *d,
			   uint32_t timeout, struct set_elem out[2], const char **set);

/* Prints what the plan's backend would install: for legacy the sets and
 * both filter tables, like ipset list and iptables-save; for nft the
 * tables as `nft list ruleset` lists them (fw/nftplan.h). */
void fence_plan_print(const struct fence_plan *plan, FILE *out);

/* Whether the kernel has IPv6 at all: without it, it refuses IPv6 sockets
 * (EAFNOSUPPORT). */
bool fence_kernel_has_v6(void);

/* Chooses the backend (wanted, or for auto what the kernel offers: *chosen,
 * and why, in why[0..whylen)) and checks that the kernel has what it needs
 * (nf_tables; or the filter tables of both families and ip_set; and
 * NET_ADMIN) before anything is changed. When IPv6 is not in the kernel at
 * all, *no_v6 is set and only IPv4 is required. */
int fence_probe(enum fence_backend wanted, bool *no_v6, enum fence_backend *chosen, char *why,
		size_t whylen, struct perr *err);

/* Installs the plan with its backend. Legacy: each set filled completely
 * (replacing an existing one by an atomic swap), then one commit per
 * family; nft: everything in one transaction. fence_verify reads
 * everything back and compares it with the plan. */
int fence_install(const struct fence_plan *plan, struct perr *err);
int fence_verify(const struct fence_plan *plan, struct perr *err);

#endif
