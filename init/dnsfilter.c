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
#include "rundir.h"

#define LOG_BURST 20            /* log lines at once before the rate limit */
#define LOG_PER_SEC 5           /* then this many a second */
#define REPEAT_SEC 30           /* the same refusal is logged once in this time */
#define RECENT_MAX 128
#define REPORT_MAX 4096
#define REFUSED_RECENT_MAX 64   /* refused answers remembered, for repeats */

struct recent {
	uint8_t proto;
	uint16_t port;
	struct net_addr addr;
	uint64_t at;
};

/* An answer the answer policy refused lately: logged once in REPEAT_SEC. */
struct refused_recent {
	uint32_t name_hash;
	struct net_addr addr;
	uint64_t at;
};

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
	/* log rate limit */
	double tokens;
	uint64_t tokens_at_ms;
	unsigned long long suppressed;
	uint64_t suppressed_at;
	struct recent recent[RECENT_MAX];
	size_t recent_next;
	struct refused_recent refused_recent[REFUSED_RECENT_MAX];
	size_t refused_next;
	/* audit: allowlist lines for the report */
	char **report;
	size_t nreport;
};

/* ---- logging, rate-limited ---- */

static bool log_allowed(struct dnsfilter *f)
{
	uint64_t now = clock_ms();
	if (f->tokens_at_ms == 0) {
		f->tokens = LOG_BURST;
	} else {
		f->tokens += (double)(now - f->tokens_at_ms) * LOG_PER_SEC / 1000.0;
		if (f->tokens > LOG_BURST)
			f->tokens = LOG_BURST;
	}
	f->tokens_at_ms = now;
	if (f->tokens < 1) {
		f->suppressed++;
		return false;
	}
	f->tokens -= 1;
	return true;
}

/* JSON string contents: names and prefixes are printable ASCII already;
 * anything else is escaped anyway. */
static void json_str(struct text *t, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			textf(t, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			textf(t, "\\u%04x", c);
		else
			textf(t, "%c", c);
	}
}

static const char *proto_text(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	default: return "ip";
	}
}

static const char *qtype_text(uint16_t t, char *buf, size_t len)
{
	switch (t) {
	case DNS_TYPE_A: return "A";
	case DNS_TYPE_AAAA: return "AAAA";
	case DNS_TYPE_CNAME: return "CNAME";
	case 15: return "MX";
	case 16: return "TXT";
	case 12: return "PTR";
	case 33: return "SRV";
	case 65: return "HTTPS";
	default: snprintf(buf, len, "TYPE%u", t); return buf;
	}
}

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
	char tb[16];
	const char *type = qtype_text(q->qtype, tb, sizeof(tb));
	if (d == DNS_AUDITED) {
		f->audited++;
		if (log_allowed(f))
			log_info("audit: DNS query for %s (%s) would be refused", q->name, type);
		return true;
	}
	f->q_refused++;
	if (log_allowed(f)) {
		if (f->cfg->log_json) {
			char buf[512];
			struct text t;
			text_init(&t, buf, sizeof(buf));
			textf(&t, "{\"event\":\"dns-refused\",\"name\":\"");
			json_str(&t, q->name);
			textf(&t, "\",\"type\":\"%s\"}", type);
			fprintf(stderr, "%s\n", buf);
		} else {
			log_info("refused DNS query for %s (%s): not in the allowlist", q->name, type);
		}
	}
	return false;
}

/* The policy's way into the fence. */
static int allow_in_fence(void *ctx, const struct fence_dest *d, uint32_t timeout,
			  struct perr *err)
{
	struct dnsfilter *f = ctx;
	return fence_allow(f->ipset, f->plan, d, timeout, err);
}

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* True when the same refusal was logged less than REPEAT_SEC ago. */
static bool refusal_repeated(struct dnsfilter *f, const char *name, const struct net_addr *a)
{
	uint64_t now = clock_ms() / 1000;
	uint32_t h = str_hash(name);
	for (size_t i = 0; i < REFUSED_RECENT_MAX; i++) {
		struct refused_recent *r = &f->refused_recent[i];
		if (r->at && now - r->at < REPEAT_SEC && r->name_hash == h && net_equal(&r->addr, a)) {
			f->suppressed++;
			return true;
		}
	}
	f->refused_recent[f->refused_next] = (struct refused_recent){ .name_hash = h, .addr = *a,
								       .at = now };
	f->refused_next = (f->refused_next + 1) % REFUSED_RECENT_MAX;
	return false;
}

/* An answer of name that the answer policy keeps out of the fence. allowed:
 * the name is allowed (otherwise this is audit mode, which logged the
 * query already). */
static void answer_refused(struct dnsfilter *f, const char *name, bool allowed,
			   const struct net_addr *a, enum rebind_verdict v, const char *why)
{
	f->dirty = true;
	if (f->cfg->audit && v == REBIND_PRIVATE) {
		/* The report lets it through as the user would: by opting in. */
		char line[DNS_NAME_MAX + 16];
		snprintf(line, sizeof(line), "private %s", name);
		report_add(f, line);
	}
	if (!allowed || refusal_repeated(f, name, a) || !log_allowed(f))
		return;
	char m[REBIND_MSG_MAX];
	rebind_message(name, a, v, why, m, sizeof(m));
	if (f->cfg->audit) {
		log_info("audit: %s (let through: audit mode)", m);
		return;
	}
	if (f->cfg->log_json) {
		char buf[REBIND_MSG_MAX + 256], t[NET_ADDR_STRLEN];
		struct text tx;
		net_format(a, t, sizeof(t));
		text_init(&tx, buf, sizeof(buf));
		textf(&tx, "{\"event\":\"answer-refused\",\"name\":\"");
		json_str(&tx, name);
		textf(&tx, "\",\"addr\":\"%s\",\"why\":\"", t);
		json_str(&tx, why);
		textf(&tx, "\",\"verdict\":\"%s\"}", v == REBIND_PRIVATE ? "private" : "never");
		fprintf(stderr, "%s\n", buf);
		return;
	}
	log_info("%s", m);
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
		answer_refused(f, q->name, allowed, &refused[i].addr, refused[i].verdict,
			       refused[i].why);
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
	if (log_allowed(f))
		log_warn("DNS query for %s failed: %s; the agent gets SERVFAIL", q->name, why);
}

/* Something from the upstream's address and port that is not the answer:
 * a broken resolver, or someone forging its answers. */
static void dropped(void *ctx, const struct dns_query *q, const char *why)
{
	struct dnsfilter *f = ctx;
	if (log_allowed(f))
		log_warn("DNS filter: dropped a reply for %s that does not answer palisade's "
			 "query (%s): a broken or forged answer; still waiting for the upstream's",
			 q->name, why);
}

const struct dnsproxy_ops dnsfilter_ops = {
	.decide = decide,
	.answered = answered,
	.failed = failed,
	.dropped = dropped,
};

/* ---- refused connections ---- */

static bool repeated(struct dnsfilter *f, const struct nflog_event *ev)
{
	uint64_t now = clock_ms() / 1000;
	for (size_t i = 0; i < RECENT_MAX; i++) {
		struct recent *r = &f->recent[i];
		if (r->at && now - r->at < REPEAT_SEC && r->proto == ev->proto &&
		    r->port == ev->dport && net_equal(&r->addr, &ev->dst)) {
			f->suppressed++;
			return true;
		}
	}
	f->recent[f->recent_next] = (struct recent){ .proto = ev->proto, .port = ev->dport,
						     .addr = ev->dst, .at = now };
	f->recent_next = (f->recent_next + 1) % RECENT_MAX;
	return false;
}

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
	bool audit = strncmp(ev->prefix, NFLOG_PREFIX_AUDIT, strlen(NFLOG_PREFIX_AUDIT)) == 0;
	bool dns = strcmp(ev->prefix, NFLOG_PREFIX_DNS) == 0 ||
		   strcmp(ev->prefix, NFLOG_PREFIX_AUDIT_DNS) == 0;
	bool loopback = strcmp(ev->prefix, NFLOG_PREFIX_LOOPBACK) == 0 ||
			strcmp(ev->prefix, NFLOG_PREFIX_AUDIT_LOOPBACK) == 0;
	const char *name = dnspolicy_name_of(f->policy, &ev->dst);
	f->dirty = true;
	if (audit) {
		f->audited++;
		/* Neither is something an allowlist entry could let through. */
		if (!dns && !loopback)
			audit_record(f, ev, name);
	} else {
		f->refused++;
	}
	if (repeated(f, ev) || !log_allowed(f))
		return;
	char a[NET_ADDR_STRLEN];
	net_format(&ev->dst, a, sizeof(a));
	bool ports = ev->proto == IPPROTO_TCP || ev->proto == IPPROTO_UDP;
	if (f->cfg->log_json) {
		char buf[768];
		struct text t;
		text_init(&t, buf, sizeof(buf));
		textf(&t, "{\"event\":\"%s\",\"proto\":\"%s\",\"dst\":\"%s\"",
		      audit ? "audit" : dns ? "dns-bypass-refused" :
		      loopback ? "loopback-refused" : "refused",
		      proto_text(ev->proto), a);
		if (ports)
			textf(&t, ",\"port\":%u", ev->dport);
		if (name) {
			textf(&t, ",\"name\":\"");
			json_str(&t, name);
			textf(&t, "\"");
		}
		if (ev->has_uid)
			textf(&t, ",\"uid\":%u", ev->uid);
		textf(&t, "}");
		fprintf(stderr, "%s\n", buf);
		return;
	}
	char what[DNS_NAME_MAX + NET_ADDR_STRLEN + 64];
	struct text t;
	text_init(&t, what, sizeof(what));
	textf(&t, "%s to %s", proto_text(ev->proto), a);
	if (ports)
		textf(&t, " port %u", ev->dport);
	if (name)
		textf(&t, " (%s)", name);
	if (ev->has_uid)
		textf(&t, " from uid %u", ev->uid);
	if (audit)
		log_info("audit: %s would be refused", what);
	else if (dns)
		log_info("refused %s: DNS goes only through palisade's resolver", what);
	else if (loopback)
		log_info("refused %s: of the loopback addresses only 127.0.0.1 and ::1 are open "
			 "to the agent", what);
	else
		log_info("refused %s: not in the allowlist", what);
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
	if (f->suppressed && now - f->suppressed_at >= 10000) {
		log_info("%llu more refusals not shown (repeats, or more than %d a second)",
			 f->suppressed, LOG_PER_SEC);
		f->suppressed = 0;
		f->suppressed_at = now;
	}
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
	if (!f->policy) {
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
