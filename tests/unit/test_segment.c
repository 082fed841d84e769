#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "../../fw/segment.h"
#include "packet.h"

/* A TCP header with optlen bytes of options, sequence number 0x01020304,
 * flags PSH|ACK. */
static void tcp(struct pkt *p, uint16_t sport, uint16_t dport, size_t optlen)
{
	uint8_t h[60] = { 0 };
	size_t len = 20 + optlen;
	put16(h, sport);
	put16(h + 2, dport);
	h[4] = 1;
	h[5] = 2;
	h[6] = 3;
	h[7] = 4;
	h[12] = (uint8_t)(len / 4 << 4);
	h[13] = SEG_PSH | SEG_ACK;
	for (size_t i = 0; i < optlen; i++)
		h[20 + i] = 1;
	add(p, h, len);
}

static const char hello[] = "\x16\x03\x01 hello";
#define HELLO_LEN (sizeof(hello) - 1)

static struct tcp_segment parse_ok(const struct pkt *p)
{
	struct tcp_segment s;
	struct perr err = PERR_INIT;
	memset(&s, 0xa5, sizeof(s));
	int rc = segment_parse(p->b, p->len, &s, &err);
	if (rc != 0)
		fail_msg("segment_parse: %s", err.msg);
	assert_int_equal(err.err, 0);
	return s;
}

/* segment_parse fails with code, says want, and leaves out alone. */
static void parse_fails(const uint8_t *b, size_t len, int code, const char *want)
{
	struct tcp_segment s;
	memset(&s, 0x5a, sizeof(s));
	struct perr err = PERR_INIT;
	assert_int_equal(segment_parse(b, len, &s, &err), -1);
	if (err.err != code || !strstr(err.msg, want))
		fail_msg("want %d /%s/, got %d: %s", code, want, err.err, err.msg);
	uint8_t untouched[sizeof(s)];
	memset(untouched, 0x5a, sizeof(untouched));
	assert_memory_equal(&s, untouched, sizeof(s));
	/* err may be NULL. */
	assert_int_equal(segment_parse(b, len, &s, NULL), -1);
}

static void test_ipv4(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip4(&p, IPPROTO_TCP, 0, 20 + HELLO_LEN, 0x4000 /* DF */);
	tcp(&p, 40000, 443, 0);
	add(&p, hello, HELLO_LEN);
	struct tcp_segment s = parse_ok(&p);
	assert_int_equal(s.family, NET_V4);
	const uint8_t src[16] = { 10, 1, 0, 2 }, dst[16] = { 10, 1, 0, 9 };
	assert_memory_equal(s.src, src, 16);
	assert_memory_equal(s.dst, dst, 16);
	assert_int_equal(s.sport, 40000);
	assert_int_equal(s.dport, 443);
	assert_int_equal(s.seq, 0x01020304);
	assert_int_equal(s.flags, SEG_PSH | SEG_ACK);
	assert_int_equal(s.len, HELLO_LEN);
	assert_ptr_equal(s.payload, p.b + 40);
	assert_memory_equal(s.payload, hello, HELLO_LEN);
}

static void test_ipv4_options(void **state)
{
	(void)state;
	/* IP options (the longest header, 60 bytes) and TCP options (12). */
	struct pkt p = { .len = 0 };
	ip4(&p, IPPROTO_TCP, 40, 32 + 4, 0);
	tcp(&p, 1234, 8443, 12);
	add(&p, "data", 4);
	struct tcp_segment s = parse_ok(&p);
	assert_int_equal(s.sport, 1234);
	assert_int_equal(s.dport, 8443);
	assert_int_equal(s.len, 4);
	assert_ptr_equal(s.payload, p.b + 60 + 32);
}

static void test_ipv4_total_length(void **state)
{
	(void)state;
	/* The total length ends the payload: what follows (an Ethernet
	 * frame's padding) is not data. */
	struct pkt p = { .len = 0 };
	ip4(&p, IPPROTO_TCP, 0, 20 + 2, 0);
	tcp(&p, 1, 2, 0);
	add(&p, "ab" "padding", 9);
	struct tcp_segment s = parse_ok(&p);
	assert_int_equal(s.len, 2);
	assert_memory_equal(s.payload, "ab", 2);

	/* No data: a bare ACK. */
	put16(p.b + 2, 40);
	s = parse_ok(&p);
	assert_int_equal(s.len, 0);
	assert_null(s.payload);

	/* Longer than the bytes given: a copy cut short. */
	put16(p.b + 2, (uint16_t)(p.len + 1));
	parse_fails(p.b, p.len, EMSGSIZE, "total length 50 is past the 49 bytes given");
	put16(p.b + 2, 1500);
	parse_fails(p.b, p.len, EMSGSIZE, "total length 1500");
	/* Shorter than its header. */
	put16(p.b + 2, 19);
	parse_fails(p.b, p.len, EINVAL, "total length 19 is below its header length 20");
	/* Room for the IP header only: no TCP header. */
	put16(p.b + 2, 20 + 19);
	parse_fails(p.b, p.len, EINVAL, "TCP header cut off: 19 bytes");
}

static void test_ipv4_bad_header(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip4(&p, IPPROTO_TCP, 0, 20, 0);
	tcp(&p, 40000, 443, 0);
	/* Shorter than an IPv4 header. */
	for (size_t n = 1; n < 20; n++)
		parse_fails(p.b, n, EINVAL, "IPv4 header cut off");
	/* IHL below 5 words. */
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		p.b[0] = (uint8_t)(0x40 | ihl);
		parse_fails(p.b, p.len, EINVAL, "header length");
	}
	/* IHL past the total length and the bytes given. */
	p.b[0] = 0x4f;
	parse_fails(p.b, p.len, EINVAL, "total length 40 is below its header length 60");
	put16(p.b + 2, 60);
	parse_fails(p.b, p.len, EMSGSIZE, "total length 60 is past the 40 bytes");
}

static void test_ipv4_not_tcp(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip4(&p, IPPROTO_ICMP, 0, 20, 0);
	tcp(&p, 40000, 443, 0);
	parse_fails(p.b, p.len, EPROTONOSUPPORT, "IPv4 protocol 1, not TCP (6) or UDP (17)");
}

/* UDP (QUIC's first packets): ports and payload, its length within the
 * packet. */
static void test_udp(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip4(&p, IPPROTO_UDP, 0, 8 + 5, 0);
	uint8_t u[8] = { 0x9c, 0x40, 0x01, 0xbb, 0, 13, 0, 0 };
	add(&p, u, sizeof(u));
	add(&p, "quic!", 5);
	struct tcp_segment s;
	struct perr e = PERR_INIT;
	assert_int_equal(segment_parse(p.b, p.len, &s, &e), 0);
	assert_int_equal(s.proto, IPPROTO_UDP);
	assert_int_equal(s.sport, 40000);
	assert_int_equal(s.dport, 443);
	assert_int_equal(s.len, 5);
	assert_memory_equal(s.payload, "quic!", 5);
	/* A UDP length past the packet, or below the header. */
	p.b[20 + 5] = 14;
	parse_fails(p.b, p.len, EINVAL, "UDP length 14 is not within 8..13");
	p.b[20 + 5] = 7;
	parse_fails(p.b, p.len, EINVAL, "UDP length 7");
	/* Cut off inside the header. */
	put16(p.b + 2, 20 + 6);
	parse_fails(p.b, 26, EINVAL, "UDP header cut off");
}

static void test_ipv4_fragments(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip4(&p, IPPROTO_TCP, 0, 20 + 4, 0x2000);
	tcp(&p, 40000, 443, 0);
	add(&p, "frag", 4);
	/* The first fragment: its TCP header is there, its data is not all. */
	parse_fails(p.b, p.len, EPROTONOSUPPORT, "an IPv4 fragment (more fragments, offset 0)");
	/* A later one, and the last one. */
	put16(p.b + 6, 0x2000 | 185);
	parse_fails(p.b, p.len, EPROTONOSUPPORT, "offset 1480");
	put16(p.b + 6, 0x4000 | 3);
	parse_fails(p.b, p.len, EPROTONOSUPPORT, "the last one, offset 24");
	/* Don't-fragment alone is no fragment. */
	put16(p.b + 6, 0x4000);
	assert_int_equal(parse_ok(&p).len, 4);
}

static void test_tcp_header(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip4(&p, IPPROTO_TCP, 0, 20 + 8 + 3, 0);
	tcp(&p, 40000, 443, 8);
	add(&p, "xyz", 3);
	assert_int_equal(parse_ok(&p).len, 3);
	/* Data offset below 5 words. */
	for (uint8_t doff = 0; doff < 5; doff++) {
		p.b[20 + 12] = (uint8_t)(doff << 4);
		parse_fails(p.b, p.len, EINVAL, "TCP data offset");
	}
	/* A header that fills the segment: no data. */
	p.b[20 + 12] = 7 << 4;
	put16(p.b + 2, 20 + 28);
	struct tcp_segment s = parse_ok(&p);
	assert_int_equal(s.len, 0);
	/* Past the segment's end. */
	put16(p.b + 2, 20 + 31);
	p.b[20 + 12] = 0x80; /* 32 bytes: one past the segment's 31 */
	parse_fails(p.b, p.len, EINVAL, "TCP data offset 32 is past the segment's 31 bytes");
	p.b[20 + 12] = 0xf0;
	parse_fails(p.b, p.len, EINVAL, "TCP data offset 60");
	/* The data offset counts from the segment, not from the bytes given. */
	struct pkt q = { .len = 0 };
	ip4(&q, IPPROTO_TCP, 0, 20, 0);
	tcp(&q, 1, 2, 0);
	add(&q, "trailing bytes beyond the total length", 38);
	q.b[20 + 12] = 0x60;
	parse_fails(q.b, q.len, EINVAL, "TCP data offset 24 is past the segment's 20 bytes");
}

static void test_ipv6(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip6(&p, IPPROTO_TCP, 20 + HELLO_LEN);
	tcp(&p, 40001, 443, 0);
	add(&p, hello, HELLO_LEN);
	add(&p, "after", 5);
	struct tcp_segment s = parse_ok(&p);
	assert_int_equal(s.family, NET_V6);
	const uint8_t src[16] = { 0xfd, 0x99, [15] = 1 }, dst[16] = { 0xfd, 0x99, [15] = 9 };
	assert_memory_equal(s.src, src, 16);
	assert_memory_equal(s.dst, dst, 16);
	assert_int_equal(s.sport, 40001);
	assert_int_equal(s.dport, 443);
	assert_int_equal(s.seq, 0x01020304);
	assert_int_equal(s.len, HELLO_LEN);
	assert_memory_equal(s.payload, hello, HELLO_LEN);
}

static void test_ipv6_bad_header(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip6(&p, IPPROTO_TCP, 20);
	tcp(&p, 40001, 443, 0);
	for (size_t n = 1; n < 40; n++)
		parse_fails(p.b, n, EINVAL, "IPv6 header cut off");
	/* The payload length past the bytes given. */
	parse_fails(p.b, p.len - 1, EMSGSIZE, "IPv6 payload length 20 is past the 19 bytes");
	/* A payload length of 0 (a jumbogram's): no TCP header in it. */
	put16(p.b + 4, 0);
	parse_fails(p.b, p.len, EINVAL, "TCP header cut off: 0 bytes");
	put16(p.b + 4, 12);
	parse_fails(p.b, p.len, EINVAL, "TCP header cut off: 12 bytes");
	/* Another protocol. */
	put16(p.b + 4, 20);
	p.b[6] = IPPROTO_NONE;
	parse_fails(p.b, p.len, EPROTONOSUPPORT, "next header 59");
}

static void test_ipv6_extension_headers(void **state)
{
	(void)state;
	/* hop-by-hop, routing, destination options, TCP */
	struct pkt p = { .len = 0 };
	ip6(&p, IPPROTO_HOPOPTS, 8 + 24 + 16 + 20 + 4);
	ext(&p, IPPROTO_ROUTING, 8);
	ext(&p, IPPROTO_DSTOPTS, 24);
	ext(&p, IPPROTO_TCP, 16);
	tcp(&p, 40003, 8080, 0);
	add(&p, "ping", 4);
	struct tcp_segment s = parse_ok(&p);
	assert_int_equal(s.family, NET_V6);
	assert_int_equal(s.sport, 40003);
	assert_int_equal(s.dport, 8080);
	assert_int_equal(s.len, 4);
	assert_ptr_equal(s.payload, p.b + 40 + 48 + 20);

	/* An extension header running past the packet's end. */
	p.b[40 + 8 + 1] = 200;
	parse_fails(p.b, p.len, EINVAL, "extension header 43 of 1608 bytes is past the packet's end");
	p.b[40 + 8 + 1] = 2;
	/* The packet ends inside an extension header's first two bytes. */
	put16(p.b + 4, 8 + 24 + 1);
	parse_fails(p.b, p.len, EINVAL, "extension header 60 cut off at byte 72");

	/* Hop-by-hop options after another header. */
	struct pkt q = { .len = 0 };
	ip6(&q, IPPROTO_DSTOPTS, 8 + 8 + 20);
	ext(&q, IPPROTO_HOPOPTS, 8);
	ext(&q, IPPROTO_TCP, 8);
	tcp(&q, 1, 2, 0);
	parse_fails(q.b, q.len, EINVAL, "hop-by-hop options after another extension header");

	/* The limit: SEGMENT_IPV6_EXT_MAX headers pass, one more does not. */
	struct pkt r = { .len = 0 };
	ip6(&r, IPPROTO_DSTOPTS, 8 * SEGMENT_IPV6_EXT_MAX + 20);
	for (int i = 0; i < SEGMENT_IPV6_EXT_MAX; i++)
		ext(&r, i + 1 < SEGMENT_IPV6_EXT_MAX ? IPPROTO_DSTOPTS : IPPROTO_TCP, 8);
	tcp(&r, 5, 6, 0);
	assert_int_equal(parse_ok(&r).dport, 6);
	r.len = 0;
	ip6(&r, IPPROTO_DSTOPTS, 8 * (SEGMENT_IPV6_EXT_MAX + 1) + 20);
	for (int i = 0; i <= SEGMENT_IPV6_EXT_MAX; i++)
		ext(&r, i < SEGMENT_IPV6_EXT_MAX ? IPPROTO_DSTOPTS : IPPROTO_TCP, 8);
	tcp(&r, 5, 6, 0);
	parse_fails(r.b, r.len, EPROTONOSUPPORT, "more than 8 IPv6 extension headers");
}

static void test_ipv6_fragments_and_others(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip6(&p, IPPROTO_FRAGMENT, 8 + 20);
	uint8_t frag[8] = { IPPROTO_TCP, 0, 0, 1 /* more */, 0, 0, 0, 7 };
	add(&p, frag, sizeof(frag));
	tcp(&p, 1, 2, 0);
	parse_fails(p.b, p.len, EPROTONOSUPPORT, "an IPv6 fragment");
	/* After a destination options header too. */
	struct pkt q = { .len = 0 };
	ip6(&q, IPPROTO_DSTOPTS, 8 + 8 + 20);
	ext(&q, IPPROTO_FRAGMENT, 8);
	add(&q, frag, sizeof(frag));
	tcp(&q, 1, 2, 0);
	parse_fails(q.b, q.len, EPROTONOSUPPORT, "an IPv6 fragment");
	/* An authentication header: not one palisade reads through. */
	q.b[6] = IPPROTO_AH;
	parse_fails(q.b, q.len, EPROTONOSUPPORT, "next header 51");
}

static void test_not_ip(void **state)
{
	(void)state;
	struct perr err = PERR_INIT;
	struct tcp_segment s;
	assert_int_equal(segment_parse(NULL, 0, &s, &err), -1);
	assert_int_equal(err.err, EINVAL);
	const uint8_t zero = 0;
	parse_fails(&zero, 0, EINVAL, "an empty packet");
	struct pkt p = { .len = 0 };
	ip4(&p, IPPROTO_TCP, 0, 20, 0);
	tcp(&p, 1, 2, 0);
	for (unsigned v = 0; v < 16; v++) {
		if (v == 4 || v == 6)
			continue;
		p.b[0] = (uint8_t)(v << 4 | 5);
		parse_fails(p.b, p.len, EINVAL, "IP version");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv4_total_length),
		cmocka_unit_test(test_ipv4_bad_header),
		cmocka_unit_test(test_ipv4_not_tcp),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_tcp_header),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_ipv6_bad_header),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_ipv6_fragments_and_others),
		cmocka_unit_test(test_not_ip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
