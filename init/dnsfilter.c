#include "dnsfilter.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../fw/ipset.h"
#include "../lib/clock.h"
#include "../lib/fdio.h"
#include "../lib/log.h"
#include "../lib/text.h"
#include "dnspolicy.h"
#include "refusallog.h"
#include "status.h"

#define REPORT_MAX 4096

struct dnsfilter {
	const struct config *cfg;
	const struct fence_plan *plan;
	const struct hostnet *host;     /* the container's neighbourhood */
	struct ipset *ipset;
	struct dnspolicy *policy;
	struct status_writer status;
	struct refusal_log *log;
	/* audit: allowlist lines for the report */
	char **report;
	size_t nreport;
};

/* ---- decisions ---- */

static void report_add(struct dnsfilter *f, const char *line)
{
	for (size_t i = 0; i < f->nreport; i++)
		if (strcmp(f->report[i], line) == 0)
			return;
	if (f->nreport >= REPORT_MAX)
		return;
	char **v = realloc(f->report, (f->nreport + 1) * sizeof(*v));
	if (!v)
		return;
	f->report = v;
	if ((f->report[f->nreport] = strdup(line)))
		f->nreport++;
}

static bool decide(void *ctx, const struct dns_query *q, bool tcp)
{
	(void)tcp;
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
	return fence_allow(f->ipset, f->plan, d, timeout, err);
}

/* An answer of name that the answer policy keeps out of the fence. allowed:
 * the name is allowed (otherwise this is audit mode, which logged the
 * query already). */
static void answer_refused(struct dnsfilter *f, const char *name, bool allowed,
			   const struct dns_refusal *r)
{
	if (f->cfg->audit && r->verdict == REBIND_PRIVATE) {
		/* The report lets it through as the user would: by opting in. */
		char line[DNS_NAME_MAX + 16];
		snprintf(line, sizeof(line), "private %s", name);
		report_add(f, line);
	}
	if (allowed)
		refusal_log_answer(f->log, name, r);
}

static int answered(void *ctx, const struct dns_query *q, const struct dns_answer *a)
{
	struct dnsfilter *f = ctx;
	bool allowed = dnspolicy_query(f->policy, q->name) == DNS_ALLOWED;
	struct dns_refusal refused[DNS_ADDRS_MAX];
	size_t nrefused;
	struct perr err;
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
		report_add(f, q->name);
	return 0;
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
	.failed = failed,
	.dropped = dropped,
};

/* ---- refused connections ---- */

static bool default_port(const struct dnsfilter *f, uint8_t proto, uint16_t port)
{
	const struct port_list *l = &f->cfg->default_ports;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].proto == proto && l->v[i].port == port)
			return true;
	return false;
}

static void audit_record(struct dnsfilter *f, const struct nflog_event *ev, const char *name)
{
	char line[DNS_NAME_MAX + NET_ADDR_STRLEN + 16], a[NET_ADDR_STRLEN];
	if (name) {
		/* Allowing the name alone would not let this address through: a
		 * private one needs the name opted in too; one that no name may
		 * bring in is not put in the report as an entry (the user
		 * decides whether to write the address itself), only said in a
		 * comment. */
		char why[REBIND_WHY_MAX];
		enum rebind_verdict v = rebind_classify(&ev->dst, f->host, why, sizeof(why));
		if (v == REBIND_NEVER) {
			char m[REBIND_MSG_MAX], c[REBIND_MSG_MAX + 4];
			rebind_message(name, &ev->dst, v, why, m, sizeof(m));
			snprintf(c, sizeof(c), "# %s", m);
			report_add(f, c);
			return;
		}
		if (v == REBIND_PRIVATE && !allowlist_private_ok(&f->cfg->allow, name)) {
			snprintf(line, sizeof(line), "private %s", name);
			report_add(f, line);
		}
	}
	net_format(&ev->dst, a, sizeof(a));
	bool ports = ev->proto == IPPROTO_TCP || ev->proto == IPPROTO_UDP;
	bool dflt = ports && default_port(f, ev->proto, ev->dport);
	const char *host = name ? name : a;
	/* An IPv6 address with a port is written [address]:port. */
	bool v6lit = !name && ev->dst.family == NET_V6;
	if (dflt)
		snprintf(line, sizeof(line), "%s", host);
	else if (!ports)
		snprintf(line, sizeof(line), v6lit ? "[%s]:*" : "%s:*", host);
	else
		snprintf(line, sizeof(line), v6lit ? "[%s]:%u" : "%s:%u", host, ev->dport);
	report_add(f, line);
}

void dnsfilter_on_nflog(void *ctx, const struct nflog_event *ev)
{
	struct dnsfilter *f = ctx;
	bool audit;
	enum packet_cause cause = packet_cause(ev, &audit);
	const char *name = dnspolicy_name_of(f->policy, &ev->dst);
	if (audit) {
		status_count(&f->status, STATUS_AUDITED);
		/* Neither is something an allowlist entry could let through. */
		if (cause == PACKET_NOT_ALLOWED)
			audit_record(f, ev, name);
	} else {
		status_count(&f->status, STATUS_CONNECTIONS_REFUSED);
	}
	refusal_log_packet(f->log, ev, name);
}

void dnsfilter_set_status_dir(struct dnsfilter *f, int dirfd)
{
	status_start(&f->status, dirfd);
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
		perr_set(err, "out of memory");
		return NULL;
	}
	f->cfg = cfg;
	f->plan = &pol->plan;
	f->host = &pol->host;
	/* Audit mode: a private answer refused at start goes into the report
	 * as the opt-in that lets it through. */
	for (size_t i = 0; cfg->audit && i < pol->nrefused; i++) {
		if (pol->refused[i].verdict != REBIND_PRIVATE)
			continue;
		char line[DNS_NAME_MAX + 16];
		snprintf(line, sizeof(line), "private %s", pol->refused[i].name);
		report_add(f, line);
	}
	status_writer_init(&f->status, &cfg->allow, cfg->audit);
	f->ipset = ipset_open(err);
	if (!f->ipset) {
		dnsfilter_free(f);
		return NULL;
	}
	f->policy = dnspolicy_new(cfg, &pol->host, allow_in_fence, f);
	f->log = refusal_log_new(cfg->log_json, cfg->audit);
	if (!f->policy || !f->log) {
		perr_set(err, "out of memory");
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
	ipset_close(f->ipset);
	for (size_t i = 0; i < f->nreport; i++)
		free(f->report[i]);
	free(f->report);
	free(f);
}

/* ---- the audit report ---- */

int dnsfilter_write_report(struct dnsfilter *f, int fd, struct perr *err)
{
	char line[ALLOW_LINE_MAX + 64];
	int rc = 0;
	snprintf(line, sizeof(line), "# palisade --audit report: an allowlist that lets this run "
		 "through.\n# Already allowed:\n");
	rc = write_full(fd, line, strlen(line));
	for (size_t i = 0; i < f->cfg->allow.n && rc == 0; i++) {
		char e[ALLOW_LINE_MAX];
		entry_format(&f->cfg->allow.v[i], e, sizeof(e));
		snprintf(line, sizeof(line), "%s\n", e);
		rc = write_full(fd, line, strlen(line));
	}
	for (size_t i = 0; i < f->cfg->allow.npriv && rc == 0; i++) {
		const struct private_name *p = &f->cfg->allow.priv[i];
		snprintf(line, sizeof(line), "private %s%s\n", p->kind == ENTRY_WILDCARD ? "*." : "",
			 p->name);
		rc = write_full(fd, line, strlen(line));
	}
	if (rc == 0) {
		snprintf(line, sizeof(line), "# Reached only because of --audit (%zu):\n",
			 f->nreport);
		rc = write_full(fd, line, strlen(line));
	}
	for (size_t i = 0; i < f->nreport && rc == 0; i++) {
		snprintf(line, sizeof(line), "%s\n", f->report[i]);
		rc = write_full(fd, line, strlen(line));
	}
	int write_errno = rc < 0 ? errno : 0;
	/* Closed whatever happened; on a network file system, close is where
	 * a failed write shows. */
	if (close(fd) < 0 && write_errno == 0)
		return perr_set(err, "closing the audit report: %s", strerror(errno));
	if (write_errno)
		return perr_set(err, "writing the audit report: %s", strerror(write_errno));
	return 0;
}
