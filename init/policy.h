/* From the allowlist to the fence: resolve the names, plan the sets and
 * rules, install them, and say what is allowed. */
#ifndef PALISADE_POLICY_H
#define PALISADE_POLICY_H

#include <stdbool.h>
#include <stdio.h>

#include "../fw/fence.h"
#include "../fw/rebind.h"
#include "../dns/resolve.h"
#include "../dns/resolvconf.h"
#include "../lib/text.h"
#include "config.h"

#define RESOLV_CONF "/etc/resolv.conf"

/* An answer of an allowed name, at start, that the answer policy
 * (fw/rebind.h) kept out of the fence. */
struct refused_answer {
	const char *name;
	struct net_addr addr;
	enum rebind_verdict verdict;
	char why[REBIND_WHY_MAX];
};

struct policy {
	struct resolvers resolvers;
	struct hostnet host;          /* the container's addresses, gateways, resolvers */
	struct refused_answer *refused;
	size_t nrefused;
	const char **names;           /* the allowlist's domain names, once each */
	struct resolved *resolved;    /* one per name */
	size_t nnames;
	size_t unresolved;
	struct fence_plan plan;
	bool no_v6;                   /* the container has no IPv6 at all */
};

/* Reads resolv.conf and the container's addresses and gateways, resolves
 * every name, keeps out the answers the answer policy refuses, and plans
 * the fence. With --strict, a name that does not resolve, or resolves only
 * to refused addresses, is an error. v6 says whether IPv6 is fenced (it
 * is, unless the container has no IPv6). */
int policy_build(struct policy *p, const struct config *c, bool v6, struct perr *err);
void policy_free(struct policy *p);

/* Logs the answers refused at start, one line each (the first
 * POLICY_LOG_REFUSED of them, then a count); in audit mode, as what would
 * be refused. */
#define POLICY_LOG_REFUSED 20
void policy_log_refused(const struct policy *p, bool audit);

/* For --check: the resolved names, then the sets and rules. */
void policy_print(const struct policy *p, FILE *out);

/* The startup summary: names, addresses and CIDRs per family, and the
 * names that did not resolve, appended to t. */
void policy_summary(const struct policy *p, struct text *t);

#endif
