/* The DNS filter's decisions (init/dnspolicy.c), against a fake fence that
 * records what it is told to let through: which names are answered, which
 * addresses of an answer go into the fence, with which entry's ports and
 * for how long, and which are kept out. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../fw/hostnet.h"
#include "../../init/dnspolicy.h"

#define CALLS_MAX 32

/* The fake fence: every call, in order. With a plan, it records what
 * fence_allow would add to that plan's sets; with fail set, it fails. */
struct fence_rec {
	struct fence_dest d[CALLS_MAX];
	uint32_t timeout[CALLS_MAX];
	size_t n;
	bool fail;
	const struct fence_plan *plan;
	struct set_elem members[CALLS_MAX];
	size_t nmembers;
};

static int record(void *ctx, const struct fence_dest *d, uint32_t timeout, struct perr *err)
{
	struct fence_rec *r = ctx;
	if (r->fail)
		return perr_code(err, ENOSPC, "the set is full");
	assert_true(r->n < CALLS_MAX);
	r->d[r->n] = *d;
	r->timeout[r->n++] = timeout;
	if (r->plan) {
		const char *set;
		struct set_elem v[2];
		size_t n = fence_allow_members(r->plan, d, timeout, v, &set);
		for (size_t i = 0; i < n; i++) {
			assert_true(r->nmembers < CALLS_MAX);
			r->members[r->nmembers++] = v[i];
		}
	}
	return 0;
}

static struct net_addr A(const char *text)
{
	struct net_addr a;
	struct perr why = PERR_INIT;
	if (net_parse(text, true, &a, &why) < 0)
		fail_msg("test address %s: %s", text, why.msg);
	return a;
}

/* A test's world: the configuration, the container's neighbourhood, the
 * fake fence and the policy over them. */
struct world {
	struct config cfg;
	struct hostnet host;
	struct fence_rec rec;
	struct dnspolicy *p;
	/* the last answer's refused addresses, and its error */
	struct dns_refusal refused[DNS_ADDRS_MAX];
	size_t nrefused;
	struct perr err;
};

/* entries: allowlist items separated by spaces. */
static void world_init(struct world *w, const char *entries, bool audit, unsigned grace)
{
	memset(w, 0, sizeof(*w));
	allowlist_init(&w->cfg.allow);
	struct perr e = PERR_INIT;
	if (allowlist_add_list(&w->cfg.allow, entries, "test", &e) < 0)
		fail_msg("%s", e.msg);
	w->cfg.audit = audit;
	w->cfg.dns_grace = grace;
	hostnet_init(&w->host);
	w->p = dnspolicy_new(&w->cfg, &w->host, record, &w->rec);
	assert_non_null(w->p);
}

static void world_free(struct world *w)
{
	dnspolicy_free(w->p);
	hostnet_free(&w->host);
	config_free(&w->cfg);
}

static void add_addr(struct dns_answer *a, const char *addr, uint32_t ttl)
{
	assert_true(a->naddrs < DNS_ADDRS_MAX);
	a->addrs[a->naddrs].addr = A(addr);
	a->addrs[a->naddrs++].ttl = ttl;
}

/* The policy's verdict on an answer for name at time now. */
static int answer(struct world *w, const char *name, const struct dns_answer *a, uint64_t now)
{
	return dnspolicy_answer(w->p, name, a, now, w->refused, &w->nrefused, &w->err);
}

/* An answer for name with one address, none refused. */
static int answer1(struct world *w, const char *name, const char *addr, uint32_t ttl,
		   uint64_t now)
{
	struct dns_answer a = { 0 };
	add_addr(&a, addr, ttl);
	int rc = answer(w, name, &a, now);
	assert_int_equal(w->nrefused, 0);
	return rc;
}

static const char *name_of(const struct world *w, const char *addr)
{
	struct net_addr a = A(addr);
	return dnspolicy_name_of(w->p, &a);
}

static void expect_call(const struct fence_rec *r, size_t i, const char *addr,
			enum port_scope ports, uint16_t port, uint32_t timeout)
{
	if (i >= r->n)
		fail_msg("call %zu expected (%s), %zu made", i, addr, r->n);
	struct net_addr want = A(addr);
	char got[NET_ADDR_STRLEN];
	net_format(&r->d[i].net, got, sizeof(got));
	if (!net_equal(&r->d[i].net, &want))
		fail_msg("call %zu: %s, expected %s", i, got, addr);
	assert_int_equal(r->d[i].ports, ports);
	assert_int_equal(r->d[i].port, port);
	assert_int_equal(r->timeout[i], timeout);
}

/* A name is answered when an entry names it; its addresses get each
 * allowing entry's ports, for the TTL and the grace period. */
static void test_exact_names(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, "api.example.com api.example.com:22 other.example.org 140.82.112.0/20",
		   false, 600);
	assert_int_equal(dnspolicy_query(w.p, "api.example.com"), DNS_ALLOWED);
	assert_int_equal(dnspolicy_query(w.p, "other.example.org"), DNS_ALLOWED);
	assert_int_equal(dnspolicy_query(w.p, "www.api.example.com"), DNS_REFUSED);
	assert_int_equal(dnspolicy_query(w.p, "example.com"), DNS_REFUSED);
	assert_int_equal(dnspolicy_query(w.p, "api.example.com.evil.example"), DNS_REFUSED);
	assert_int_equal(dnspolicy_query(w.p, "pi.example.com"), DNS_REFUSED);
	assert_int_equal(dnspolicy_query(w.p, ""), DNS_REFUSED);
	/* An address entry allows no name, not even its own text. */
	assert_int_equal(dnspolicy_query(w.p, "140.82.112.0/20"), DNS_REFUSED);

	assert_int_equal(answer1(&w, "api.example.com", "140.82.112.3", 300, 1000), 0);
	assert_int_equal(w.rec.n, 2);
	expect_call(&w.rec, 0, "140.82.112.3", PORTS_DEFAULT, 0, 900);
	expect_call(&w.rec, 1, "140.82.112.3", PORTS_ONE, 22, 900);
	assert_string_equal(name_of(&w, "140.82.112.3"),
			    "api.example.com");
	assert_null(name_of(&w, "140.82.112.4"));

	/* Every address of the answer, IPv6 too. */
	struct dns_answer a = { 0 };
	add_addr(&a, "151.101.1.1", 60);
	add_addr(&a, "2606:4700::1111", 120);
	assert_int_equal(answer(&w, "other.example.org", &a, 1000), 0);
	assert_int_equal(w.nrefused, 0);
	assert_int_equal(w.rec.n, 4);
	expect_call(&w.rec, 2, "151.101.1.1", PORTS_DEFAULT, 0, 660);
	expect_call(&w.rec, 3, "2606:4700::1111", PORTS_DEFAULT, 0, 720);
	world_free(&w);
}

/* "*.suffix" answers every name strictly under suffix, with its ports;
 * a name that an exact entry allows too gets both entries' ports. */
static void test_wildcards(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, "*.example.com:* api.example.com:8443", false, 0);
	assert_int_equal(dnspolicy_query(w.p, "a.example.com"), DNS_ALLOWED);
	assert_int_equal(dnspolicy_query(w.p, "a.b.example.com"), DNS_ALLOWED);
	assert_int_equal(dnspolicy_query(w.p, "example.com"), DNS_REFUSED);
	assert_int_equal(dnspolicy_query(w.p, "badexample.com"), DNS_REFUSED);
	assert_int_equal(dnspolicy_query(w.p, "a.example.com.evil.example"), DNS_REFUSED);

	assert_int_equal(answer1(&w, "a.b.example.com", "151.101.1.1", 30, 50), 0);
	assert_int_equal(w.rec.n, 1);
	expect_call(&w.rec, 0, "151.101.1.1", PORTS_ALL, 0, 30);

	assert_int_equal(answer1(&w, "api.example.com", "151.101.1.2", 30, 50), 0);
	assert_int_equal(w.rec.n, 3);
	expect_call(&w.rec, 1, "151.101.1.2", PORTS_ALL, 0, 30);
	expect_call(&w.rec, 2, "151.101.1.2", PORTS_ONE, 8443, 30);
	world_free(&w);
}

/* ---- a DNS response on the wire, for the CNAME chain ---- */

struct wire {
	uint8_t b[1024];
	size_t n;
};

static void w16(struct wire *m, unsigned v)
{
	assert_true(m->n + 2 <= sizeof(m->b));
	m->b[m->n++] = (uint8_t)(v >> 8);
	m->b[m->n++] = (uint8_t)v;
}

static void wname(struct wire *m, const char *name)
{
	while (*name) {
		size_t l = strcspn(name, ".");
		assert_true(m->n + 1 + l <= sizeof(m->b));
		m->b[m->n++] = (uint8_t)l;
		memcpy(m->b + m->n, name, l);
		m->n += l;
		name += l + (name[l] == '.');
	}
	assert_true(m->n < sizeof(m->b));
	m->b[m->n++] = 0;
}

static void wheader(struct wire *m, unsigned flags, unsigned ancount, const char *qname)
{
	m->n = 0;
	w16(m, 0x4242);
	w16(m, flags);
	w16(m, 1);
	w16(m, ancount);
	w16(m, 0);
	w16(m, 0);
	wname(m, qname);
	w16(m, DNS_TYPE_A);
	w16(m, DNS_CLASS_IN);
}

/* One record of the answer section: rdata is a name for a CNAME, an
 * address for an A record. */
static void wrecord(struct wire *m, const char *owner, unsigned type, uint32_t ttl,
		    const char *rdata)
{
	wname(m, owner);
	w16(m, type);
	w16(m, DNS_CLASS_IN);
	w16(m, ttl >> 16);
	w16(m, ttl & 0xffff);
	if (type == DNS_TYPE_CNAME) {
		size_t at = m->n;
		w16(m, 0);
		wname(m, rdata);
		m->b[at] = (uint8_t)((m->n - at - 2) >> 8);
		m->b[at + 1] = (uint8_t)(m->n - at - 2);
	} else {
		struct net_addr a = A(rdata);
		w16(m, 4);
		assert_true(m->n + 4 <= sizeof(m->b));
		memcpy(m->b + m->n, a.bytes, 4);
		m->n += 4;
	}
}

/* The addresses a name reaches through CNAME records are the name's: they
 * get the name's entry, whatever the names of the chain are allowed (or
 * not) themselves; records outside the chain bring nothing in. */
static void test_cname_chain(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, "api.example.com edge.cdn.example.net:9000", false, 10);
	struct wire qm, rm;
	wheader(&qm, DNS_FLAG_RD, 0, "api.example.com");
	struct dns_query q;
	struct perr why = PERR_INIT;
	assert_int_equal(dns_parse_query(qm.b, qm.n, &q, &why), 0);

	wheader(&rm, DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA, 5, "api.example.com");
	wrecord(&rm, "x.cdn.example.org", DNS_TYPE_A, 20, "151.101.9.9");
	wrecord(&rm, "api.example.com", DNS_TYPE_CNAME, 300, "edge.cdn.example.net");
	wrecord(&rm, "edge.cdn.example.net", DNS_TYPE_CNAME, 300, "x.cdn.example.org");
	wrecord(&rm, "unrelated.example", DNS_TYPE_A, 300, "151.101.6.6");
	wrecord(&rm, "x.cdn.example.org", DNS_TYPE_A, 40, "151.101.9.10");
	struct dns_answer a;
	assert_int_equal(dns_parse_response(rm.b, rm.n, &q, &a, &why), 0);
	assert_int_equal(a.nchain, 2);

	assert_int_equal(answer(&w, q.name, &a, 100), 0);
	assert_int_equal(w.nrefused, 0);
	assert_int_equal(w.rec.n, 2);
	expect_call(&w.rec, 0, "151.101.9.9", PORTS_DEFAULT, 0, 30);
	expect_call(&w.rec, 1, "151.101.9.10", PORTS_DEFAULT, 0, 50);
	assert_string_equal(name_of(&w, "151.101.9.9"),
			    "api.example.com");
	assert_null(name_of(&w, "151.101.6.6"));
	/* The end of the chain is no name the agent may ask for itself. */
	assert_int_equal(dnspolicy_query(w.p, "x.cdn.example.org"), DNS_REFUSED);
	world_free(&w);
}

/* Until when an address stays: the TTL (a day at most) plus the grace
 * period, never shortened; the fence is told again only when the time
 * grows or another name brings the address. */
static void test_ttl_and_grace(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, "a.example.com b.example.com", false, 60);
	assert_int_equal(answer1(&w, "a.example.com", "151.101.1.1", 300, 1000), 0);
	assert_int_equal(w.rec.n, 1);
	expect_call(&w.rec, 0, "151.101.1.1", PORTS_DEFAULT, 0, 360);

	/* The same answer again, at once or with a shorter TTL: nothing to do. */
	assert_int_equal(answer1(&w, "a.example.com", "151.101.1.1", 300, 1000), 0);
	assert_int_equal(answer1(&w, "a.example.com", "151.101.1.1", 10, 1100), 0);
	assert_int_equal(w.rec.n, 1);

	/* Later, with the TTL running to past what the fence has. */
	assert_int_equal(answer1(&w, "a.example.com", "151.101.1.1", 300, 1100), 0);
	assert_int_equal(w.rec.n, 2);
	expect_call(&w.rec, 1, "151.101.1.1", PORTS_DEFAULT, 0, 360);

	/* Another name for the same address, with a shorter TTL: it is told,
	 * and the address keeps the later time. */
	assert_int_equal(answer1(&w, "b.example.com", "151.101.1.1", 10, 1200), 0);
	assert_int_equal(w.rec.n, 3);
	expect_call(&w.rec, 2, "151.101.1.1", PORTS_DEFAULT, 0, 260);
	assert_string_equal(name_of(&w, "151.101.1.1"),
			    "b.example.com");

	/* A TTL of a week counts as a day; a TTL of 0 leaves the grace. */
	assert_int_equal(answer1(&w, "a.example.com", "151.101.1.2", 7 * 86400, 0), 0);
	expect_call(&w.rec, 3, "151.101.1.2", PORTS_DEFAULT, 0, 86400 + 60);
	assert_int_equal(answer1(&w, "a.example.com", "151.101.1.3", 0, 0), 0);
	expect_call(&w.rec, 4, "151.101.1.3", PORTS_DEFAULT, 0, 60);
	world_free(&w);
}

/* When the fence cannot be told, the answer fails (the agent gets
 * SERVFAIL) and the next answer tries again. */
static void test_fence_fails(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, "a.example.com", false, 0);
	w.rec.fail = true;
	struct dns_answer a = { 0 };
	add_addr(&a, "151.101.1.1", 300);
	add_addr(&a, "169.254.169.254", 300);
	assert_int_equal(answer(&w, "a.example.com", &a, 10), -1);
	assert_non_null(strstr(w.err.msg, "the set is full"));
	assert_int_equal(w.err.err, ENOSPC); /* the fence's code, through the policy */
	w.rec.fail = false;
	assert_int_equal(answer1(&w, "a.example.com", "151.101.1.1", 300, 10), 0);
	assert_int_equal(w.rec.n, 1);
	expect_call(&w.rec, 0, "151.101.1.1", PORTS_DEFAULT, 0, 300);
	world_free(&w);
}

/* Addresses the fence holds for good since start (the allowlist's, and
 * its names' answers at start) keep no timeout from a later answer: they
 * would expire. */
static void test_permanent_members(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, "api.example.com api.example.com:22", false, 0);
	struct port_list def, expose = { 0 };
	port_list_parse("443", &def, NULL);
	struct fence_spec spec = { .default_ports = &def, .expose = &expose };
	struct fence_dest start[] = {
		{ A("151.101.1.1"), PORTS_DEFAULT, 0 },
		{ A("151.101.1.1"), PORTS_ONE, 22 },
		{ A("151.101.2.0/24"), PORTS_DEFAULT, 0 },
	};
	struct fence_plan plan;
	assert_int_equal(fence_plan_build(start, 3, &spec, true, &plan, &w.err), 0);
	w.rec.plan = &plan;

	struct dns_answer a = { 0 };
	add_addr(&a, "151.101.1.1", 300);
	add_addr(&a, "151.101.2.7", 300);
	assert_int_equal(answer(&w, "api.example.com", &a, 0), 0);
	/* Four calls (two addresses, two entries), but members only for the
	 * second address (a network of the plan holding it is another
	 * member): default ports, and port 22 over TCP and UDP. */
	assert_int_equal(w.rec.n, 4);
	assert_int_equal(w.rec.nmembers, 3);
	for (size_t i = 0; i < w.rec.nmembers; i++) {
		struct net_addr want = A("151.101.2.7");
		assert_true(net_equal(&w.rec.members[i].net, &want));
		assert_int_equal(w.rec.members[i].timeout, 300);
	}
	fence_plan_free(&plan);
	world_free(&w);
}

/* Audit mode: what the allowlist would refuse is answered, and its
 * addresses are remembered to name them, but the fence is not told. */
static void test_audit_mode(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, "api.example.com", true, 0);
	assert_int_equal(dnspolicy_query(w.p, "api.example.com"), DNS_ALLOWED);
	assert_int_equal(dnspolicy_query(w.p, "other.example.org"), DNS_AUDITED);
	assert_int_equal(answer1(&w, "other.example.org", "151.101.1.1", 300, 0), 0);
	assert_int_equal(w.rec.n, 0);
	assert_string_equal(name_of(&w, "151.101.1.1"),
			    "other.example.org");
	/* An allowed name works as without audit. */
	assert_int_equal(answer1(&w, "api.example.com", "151.101.1.2", 300, 0), 0);
	assert_int_equal(w.rec.n, 1);
	expect_call(&w.rec, 0, "151.101.1.2", PORTS_DEFAULT, 0, 300);
	world_free(&w);

	world_init(&w, "api.example.com", false, 0);
	assert_int_equal(dnspolicy_query(w.p, "other.example.org"), DNS_REFUSED);
	world_free(&w);
}

/* The answer policy: an allowed name's answer that points into the
 * container's neighbourhood never reaches the fence, a private address
 * only for an opted-in name. The refused addresses are said, with why,
 * and remembered only to name them. */
static void test_rebinding(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, "api.example.com db.corp.example", false, 0);
	assert_int_equal(allowlist_add_private(&w.cfg.allow, "db.corp.example", "test", &w.err), 0);
	struct net_addr own = A("172.17.0.2"), net = A("172.17.0.0/16"), gw = A("172.17.0.1");
	assert_int_equal(hostnet_add(&w.host, &own, HOST_OWN, &net), 0);
	assert_int_equal(hostnet_add(&w.host, &gw, HOST_GATEWAY, NULL), 0);

	struct dns_answer a = { 0 };
	add_addr(&a, "169.254.169.254", 300);   /* cloud metadata */
	add_addr(&a, "10.1.2.3", 300);          /* private */
	add_addr(&a, "127.0.0.1", 300);         /* loopback */
	add_addr(&a, "172.17.0.1", 300);        /* the gateway */
	add_addr(&a, "172.17.0.2", 300);        /* the container itself */
	add_addr(&a, "::ffff:10.0.0.1", 300);   /* IPv4-mapped */
	add_addr(&a, "140.82.112.3", 300);      /* fine */
	assert_int_equal(answer(&w, "api.example.com", &a, 0), 0);
	assert_int_equal(w.rec.n, 1);
	expect_call(&w.rec, 0, "140.82.112.3", PORTS_DEFAULT, 0, 300);
	assert_int_equal(w.nrefused, 6);
	static const enum rebind_verdict want[] = { REBIND_NEVER, REBIND_PRIVATE, REBIND_NEVER,
						    REBIND_NEVER, REBIND_NEVER, REBIND_NEVER };
	for (size_t i = 0; i < w.nrefused; i++) {
		assert_true(net_equal(&w.refused[i].addr, &a.addrs[i].addr));
		assert_int_equal(w.refused[i].verdict, want[i]);
		assert_true(w.refused[i].why[0] != '\0');
	}
	assert_non_null(strstr(w.refused[0].why, "link-local"));
	assert_non_null(strstr(w.refused[3].why, "gateway"));
	/* Named in a refused connection's log line, all the same. */
	assert_string_equal(dnspolicy_name_of(w.p, &a.addrs[0].addr), "api.example.com");

	/* The opted-in name may bring a private address, never the rest. */
	struct dns_answer b = { 0 };
	add_addr(&b, "10.1.2.3", 300);
	add_addr(&b, "169.254.169.254", 300);
	add_addr(&b, "172.17.0.1", 300);
	assert_int_equal(answer(&w, "db.corp.example", &b, 0), 0);
	assert_int_equal(w.rec.n, 2);
	expect_call(&w.rec, 1, "10.1.2.3", PORTS_DEFAULT, 0, 300);
	assert_int_equal(w.nrefused, 2);
	assert_int_equal(w.refused[0].verdict, REBIND_NEVER);
	assert_int_equal(w.refused[1].verdict, REBIND_NEVER);
	/* Refused for another name, the address keeps the time the opted-in
	 * name gave it. */
	assert_int_equal(answer(&w, "api.example.com", &b, 0), 0);
	assert_int_equal(w.rec.n, 2);
	assert_string_equal(name_of(&w, "10.1.2.3"), "api.example.com");
	assert_int_equal(answer1(&w, "db.corp.example", "10.1.2.3", 10, 100), 0);
	assert_int_equal(w.rec.n, 3);
	expect_call(&w.rec, 2, "10.1.2.3", PORTS_DEFAULT, 0, 200);
	world_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_names),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_ttl_and_grace),
		cmocka_unit_test(test_fence_fails),
		cmocka_unit_test(test_permanent_members),
		cmocka_unit_test(test_audit_mode),
		cmocka_unit_test(test_rebinding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
