/* The name check's decisions (init/namecheck.c): what a connection's first
 * bytes must name, how segments are held and answered, and what is never
 * let through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../init/namecheck.h"

#define MAXV 128

struct rec {
	uint32_t id[MAXV];
	enum namecheck_verdict v[MAXV];
	size_t n;
	char name[256];
	bool have_name;
	bool refused;
	char why[512];
	size_t checked;
	bool literal_all;
};

static bool literal(void *ctx, const struct net_addr *a)
{
	struct rec *r = ctx;
	return r->literal_all || (a->family == NET_V4 && a->bytes[3] == 99);
}

static bool allowed(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "allowed.test") == 0;
}

static void verdict(void *ctx, uint32_t id, enum namecheck_verdict v)
{
	struct rec *r = ctx;
	assert_true(r->n < MAXV);
	r->id[r->n] = id;
	r->v[r->n++] = v;
}

static void checked(void *ctx, const struct namecheck_packet *p, const char *name, bool refused,
		    const char *why)
{
	(void)p;
	struct rec *r = ctx;
	r->checked++;
	r->have_name = name != NULL;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "");
	r->refused = refused;
	snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
}

static const struct namecheck_ops ops = { literal, allowed, verdict, checked };

/* A ClientHello with server name sni (NULL: no server_name extension),
 * in one TLS record, and with ech an encrypted_client_hello extension. */
static size_t hello(uint8_t *b, const char *sni, bool ech)
{
	uint8_t ext[512];
	size_t e = 0;
	if (sni) {
		size_t n = strlen(sni);
		uint8_t x[] = { 0, 0, (uint8_t)((n + 5) >> 8), (uint8_t)(n + 5),
				(uint8_t)((n + 3) >> 8), (uint8_t)(n + 3), 0,
				(uint8_t)(n >> 8), (uint8_t)n };
		memcpy(ext + e, x, sizeof(x));
		e += sizeof(x);
		memcpy(ext + e, sni, n);
		e += n;
	}
	if (ech) {
		uint8_t x[] = { 0xfe, 0x0d, 0, 4, 1, 2, 3, 4 };
		memcpy(ext + e, x, sizeof(x));
		e += sizeof(x);
	}
	uint8_t body[1024];
	size_t n = 0;
	body[n++] = 3;
	body[n++] = 3;
	memset(body + n, 0xab, 32);
	n += 32;
	body[n++] = 0;                  /* session id */
	body[n++] = 0;
	body[n++] = 2;
	body[n++] = 0x13;
	body[n++] = 0x01;               /* TLS_AES_128_GCM_SHA256 */
	body[n++] = 1;
	body[n++] = 0;                  /* null compression */
	body[n++] = (uint8_t)(e >> 8);
	body[n++] = (uint8_t)e;
	memcpy(body + n, ext, e);
	n += e;
	size_t hs = n + 4;
	b[0] = 0x16;
	b[1] = 3;
	b[2] = 1;
	b[3] = (uint8_t)(hs >> 8);
	b[4] = (uint8_t)hs;
	b[5] = 1;
	b[6] = 0;
	b[7] = (uint8_t)(n >> 8);
	b[8] = (uint8_t)n;
	memcpy(b + 9, body, n);
	return n + 9;
}

static struct namecheck_packet pkt(uint8_t proto, uint16_t sport, uint16_t dport, uint8_t last,
				   uint32_t seq, const uint8_t *data, size_t len)
{
	struct namecheck_packet p;
	memset(&p, 0, sizeof(p));
	p.proto = proto;
	p.src.family = p.dst.family = NET_V4;
	p.src.prefix = p.dst.prefix = 32;
	memcpy(p.src.bytes, (uint8_t[]){ 10, 77, 0, 2 }, 4);
	memcpy(p.dst.bytes, (uint8_t[]){ 10, 77, 0, last }, 4);
	p.sport = sport;
	p.dport = dport;
	p.seq = seq;
	p.data = data;
	p.len = len;
	return p;
}

static void test_allowed_name(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct namecheck *nc = namecheck_new(&ops, &r, false);
	uint8_t b[600];
	size_t n = hello(b, "allowed.test", false);
	struct namecheck_packet p = pkt(PROTO_TCP, 40000, 443, 10, 1000, b, n);
	namecheck_packet(nc, 7, &p, 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], 7);
	assert_int_equal(r.v[0], NAMECHECK_ALLOW);
	assert_string_equal(r.name, "allowed.test");
	assert_false(r.refused);
	assert_int_equal(namecheck_pending(nc), 0);
	/* A packet of the same connection queued before the kernel knew goes
	 * back for the connection's mark to decide. */
	struct namecheck_packet later = pkt(PROTO_TCP, 40000, 443, 10, 1000 + (uint32_t)n, b, 10);
	namecheck_packet(nc, 8, &later, 2);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.v[1], NAMECHECK_RECHECK);
	assert_int_equal(r.checked, 1);
	namecheck_free(nc);
}

/* A new connection between the same ports, right after an allowed one
 * (the agent binds its source port, resets, connects again): its first
 * bytes come back from the recheck, since the kernel has no decision for
 * it, and are read like any connection's. */
static void test_same_ports_again(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct namecheck *nc = namecheck_new(&ops, &r, false);
	uint8_t b[600];
	size_t n = hello(b, "allowed.test", false);
	struct namecheck_packet p = pkt(PROTO_TCP, 40100, 443, 10, 1000, b, n);
	namecheck_packet(nc, 1, &p, 1);
	assert_int_equal(r.v[0], NAMECHECK_ALLOW);
	n = hello(b, "blocked.test", false);
	p = pkt(PROTO_TCP, 40100, 443, 10, 777777, b, n);
	namecheck_packet(nc, 2, &p, 2);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.v[1], NAMECHECK_RECHECK);
	p.recheck = true;
	namecheck_packet(nc, 2, &p, 3);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.id[2], 2);
	assert_int_equal(r.v[2], NAMECHECK_REFUSE);
	assert_string_equal(r.name, "blocked.test");
	assert_int_equal(r.checked, 2);
	/* The decision is forgotten only then: a later packet of that refused
	 * connection goes back again for its mark (now refused) to decide. */
	p.recheck = false;
	namecheck_packet(nc, 3, &p, 4);
	assert_int_equal(r.v[3], NAMECHECK_RECHECK);
	namecheck_free(nc);
}

static void test_other_name_refused(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct namecheck *nc = namecheck_new(&ops, &r, false);
	uint8_t b[600];
	size_t n = hello(b, "blocked.test", false);
	struct namecheck_packet p = pkt(PROTO_TCP, 40001, 443, 10, 5, b, n);
	namecheck_packet(nc, 1, &p, 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.v[0], NAMECHECK_REFUSE);
	assert_true(r.refused);
	assert_string_equal(r.name, "blocked.test");
	assert_non_null(strstr(r.why, "not allowed"));
	namecheck_free(nc);
}

/* An encrypted ClientHello is judged by its outer name. */
static void test_ech_outer_name(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct namecheck *nc = namecheck_new(&ops, &r, false);
	uint8_t b[600];
	size_t n = hello(b, "cover.example", true);
	struct namecheck_packet p = pkt(PROTO_TCP, 40002, 443, 10, 5, b, n);
	namecheck_packet(nc, 1, &p, 1);
	assert_int_equal(r.v[0], NAMECHECK_REFUSE);
	assert_string_equal(r.name, "cover.example");
	r.n = 0;
	n = hello(b, "allowed.test", true);
	p = pkt(PROTO_TCP, 40003, 443, 10, 5, b, n);
	namecheck_packet(nc, 2, &p, 1);
	assert_int_equal(r.v[0], NAMECHECK_ALLOW);
	namecheck_free(nc);
}

static void test_no_server_name(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct namecheck *nc = namecheck_new(&ops, &r, false);
	uint8_t b[600];
	size_t n = hello(b, NULL, false);
	struct namecheck_packet p = pkt(PROTO_TCP, 40004, 443, 10, 5, b, n);
	namecheck_packet(nc, 1, &p, 1);
	assert_int_equal(r.v[0], NAMECHECK_REFUSE);
	assert_false(r.have_name);
	assert_non_null(strstr(r.why, "no server name"));
	namecheck_free(nc);
}

/* Split over three segments: nothing is answered until the name is
 * read; then every held segment, in order. A retransmission of the first
 * is held and answered with them. */
static void test_split_hello(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct namecheck *nc = namecheck_new(&ops, &r, false);
	uint8_t b[600];
	size_t n = hello(b, "allowed.test", false);
	size_t a = 20, c = 50;
	struct namecheck_packet p1 = pkt(PROTO_TCP, 40005, 443, 10, 0xfffffff0u, b, a);
	struct namecheck_packet p2 = pkt(PROTO_TCP, 40005, 443, 10, 0xfffffff0u + (uint32_t)a, b + a, c);
	struct namecheck_packet p3 = pkt(PROTO_TCP, 40005, 443, 10, 0xfffffff0u + (uint32_t)(a + c),
					 b + a + c, n - a - c);
	namecheck_packet(nc, 1, &p1, 1);
	namecheck_packet(nc, 2, &p1, 2); /* sent again */
	namecheck_packet(nc, 3, &p2, 3);
	assert_int_equal(r.n, 0);
	assert_int_equal(namecheck_pending(nc), 1);
	namecheck_packet(nc, 4, &p3, 4);
	assert_int_equal(r.n, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(r.id[i], i + 1);
		assert_int_equal(r.v[i], NAMECHECK_ALLOW);
	}
	assert_int_equal(namecheck_pending(nc), 0);
	namecheck_free(nc);
}

/* A name that never completes is refused after the wait. */
static void test_timeout(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct namecheck *nc = namecheck_new(&ops, &r, false);
	uint8_t b[600];
	hello(b, "allowed.test", false);
	struct namecheck_packet p = pkt(PROTO_TCP, 40006, 443, 10, 1, b, 30);
	namecheck_packet(nc, 9, &p, 1000);
	namecheck_tick(nc, 1000 + NAMECHECK_WAIT_MS - 1);
	assert_int_equal(r.n, 0);
	namecheck_tick(nc, 1000 + NAMECHECK_WAIT_MS);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.v[0], NAMECHECK_REFUSE);
	assert_non_null(strstr(r.why, "within"));
	namecheck_free(nc);
}

static void test_not_tls(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct namecheck *nc = namecheck_new(&ops, &r, false);
	const char *ssh = "SSH-2.0-OpenSSH_9.2\r\n";
	struct namecheck_packet p = pkt(PROTO_TCP, 40007, 443, 10, 1, (const uint8_t *)ssh,
					strlen(ssh));
	namecheck_packet(nc, 1, &p, 1);
	assert_int_equal(r.v[0], NAMECHECK_REFUSE);
	assert_non_null(strstr(r.why, "not a TLS ClientHello"));
	/* HTTP on 443 is not read as HTTP. */
	const char *get = "GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n";
	p = pkt(PROTO_TCP, 40008, 443, 10, 1, (const uint8_t *)get, strlen(get));
	namecheck_packet(nc, 2, &p, 1);
	assert_int_equal(r.v[1], NAMECHECK_REFUSE);
	namecheck_free(nc);
}

static void test_http_host(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct namecheck *nc = namecheck_new(&ops, &r, false);
	const char *ok = "GET / HTTP/1.1\r\nHost: allowed.test:80\r\nAccept: */*\r\n\r\n";
	const char *no = "GET / HTTP/1.1\r\nHost: blocked.test\r\n\r\n";
	const char *none = "GET / HTTP/1.0\r\n\r\n";
	struct namecheck_packet p = pkt(PROTO_TCP, 40009, 80, 10, 1, (const uint8_t *)ok, 20);
	namecheck_packet(nc, 1, &p, 1);
	assert_int_equal(r.n, 0);
	p = pkt(PROTO_TCP, 40009, 80, 10, 21, (const uint8_t *)ok + 20, strlen(ok) - 20);
	namecheck_packet(nc, 2, &p, 1);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.v[1], NAMECHECK_ALLOW);
	assert_string_equal(r.name, "allowed.test");
	p = pkt(PROTO_TCP, 40010, 80, 10, 1, (const uint8_t *)no, strlen(no));
	namecheck_packet(nc, 3, &p, 1);
	assert_int_equal(r.v[2], NAMECHECK_REFUSE);
	p = pkt(PROTO_TCP, 40011, 80, 10, 1, (const uint8_t *)none, strlen(none));
	namecheck_packet(nc, 4, &p, 1);
	assert_int_equal(r.v[3], NAMECHECK_REFUSE);
	/* TLS on port 80 is read as TLS. */
	uint8_t b[600];
	size_t n = hello(b, "allowed.test", false);
	p = pkt(PROTO_TCP, 40012, 80, 10, 1, b, n);
	namecheck_packet(nc, 5, &p, 1);
	assert_int_equal(r.v[4], NAMECHECK_ALLOW);
	namecheck_free(nc);
}

/* Addresses the allowlist names are not checked; neither is a packet with
 * no data. */
static void test_literal_and_empty(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct namecheck *nc = namecheck_new(&ops, &r, false);
	const char *junk = "anything at all";
	struct namecheck_packet p = pkt(PROTO_TCP, 40013, 443, 99, 1, (const uint8_t *)junk,
					strlen(junk));
	namecheck_packet(nc, 1, &p, 1);
	assert_int_equal(r.v[0], NAMECHECK_ALLOW);
	assert_int_equal(r.checked, 0);
	p = pkt(PROTO_TCP, 40014, 443, 10, 1, NULL, 0);
	namecheck_packet(nc, 2, &p, 1);
	assert_int_equal(r.v[1], NAMECHECK_PASS);
	namecheck_free(nc);
}

/* QUIC to a name's address is refused; to an address the allowlist
 * names, let through. */
static void test_quic(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct namecheck *nc = namecheck_new(&ops, &r, false);
	uint8_t initial[1200] = { 0xc0 };
	struct namecheck_packet p = pkt(PROTO_UDP, 40015, 443, 10, 0, initial, sizeof(initial));
	namecheck_packet(nc, 1, &p, 1);
	assert_int_equal(r.v[0], NAMECHECK_REFUSE);
	assert_non_null(strstr(r.why, "QUIC"));
	p = pkt(PROTO_UDP, 40016, 443, 99, 0, initial, sizeof(initial));
	namecheck_packet(nc, 2, &p, 1);
	assert_int_equal(r.v[1], NAMECHECK_ALLOW);
	namecheck_free(nc);
}

/* Audit mode lets everything through and reports what it would refuse. */
static void test_audit(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct namecheck *nc = namecheck_new(&ops, &r, true);
	uint8_t b[600];
	size_t n = hello(b, "blocked.test", false);
	struct namecheck_packet p = pkt(PROTO_TCP, 40017, 443, 10, 1, b, n);
	namecheck_packet(nc, 1, &p, 1);
	assert_int_equal(r.v[0], NAMECHECK_ALLOW);
	assert_true(r.refused);
	assert_string_equal(r.name, "blocked.test");
	namecheck_free(nc);
}

/* Full: a new connection's segment is dropped (its kernel sends it again),
 * never let through. */
static void test_full(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct namecheck *nc = namecheck_new(&ops, &r, false);
	uint8_t b[600];
	hello(b, "allowed.test", false);
	for (uint16_t i = 0; i < NAMECHECK_PENDING_MAX; i++) {
		struct namecheck_packet p = pkt(PROTO_TCP, (uint16_t)(41000 + i), 443, 10, 1, b, 10);
		namecheck_packet(nc, i, &p, 1);
	}
	assert_int_equal(r.n, 0);
	assert_int_equal(namecheck_pending(nc), NAMECHECK_PENDING_MAX);
	struct namecheck_packet p = pkt(PROTO_TCP, 42000, 443, 10, 1, b, 10);
	namecheck_packet(nc, 999, &p, 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.v[0], NAMECHECK_DROP);
	namecheck_free(nc);
}

/* Too many segments before a name: refused, all of them. */
static void test_too_many_segments(void **state)
{
	(void)state;
	struct rec r = { 0 };
	struct namecheck *nc = namecheck_new(&ops, &r, false);
	uint8_t b[600];
	hello(b, "allowed.test", false);
	for (uint32_t i = 0; i <= NAMECHECK_HELD_MAX; i++) {
		struct namecheck_packet p = pkt(PROTO_TCP, 43000, 443, 10, 100 + i, b + i, 1);
		namecheck_packet(nc, i, &p, 1);
	}
	assert_int_equal(r.n, NAMECHECK_HELD_MAX + 1);
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(r.v[i], NAMECHECK_REFUSE);
	assert_non_null(strstr(r.why, "segments"));
	namecheck_free(nc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_name),
		cmocka_unit_test(test_other_name_refused),
		cmocka_unit_test(test_same_ports_again),
		cmocka_unit_test(test_ech_outer_name),
		cmocka_unit_test(test_no_server_name),
		cmocka_unit_test(test_split_hello),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_not_tls),
		cmocka_unit_test(test_http_host),
		cmocka_unit_test(test_literal_and_empty),
		cmocka_unit_test(test_quic),
		cmocka_unit_test(test_audit),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_too_many_segments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
