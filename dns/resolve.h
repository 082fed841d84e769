/* Resolving the allowlist's names: A and AAAA for every name at once, with
 * c-ares (no NSS), through the given resolvers, within a total time. */
#ifndef PALISADE_RESOLVE_H
#define PALISADE_RESOLVE_H

#include <stddef.h>

#include "../fw/net.h"
#include "../lib/err.h"

#define RESOLVE_WINDOW 64 /* names looked up at once */

struct resolved {
	const char *name;       /* the caller's string */
	int status;             /* 0, or an ARES_* code */
	char why[64];           /* "NXDOMAIN", "timed out", ... when status != 0 */
	struct net_addr *addrs; /* v4 and v6 */
	size_t naddrs;
};

/* Resolves names[0..n) through servers (none: c-ares reads
 * /etc/resolv.conf) within timeout_ms in total. Each name is looked up as
 * written, never with search domains. out must hold n entries. Returns -1
 * only when the resolver cannot run at all. */
int resolve_names(const char *const *names, size_t n, const struct net_addr *servers,
		  size_t nservers, unsigned timeout_ms, struct resolved *out,
		  struct perr *err);
void resolved_free(struct resolved *r, size_t n);

#endif
