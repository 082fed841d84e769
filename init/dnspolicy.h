/* The DNS filter's decisions: which names the agent may resolve, which
 * addresses of their answers go into the fence and for how long, and the
 * name each address was last an answer for, to name a refused connection.
 * Pure: no I/O and no clock (the caller passes the time); the fence is
 * changed only through the allow function the caller gives (fence_allow
 * in PID 1, a recorder in the tests).
 *
 * An address of an answer is allowed for the answer's TTL (a day at most)
 * plus the grace period, for every entry that allows the name, each with
 * its ports, unless the answer policy (fw/rebind.h) refuses it: the
 * container's neighbourhood never, private addresses only for names opted
 * in. In audit mode a name no entry allows is let through, and the
 * addresses of its answers are remembered only to name them.
 *
 * It is in init/, not dns/, because it decides on the allowlist
 * (allowlist.h): dns/ parses and carries DNS messages and knows nothing of
 * what is allowed. */
#ifndef PALISADE_DNSPOLICY_H
#define PALISADE_DNSPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../dns/dnsmsg.h"
#include "../fw/fence.h"
#include "../fw/rebind.h"
#include "../lib/err.h"
#include "config.h"

#define DNSPOLICY_NAMES_MAX 4096  /* addresses whose name is remembered */
#define DNSPOLICY_TTL_MAX 86400u  /* longer TTLs count as a day */

/* Lets d (an answer's address, with an allowing entry's ports) through the
 * fence for timeout seconds. Returns 0, or -1 with err. */
typedef int (*dnspolicy_allow_fn)(void *ctx, const struct fence_dest *d, uint32_t timeout,
				  struct perr *err);

enum dns_decision {
	DNS_ALLOWED,    /* an entry allows the name */
	DNS_REFUSED,    /* none does: the agent gets NXDOMAIN */
	DNS_AUDITED,    /* none does, but audit mode lets it through */
};

/* An address of an answer that the answer policy kept out of the fence. */
struct dns_refusal {
	struct net_addr addr;
	enum rebind_verdict verdict;
	char why[REBIND_WHY_MAX];
};

struct dnspolicy;

/* cfg (the allowlist, audit mode, the grace period) and host (the
 * container's neighbourhood) must outlive the policy. NULL when out of
 * memory. */
struct dnspolicy *dnspolicy_new(const struct config *cfg, const struct hostnet *host,
				dnspolicy_allow_fn allow, void *allow_ctx);
void dnspolicy_free(struct dnspolicy *p);

/* What to do with a query for name (lowercase, no final dot). */
enum dns_decision dnspolicy_query(const struct dnspolicy *p, const char *name);

/* The answer to a query for name that was let through, at time now
 * (monotonic seconds). Each address is remembered under name; each the
 * answer policy accepts, and that name and an equal or later expiry did
 * not put there already, is allowed for every entry that allows name. The
 * addresses kept out are put in refused (room for DNS_ADDRS_MAX), *nrefused
 * of them, also on failure. Returns 0, or -1 when the fence could not be
 * told (err says why; the rest of the answer is left, and the agent should
 * get SERVFAIL). */
int dnspolicy_answer(struct dnspolicy *p, const char *name, const struct dns_answer *a,
		     uint64_t now, struct dns_refusal *refused, size_t *nrefused,
		     struct perr *err);

/* The name addr was last an answer for, or NULL. */
const char *dnspolicy_name_of(const struct dnspolicy *p, const struct net_addr *addr);

#endif
