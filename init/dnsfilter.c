#include "dnsfilter.h"

#include <stdlib.h>

#include "../fw/fence.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "auditreport.h"
#include "dnspolicy.h"
#include "refusallog.h"
#include "status.h"

struct dnsfilter {
	const struct config *cfg;
	const struct fence_plan *plan;
	const struct hostnet *host;     /* the container's neighbourhood */
	struct fence_handle *fence;     /* where fence_allow adds */
	struct dnspolicy *policy;
	struct status_writer status;
	struct refusal_log *log;
	struct audit_report report;     /* audit mode */
	struct net_addr *literal;       /* the allowlist's addresses and CIDRs */
	size_t nliteral;
};

static bool decide(void *ctx, const struct dns_query *q)
{
	struct dnsfilter *f = ctx;
	enum dns_decision d = dnspolicy_query(f->policy, q->name);
	if (d == DNS_ALLOWED) {
		status_count(&f->status, STATUS_QUERIES_ALLOWED);
		return true;
	}
	status_count(&f->status, d == DNS_AUDITED ? STATUS_AUDITED : STATUS_QUERIES_REFUSED);
	refusal_log_query(f->log, q->name, q->qtype, d == DNS_AUDITED);
	return d == DNS_AUDITED;
}

/* The policy's way into the fence. */
static int allow_in_fence(void *ctx, const struct fence_dest *d, uint32_t timeout,
			  struct perr *err)
{
	struct dnsfilter *f = ctx;
	return fence_allow(f->fence, f->plan, d, timeout, err);
}

/* An answer of name that the answer policy keeps out of the fence. allowed:
 * the name is allowed (otherwise this is audit mode, which logged the
 * query already). */
static void answer_refused(struct dnsfilter *f, const char *name, bool allowed,
			   const struct dns_refusal *r)
{
	/* The report lets it through as the user would: by opting in. */
	if (f->cfg->audit && r->verdict == REBIND_PRIVATE)
		audit_report_private(&f->report, name);
	if (allowed)
		refusal_log_answer(f->log, name, r);
}

static int answered(void *ctx, const struct dns_query *q, const struct dns_answer *a,
		    uint32_t *cache_for)
{
	struct dnsfilter *f = ctx;
	bool allowed = dnspolicy_query(f->policy, q->name) == DNS_ALLOWED;
	struct dns_refusal refused[DNS_ADDRS_MAX];
	size_t nrefused;
	struct perr err = PERR_INIT;
	int rc = dnspolicy_answer(f->policy, q->name, a, clock_ms() / 1000, refused, &nrefused,
				  &err);
	for (size_t i = 0; i < nrefused; i++)
		answer_refused(f, q->name, allowed, &refused[i]);
	if (rc < 0) {
		log_error("DNS filter: cannot allow an address of %s: %s; the query gets "
			  "SERVFAIL", q->name, err.msg);
		status_count(&f->status, STATUS_QUERIES_FAILED);
		return -1;
	}
	if (!allowed && f->cfg->audit && a->rcode == DNS_RCODE_NOERROR)
		audit_report_add(&f->report, q->name);
	/* Allowed: its addresses are in the fence for their TTL (at most
	 * DNSPOLICY_TTL_MAX) and the grace period, longer than the cache
	 * serves the answer. Audit mode's answers of names the allowlist
	 * refuses are not cached: each one goes into the report. */
	if (allowed)
		*cache_for = DNSPOLICY_TTL_MAX;
	return 0;
}

static void cache_hit(void *ctx, const struct dns_query *q)
{
	(void)q;
	struct dnsfilter *f = ctx;
	status_count(&f->status, STATUS_CACHE_HITS);
}

static void failed(void *ctx, const struct dns_query *q, const char *why)
{
	struct dnsfilter *f = ctx;
	status_count(&f->status, STATUS_QUERIES_FAILED);
	refusal_log_failed(f->log, q->name, why);
}

static void dropped(void *ctx, const struct dns_query *q, const char *why)
{
	struct dnsfilter *f = ctx;
	refusal_log_dropped(f->log, q->name, why);
}

const struct dnsproxy_ops dnsfilter_ops = {
	.decide = decide,
	.answered = answered,
	.cache_hit = cache_hit,
	.failed = failed,
	.dropped = dropped,
};

void dnsfilter_on_nflog(void *ctx, const struct pktlog_event *ev)
{
	struct dnsfilter *f = ctx;
	bool audit;
	enum packet_cause cause = packet_cause(ev, &audit);
	const char *name = dnspolicy_name_of(f->policy, &ev->dst);
	if (audit) {
		status_count(&f->status, STATUS_AUDITED);
		/* Neither is something an allowlist entry could let through. */
		if (cause == PACKET_NOT_ALLOWED)
			audit_report_packet(&f->report, f->cfg, f->host, ev, name);
	} else {
		status_count(&f->status, STATUS_CONNECTIONS_REFUSED);
	}
	refusal_log_packet(f->log, ev, name);
}

bool dnsfilter_literal(const struct dnsfilter *f, const struct net_addr *addr)
{
	for (size_t i = 0; i < f->nliteral; i++)
		if (net_contains(&f->literal[i], addr))
			return true;
	return false;
}

/* An exact or wildcard entry, or a preset's. */
bool dnsfilter_name_allowed(const struct dnsfilter *f, const char *name)
{
	return dnspolicy_query(f->policy, name) == DNS_ALLOWED;
}

void dnsfilter_on_checked(struct dnsfilter *f, const struct namecheck_packet *p,
			  const char *name, bool refused, const char *why)
{
	status_count(&f->status, STATUS_NAMES_CHECKED);
	if (!refused)
		return;
	status_count(&f->status, STATUS_NAMES_REFUSED);
	if (f->cfg->audit)
		status_count(&f->status, STATUS_AUDITED);
	refusal_log_name(f->log, p->proto, &p->dst, p->dport, name, why);
}

void dnsfilter_set_status_dir(struct dnsfilter *f, int dirfd)
{
	status_start(&f->status, dirfd);
}

void dnsfilter_flush(struct dnsfilter *f)
{
	status_flush(&f->status);
}

void dnsfilter_tick(struct dnsfilter *f)
{
	status_tick(&f->status);
	refusal_log_tick(f->log);
}

struct dnsfilter *dnsfilter_new(const struct config *cfg, const struct policy *pol,
				struct perr *err)
{
	struct dnsfilter *f = calloc(1, sizeof(*f));
	if (!f) {
		perr_code(err, ENOMEM, "out of memory");
		return NULL;
	}
	f->cfg = cfg;
	f->plan = &pol->plan;
	f->host = &pol->host;
	audit_report_init(&f->report);
	/* Audit mode: a private answer refused at start goes into the report
	 * as the opt-in that lets it through. */
	for (size_t i = 0; cfg->audit && i < pol->nrefused; i++)
		if (pol->refused[i].verdict == REBIND_PRIVATE)
			audit_report_private(&f->report, pol->refused[i].name);
	status_writer_init(&f->status, &cfg->allow, cfg->audit, pol->plan.backend);
	f->fence = fence_open(&pol->plan, err);
	if (!f->fence) {
		dnsfilter_free(f);
		return NULL;
	}
	for (size_t i = 0; i < cfg->allow.n; i++)
		if (cfg->allow.v[i].kind == ENTRY_NET)
			f->nliteral++;
	f->literal = calloc(f->nliteral ? f->nliteral : 1, sizeof(*f->literal));
	for (size_t i = 0, j = 0; f->literal && i < cfg->allow.n; i++)
		if (cfg->allow.v[i].kind == ENTRY_NET)
			f->literal[j++] = cfg->allow.v[i].net;
	f->policy = dnspolicy_new(cfg, &pol->host, allow_in_fence, f);
	f->log = refusal_log_new(cfg->log_json, cfg->audit);
	if (!f->policy || !f->log || !f->literal) {
		perr_code(err, ENOMEM, "out of memory");
		dnsfilter_free(f);
		return NULL;
	}
	return f;
}

void dnsfilter_free(struct dnsfilter *f)
{
	if (!f)
		return;
	dnspolicy_free(f->policy);
	refusal_log_free(f->log);
	fence_close(f->fence);
	audit_report_free(&f->report);
	free(f->literal);
	free(f);
}

int dnsfilter_write_report(struct dnsfilter *f, int fd, struct perr *err)
{
	return audit_report_write(&f->report, f->cfg, fd, err);
}
