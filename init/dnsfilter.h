/* PID 1's DNS filter: the live allowlist, put together. For each query
 * and answer of the DNS proxy, the decisions of dnspolicy.h, the fence
 * told through fence_allow; for each packet the fence logs (NFLOG), the
 * name the agent last looked up for its address. What happens is counted
 * in the status file (status.h) and said in the refusal log
 * (refusallog.h); in audit mode, nothing is refused, and what would have
 * been goes into the report (auditreport.h). */
#ifndef PALISADE_DNSFILTER_H
#define PALISADE_DNSFILTER_H

#include <stdbool.h>

#include "../dns/dnsproxy.h"
#include "../fw/fence.h"
#include "../fw/pktlog.h"
#include "config.h"
#include "namecheck.h"
#include "policy.h"

struct dnsfilter;

/* cfg and pol (its plan, which says whether IPv6 is fenced, and the
 * container's addresses and gateways for the answer policy) must outlive
 * the filter. Opens the fence's socket (before privileges are dropped). */
struct dnsfilter *dnsfilter_new(const struct config *cfg, const struct policy *pol,
				struct perr *err);
void dnsfilter_free(struct dnsfilter *f);

/* The decisions, for dnsproxy_attach (ctx: the filter). */
extern const struct dnsproxy_ops dnsfilter_ops;

/* One refused (or, in audit mode, logged) packet from the fence's NFLOG. */
void dnsfilter_on_nflog(void *ctx, const struct pktlog_event *ev);

/* For the name check (namecheck.h): whether the allowlist gives addr as
 * an address or CIDR (not checked); whether an entry allows name (every
 * name whose answer put an address in the fence is one such: the DNS
 * filter forwards no other); and a connection checked,
 * counted, and logged when refused. */
bool dnsfilter_literal(const struct dnsfilter *f, const struct net_addr *addr);
bool dnsfilter_name_allowed(const struct dnsfilter *f, const char *name);
void dnsfilter_on_checked(struct dnsfilter *f, const struct namecheck_packet *p,
			  const char *name, bool refused, const char *why);

/* The directory for the status file (RUN_DIR, checked by the caller, who
 * keeps it open): written at once, then at most once a second when it
 * changed. Without it, there is no status file. */
void dnsfilter_set_status_dir(struct dnsfilter *f, int dirfd);

/* After each pass of the loop: status file, summaries of suppressed log
 * lines. */
void dnsfilter_tick(struct dnsfilter *f);
/* Once the agent has exited: the status file's last counts. */
void dnsfilter_flush(struct dnsfilter *f);

/* Audit mode: writes, to fd, an allowlist that would have allowed the run:
 * the entries already allowed, then the names and destinations that were
 * let through only because of --audit. Closes fd, also on failure; a
 * failed write or close is an error. */
int dnsfilter_write_report(struct dnsfilter *f, int fd, struct perr *err);

#endif
