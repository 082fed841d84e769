#include "status.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../fw/fence.h"
#include "../fw/ipset.h"
#include "../fw/nft.h"
#include "../fw/nftplan.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/text.h"
#include "launch.h"
#include "rundir.h"

/* The counts' keys in the file, in the order of enum status_counter. */
static const char *const keys[STATUS_COUNTERS] = {
	"queries-allowed", "queries-refused", "queries-failed", "connections-refused",
	"audited", "cache-hits", "names-checked", "names-refused",
};

ssize_t status_format(const struct allowlist *allow, const struct status *s, char *buf,
		      size_t len)
{
	struct text t;
	text_init(&t, buf, len);
	textf(&t, "names");
	for (size_t i = 0; i < allow->n; i++) {
		const struct entry *e = &allow->v[i];
		if (e->kind != ENTRY_DOMAIN && e->kind != ENTRY_WILDCARD)
			continue;
		if (t.used + 512 > len) {
			/* Room for the counts: a long list is cut. */
			textf(&t, " ...");
			break;
		}
		textf(&t, " %s%s", e->kind == ENTRY_WILDCARD ? "*." : "", e->name);
	}
	textf(&t, "\n%s %llu\n%s %llu\n%s %llu\n%s %llu\naudit %s\n%s %llu\nbackend %s\n",
	      keys[STATUS_QUERIES_ALLOWED], s->count[STATUS_QUERIES_ALLOWED],
	      keys[STATUS_QUERIES_REFUSED], s->count[STATUS_QUERIES_REFUSED],
	      keys[STATUS_QUERIES_FAILED], s->count[STATUS_QUERIES_FAILED],
	      keys[STATUS_CONNECTIONS_REFUSED], s->count[STATUS_CONNECTIONS_REFUSED],
	      s->audit ? "on" : "off", keys[STATUS_AUDITED], s->count[STATUS_AUDITED],
	      fence_backend_name(s->backend));
	for (int i = STATUS_CACHE_HITS; i < STATUS_COUNTERS; i++)
		textf(&t, "%s %llu\n", keys[i], s->count[i]);
	if (t.used >= len)
		return -1;
	return (ssize_t)t.used;
}

void status_parse(const char *text, struct status *s, const char **names, int *nnames)
{
	memset(s, 0, sizeof(*s));
	*names = strncmp(text, "names", 5) == 0 ? text + 5 : "";
	const char *nl = strchr(*names, '\n');
	*nnames = nl ? (int)(nl - *names) : (int)strlen(*names);
	for (int i = 0; i < STATUS_COUNTERS; i++) {
		char key[32];
		snprintf(key, sizeof(key), "\n%s ", keys[i]);
		const char *p = strstr(text, key);
		if (p)
			sscanf(p + strlen(key), "%llu", &s->count[i]);
	}
	char audit[8] = "off";
	const char *p = strstr(text, "\naudit ");
	if (p)
		sscanf(p, "\naudit %7s", audit);
	s->audit = strcmp(audit, "on") == 0;
	char backend[8] = "legacy";
	p = strstr(text, "\nbackend ");
	if (p)
		sscanf(p, "\nbackend %7s", backend);
	if (fence_backend_parse(backend, &s->backend) < 0)
		s->backend = FENCE_BACKEND_LEGACY;
}

/* ---- PID 1's writer ---- */

void status_writer_init(struct status_writer *w, const struct allowlist *allow, bool audit,
			enum fence_backend backend)
{
	memset(w, 0, sizeof(*w));
	w->allow = allow;
	w->s.audit = audit;
	w->s.backend = backend;
	w->dir = -1;
	w->dirty = true;
}

void status_count(struct status_writer *w, enum status_counter c)
{
	w->s.count[c]++;
	w->dirty = true;
}

static void status_write(struct status_writer *w)
{
	char buf[STATUS_MAX];
	ssize_t n = status_format(w->allow, &w->s, buf, sizeof(buf));
	struct perr err = PERR_INIT;
	if (n >= 0 && rundir_write(w->dir, RUN_STATUS, buf, (size_t)n, &err) < 0)
		log_debug("%s", err.msg);
	w->dirty = false;
	w->written_ms = clock_ms();
}

void status_start(struct status_writer *w, int dirfd)
{
	w->dir = dirfd;
	status_write(w);
}

void status_tick(struct status_writer *w)
{
	if (w->dirty && w->dir >= 0 && clock_ms() - w->written_ms >= 1000)
		status_write(w);
}

void status_flush(struct status_writer *w)
{
	if (w->dirty && w->dir >= 0)
		status_write(w);
}

/* ---- palisade status ---- */

static const char *const kind_what[SET_KINDS] = {
	"default ports", "the entry's port", "every port",
};

/* One member: addresses a (with the protocol and port, if any) and its
 * time left (0: permanent). */
static void print_member(const char *a, uint8_t proto, uint16_t port, uint32_t left, FILE *out)
{
	char m[2 * NET_ADDR_STRLEN + 16];
	snprintf(m, sizeof(m), "%s", a);
	if (port) {
		size_t l = strlen(m);
		snprintf(m + l, sizeof(m) - l, " %s:%u", proto == PROTO_TCP ? "tcp" : "udp", port);
	}
	if (left)
		fprintf(out, "  %-44s %u s left\n", m, left);
	else
		fprintf(out, "  %-44s permanent\n", m);
}

/* One set as the kernel has it, each member with its time left. Returns
 * 0, or -1 after saying what failed. */
static int print_set(struct ipset *is, const char *name, enum set_kind kind, FILE *out)
{
	struct perr err = PERR_INIT;
	struct set_elem *v = NULL;
	size_t nv = 0;
	int ex = ipset_exists(is, name, &err);
	if (ex == 0)
		return 0;
	if (ex < 0 || ipset_list(is, name, &v, &nv, &err) < 0) {
		log_error("status: set %s: %s", name, err.msg);
		return -1;
	}
	fprintf(out, "%s (%s): %zu\n", name, kind_what[kind], nv);
	if (nv > 1)
		qsort(v, nv, sizeof(*v), set_elem_cmp);
	for (size_t i = 0; i < nv; i++) {
		char a[NET_ADDR_STRLEN];
		net_format(&v[i].net, a, sizeof(a));
		print_member(a, v[i].proto, v[i].port, v[i].timeout, out);
	}
	free(v);
	return 0;
}

/* The kernel's sets cannot be read (most likely not root). Returns 1. */
static int cannot_open(const struct perr *err)
{
	log_error("status: %s; run it as root: docker exec CONTAINER palisade status", err->msg);
	return 1;
}

static int print_ipsets(FILE *out)
{
	struct perr err = PERR_INIT;
	struct ipset *is = ipset_open(&err);
	if (!is)
		return cannot_open(&err);
	int rc = 0;
	for (int f = 0; f < NET_FAMILIES; f++)
		for (int k = 0; k < SET_KINDS; k++)
			if (print_set(is, set_name(net_family_at(f), (enum set_kind)k),
				      (enum set_kind)k, out) < 0)
				rc = 1;
	ipset_close(is);
	return rc;
}

/* The nft sets of both tables (a family without its table is left out):
 * `ip palisade default_host (default ports): 2`, then the members. */
static int print_nft_sets(FILE *out)
{
	struct perr err = PERR_INIT;
	struct nft *n = nft_open(&err);
	if (!n)
		return cannot_open(&err);
	int rc = 0;
	for (int fi = 0; fi < NET_FAMILIES && rc == 0; fi++) {
		enum net_family f = net_family_at(fi);
		struct nftplan_set sets[SET_KINDS][NFTPLAN_PARTS];
		bool table;
		if (nft_read_sets(n, f, sets, &table, &err) < 0) {
			log_error("status: %s", err.msg);
			rc = 1;
			break;
		}
		for (int k = 0; k < SET_KINDS && table; k++) {
			for (int p = 0; p < NFTPLAN_PARTS; p++) {
				const struct nftplan_set *s = &sets[k][p];
				fprintf(out, "%s %s %s (%s): %zu\n", f == NET_V4 ? "ip" : "ip6",
					NFTPLAN_TABLE, nftplan_set_name(s->kind, s->part),
					kind_what[k], s->n);
				for (size_t i = 0; i < s->n; i++) {
					char a[2 * NET_ADDR_STRLEN];
					nftplan_elem_addrs(s, &s->v[i], a, sizeof(a));
					print_member(a, s->v[i].proto, s->v[i].port, s->v[i].expires,
						     out);
				}
			}
		}
		nft_sets_free(sets);
	}
	nft_close(n);
	return rc;
}

int status_print(FILE *out)
{
	char buf[STATUS_MAX + 1];
	struct perr rerr = PERR_INIT;
	if (launch_check_fenced(&rerr) < 0) {
		log_error("status: %s", rerr.msg);
		return 1;
	}
	if (rundir_read(RUN_STATUS, buf, sizeof(buf), &rerr) < 0) {
		log_error("status: %s%s", rerr.msg, rerr.err == ENOENT ? "; is palisade this "
			  "container's PID 1?" : "");
		return 1;
	}
	struct status s;
	const char *names;
	int nlen;
	status_parse(buf, &s, &names, &nlen);
	fprintf(out, "allowed names:%.*s\n", nlen, nlen ? names : " (none)");
	fprintf(out, "DNS queries: %llu allowed, %llu refused, %llu failed\n",
		s.count[STATUS_QUERIES_ALLOWED], s.count[STATUS_QUERIES_REFUSED],
		s.count[STATUS_QUERIES_FAILED]);
	fprintf(out, "DNS cache: %llu hits (%.0f%% of allowed queries)\n", s.count[STATUS_CACHE_HITS],
		100.0 * (double)s.count[STATUS_CACHE_HITS] / (double)(s.count[STATUS_QUERIES_ALLOWED] ?: 1));
	fprintf(out, "connections refused: %llu\n", s.count[STATUS_CONNECTIONS_REFUSED]);
	fprintf(out, "server names checked: %llu, refused: %llu%s\n", s.count[STATUS_NAMES_CHECKED],
		s.count[STATUS_NAMES_REFUSED], s.audit ? " (audit mode: let through)" : "");
	if (s.audit)
		fprintf(out, "audit mode: %llu queries and connections let through that the "
			     "allowlist would refuse\n", s.count[STATUS_AUDITED]);

	fprintf(out, "fence backend: %s\n", fence_backend_name(s.backend));
	return s.backend == FENCE_BACKEND_NFT ? print_nft_sets(out) : print_ipsets(out);
}
