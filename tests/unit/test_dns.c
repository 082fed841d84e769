#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../dns/dnscache.h"
#include "../../dns/dnsmsg.h"

/* A DNS message being written by a test. */
struct msg {
	uint8_t b[4096];
	size_t n;
};

static void put8(struct msg *m, unsigned v)
{
	assert_true(m->n < sizeof(m->b));
	m->b[m->n++] = (uint8_t)v;
}

static void put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v & 0xff);
}

static void put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static void put_bytes(struct msg *m, const void *p, size_t n)
{
	assert_true(n <= sizeof(m->b) - m->n);
	if (n == 0)
		return; /* p may be NULL */
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

/* "a.b.c" as labels; with end, the root label closes it. No escapes: a
 * label with a '.' is written with put_label. */
static void put_labels(struct msg *m, const char *name, bool end)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);
		put8(m, (unsigned)n);
		put_bytes(m, name, n);
		name += n;
		if (*name == '.')
			name++;
	}
	if (end)
		put8(m, 0);
}

static void put_name(struct msg *m, const char *name)
{
	put_labels(m, name, true);
}

static void put_label(struct msg *m, const void *p, size_t n)
{
	put8(m, (unsigned)n);
	put_bytes(m, p, n);
}

static void put_ptr(struct msg *m, size_t off)
{
	put16(m, 0xc000 | (unsigned)off);
}

static void header(struct msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an,
		   unsigned ns, unsigned ar)
{
	m->n = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

/* A record's fixed part and data after its owner, already written. */
static void rr_tail(struct msg *m, unsigned type, unsigned class, uint32_t ttl,
		    const void *rdata, size_t rdlen)
{
	put16(m, type);
	put16(m, class);
	put32(m, ttl);
	put16(m, (unsigned)rdlen);
	put_bytes(m, rdata, rdlen);
}

static void rr_a(struct msg *m, const char *owner, const char *v4, uint32_t ttl)
{
	struct net_addr a;
	assert_int_equal(net_parse(v4, false, &a, NULL), 0);
	put_name(m, owner);
	rr_tail(m, DNS_TYPE_A, 1, ttl, a.bytes, 4);
}

static void rr_aaaa(struct msg *m, const char *owner, const char *v6, uint32_t ttl)
{
	struct net_addr a;
	assert_int_equal(net_parse(v6, false, &a, NULL), 0);
	put_name(m, owner);
	rr_tail(m, DNS_TYPE_AAAA, 1, ttl, a.bytes, 16);
}

static void rr_cname(struct msg *m, const char *owner, const char *target)
{
	put_name(m, owner);
	struct msg t = { .n = 0 };
	put_name(&t, target);
	rr_tail(m, DNS_TYPE_CNAME, 1, 300, t.b, t.n);
}

static void opt(struct msg *m, unsigned udp)
{
	put8(m, 0);
	rr_tail(m, DNS_TYPE_OPT, udp, 0, NULL, 0);
}

#define ID 0x1234
#define RD 0x0100

/* A query for name, with an OPT record when udp is not 0. */
static void query(struct msg *m, const char *name, unsigned type, unsigned udp)
{
	header(m, ID, RD, 1, 0, 0, udp ? 1 : 0);
	put_name(m, name);
	put16(m, type);
	put16(m, 1);
	if (udp)
		opt(m, udp);
}

/* The start of a response to query(name, type): the header and question. */
static void response(struct msg *m, const char *name, unsigned type, unsigned flags,
		     unsigned an)
{
	header(m, ID, DNS_FLAG_QR | DNS_FLAG_RA | RD | flags, 1, an, 0, 0);
	put_name(m, name);
	put16(m, type);
	put16(m, 1);
}

static int parse_q(const struct msg *m, struct dns_query *q)
{
	struct perr why = PERR_INIT;
	int r = dns_parse_query(m->b, m->n, q, &why);
	/* A failure says what is wrong, as a malformed message. */
	assert_int_equal(why.err, r < 0 ? EBADMSG : 0);
	if (r < 0)
		assert_true(why.msg[0] != '\0');
	return r;
}

static struct dns_query Q(const char *name, unsigned type)
{
	struct msg m;
	struct dns_query q;
	query(&m, name, type, 0);
	assert_int_equal(parse_q(&m, &q), 0);
	return q;
}

static int parse_r(const struct msg *m, const struct dns_query *q, struct dns_answer *a)
{
	struct perr why = PERR_INIT;
	int r = dns_parse_response(m->b, m->n, q, a, &why);
	/* A failure says what is wrong, as a malformed message. */
	assert_int_equal(why.err, r < 0 ? EBADMSG : 0);
	if (r < 0)
		assert_true(why.msg[0] != '\0');
	return r;
}

/* The answer's addresses as "a b c". */
static const char *addrs(const struct dns_answer *a)
{
	static char buf[4096];
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < a->naddrs; i++) {
		char s[NET_ADDR_STRLEN];
		net_format(&a->addrs[i].addr, s, sizeof(s));
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? " " : "", s);
	}
	return buf;
}

static void test_query_ok(void **state)
{
	(void)state;
	struct msg m;
	struct dns_query q;

	query(&m, "WwW.Example.COM", DNS_TYPE_AAAA, 0);
	assert_int_equal(parse_q(&m, &q), 0);
	assert_string_equal(q.name, "www.example.com");
	assert_int_equal(q.id, ID);
	assert_int_equal(q.flags, RD);
	assert_int_equal(q.qtype, DNS_TYPE_AAAA);
	assert_int_equal(q.qclass, 1);
	assert_int_equal(q.question_end, m.n);
	assert_false(q.has_opt);
	assert_int_equal(q.udp_size, 512);

	query(&m, "example.com", DNS_TYPE_A, 4096);
	assert_int_equal(parse_q(&m, &q), 0);
	assert_true(q.has_opt);
	assert_int_equal(q.udp_size, 4096);
	assert_int_equal(q.question_end, DNS_HEADER_LEN + 13 + 4);

	/* A UDP size below 512 counts as 512 (RFC 6891 6.2.3). */
	query(&m, "example.com", DNS_TYPE_A, 100);
	assert_int_equal(parse_q(&m, &q), 0);
	assert_int_equal(q.udp_size, 512);

	/* The root, and the longest name and label. */
	query(&m, "", 2, 0);
	assert_int_equal(parse_q(&m, &q), 0);
	assert_string_equal(q.name, "");
	char name[DNS_NAME_MAX + 1];
	memset(name, 'a', sizeof(name) - 1);
	name[DNS_NAME_MAX] = '\0';
	for (size_t i = 63; i < DNS_NAME_MAX; i += 64)
		name[i] = '.';
	query(&m, name, DNS_TYPE_A, 0);
	assert_int_equal(parse_q(&m, &q), 0);
	assert_int_equal(strlen(q.name), DNS_NAME_MAX);
	assert_string_equal(q.name, name);

	/* Printable bytes other than '.' are fine, and so is a compressed
	 * owner in the additional section (a TSIG-like record). */
	header(&m, ID, 0, 1, 0, 0, 2);
	put_name(&m, "_x-y*z.example.com");
	put16(&m, 16);
	put16(&m, 1);
	put_ptr(&m, DNS_HEADER_LEN);
	rr_tail(&m, 250, 255, 0, "abc", 3);
	opt(&m, 1232);
	assert_int_equal(parse_q(&m, &q), 0);
	assert_string_equal(q.name, "_x-y*z.example.com");
	assert_true(q.has_opt);
	assert_int_equal(q.udp_size, 1232);
	assert_int_equal(q.question_end, DNS_HEADER_LEN + 20 + 4);
}

static void assert_query_refused(const struct msg *m)
{
	struct dns_query q;
	assert_int_equal(parse_q(m, &q), -1);
}

static void test_query_malformed(void **state)
{
	(void)state;
	struct msg m;

	query(&m, "example.com", DNS_TYPE_A, 0);
	struct msg good = m;
	for (size_t n = 0; n < good.n; n++) {
		m.n = n; /* cut anywhere */
		assert_query_refused(&m);
	}

	/* Trailing bytes are refused. */
	m = good;
	put8(&m, 0);
	assert_query_refused(&m);

	/* QDCOUNT 0 and 2, answer or authority records, QR set, opcodes. */
	unsigned fields[][2] = { { 4, 0 }, { 4, 2 }, { 6, 1 }, { 8, 1 }, { 2, 0x8100 },
				 { 2, 0x1100 }, { 2, 0x2000 }, { 10, 1 } };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		m = good;
		m.b[fields[i][0]] = (uint8_t)(fields[i][1] >> 8);
		m.b[fields[i][0] + 1] = (uint8_t)fields[i][1];
		assert_query_refused(&m);
	}

	/* Two questions, really there. */
	header(&m, ID, 0, 2, 0, 0, 0);
	put_name(&m, "a.example");
	put32(&m, 0x00010001);
	put_name(&m, "b.example");
	put32(&m, 0x00010001);
	assert_query_refused(&m);

	/* A compression pointer in the question. */
	header(&m, ID, 0, 1, 0, 0, 0);
	put_labels(&m, "www", false);
	put_ptr(&m, DNS_HEADER_LEN + 4);
	put32(&m, 0x00010001);
	assert_query_refused(&m);

	/* A label of 64 bytes; a name of 254 characters. */
	char label[64];
	memset(label, 'a', sizeof(label));
	header(&m, ID, 0, 1, 0, 0, 0);
	put_label(&m, label, 64);
	put8(&m, 0);
	put32(&m, 0x00010001);
	assert_query_refused(&m);
	char name[DNS_NAME_MAX + 2];
	memset(name, 'a', sizeof(name) - 1);
	name[DNS_NAME_MAX + 1] = '\0';
	for (size_t i = 63; i < DNS_NAME_MAX; i += 64)
		name[i] = '.';
	assert_int_equal(strlen(name), 254);
	query(&m, name, DNS_TYPE_A, 0);
	assert_query_refused(&m);

	/* Bytes that "a.b.c" cannot carry: a '.', a space, control bytes,
	 * DEL and bytes past ASCII. */
	static const char *const bad[] = { "a.b", "a b", "a\tb", "a\x7f", "\x80x", "a\0b" };
	static const size_t badlen[] = { 3, 3, 3, 2, 2, 3 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		header(&m, ID, 0, 1, 0, 0, 0);
		put_label(&m, bad[i], badlen[i]);
		put_name(&m, "example");
		put32(&m, 0x00010001);
		assert_query_refused(&m);
	}
	/* Other printable bytes are fine. */
	header(&m, ID, 0, 1, 0, 0, 0);
	put_label(&m, "a\\!~", 4);
	put_name(&m, "example");
	put32(&m, 0x00010001);
	struct dns_query ok;
	assert_int_equal(parse_q(&m, &ok), 0);
	assert_string_equal(ok.name, "a\\!~.example");

	/* Label types 01 and 10 (RFC 6891 dropped them). */
	for (unsigned t = 0x40; t <= 0x80; t += 0x40) {
		header(&m, ID, 0, 1, 0, 0, 0);
		put8(&m, t | 1);
		put8(&m, 'a');
		put8(&m, 0);
		put32(&m, 0x00010001);
		assert_query_refused(&m);
	}

	/* Two OPT records; an OPT record not owned by the root. */
	query(&m, "example.com", DNS_TYPE_A, 1232);
	m.b[11] = 2;
	opt(&m, 1232);
	assert_query_refused(&m);
	header(&m, ID, 0, 1, 0, 0, 1);
	put_name(&m, "example.com");
	put32(&m, 0x00010001);
	put_ptr(&m, DNS_HEADER_LEN);
	rr_tail(&m, DNS_TYPE_OPT, 1232, 0, NULL, 0);
	assert_query_refused(&m);

	/* An additional record whose data runs past the end. */
	query(&m, "example.com", DNS_TYPE_A, 1232);
	m.b[m.n - 1] = 1;
	assert_query_refused(&m);
	/* An additional record pointing forward, or to itself. */
	header(&m, ID, 0, 1, 0, 0, 1);
	put_name(&m, "example.com");
	put32(&m, 0x00010001);
	put_ptr(&m, m.n);
	rr_tail(&m, DNS_TYPE_OPT, 1232, 0, NULL, 0);
	assert_query_refused(&m);
}

static void test_response_plain(void **state)
{
	(void)state;
	struct dns_query q = Q("www.example.com", DNS_TYPE_A);
	struct msg m;
	struct dns_answer a;

	response(&m, "www.example.com", DNS_TYPE_A, 0, 3);
	rr_a(&m, "www.example.com", "192.0.2.1", 300);
	rr_aaaa(&m, "WWW.example.COM", "2001:db8::1", 60);
	rr_a(&m, "www.example.com", "192.0.2.2", 0x80000001u); /* RFC 2181: 0 */
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_int_equal(a.id, ID);
	assert_int_equal(a.rcode, DNS_RCODE_NOERROR);
	assert_false(a.truncated);
	assert_string_equal(addrs(&a), "192.0.2.1 2001:db8::1 192.0.2.2");
	assert_int_equal(a.addrs[0].ttl, 300);
	assert_int_equal(a.addrs[0].addr.prefix, 32);
	assert_int_equal(a.addrs[1].ttl, 60);
	assert_int_equal(a.addrs[1].addr.prefix, 128);
	assert_int_equal(a.addrs[2].ttl, 0);
	assert_int_equal(a.nchain, 0);

	/* The question in other case matches; the same address twice is kept
	 * once, with the larger TTL. */
	response(&m, "WWW.Example.Com", DNS_TYPE_A, 0, 2);
	rr_a(&m, "www.example.com", "192.0.2.1", 30);
	rr_a(&m, "www.example.com", "192.0.2.1", 90);
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_string_equal(addrs(&a), "192.0.2.1");
	assert_int_equal(a.addrs[0].ttl, 90);

	/* No answer at all. */
	response(&m, "www.example.com", DNS_TYPE_A, 0, 0);
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_int_equal(a.naddrs, 0);
}

static void test_response_cname(void **state)
{
	(void)state;
	struct dns_query q = Q("www.example.com", DNS_TYPE_A);
	struct msg m;
	struct dns_answer a;

	/* In order. */
	response(&m, "www.example.com", DNS_TYPE_A, 0, 4);
	rr_cname(&m, "www.example.com", "www.example.com.cdn.test");
	rr_cname(&m, "www.example.com.cdn.test", "Edge.CDN.test");
	rr_a(&m, "edge.cdn.test", "198.51.100.7", 20);
	rr_a(&m, "edge.cdn.test", "198.51.100.8", 20);
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_string_equal(addrs(&a), "198.51.100.7 198.51.100.8");
	assert_int_equal(a.nchain, 2);
	assert_string_equal(a.chain[0], "www.example.com.cdn.test");
	assert_string_equal(a.chain[1], "edge.cdn.test");

	/* Out of order. */
	response(&m, "www.example.com", DNS_TYPE_A, 0, 4);
	rr_a(&m, "edge.cdn.test", "198.51.100.7", 20);
	rr_cname(&m, "www.example.com.cdn.test", "edge.cdn.test");
	rr_aaaa(&m, "www.example.com.cdn.test", "2001:db8::7", 20);
	rr_cname(&m, "www.example.com", "www.example.com.cdn.test");
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_string_equal(addrs(&a), "198.51.100.7 2001:db8::7");
	assert_int_equal(a.nchain, 2);

	/* A loop: a -> b -> a, and a -> a. */
	struct dns_query qa = Q("a.test", DNS_TYPE_A);
	response(&m, "a.test", DNS_TYPE_A, 0, 4);
	rr_cname(&m, "a.test", "b.test");
	rr_cname(&m, "b.test", "a.test");
	rr_a(&m, "b.test", "192.0.2.2", 5);
	rr_a(&m, "a.test", "192.0.2.1", 5);
	assert_int_equal(parse_r(&m, &qa, &a), 0);
	assert_int_equal(a.nchain, 1);
	assert_string_equal(addrs(&a), "192.0.2.2 192.0.2.1");
	response(&m, "a.test", DNS_TYPE_A, 0, 1);
	rr_cname(&m, "a.test", "a.test");
	assert_int_equal(parse_r(&m, &qa, &a), 0);
	assert_int_equal(a.nchain, 0);
	assert_int_equal(a.naddrs, 0);

	/* A chain longer than DNS_CHAIN_MAX hops stops there. */
	response(&m, "a.test", DNS_TYPE_A, 0, 2 * (DNS_CHAIN_MAX + 2));
	char from[32] = "a.test", to[32];
	for (int i = 1; i <= DNS_CHAIN_MAX + 2; i++) {
		snprintf(to, sizeof(to), "h%d.test", i);
		rr_cname(&m, from, to);
		char v4[32];
		snprintf(v4, sizeof(v4), "192.0.2.%d", i);
		rr_a(&m, to, v4, 5);
		memcpy(from, to, sizeof(from));
	}
	assert_int_equal(parse_r(&m, &qa, &a), 0);
	assert_int_equal(a.nchain, DNS_CHAIN_MAX);
	assert_string_equal(a.chain[DNS_CHAIN_MAX - 1], "h16.test");
	assert_int_equal(a.naddrs, DNS_CHAIN_MAX);
	assert_string_equal(addrs(&a) + strlen(addrs(&a)) - 11, " 192.0.2.16");

	/* A CNAME whose data holds more than its name is not followed. */
	response(&m, "a.test", DNS_TYPE_A, 0, 2);
	put_name(&m, "a.test");
	struct msg t = { .n = 0 };
	put_name(&t, "b.test");
	put8(&t, 0);
	rr_tail(&m, DNS_TYPE_CNAME, 1, 5, t.b, t.n);
	rr_a(&m, "b.test", "192.0.2.2", 5);
	assert_int_equal(parse_r(&m, &qa, &a), 0);
	assert_int_equal(a.nchain, 0);
	assert_int_equal(a.naddrs, 0);
}

static void test_response_other_owners(void **state)
{
	(void)state;
	struct dns_query q = Q("allowed.test", DNS_TYPE_A);
	struct msg m;
	struct dns_answer a;

	/* An upstream adds addresses for names nobody asked about, a CNAME
	 * from another name, and records of another class. */
	response(&m, "allowed.test", DNS_TYPE_A, 0, 6);
	rr_a(&m, "evil.test", "203.0.113.66", 300);
	rr_cname(&m, "other.test", "evil.test");
	rr_a(&m, "allowed.test.evil.test", "203.0.113.67", 300);
	rr_a(&m, "test", "203.0.113.68", 300);
	put_name(&m, "allowed.test");
	rr_tail(&m, DNS_TYPE_A, 3, 300, "\xcb\x00\x71\x45", 4); /* class CH */
	rr_a(&m, "allowed.test", "192.0.2.10", 300);
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_string_equal(addrs(&a), "192.0.2.10");
	assert_int_equal(a.nchain, 0);

	/* Records of the authority and additional sections never count. */
	header(&m, ID, DNS_FLAG_QR, 1, 0, 1, 1);
	put_name(&m, "allowed.test");
	put32(&m, 0x00010001);
	rr_a(&m, "allowed.test", "203.0.113.1", 300);
	rr_a(&m, "allowed.test", "203.0.113.2", 300);
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_int_equal(a.naddrs, 0);

	/* An unprintable owner or CNAME target is not matched, and does not
	 * fail the response. */
	response(&m, "allowed.test", DNS_TYPE_A, 0, 4);
	put_label(&m, "allowed.test", 12);
	put8(&m, 0);
	rr_tail(&m, DNS_TYPE_A, 1, 300, "\xcb\x00\x71\x01", 4);
	put_label(&m, "allowed test", 12);
	put8(&m, 0);
	rr_tail(&m, DNS_TYPE_A, 1, 300, "\xcb\x00\x71\x02", 4);
	put_name(&m, "allowed.test");
	struct msg t = { .n = 0 };
	put_label(&t, "x.y", 3);
	put8(&t, 0);
	rr_tail(&m, DNS_TYPE_CNAME, 1, 300, t.b, t.n);
	rr_a(&m, "allowed.test", "192.0.2.10", 300);
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_string_equal(addrs(&a), "192.0.2.10");
	assert_int_equal(a.nchain, 0);

	/* A CNAME to another name is not followed when its owner is one
	 * label "allowed.test", or its class is not IN. */
	response(&m, "allowed.test", DNS_TYPE_A, 0, 3);
	put_label(&m, "allowed.test", 12);
	put8(&m, 0);
	t.n = 0;
	put_name(&t, "evil.test");
	rr_tail(&m, DNS_TYPE_CNAME, 1, 300, t.b, t.n);
	put_name(&m, "allowed.test");
	rr_tail(&m, DNS_TYPE_CNAME, 3, 300, t.b, t.n);
	rr_a(&m, "evil.test", "203.0.113.66", 300);
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_int_equal(a.naddrs, 0);
	assert_int_equal(a.nchain, 0);
}

static void test_response_compression(void **state)
{
	(void)state;
	struct dns_query q = Q("www.example.com", DNS_TYPE_A);
	struct msg m;
	struct dns_answer a;
	const size_t qname = DNS_HEADER_LEN;

	/* Owners pointing to the question, a CNAME target partly compressed,
	 * and a pointer to a name that ends with a pointer. */
	response(&m, "www.example.com", DNS_TYPE_A, 0, 3);
	put_ptr(&m, qname);
	size_t cname_data = m.n + 10;
	struct msg t = { .n = 0 };
	put_labels(&t, "cdn", false);
	put16(&t, 0xc000 | (qname + 4)); /* "example.com" */
	rr_tail(&m, DNS_TYPE_CNAME, 1, 300, t.b, t.n);
	put_ptr(&m, cname_data);
	rr_tail(&m, DNS_TYPE_A, 1, 300, "\xc0\x00\x02\x01", 4);
	put_labels(&m, "www", false);
	put_ptr(&m, qname + 4);
	rr_tail(&m, DNS_TYPE_A, 1, 300, "\xc0\x00\x02\x02", 4);
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_string_equal(addrs(&a), "192.0.2.1 192.0.2.2");
	assert_int_equal(a.nchain, 1);
	assert_string_equal(a.chain[0], "cdn.example.com");
	struct msg good = m;

	/* A pointer that points forward, to itself, out of the message, into
	 * the header, or to a later pointer that points back. */
	size_t owner = qname + 17 + 4;
	size_t targets[] = { owner + 2, owner, 0x3fff, 2 };
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		m = good;
		m.b[owner] = (uint8_t)(0xc0 | targets[i] >> 8);
		m.b[owner + 1] = (uint8_t)targets[i];
		assert_int_equal(parse_r(&m, &q, &a), -1);
	}
	response(&m, "www.example.com", DNS_TYPE_A, 0, 1);
	size_t p1 = m.n;
	put_ptr(&m, p1 + 2);
	put_ptr(&m, p1);
	rr_tail(&m, DNS_TYPE_A, 1, 300, "\xc0\x00\x02\x01", 4);
	assert_int_equal(parse_r(&m, &q, &a), -1);

	/* A label, then a pointer back to it: a loop. */
	response(&m, "www.example.com", DNS_TYPE_A, 0, 1);
	p1 = m.n;
	put_labels(&m, "x", false);
	put_ptr(&m, p1);
	rr_tail(&m, DNS_TYPE_A, 1, 300, "\xc0\x00\x02\x01", 4);
	assert_int_equal(parse_r(&m, &q, &a), -1);

	/* A pointer cut in half at the end. */
	response(&m, "www.example.com", DNS_TYPE_A, 0, 1);
	put8(&m, 0xc0);
	assert_int_equal(parse_r(&m, &q, &a), -1);

	/* A pointer in the question of a response can only point into the
	 * header: refused. */
	header(&m, ID, DNS_FLAG_QR, 1, 0, 0, 0);
	put_ptr(&m, 0);
	put32(&m, 0x00010001);
	assert_int_equal(parse_r(&m, &q, &a), -1);

	/* Offset 4 of the header reads as the root name (QDCOUNT's high
	 * byte): still refused, in the question and in a record. */
	struct dns_query root = Q("", DNS_TYPE_A);
	header(&m, ID, DNS_FLAG_QR, 1, 0, 0, 0);
	put_ptr(&m, 4);
	put32(&m, 0x00010001);
	assert_int_equal(parse_r(&m, &root, &a), -1);
	response(&m, "", DNS_TYPE_A, 0, 1);
	put_ptr(&m, 4);
	rr_tail(&m, DNS_TYPE_A, 1, 300, "\xc0\x00\x02\x01", 4);
	assert_int_equal(parse_r(&m, &root, &a), -1);
	/* The same, with the root written out. */
	response(&m, "", DNS_TYPE_A, 0, 1);
	put8(&m, 0);
	rr_tail(&m, DNS_TYPE_A, 1, 300, "\xc0\x00\x02\x01", 4);
	assert_int_equal(parse_r(&m, &root, &a), 0);
	assert_string_equal(addrs(&a), "192.0.2.1");

	/* A chain of pointers to pointers, each one to the one before: 100
	 * jumps are fine, more than 128 are not. */
	for (unsigned jumps = 100; jumps <= 140; jumps += 40) {
		response(&m, "www.example.com", DNS_TYPE_A, 0, 2);
		put_ptr(&m, qname);
		put16(&m, 99);
		put16(&m, 1);
		put32(&m, 300);
		put16(&m, 2 * (jumps - 1));
		size_t to = qname;
		for (unsigned i = 1; i < jumps; i++) {
			size_t here = m.n;
			put_ptr(&m, to);
			to = here;
		}
		put_ptr(&m, to);
		rr_tail(&m, DNS_TYPE_A, 1, 300, "\xc0\x00\x02\x01", 4);
		assert_int_equal(parse_r(&m, &q, &a), jumps == 100 ? 0 : -1);
		assert_int_equal(a.naddrs, jumps == 100 ? 1 : 0);
	}

	/* Pointers whose names add up to more than 253 characters: owners of
	 * 68, 132 and 196 characters are fine, one of 260 is not. */
	char label[63];
	memset(label, 'x', sizeof(label));
	for (unsigned records = 3; records <= 4; records++) {
		response(&m, "www.example.com", DNS_TYPE_A, 0, records);
		size_t prev = m.n;
		put_label(&m, label, 63);
		put_name(&m, "com");
		rr_tail(&m, DNS_TYPE_A, 1, 300, "\xc0\x00\x02\x01", 4);
		for (unsigned i = 1; i < records; i++) {
			size_t here = m.n;
			put_label(&m, label, 63);
			put_ptr(&m, prev);
			rr_tail(&m, DNS_TYPE_A, 1, 300, "\xc0\x00\x02\x01", 4);
			prev = here;
		}
		assert_int_equal(parse_r(&m, &q, &a), records == 3 ? 0 : -1);
		assert_int_equal(a.naddrs, 0);
	}
}

static void test_response_rdlength(void **state)
{
	(void)state;
	struct dns_query q = Q("x.test", DNS_TYPE_AAAA);
	struct msg m;
	struct dns_answer a;

	response(&m, "x.test", DNS_TYPE_AAAA, 0, 4);
	put_name(&m, "x.test");
	rr_tail(&m, DNS_TYPE_A, 1, 300, "\xc0\x00\x02\x01\x00", 5);
	put_name(&m, "x.test");
	rr_tail(&m, DNS_TYPE_AAAA, 1, 300, "\xc0\x00\x02\x01", 4);
	put_name(&m, "x.test");
	rr_tail(&m, DNS_TYPE_A, 1, 300, "", 0);
	rr_aaaa(&m, "x.test", "2001:db8::2", 300);
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_string_equal(addrs(&a), "2001:db8::2");

	/* Data running past the end fails the response. */
	response(&m, "x.test", DNS_TYPE_AAAA, 0, 1);
	rr_aaaa(&m, "x.test", "2001:db8::2", 300);
	m.n--;
	assert_int_equal(parse_r(&m, &q, &a), -1);
	/* So does a record missing. */
	response(&m, "x.test", DNS_TYPE_AAAA, 0, 2);
	rr_aaaa(&m, "x.test", "2001:db8::2", 300);
	assert_int_equal(parse_r(&m, &q, &a), -1);
}

static void test_response_mismatch(void **state)
{
	(void)state;
	struct dns_query q = Q("x.test", DNS_TYPE_A);
	struct msg m;
	struct dns_answer a;

	response(&m, "x.test", DNS_TYPE_A, 0, 1);
	rr_a(&m, "x.test", "192.0.2.1", 300);
	struct msg good = m;
	assert_int_equal(parse_r(&m, &q, &a), 0);

	m.b[1] ^= 1; /* another ID */
	assert_int_equal(parse_r(&m, &q, &a), -1);
	m = good;
	m.b[2] &= 0x7f; /* QR clear */
	assert_int_equal(parse_r(&m, &q, &a), -1);
	m = good;
	m.b[5] = 0; /* no question */
	assert_int_equal(parse_r(&m, &q, &a), -1);
	m = good;
	m.b[5] = 2;
	assert_int_equal(parse_r(&m, &q, &a), -1);
	m = good;
	m.b[DNS_HEADER_LEN + 1] = 'y'; /* y.test */
	assert_int_equal(parse_r(&m, &q, &a), -1);
	m = good;
	m.b[DNS_HEADER_LEN + 8 + 1] = DNS_TYPE_AAAA;
	assert_int_equal(parse_r(&m, &q, &a), -1);
	m = good;
	m.b[DNS_HEADER_LEN + 8 + 3] = 3; /* class CH */
	assert_int_equal(parse_r(&m, &q, &a), -1);
	/* One label "x.test" is not the name x.test. */
	header(&m, ID, DNS_FLAG_QR, 1, 0, 0, 0);
	put_label(&m, "x.test", 6);
	put8(&m, 0);
	put32(&m, 0x00010001);
	assert_int_equal(parse_r(&m, &q, &a), -1);
	/* A longer name ending the same. */
	response(&m, "a.x.test", DNS_TYPE_A, 0, 0);
	assert_int_equal(parse_r(&m, &q, &a), -1);
	for (size_t n = 0; n < DNS_HEADER_LEN + 8 + 4; n++) {
		m = good;
		m.n = n;
		assert_int_equal(parse_r(&m, &q, &a), -1);
	}
}

static void test_response_tc_rcode(void **state)
{
	(void)state;
	struct dns_query q = Q("x.test", DNS_TYPE_A);
	struct msg m;
	struct dns_answer a;

	response(&m, "x.test", DNS_TYPE_A, DNS_FLAG_TC, 0);
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_true(a.truncated);

	/* A truncated answer cut inside a record: the whole ones count. */
	response(&m, "x.test", DNS_TYPE_A, DNS_FLAG_TC, 3);
	rr_a(&m, "x.test", "192.0.2.1", 300);
	rr_a(&m, "x.test", "192.0.2.2", 300);
	m.n -= 3;
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_true(a.truncated);
	assert_string_equal(addrs(&a), "192.0.2.1");

	response(&m, "x.test", DNS_TYPE_A, DNS_RCODE_NXDOMAIN, 0);
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_int_equal(a.rcode, DNS_RCODE_NXDOMAIN);
	assert_false(a.truncated);
	assert_int_equal(a.naddrs, 0);

	response(&m, "x.test", DNS_TYPE_A, DNS_RCODE_SERVFAIL, 0);
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_int_equal(a.rcode, DNS_RCODE_SERVFAIL);
}

static void test_response_many(void **state)
{
	(void)state;
	struct dns_query q = Q("x.test", DNS_TYPE_A);
	struct msg m;
	struct dns_answer a;

	response(&m, "x.test", DNS_TYPE_A, 0, DNS_ADDRS_MAX + 10);
	for (unsigned i = 0; i < DNS_ADDRS_MAX + 10; i++) {
		char v4[32];
		snprintf(v4, sizeof(v4), "10.0.%u.%u", i / 256, i % 256);
		rr_a(&m, "x.test", v4, 300);
	}
	assert_int_equal(parse_r(&m, &q, &a), 0);
	assert_int_equal(a.naddrs, DNS_ADDRS_MAX);
	char last[NET_ADDR_STRLEN];
	net_format(&a.addrs[DNS_ADDRS_MAX - 1].addr, last, sizeof(last));
	assert_string_equal(last, "10.0.0.63");
}

static void test_build_reply(void **state)
{
	(void)state;
	struct msg m;
	struct dns_query q;
	struct dns_answer a;
	uint8_t out[512];

	/* With an OPT record, RD set, other flags in the query dropped. */
	query(&m, "WWW.example.com", DNS_TYPE_A, 4096);
	m.b[2] |= 0x06; /* AA and TC */
	m.b[3] = 0x30;  /* AD and CD */
	assert_int_equal(parse_q(&m, &q), 0);
	ssize_t n = dns_build_reply(m.b, &q, DNS_RCODE_REFUSED, out, sizeof(out));
	assert_int_equal(n, q.question_end + 11);
	assert_int_equal(out[2], 0x81); /* QR, opcode 0, RD */
	assert_int_equal(out[3], 0x80 | DNS_RCODE_REFUSED);
	static const uint8_t counts[] = { 0, 1, 0, 0, 0, 0, 0, 1 };
	assert_memory_equal(out + 4, counts, sizeof(counts));
	/* The question as sent, case and all. */
	assert_memory_equal(out + DNS_HEADER_LEN, m.b + DNS_HEADER_LEN,
			    q.question_end - DNS_HEADER_LEN);
	static const uint8_t opt_rr[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };
	assert_memory_equal(out + q.question_end, opt_rr, sizeof(opt_rr));
	struct msg r = { .n = (size_t)n };
	memcpy(r.b, out, r.n);
	assert_int_equal(parse_r(&r, &q, &a), 0);
	assert_int_equal(a.rcode, DNS_RCODE_REFUSED);
}

static void test_build_reply_parses(void **state)
{
	(void)state;
	struct msg m;
	struct dns_query q;
	struct dns_answer a;
	struct msg r;

	/* Without OPT and RD: the reply parses back as the response to q. */
	query(&m, "x.test", DNS_TYPE_AAAA, 0);
	m.b[2] = 0;
	assert_int_equal(parse_q(&m, &q), 0);
	ssize_t n = dns_build_reply(m.b, &q, DNS_RCODE_NXDOMAIN, r.b, sizeof(r.b));
	assert_int_equal(n, q.question_end);
	r.n = (size_t)n;
	assert_int_equal(r.b[2], 0x80);
	assert_int_equal(r.b[3], 0x80 | DNS_RCODE_NXDOMAIN);
	assert_int_equal(r.b[11], 0);
	assert_int_equal(parse_r(&r, &q, &a), 0);
	assert_int_equal(a.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(a.id, ID);
	assert_int_equal(a.naddrs, 0);

	/* With OPT: the reply parses back too (its OPT record is in the
	 * additional section, which dns_parse_response leaves alone). */
	query(&m, "x.test", DNS_TYPE_A, 1232);
	assert_int_equal(parse_q(&m, &q), 0);
	n = dns_build_reply(m.b, &q, DNS_RCODE_REFUSED, r.b, sizeof(r.b));
	r.n = (size_t)n;
	assert_int_equal(parse_r(&r, &q, &a), 0);
	assert_int_equal(a.rcode, DNS_RCODE_REFUSED);

	/* Too small a buffer, by one byte; the exact size. */
	assert_int_equal(dns_build_reply(m.b, &q, 0, r.b, q.question_end + 10), -1);
	assert_int_equal(dns_build_reply(m.b, &q, 0, r.b, q.question_end + 11),
			 q.question_end + 11);

	/* In place. */
	n = dns_build_reply(m.b, &q, DNS_RCODE_REFUSED, m.b, sizeof(m.b));
	assert_int_equal(n, q.question_end + 11);
	assert_int_equal(m.b[3], 0x80 | DNS_RCODE_REFUSED);
	m.n = (size_t)n;
	assert_int_equal(parse_r(&m, &q, &a), 0);
}

/* A query written by a client that smuggles: flags beyond RD, an EDNS
 * option, DO, and a record of its own in the additional section. */
static void smuggling_query(struct msg *m, const char *name, unsigned type, unsigned flags)
{
	header(m, ID, flags, 1, 0, 0, 2);
	put_name(m, name);
	put16(m, type);
	put16(m, 1);
	put_name(m, "data.example");
	rr_tail(m, 16, 1, 0, "\x05hello", 6);
	put8(m, 0);
	rr_tail(m, DNS_TYPE_OPT, 4096, 0x00008000u, "\xfd\xe9\x00\x02hi", 6);
}

static void test_build_query(void **state)
{
	(void)state;
	struct msg m;
	struct dns_query q;
	uint8_t out[DNS_FORWARD_MAX + 16];

	/* Only what a resolver needs: RD and CD kept, AA, TC, AD and the Z
	 * bit dropped; the name in lowercase; palisade's own OPT record (UDP
	 * size 1232, DO kept, no options); the client's record gone. */
	smuggling_query(&m, "WwW.Example.COM", DNS_TYPE_AAAA, 0x0770);
	assert_int_equal(parse_q(&m, &q), 0);
	assert_true(q.has_opt);
	assert_true(q.edns_do);
	ssize_t n = dns_build_query(&q, 0xbeef, out, sizeof(out));
	static const uint8_t want[] = {
		0xbe, 0xef, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 1,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		0, 28, 0, 1,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0,
	};
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));

	/* It parses back as the same question. */
	struct msg b = { .n = (size_t)n };
	memcpy(b.b, out, b.n);
	struct dns_query back;
	assert_int_equal(parse_q(&b, &back), 0);
	assert_string_equal(back.name, "www.example.com");
	assert_int_equal(back.qtype, DNS_TYPE_AAAA);
	assert_int_equal(back.id, 0xbeef);
	assert_true(back.has_opt);
	assert_int_equal(back.udp_size, 1232);

	/* Too small a buffer, by one byte; the exact size. */
	assert_int_equal(dns_build_query(&q, 1, out, sizeof(want) - 1), -1);
	assert_int_equal(dns_build_query(&q, 1, out, sizeof(want)), sizeof(want));

	/* Without OPT, DO is not asked for either; without RD, none. */
	query(&m, "x.test", DNS_TYPE_A, 0);
	m.b[2] = 0;
	assert_int_equal(parse_q(&m, &q), 0);
	assert_false(q.edns_do);
	n = dns_build_query(&q, 0x0102, out, sizeof(out));
	static const uint8_t plain[] = { 1, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
					 1, 'x', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1 };
	assert_int_equal(n, sizeof(plain));
	assert_memory_equal(out, plain, sizeof(plain));
	/* An OPT record without DO gives one without DO, whatever its
	 * version, extended rcode bits or UDP size. */
	query(&m, "x.test", DNS_TYPE_A, 600);
	m.b[m.n - 6] = 0x7f; /* extended rcode */
	m.b[m.n - 5] = 3;    /* version */
	m.b[m.n - 3] = 0x55; /* Z */
	assert_int_equal(parse_q(&m, &q), 0);
	n = dns_build_query(&q, 0x0102, out, sizeof(out));
	assert_int_equal(n, sizeof(plain) + 11);
	static const uint8_t opt_rr[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };
	assert_memory_equal(out + sizeof(plain), opt_rr, sizeof(opt_rr));
	assert_int_equal(out[11], 1);

	/* The root, and the longest name: DNS_FORWARD_MAX. */
	query(&m, "", 2, 1232);
	assert_int_equal(parse_q(&m, &q), 0);
	assert_int_equal(dns_build_query(&q, 0, out, sizeof(out)), DNS_HEADER_LEN + 1 + 4 + 11);
	char name[DNS_NAME_MAX + 1];
	memset(name, 'a', sizeof(name) - 1);
	name[DNS_NAME_MAX] = '\0';
	for (size_t i = 63; i < DNS_NAME_MAX; i += 64)
		name[i] = '.';
	query(&m, name, DNS_TYPE_A, 1232);
	assert_int_equal(parse_q(&m, &q), 0);
	assert_int_equal(dns_build_query(&q, 0, out, sizeof(out)), DNS_FORWARD_MAX);
	assert_memory_equal(out + DNS_HEADER_LEN, m.b + DNS_HEADER_LEN, q.question_end - DNS_HEADER_LEN);

	/* A name no parser gives is not written. */
	static const char *const bad[] = { ".a", "a.", "a..b" };
	q = Q("x.test", DNS_TYPE_A);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(q.name, sizeof(q.name), "%s", bad[i]);
		assert_int_equal(dns_build_query(&q, 0, out, sizeof(out)), -1);
	}
	memset(q.name, 'a', 64); /* a label of 64 */
	q.name[64] = '\0';
	assert_int_equal(dns_build_query(&q, 0, out, sizeof(out)), -1);
	memset(q.name, 'a', sizeof(q.name) - 1);
	q.name[DNS_NAME_MAX] = '\0';
	assert_int_equal(dns_build_query(&q, 0, out, sizeof(out)), -1);
}

static void test_answer_client(void **state)
{
	(void)state;
	struct msg c, r;
	struct dns_query q;
	struct dns_answer a;
	uint8_t up[DNS_FORWARD_MAX];

	/* The client asks in its own case; the upstream answers the query
	 * palisade built, with records that point into its question. */
	smuggling_query(&c, "WwW.Example.COM", DNS_TYPE_A, RD);
	assert_int_equal(parse_q(&c, &q), 0);
	ssize_t n = dns_build_query(&q, 0xbeef, up, sizeof(up));
	assert_true(n > 0);
	struct dns_query sent = q;
	sent.id = 0xbeef;
	header(&r, 0xbeef, DNS_FLAG_QR | DNS_FLAG_RA | RD, 1, 2, 0, 0);
	put_bytes(&r, up + DNS_HEADER_LEN, q.question_end - DNS_HEADER_LEN);
	put_ptr(&r, DNS_HEADER_LEN);
	struct msg t = { .n = 0 };
	put_labels(&t, "cdn", false);
	put16(&t, 0xc000 | (DNS_HEADER_LEN + 4));
	rr_tail(&r, DNS_TYPE_CNAME, 1, 300, t.b, t.n);
	put_name(&r, "cdn.example.com");
	rr_tail(&r, DNS_TYPE_A, 1, 300, "\xc0\x00\x02\x01", 4);
	assert_int_equal(parse_r(&r, &sent, &a), 0);
	struct msg before = r;

	assert_int_equal(dns_answer_client(r.b, r.n, c.b, &q), 0);
	/* The client's ID and question, byte for byte; the rest as it was. */
	assert_int_equal(r.b[0] << 8 | r.b[1], ID);
	assert_memory_equal(r.b + 2, before.b + 2, DNS_HEADER_LEN - 2);
	assert_memory_equal(r.b + DNS_HEADER_LEN, c.b + DNS_HEADER_LEN,
			    q.question_end - DNS_HEADER_LEN);
	assert_memory_equal(r.b + q.question_end, before.b + q.question_end,
			    r.n - q.question_end);
	assert_int_equal(parse_r(&r, &q, &a), 0);
	assert_string_equal(addrs(&a), "192.0.2.1");

	/* Not the question asked: another name, type or class, or cut. */
	size_t name_at = DNS_HEADER_LEN + 1, type_at = q.question_end - 3;
	size_t at[] = { name_at, type_at, type_at + 2 };
	for (size_t i = 0; i < 3; i++) {
		r = before;
		r.b[at[i]] ^= 0x01;
		assert_int_equal(dns_answer_client(r.b, r.n, c.b, &q), -1);
		assert_memory_equal(r.b, before.b, 2); /* left alone */
	}
	r = before;
	r.b[name_at] ^= 0x20; /* another case is the same name */
	assert_int_equal(dns_answer_client(r.b, r.n, c.b, &q), 0);
	r = before;
	assert_int_equal(dns_answer_client(r.b, q.question_end - 1, c.b, &q), -1);
	assert_int_equal(dns_answer_client(r.b, q.question_end, c.b, &q), 0);
	/* A type whose bytes are letters is compared exactly. */
	query(&c, "x.test", 0x4141, 0);
	assert_int_equal(parse_q(&c, &q), 0);
	response(&r, "x.test", 0x6161, 0, 0);
	assert_int_equal(dns_answer_client(r.b, r.n, c.b, &q), -1);
	response(&r, "X.TEST", 0x4141, 0, 0);
	assert_int_equal(dns_answer_client(r.b, r.n, c.b, &q), 0);
	assert_memory_equal(r.b + DNS_HEADER_LEN, c.b + DNS_HEADER_LEN, 12);
}

static void test_build_truncated(void **state)
{
	(void)state;
	struct msg m, r;
	struct dns_query q;
	struct dns_answer a;

	query(&m, "x.test", DNS_TYPE_A, 600);
	assert_int_equal(parse_q(&m, &q), 0);
	ssize_t n = dns_build_truncated(m.b, &q, DNS_RCODE_NOERROR, r.b, sizeof(r.b));
	assert_int_equal(n, q.question_end + 11);
	r.n = (size_t)n;
	assert_int_equal(r.b[2], 0x80 | DNS_FLAG_TC >> 8 | RD >> 8);
	assert_int_equal(r.b[3], 0x80);
	assert_int_equal(parse_r(&r, &q, &a), 0);
	assert_true(a.truncated);
	assert_int_equal(a.naddrs, 0);
	assert_int_equal(dns_build_truncated(m.b, &q, 0, r.b, q.question_end + 10), -1);
}

/* The wildcard entries' test (init/allowlist.c's entry_matches). */
static void test_name_under(void **state)
{
	(void)state;
	assert_true(dns_name_under("example.com", "a.example.com"));
	assert_true(dns_name_under("example.com", "a.b.example.com"));
	assert_false(dns_name_under("example.com", "example.com"));
	assert_false(dns_name_under("example.com", "badexample.com"));
	assert_false(dns_name_under("example.com", ".example.com"));
	assert_false(dns_name_under("example.com", "a.example.com.evil"));
	assert_false(dns_name_under("example.com", "xample.com"));
	assert_false(dns_name_under("example.com", ""));
	assert_false(dns_name_under("", "a"));
	assert_false(dns_name_under("", ""));
}


/* ---- the cache (dns/dnscache.c) ---- */

#define T0 1000000ull   /* a monotonic time, in ms */

/* A query for name and type, with id, flags and, when edns, an OPT record
 * whose TTL field is ext (DO: 0x8000). */
static void query_as(struct msg *m, const char *name, unsigned type, unsigned id,
		     unsigned flags, bool edns, uint32_t ext)
{
	header(m, id, flags, 1, 0, 0, edns ? 1 : 0);
	put_name(m, name);
	put16(m, type);
	put16(m, 1);
	if (edns) {
		put8(m, 0);
		rr_tail(m, DNS_TYPE_OPT, 1232, ext, NULL, 0);
	}
}

static struct dns_query parsed(const struct msg *m)
{
	struct dns_query q;
	assert_int_equal(parse_q(m, &q), 0);
	return q;
}

/* An SOA record of the authority section: TTL ttl, MINIMUM minimum. */
static void rr_soa(struct msg *m, const char *owner, uint32_t ttl, uint32_t minimum)
{
	put_name(m, owner);
	struct msg d = { .n = 0 };
	put_name(&d, "ns.example.com");
	put_name(&d, "hostmaster.example.com");
	for (int i = 0; i < 4; i++)
		put32(&d, 1000);
	put32(&d, minimum);
	rr_tail(m, 6, 1, ttl, d.b, d.n);
}

/* The TTL of the record whose TTL field is at off. */
static uint32_t ttl_at(const uint8_t *b, size_t off)
{
	return (uint32_t)b[off] << 24 | (uint32_t)b[off + 1] << 16 | (uint32_t)b[off + 2] << 8 |
	       b[off + 3];
}

/* A positive answer to query_as(name, A, ID, RD): one A record of ttl,
 * whose TTL field is at *ttl_off. */
static void answer_a(struct msg *m, const char *name, uint32_t ttl, size_t *ttl_off)
{
	response(m, name, DNS_TYPE_A, 0, 1);
	size_t at = m->n;
	rr_a(m, name, "192.0.2.1", ttl);
	*ttl_off = m->n - 4 - 2 - 4;
	assert_true(*ttl_off > at);
}

/* A cache of 16 entries holding, since T0, the answer r to the query qm
 * (parsed into q) for name, type A: one record of ttl, whose TTL field is
 * at *off. */
static struct dnscache *cache_with(const char *name, uint32_t ttl, struct msg *qm,
				   struct dns_query *q, struct msg *r, size_t *off)
{
	struct dnscache *c = dnscache_new(16, ttl);
	assert_non_null(c);
	query_as(qm, name, DNS_TYPE_A, ID, RD, false, 0);
	*q = parsed(qm);
	answer_a(r, name, ttl, off);
	assert_int_equal(dnscache_put(c, q, r->b, r->n, 86400, T0), 1);
	return c;
}

static void test_cache_hit(void **state)
{
	(void)state;
	struct msg qm, r;
	struct dns_query q;
	size_t off;
	struct dnscache *c = cache_with("www.example.com", 300, &qm, &q, &r, &off);

	/* Another client, its own ID and spelling: the answer carries them. */
	struct msg q2m;
	query_as(&q2m, "WwW.ExAmPlE.cOm", DNS_TYPE_A, 0xbeef, RD, false, 0);
	struct dns_query q2 = parsed(&q2m);
	uint8_t out[4096];
	ssize_t n = dnscache_get(c, &q2, q2m.b, T0, out, sizeof(out));
	assert_int_equal(n, (ssize_t)r.n);
	assert_int_equal(out[0], 0xbe);
	assert_int_equal(out[1], 0xef);
	assert_memory_equal(out + 2, r.b + 2, DNS_HEADER_LEN - 2);
	assert_memory_equal(out + DNS_HEADER_LEN, q2m.b + DNS_HEADER_LEN,
			    q2.question_end - DNS_HEADER_LEN);
	assert_int_equal(ttl_at(out, off), 300);
	/* The rest is the upstream's answer, and parses as one to q2. */
	assert_memory_equal(out + q2.question_end, r.b + q2.question_end,
			    r.n - q2.question_end);
	struct msg om = { .n = (size_t)n };
	memcpy(om.b, out, (size_t)n);
	struct dns_answer a;
	assert_int_equal(parse_r(&om, &q2, &a), 0);
	assert_string_equal(addrs(&a), "192.0.2.1");

	/* TTLs go down by the seconds spent in the cache, rounded up. */
	assert_int_equal(dnscache_get(c, &q2, q2m.b, T0 + 1, out, sizeof(out)), (ssize_t)r.n);
	assert_int_equal(ttl_at(out, off), 299);
	assert_int_equal(dnscache_get(c, &q2, q2m.b, T0 + 10000, out, sizeof(out)), (ssize_t)r.n);
	assert_int_equal(ttl_at(out, off), 290);
	/* Too small a buffer: a miss, not a cut answer. */
	assert_int_equal(dnscache_get(c, &q2, q2m.b, T0, out, r.n - 1), -1);

	struct dnscache_stats st;
	dnscache_stats(c, &st);
	assert_int_equal(st.hits, 3);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.entries, 1);
	dnscache_free(c);
}

static void test_cache_expiry(void **state)
{
	(void)state;
	struct msg qm, r;
	struct dns_query q;
	size_t off;
	struct dnscache *c = cache_with("a.example.com", 60, &qm, &q, &r, &off);
	uint8_t out[4096];
	assert_int_equal(dnscache_get(c, &q, qm.b, T0 + 59000, out, sizeof(out)), (ssize_t)r.n);
	assert_int_equal(ttl_at(out, off), 1);
	/* Never served with a TTL of 0, nor past it. */
	assert_int_equal(dnscache_get(c, &q, qm.b, T0 + 59001, out, sizeof(out)), -1);
	assert_int_equal(dnscache_get(c, &q, qm.b, T0 + 3600000, out, sizeof(out)), -1);
	struct dnscache_stats st;
	dnscache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);

	/* The caller's bound: the fence holds the addresses for 10 s. */
	assert_int_equal(dnscache_put(c, &q, r.b, r.n, 10, T0), 1);
	assert_int_equal(dnscache_get(c, &q, qm.b, T0 + 9000, out, sizeof(out)), (ssize_t)r.n);
	assert_int_equal(dnscache_get(c, &q, qm.b, T0 + 9001, out, sizeof(out)), -1);

	/* A TTL of 0, or with its top bit set (0 too): not kept. */
	answer_a(&r, "a.example.com", 0, &off);
	assert_int_equal(dnscache_put(c, &q, r.b, r.n, 86400, T0), 0);
	answer_a(&r, "a.example.com", 0x80000010u, &off);
	assert_int_equal(dnscache_put(c, &q, r.b, r.n, 86400, T0), 0);
	/* The least TTL of all records counts. */
	response(&r, "a.example.com", DNS_TYPE_A, 0, 2);
	rr_a(&r, "a.example.com", "192.0.2.1", 300);
	rr_a(&r, "a.example.com", "192.0.2.2", 5);
	assert_int_equal(dnscache_put(c, &q, r.b, r.n, 86400, T0), 1);
	assert_int_equal(dnscache_get(c, &q, qm.b, T0 + 5000, out, sizeof(out)), -1);
	dnscache_free(c);
}

/* Queries that differ in anything the upstream would see do not share an
 * answer. */
static void test_cache_no_cross_question(void **state)
{
	(void)state;
	struct msg qm, r;
	struct dns_query q;
	size_t off;
	struct dnscache *c = cache_with("x.example.com", 300, &qm, &q, &r, &off);
	uint8_t out[4096];
	struct {
		const char *name;
		unsigned type, flags;
		bool edns;
		uint32_t ext;
	} other[] = {
		{ "x.example.com", DNS_TYPE_AAAA, RD, false, 0 },
		{ "x.example.com", 16, RD, false, 0 },
		{ "y.example.com", DNS_TYPE_A, RD, false, 0 },
		{ "x.example.co", DNS_TYPE_A, RD, false, 0 },
		{ "x.example.com", DNS_TYPE_A, 0, false, 0 },           /* no RD */
		{ "x.example.com", DNS_TYPE_A, RD | DNS_FLAG_CD, false, 0 },
		{ "x.example.com", DNS_TYPE_A, RD, true, 0 },           /* EDNS */
		{ "x.example.com", DNS_TYPE_A, RD, true, DNS_EDNS_DO },
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		struct msg om;
		query_as(&om, other[i].name, other[i].type, ID, other[i].flags, other[i].edns,
			 other[i].ext);
		struct dns_query oq = parsed(&om);
		assert_int_equal(dnscache_get(c, &oq, om.b, T0, out, sizeof(out)), -1);
	}
	/* The query itself still hits, and an OPT record's DO bit in its
	 * TTL field is not a TTL. */
	assert_int_equal(dnscache_get(c, &q, qm.b, T0, out, sizeof(out)), (ssize_t)r.n);

	struct msg dm, dr;
	query_as(&dm, "x.example.com", DNS_TYPE_A, ID, RD, true, DNS_EDNS_DO);
	struct dns_query dq = parsed(&dm);
	header(&dr, ID, DNS_FLAG_QR | DNS_FLAG_RA | RD, 1, 1, 0, 1);
	put_name(&dr, "x.example.com");
	put16(&dr, DNS_TYPE_A);
	put16(&dr, 1);
	rr_a(&dr, "x.example.com", "192.0.2.9", 100);
	size_t opt_ttl = dr.n + 1 + 4;
	put8(&dr, 0);
	rr_tail(&dr, DNS_TYPE_OPT, 1232, DNS_EDNS_DO, NULL, 0);
	assert_int_equal(dnscache_put(c, &dq, dr.b, dr.n, 86400, T0), 1);
	assert_int_equal(dnscache_get(c, &dq, dm.b, T0 + 5000, out, sizeof(out)), (ssize_t)dr.n);
	assert_int_equal(ttl_at(out, opt_ttl), DNS_EDNS_DO);
	assert_int_equal(ttl_at(out, opt_ttl - 1 - 4 - 4 - 2 - 4), 95);
	/* The plain query's answer is still its own. */
	assert_int_equal(dnscache_get(c, &q, qm.b, T0, out, sizeof(out)), (ssize_t)r.n);
	assert_memory_equal(out + 2, r.b + 2, r.n - 2);
	dnscache_free(c);
}

static void test_cache_negative(void **state)
{
	(void)state;
	struct dnscache *c = dnscache_new(16, 4);
	struct msg qm, r;
	query_as(&qm, "no.example.com", DNS_TYPE_A, ID, RD, false, 0);
	struct dns_query q = parsed(&qm);
	uint8_t out[4096];

	/* NXDOMAIN with an SOA record: its negative TTL, 30 s at most. */
	header(&r, ID, DNS_FLAG_QR | DNS_FLAG_RA | RD | DNS_RCODE_NXDOMAIN, 1, 0, 1, 0);
	put_name(&r, "no.example.com");
	put16(&r, DNS_TYPE_A);
	put16(&r, 1);
	size_t soa_ttl = r.n + 13 + 4; /* after "example.com", type and class */
	rr_soa(&r, "example.com", 3600, 900);
	assert_int_equal(ttl_at(r.b, soa_ttl), 3600);
	assert_int_equal(dnscache_put(c, &q, r.b, r.n, 86400, T0), 1);
	assert_int_equal(dnscache_get(c, &q, qm.b, T0 + 29000, out, sizeof(out)), (ssize_t)r.n);
	assert_int_equal(out[3] & 0xf, DNS_RCODE_NXDOMAIN);
	assert_int_equal(ttl_at(out, soa_ttl), 3571);
	assert_int_equal(dnscache_get(c, &q, qm.b, T0 + 29001, out, sizeof(out)), -1);

	/* NODATA: the SOA's MINIMUM, when lower. */
	header(&r, ID, DNS_FLAG_QR | DNS_FLAG_RA | RD, 1, 0, 1, 0);
	put_name(&r, "no.example.com");
	put16(&r, DNS_TYPE_A);
	put16(&r, 1);
	rr_soa(&r, "example.com", 3600, 5);
	assert_int_equal(dnscache_put(c, &q, r.b, r.n, 86400, T0), 1);
	assert_int_equal(dnscache_get(c, &q, qm.b, T0 + 4000, out, sizeof(out)), (ssize_t)r.n);
	assert_int_equal(dnscache_get(c, &q, qm.b, T0 + 4001, out, sizeof(out)), -1);

	/* Without an SOA record nothing says for how long: not kept. */
	header(&r, ID, DNS_FLAG_QR | DNS_FLAG_RA | RD | DNS_RCODE_NXDOMAIN, 1, 0, 0, 0);
	put_name(&r, "no.example.com");
	put16(&r, DNS_TYPE_A);
	put16(&r, 1);
	assert_int_equal(dnscache_put(c, &q, r.b, r.n, 86400, T0), 0);

	/* SERVFAIL, REFUSED and truncated answers are not kept. */
	unsigned flags[] = { DNS_RCODE_SERVFAIL, DNS_RCODE_REFUSED, DNS_FLAG_TC };
	for (size_t i = 0; i < 3; i++) {
		header(&r, ID, DNS_FLAG_QR | DNS_FLAG_RA | RD | flags[i], 1, 1, 0, 0);
		put_name(&r, "no.example.com");
		put16(&r, DNS_TYPE_A);
		put16(&r, 1);
		rr_a(&r, "no.example.com", "192.0.2.1", 300);
		assert_int_equal(dnscache_put(c, &q, r.b, r.n, 86400, T0), 0);
	}
	/* Nor a malformed one: a record cut short, bytes after the last. */
	size_t off;
	answer_a(&r, "no.example.com", 300, &off);
	assert_int_equal(dnscache_put(c, &q, r.b, r.n - 1, 86400, T0), 0);
	put8(&r, 0);
	assert_int_equal(dnscache_put(c, &q, r.b, r.n, 86400, T0), 0);
	struct dnscache_stats st;
	dnscache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	dnscache_free(c);
}

static void test_cache_eviction(void **state)
{
	(void)state;
	assert_null(dnscache_new(0, 5));
	struct dnscache *c = dnscache_new(4, 5);
	struct msg qm[6], r;
	struct dns_query q[6];
	uint8_t out[4096];
	size_t off;
	for (int i = 0; i < 6; i++) {
		char name[32];
		snprintf(name, sizeof(name), "n%d.example.com", i);
		query_as(&qm[i], name, DNS_TYPE_A, ID, RD, false, 0);
		q[i] = parsed(&qm[i]);
		answer_a(&r, name, 300, &off);
		if (i < 4)
			assert_int_equal(dnscache_put(c, &q[i], r.b, r.n, 86400, T0), 1);
	}
	/* n0 used last: n1 is the least recently used, and goes first. */
	assert_true(dnscache_get(c, &q[0], qm[0].b, T0, out, sizeof(out)) > 0);
	answer_a(&r, "n4.example.com", 300, &off);
	assert_int_equal(dnscache_put(c, &q[4], r.b, r.n, 86400, T0), 1);
	assert_int_equal(dnscache_get(c, &q[1], qm[1].b, T0, out, sizeof(out)), -1);
	for (int i = 0; i < 5; i++)
		if (i != 1)
			assert_true(dnscache_get(c, &q[i], qm[i].b, T0, out, sizeof(out)) > 0);
	struct dnscache_stats st;
	dnscache_stats(c, &st);
	assert_int_equal(st.entries, 4);

	/* The bytes are bounded too: 4 * DNSCACHE_ENTRY_BYTES. Big answers
	 * push out the old ones. */
	struct msg bm;
	struct dns_query bq;
	for (int k = 0; k < 8; k++) {
		char name[32];
		snprintf(name, sizeof(name), "big%d.example.com", k);
		query_as(&bm, name, DNS_TYPE_A, ID, RD, false, 0);
		bq = parsed(&bm);
		response(&r, name, DNS_TYPE_A, 0, 40);
		for (int j = 0; j < 40; j++)
			rr_a(&r, name, "192.0.2.1", 300);
		assert_true(r.n > 2 * DNSCACHE_ENTRY_BYTES);
		assert_int_equal(dnscache_put(c, &bq, r.b, r.n, 86400, T0), 1);
		dnscache_stats(c, &st);
		assert_true(st.bytes <= 4 * DNSCACHE_ENTRY_BYTES);
		/* Each is more than half the cache: after the first, kept one
		 * at a time. */
		assert_true(st.entries <= 4);
		if (k > 0)
			assert_int_equal(st.entries, 1);
	}
	assert_true(dnscache_get(c, &bq, bm.b, T0, out, sizeof(out)) > 0);
	assert_int_equal(dnscache_get(c, &q[0], qm[0].b, T0, out, sizeof(out)), -1);
	/* An answer bigger than the whole cache is not kept. */
	struct dnscache *small = dnscache_new(1, 6);
	assert_int_equal(dnscache_put(small, &bq, r.b, r.n, 86400, T0), 0);
	dnscache_free(small);
	dnscache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_ok),
		cmocka_unit_test(test_query_malformed),
		cmocka_unit_test(test_response_plain),
		cmocka_unit_test(test_response_cname),
		cmocka_unit_test(test_response_other_owners),
		cmocka_unit_test(test_response_compression),
		cmocka_unit_test(test_response_rdlength),
		cmocka_unit_test(test_response_mismatch),
		cmocka_unit_test(test_response_tc_rcode),
		cmocka_unit_test(test_response_many),
		cmocka_unit_test(test_build_reply),
		cmocka_unit_test(test_build_reply_parses),
		cmocka_unit_test(test_build_query),
		cmocka_unit_test(test_answer_client),
		cmocka_unit_test(test_build_truncated),
		cmocka_unit_test(test_name_under),
		cmocka_unit_test(test_cache_hit),
		cmocka_unit_test(test_cache_expiry),
		cmocka_unit_test(test_cache_no_cross_question),
		cmocka_unit_test(test_cache_negative),
		cmocka_unit_test(test_cache_eviction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
