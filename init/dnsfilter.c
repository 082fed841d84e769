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
#include "rundir.h"

#define REPORT_MAX 4096

struct dnsfilter {
	const struct config *cfg;
	const struct fence_plan *plan;
	const struct hostnet *host;     /* the container's neighbourhood */
	struct ipset *ipset;
	struct dnspolicy *policy;
	/* counts, for `palisade status` */
	unsigned long long q_allowed, q_refused, q_failed, refused, audited;
	bool dirty;
	uint64_t status_at;
	int status_dir;         /* RUN_DIR, checked by PID 1, or -1: no status */
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
	f->dirty = true;
	enum dns_decision d = dnspolicy_query(f->policy, q->name);
	if (d == DNS_ALLOWED) {
		f->q_allowed++;
		return true;
	}
	if (d == DNS_AUDITED)
		f->audited++;
	else
		f->q_refused++;
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
	f->dirty = true;
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
		f->q_failed++;
		return -1;
	}
	if (!allowed && f->cfg->audit && a->rcode == DNS_RCODE_NOERROR)
		report_add(f, q->name);
	return 0;
}

static void failed(void *ctx, const struct dns_query *q, const char *why)
{
	struct dnsfilter *f = ctx;
	f->q_failed++;
	f->dirty = true;
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
	f->dirty = true;
	if (audit) {
		f->audited++;
		/* Neither is something an allowlist entry could let through. */
		if (cause == PACKET_NOT_ALLOWED)
			audit_record(f, ev, name);
	} else {
		f->refused++;
	}
	refusal_log_packet(f->log, ev, name);
}

/* ---- status ---- */

static void write_status(struct dnsfilter *f)
{
	char buf[8192];
	struct text t;
	text_init(&t, buf, sizeof(buf));
	textf(&t, "names");
	for (size_t i = 0; i < f->cfg->allow.n; i++) {
		const struct entry *e = &f->cfg->allow.v[i];
		if (e->kind != ENTRY_DOMAIN && e->kind != ENTRY_WILDCARD)
			continue;
		if (t.used > sizeof(buf) - 512) {
			/* Room for the counts: a long list is cut. */
			textf(&t, " ...");
			break;
		}
		textf(&t, " %s%s", e->kind == ENTRY_WILDCARD ? "*." : "", e->name);
	}
	textf(&t, "\nqueries-allowed %llu\nqueries-refused %llu\nqueries-failed %llu\n"
		  "connections-refused %llu\naudit %s\naudited %llu\n",
	      f->q_allowed, f->q_refused, f->q_failed, f->refused, f->cfg->audit ? "on" : "off",
	      f->audited);
	if (t.used >= sizeof(buf))
		return;
	struct perr err;
	if (rundir_write(f->status_dir, RUN_STATUS, buf, t.used, &err) < 0)
		log_debug("%s", err.msg);
}

void dnsfilter_set_status_dir(struct dnsfilter *f, int dirfd)
{
	f->status_dir = dirfd;
	write_status(f);
	f->dirty = false;
	f->status_at = clock_ms();
}

void dnsfilter_tick(struct dnsfilter *f)
{
	uint64_t now = clock_ms();
	if (f->dirty && f->status_dir >= 0 && now - f->status_at >= 1000) {
		write_status(f);
		f->dirty = false;
		f->status_at = now;
	}
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
	f->dirty = true;
	f->status_dir = -1;
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

/* ---- palisade status ---- */

int dnsfilter_print_status(FILE *out)
{
	char buf[8192 + 1];
	struct perr rerr;
	if (rundir_read(RUN_STATUS, buf, sizeof(buf), &rerr) < 0) {
		log_error("status: %s%s", rerr.msg, errno == ENOENT ? "; is palisade this "
			  "container's PID 1?" : "");
		return 1;
	}
	unsigned long long qa = 0, qr = 0, qf = 0, cr = 0, au = 0;
	char audit[8] = "off";
	const char *names = strncmp(buf, "names", 5) == 0 ? buf + 5 : "";
	const char *nl = strchr(names, '\n');
	int nlen = nl ? (int)(nl - names) : (int)strlen(names);
	const char *p;
	if ((p = strstr(buf, "\nqueries-allowed ")))
		sscanf(p, "\nqueries-allowed %llu", &qa);
	if ((p = strstr(buf, "\nqueries-refused ")))
		sscanf(p, "\nqueries-refused %llu", &qr);
	if ((p = strstr(buf, "\nqueries-failed ")))
		sscanf(p, "\nqueries-failed %llu", &qf);
	if ((p = strstr(buf, "\nconnections-refused ")))
		sscanf(p, "\nconnections-refused %llu", &cr);
	if ((p = strstr(buf, "\naudit ")))
		sscanf(p, "\naudit %7s", audit);
	if ((p = strstr(buf, "\naudited ")))
		sscanf(p, "\naudited %llu", &au);
	fprintf(out, "allowed names:%.*s\n", nlen, nlen ? names : " (none)");
	fprintf(out, "DNS queries: %llu allowed, %llu refused, %llu failed\n", qa, qr, qf);
	fprintf(out, "connections refused: %llu\n", cr);
	if (strcmp(audit, "on") == 0)
		fprintf(out, "audit mode: %llu queries and connections let through that the "
			     "allowlist would refuse\n", au);

	struct perr err;
	struct ipset *is = ipset_open(&err);
	if (!is) {
		log_error("status: %s; run it as root: docker exec CONTAINER palisade status",
			  err.msg);
		return 1;
	}
	int rc = 0;
	for (int f = 0; f < 2; f++) {
		for (int k = 0; k < SET_KINDS; k++) {
			const char *name = set_name(f ? NET_V6 : NET_V4, (enum set_kind)k);
			struct set_elem *v = NULL;
			size_t nv = 0;
			int ex = ipset_exists(is, name, &err);
			if (ex == 0)
				continue;
			if (ex < 0 || ipset_list(is, name, &v, &nv, &err) < 0) {
				log_error("status: set %s: %s", name, err.msg);
				rc = 1;
				continue;
			}
			static const char *const what[] = { "default ports", "the entry's port",
							    "every port" };
			fprintf(out, "%s (%s): %zu\n", name, what[k], nv);
			if (nv > 1)
				qsort(v, nv, sizeof(*v), set_elem_cmp);
			for (size_t i = 0; i < nv; i++) {
				char a[NET_ADDR_STRLEN + 16];
				net_format(&v[i].net, a, sizeof(a));
				if (v[i].port) {
					size_t l = strlen(a);
					snprintf(a + l, sizeof(a) - l, " %s:%u",
						 v[i].proto == PROTO_TCP ? "tcp" : "udp", v[i].port);
				}
				if (v[i].timeout)
					fprintf(out, "  %-44s %u s left\n", a, v[i].timeout);
				else
					fprintf(out, "  %-44s permanent\n", a);
			}
			free(v);
		}
	}
	ipset_close(is);
	return rc;
}
