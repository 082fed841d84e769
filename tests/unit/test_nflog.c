#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "../../fw/pktlog.h"
#include "packet.h"

static void frag6(struct pkt *p, uint8_t next, uint16_t offset, bool more)
{
	uint8_t h[8] = { 0 };
	h[0] = next;
	put16(h + 2, (uint16_t)(offset << 3 | (more ? 1 : 0)));
	h[4] = 0x12;
	h[7] = 0x34;
	add(p, h, sizeof(h));
}

static void tcp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	uint8_t h[20] = { 0 };
	put16(h, sport);
	put16(h + 2, dport);
	h[12] = 5 << 4;
	h[13] = 0x02; /* SYN */
	add(p, h, sizeof(h));
}

static void udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	uint8_t h[8] = { 0 };
	put16(h, sport);
	put16(h + 2, dport);
	put16(h + 4, 8);
	add(p, h, sizeof(h));
}

static struct pktlog_event parse_ok(const struct pkt *p)
{
	struct pktlog_event ev;
	memset(&ev, 0xa5, sizeof(ev));
	ev.has_uid = false;
	assert_int_equal(pktlog_parse_packet(p->b, p->len, &ev), 0);
	return ev;
}

static void assert_addr(const struct net_addr *a, const char *want)
{
	char buf[NET_ADDR_STRLEN];
	net_format(a, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_ipv4_tcp(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip4(&p, IPPROTO_TCP, 0, 20, 0x4000 /* DF */);
	tcp(&p, 40000, 443);
	struct pktlog_event ev = parse_ok(&p);
	assert_int_equal(ev.family, NET_V4);
	assert_int_equal(ev.proto, IPPROTO_TCP);
	assert_addr(&ev.src, "10.1.0.2");
	assert_addr(&ev.dst, "10.1.0.9");
	assert_int_equal(ev.sport, 40000);
	assert_int_equal(ev.dport, 443);
	/* The parser leaves the fields it does not own alone. */
	assert_false(ev.has_uid);
}

static void test_ipv4_udp(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip4(&p, IPPROTO_UDP, 0, 12, 0);
	udp(&p, 5353, 53);
	add(&p, "ping", 4);
	struct pktlog_event ev = parse_ok(&p);
	assert_int_equal(ev.family, NET_V4);
	assert_int_equal(ev.proto, IPPROTO_UDP);
	assert_int_equal(ev.sport, 5353);
	assert_int_equal(ev.dport, 53);
}

static void test_ipv4_icmp(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip4(&p, IPPROTO_ICMP, 0, 8, 0);
	const uint8_t echo[8] = { 8, 0, 0, 0, 0x12, 0x34, 0, 1 };
	add(&p, echo, sizeof(echo));
	struct pktlog_event ev = parse_ok(&p);
	assert_int_equal(ev.proto, IPPROTO_ICMP);
	assert_int_equal(ev.sport, 0);
	assert_int_equal(ev.dport, 0);
	assert_addr(&ev.dst, "10.1.0.9");
}

static void test_ipv4_options(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip4(&p, IPPROTO_TCP, 12, 20, 0);
	tcp(&p, 1234, 8443);
	struct pktlog_event ev = parse_ok(&p);
	assert_int_equal(ev.proto, IPPROTO_TCP);
	assert_int_equal(ev.sport, 1234);
	assert_int_equal(ev.dport, 8443);

	/* The longest header: 60 bytes. */
	p.len = 0;
	ip4(&p, IPPROTO_UDP, 40, 8, 0);
	udp(&p, 1, 2);
	ev = parse_ok(&p);
	assert_int_equal(ev.sport, 1);
	assert_int_equal(ev.dport, 2);
}

static void test_ipv4_truncated(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip4(&p, IPPROTO_TCP, 8, 20, 0);
	tcp(&p, 40000, 443);
	struct pktlog_event ev;
	/* Shorter than an IPv4 header, or than this one with its options. */
	for (size_t n = 0; n < 28; n++)
		assert_int_equal(pktlog_parse_packet(p.b, n, &ev), -1);
	/* The header is whole, the TCP header is not: no ports. */
	for (size_t n = 28; n < 48; n++) {
		memset(&ev, 0, sizeof(ev));
		assert_int_equal(pktlog_parse_packet(p.b, n, &ev), 0);
		assert_int_equal(ev.proto, IPPROTO_TCP);
		assert_addr(&ev.dst, "10.1.0.9");
		assert_int_equal(ev.sport, 0);
		assert_int_equal(ev.dport, 0);
	}
	ev = parse_ok(&p);
	assert_int_equal(ev.dport, 443);

	/* The total length says the TCP header is not in the packet, whatever
	 * follows in the buffer. */
	put16(p.b + 2, 28 + 10);
	ev = parse_ok(&p);
	assert_int_equal(ev.dport, 0);

	/* A UDP header needs 8 bytes. */
	p.len = 0;
	ip4(&p, IPPROTO_UDP, 0, 8, 0);
	udp(&p, 7, 9);
	ev = parse_ok(&p);
	assert_int_equal(ev.dport, 9);
	assert_int_equal(pktlog_parse_packet(p.b, 27, &ev), 0);
	assert_int_equal(ev.dport, 0);
}

static void test_ipv4_bad_header(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip4(&p, IPPROTO_TCP, 0, 20, 0);
	tcp(&p, 40000, 443);
	struct pktlog_event ev;
	/* IHL below 5 words. */
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		p.b[0] = (uint8_t)(0x40 | ihl);
		assert_int_equal(pktlog_parse_packet(p.b, p.len, &ev), -1);
	}
	/* IHL past the end of the packet. */
	p.b[0] = 0x4f;
	assert_int_equal(pktlog_parse_packet(p.b, 40, &ev), -1);
	/* A total length shorter than the header. */
	p.b[0] = 0x45;
	put16(p.b + 2, 19);
	assert_int_equal(pktlog_parse_packet(p.b, p.len, &ev), -1);
}

static void test_ipv4_fragments(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	/* The first fragment (more fragments, offset 0) has the ports. */
	ip4(&p, IPPROTO_UDP, 0, 8, 0x2000);
	udp(&p, 5000, 6000);
	struct pktlog_event ev = parse_ok(&p);
	assert_int_equal(ev.dport, 6000);
	/* A later one has none, whatever its bytes look like. */
	put16(p.b + 6, 0x2000 | 185);
	ev = parse_ok(&p);
	assert_int_equal(ev.proto, IPPROTO_UDP);
	assert_int_equal(ev.sport, 0);
	assert_int_equal(ev.dport, 0);
	put16(p.b + 6, 1); /* the last one */
	ev = parse_ok(&p);
	assert_int_equal(ev.dport, 0);
}

static void test_ipv6_tcp_udp(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip6(&p, IPPROTO_TCP, 20);
	tcp(&p, 40001, 443);
	struct pktlog_event ev = parse_ok(&p);
	assert_int_equal(ev.family, NET_V6);
	assert_int_equal(ev.proto, IPPROTO_TCP);
	assert_addr(&ev.src, "fd99::1");
	assert_addr(&ev.dst, "fd99::9");
	assert_int_equal(ev.sport, 40001);
	assert_int_equal(ev.dport, 443);

	p.len = 0;
	ip6(&p, IPPROTO_UDP, 12);
	udp(&p, 40002, 53);
	add(&p, "ping", 4);
	ev = parse_ok(&p);
	assert_int_equal(ev.proto, IPPROTO_UDP);
	assert_int_equal(ev.sport, 40002);
	assert_int_equal(ev.dport, 53);

	p.len = 0;
	ip6(&p, IPPROTO_ICMPV6, 8);
	const uint8_t echo[8] = { 128, 0, 0, 0, 0, 1, 0, 1 };
	add(&p, echo, sizeof(echo));
	ev = parse_ok(&p);
	assert_int_equal(ev.proto, IPPROTO_ICMPV6);
	assert_int_equal(ev.dport, 0);
}

static void test_ipv6_truncated(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	ip6(&p, IPPROTO_TCP, 20);
	tcp(&p, 40001, 443);
	struct pktlog_event ev;
	for (size_t n = 0; n < 40; n++)
		assert_int_equal(pktlog_parse_packet(p.b, n, &ev), -1);
	for (size_t n = 40; n < 60; n++) {
		memset(&ev, 0, sizeof(ev));
		assert_int_equal(pktlog_parse_packet(p.b, n, &ev), 0);
		assert_int_equal(ev.proto, IPPROTO_TCP);
		assert_int_equal(ev.dport, 0);
	}
	/* The payload length is what counts, not the buffer. */
	put16(p.b + 4, 10);
	ev = parse_ok(&p);
	assert_int_equal(ev.dport, 0);
	/* 0 is a jumbogram's payload length: the buffer counts. */
	put16(p.b + 4, 0);
	ev = parse_ok(&p);
	assert_int_equal(ev.dport, 443);
}

static void test_ipv6_extension_headers(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	/* hop-by-hop, routing, first fragment, destination options, TCP */
	ip6(&p, IPPROTO_HOPOPTS, 8 + 24 + 8 + 16 + 20);
	ext(&p, IPPROTO_ROUTING, 8);
	ext(&p, IPPROTO_FRAGMENT, 24);
	frag6(&p, IPPROTO_DSTOPTS, 0, true);
	ext(&p, IPPROTO_TCP, 16);
	tcp(&p, 40003, 8080);
	struct pktlog_event ev = parse_ok(&p);
	assert_int_equal(ev.family, NET_V6);
	assert_int_equal(ev.proto, IPPROTO_TCP);
	assert_int_equal(ev.sport, 40003);
	assert_int_equal(ev.dport, 8080);
	assert_addr(&ev.dst, "fd99::9");

	/* Cut inside the TCP header: the protocol is known, the ports not. */
	assert_int_equal(pktlog_parse_packet(p.b, p.len - 1, &ev), 0);
	assert_int_equal(ev.proto, IPPROTO_TCP);
	assert_int_equal(ev.dport, 0);
	/* Cut inside an extension header: that header is what is known. */
	assert_int_equal(pktlog_parse_packet(p.b, 40 + 8 + 10, &ev), 0);
	assert_int_equal(ev.proto, IPPROTO_ROUTING);
	assert_int_equal(ev.dport, 0);
	assert_addr(&ev.src, "fd99::1");
	assert_int_equal(pktlog_parse_packet(p.b, 40 + 1, &ev), 0);
	assert_int_equal(ev.proto, IPPROTO_HOPOPTS);
	assert_int_equal(pktlog_parse_packet(p.b, 40 + 8 + 24 + 4, &ev), 0);
	assert_int_equal(ev.proto, IPPROTO_FRAGMENT);

	/* An extension header whose length runs past the end. */
	p.len = 0;
	ip6(&p, IPPROTO_DSTOPTS, 16);
	ext(&p, IPPROTO_UDP, 8);
	udp(&p, 1, 2);
	p.b[41] = 200;
	ev = parse_ok(&p);
	assert_int_equal(ev.proto, IPPROTO_DSTOPTS);
	assert_int_equal(ev.dport, 0);

	/* An authentication header (its length in 4-byte words) then UDP. */
	p.len = 0;
	ip6(&p, IPPROTO_AH, 24 + 8);
	uint8_t ah[24] = { IPPROTO_UDP, 24 / 4 - 2 };
	add(&p, ah, sizeof(ah));
	udp(&p, 3, 4);
	ev = parse_ok(&p);
	assert_int_equal(ev.proto, IPPROTO_UDP);
	assert_int_equal(ev.dport, 4);

	/* No next header. */
	p.len = 0;
	ip6(&p, IPPROTO_NONE, 0);
	ev = parse_ok(&p);
	assert_int_equal(ev.proto, IPPROTO_NONE);

	/* An endless chain of headers ends, with no ports. */
	p.len = 0;
	ip6(&p, IPPROTO_DSTOPTS, 8 * 24);
	for (int i = 0; i < 24; i++)
		ext(&p, IPPROTO_DSTOPTS, 8);
	ev = parse_ok(&p);
	assert_int_equal(ev.proto, IPPROTO_DSTOPTS);
	assert_int_equal(ev.dport, 0);
}

static void test_ipv6_fragments(void **state)
{
	(void)state;
	struct pkt p = { .len = 0 };
	/* A later fragment: the protocol is UDP, the bytes after the
	 * fragment header are data, not ports. */
	ip6(&p, IPPROTO_FRAGMENT, 8 + 8);
	frag6(&p, IPPROTO_UDP, 185, true);
	udp(&p, 1111, 2222);
	struct pktlog_event ev = parse_ok(&p);
	assert_int_equal(ev.proto, IPPROTO_UDP);
	assert_int_equal(ev.sport, 0);
	assert_int_equal(ev.dport, 0);
	/* The last one. */
	p.b[40 + 3] = (uint8_t)(185 << 3); /* offset 185 and M clear */
	p.b[40 + 2] = (uint8_t)(185 >> 5);
	ev = parse_ok(&p);
	assert_int_equal(ev.dport, 0);
	/* The first one, offset 0: the ports are there. */
	p.b[40 + 2] = 0;
	p.b[40 + 3] = 1;
	ev = parse_ok(&p);
	assert_int_equal(ev.sport, 1111);
	assert_int_equal(ev.dport, 2222);
	/* A fragment header cut short. */
	assert_int_equal(pktlog_parse_packet(p.b, 40 + 7, &ev), 0);
	assert_int_equal(ev.proto, IPPROTO_FRAGMENT);
	assert_int_equal(ev.dport, 0);
}

static void test_garbage(void **state)
{
	(void)state;
	struct pktlog_event ev;
	assert_int_equal(pktlog_parse_packet(NULL, 0, &ev), -1);
	const uint8_t empty[1] = { 0 };
	assert_int_equal(pktlog_parse_packet(empty, 0, &ev), -1);
	/* Neither version 4 nor 6. */
	uint8_t b[64] = { 0 };
	for (int v = 0; v < 16; v++) {
		if (v == 4 || v == 6)
			continue;
		b[0] = (uint8_t)(v << 4 | 5);
		assert_int_equal(pktlog_parse_packet(b, sizeof(b), &ev), -1);
	}
	/* Random bytes of every length: no crash, no read past the end (the
	 * sanitizer build checks), and a result that is 0 or -1. */
	srand(1);
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)rand() % 129;
		uint8_t *buf = malloc(n ? n : 1);
		assert_non_null(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rand();
		if (n && round % 2)
			buf[0] = (uint8_t)((round % 4 == 1 ? 0x40 : 0x60) | (buf[0] & 0x0f));
		int rc = pktlog_parse_packet(buf, n, &ev);
		assert_true(rc == 0 || rc == -1);
		if (rc == 0)
			assert_true(ev.family == NET_V4 || ev.family == NET_V6);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_tcp),
		cmocka_unit_test(test_ipv4_udp),
		cmocka_unit_test(test_ipv4_icmp),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv4_truncated),
		cmocka_unit_test(test_ipv4_bad_header),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_tcp_udp),
		cmocka_unit_test(test_ipv6_truncated),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_ipv6_fragments),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
