/* The answer policy (fw/rebind.c) and the parsing of the container's route
 * tables (fw/hostnet.c): every range at its first and last address and
 * just outside, the IPv6 forms that carry an IPv4 address, and the
 * container's own addresses, gateways, broadcast addresses and resolvers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../fw/hostnet.h"
#include "../../fw/rebind.h"

static struct net_addr A(const char *text)
{
	struct net_addr a;
	struct perr why = PERR_INIT;
	if (net_parse(text, false, &a, &why) < 0)
		fail_msg("test address %s: %s", text, why.msg);
	return a;
}

/* expect(h, address, verdict, a piece of the reason or NULL for none). */
static void expect_in(const struct hostnet *h, const char *addr, enum rebind_verdict want,
		      const char *why_part)
{
	struct net_addr a = A(addr);
	char why[REBIND_WHY_MAX];
	memset(why, 'x', sizeof(why));
	enum rebind_verdict got = rebind_classify(&a, h, why, sizeof(why));
	if (got != want)
		fail_msg("%s: verdict %d, expected %d (%s)", addr, got, want, why);
	if (want == REBIND_OK) {
		if (why[0] != '\0')
			fail_msg("%s: fine, but with a reason \"%s\"", addr, why);
	} else if (why_part && !strstr(why, why_part)) {
		fail_msg("%s: reason \"%s\" does not say \"%s\"", addr, why, why_part);
	}
}

#define OK(addr) expect_in(NULL, addr, REBIND_OK, NULL)
#define PRIV(addr, why) expect_in(NULL, addr, REBIND_PRIVATE, why)
#define NEVER(addr, why) expect_in(NULL, addr, REBIND_NEVER, why)

static void test_ipv4_never(void **state)
{
	(void)state;
	NEVER("0.0.0.0", "unspecified address (0.0.0.0/8)");
	NEVER("0.255.255.255", "unspecified");
	OK("1.0.0.0");
	OK("126.255.255.255");
	NEVER("127.0.0.0", "loopback address (127.0.0.0/8)");
	NEVER("127.0.0.1", "loopback");
	NEVER("127.255.255.255", "loopback");
	OK("128.0.0.0");
	OK("169.253.255.255");
	NEVER("169.254.0.0", "link-local address (169.254.0.0/16");
	NEVER("169.254.169.254", "cloud metadata");
	NEVER("169.254.170.2", "link-local");
	NEVER("169.254.255.255", "link-local");
	OK("169.255.0.0");
	OK("191.255.255.255");
	NEVER("192.0.0.0", "IETF protocol assignment (192.0.0.0/24");
	NEVER("192.0.0.255", "IETF");
	OK("192.0.1.0");
	OK("223.255.255.255");
	NEVER("224.0.0.0", "multicast address (224.0.0.0/4)");
	NEVER("224.0.0.251", "multicast");
	NEVER("239.255.255.255", "multicast");
	NEVER("240.0.0.0", "reserved address (240.0.0.0/4)");
	NEVER("255.255.255.254", "reserved");
	NEVER("255.255.255.255", "limited broadcast");
}

static void test_ipv4_private(void **state)
{
	(void)state;
	OK("9.255.255.255");
	PRIV("10.0.0.0", "private address (10.0.0.0/8)");
	PRIV("10.77.0.10", "private");
	PRIV("10.255.255.255", "private");
	OK("11.0.0.0");
	OK("172.15.255.255");
	PRIV("172.16.0.0", "private address (172.16.0.0/12)");
	PRIV("172.31.255.255", "private");
	OK("172.32.0.0");
	OK("192.167.255.255");
	PRIV("192.168.0.0", "private address (192.168.0.0/16)");
	PRIV("192.168.255.255", "private");
	OK("192.169.0.0");
	OK("100.63.255.255");
	PRIV("100.64.0.0", "carrier-grade NAT");
	PRIV("100.127.255.255", "100.64.0.0/10");
	OK("100.128.0.0");
	OK("198.17.255.255");
	PRIV("198.18.0.0", "benchmarking address (198.18.0.0/15)");
	PRIV("198.19.255.255", "benchmarking");
	OK("198.20.0.0");
	PRIV("192.0.2.0", "documentation address (192.0.2.0/24)");
	PRIV("192.0.2.255", "documentation");
	OK("192.0.3.0");
	OK("198.51.99.255");
	PRIV("198.51.100.0", "documentation address (198.51.100.0/24)");
	PRIV("198.51.100.255", "documentation");
	OK("198.51.101.0");
	OK("203.0.112.255");
	PRIV("203.0.113.0", "documentation address (203.0.113.0/24)");
	PRIV("203.0.113.255", "documentation");
	OK("203.0.114.0");
	OK("8.8.8.8");
	OK("160.79.104.10");
}

static void test_ipv6_ranges(void **state)
{
	(void)state;
	NEVER("::", "unspecified address (::)");
	NEVER("::1", "loopback address (::1)");
	NEVER("::2", "IPv4-compatible address (::/96");
	NEVER("::a9fe:a9fe", "IPv4-compatible");
	NEVER("::ffff:ffff", "IPv4-compatible");
	OK("::1:0:0:0");
	NEVER("::ffff:0:0:0", "IPv4-translated address (::ffff:0:0:0/96)");
	NEVER("::ffff:0:ffff:ffff", "IPv4-translated");
	NEVER("100::", "discard-only address (100::/64)");
	NEVER("100::ffff:ffff:ffff:ffff", "discard-only");
	OK("100:0:0:1::");
	OK("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	PRIV("fc00::", "unique local address (fc00::/7)");
	PRIV("fd77::10", "unique local");
	PRIV("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique local");
	OK("fe00::");
	OK("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	NEVER("fe80::", "link-local address (fe80::/10)");
	NEVER("fe80::1", "link-local");
	NEVER("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local");
	PRIV("fec0::", "site-local address (fec0::/10");
	PRIV("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "site-local");
	NEVER("ff00::", "multicast address (ff00::/8)");
	NEVER("ff02::1", "multicast");
	NEVER("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast");
	OK("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff");
	PRIV("2001:db8::", "documentation address (2001:db8::/32)");
	PRIV("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation");
	OK("2001:db9::");
	OK("2001:1:ffff:ffff:ffff:ffff:ffff:ffff");
	PRIV("2001:2::", "benchmarking address (2001:2::/48)");
	PRIV("2001:2:0:ffff:ffff:ffff:ffff:ffff", "benchmarking");
	OK("2001:2:1::");
	OK("2606:4700::1111");
	OK("2607:6bc0::10");
	OK("2001::1"); /* Teredo: reached through a relay on the internet */
}

static void test_ipv6_embedding_ipv4(void **state)
{
	(void)state;
	/* IPv4-mapped: the kernel sends it over IPv4, around the IPv6 fence. */
	NEVER("::ffff:0.0.0.0", "IPv4-mapped address (::ffff:0:0/96");
	NEVER("::ffff:8.8.8.8", "IPv4-mapped");
	NEVER("::ffff:169.254.169.254", "of 169.254.169.254, a link-local address");
	NEVER("::ffff:255.255.255.255", "IPv4-mapped");
	OK("::fffe:ffff:ffff");
	OK("0:0:0:0:1:ffff::");
	/* NAT64, well-known prefix: judged by the IPv4 address it carries,
	 * which must be a global one (RFC 6052). */
	OK("64:ff9b::8.8.8.8");
	OK("64:ff9b::1.0.0.0");
	NEVER("64:ff9b::0.0.0.0", "NAT64 address (64:ff9b::/96) of 0.0.0.0, an unspecified");
	NEVER("64:ff9b::169.254.169.254", "NAT64 address (64:ff9b::/96) of 169.254.169.254, a link-local");
	NEVER("64:ff9b::10.0.0.1", "of 10.0.0.1, a private address");
	NEVER("64:ff9b::127.0.0.1", "loopback");
	NEVER("64:ff9b::255.255.255.255", "limited broadcast");
	OK("64:ff9b::1:0:0"); /* outside 64:ff9b::/96 */
	PRIV("64:ff9b:1::", "local-use NAT64 address (64:ff9b:1::/48)");
	PRIV("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "local-use NAT64");
	OK("64:ff9b:2::");
	/* 6to4: the IPv4 address in bits 16-47. */
	OK("2002:808:808::1");
	NEVER("2002:a9fe:a9fe::1", "6to4 address (2002::/16) of 169.254.169.254, a link-local");
	NEVER("2002:a00:1::", "of 10.0.0.1, a private");
	NEVER("2002:7f00:1::", "loopback");
	NEVER("2002::", "of 0.0.0.0");
	NEVER("2002:ffff:ffff::", "of 255.255.255.255, the limited broadcast");
	OK("2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	OK("2002:100::"); /* 6to4 of 1.0.0.0 */
	OK("2003::");
}

static void host_fixture(struct hostnet *h)
{
	hostnet_init(h);
	struct net_addr own = A("10.77.0.2"), own6 = A("fd77::2"), pub = A("8.8.4.4");
	assert_int_equal(hostnet_add_ifaddr(h, &own, 24, NULL), 0);
	assert_int_equal(hostnet_add_ifaddr(h, &own6, 64, NULL), 0);
	assert_int_equal(hostnet_add_ifaddr(h, &pub, 31, NULL), 0);
	struct net_addr gw = A("10.77.0.1"), gw6 = A("fd77::1"), dns = A("10.77.0.53");
	struct net_addr dns_gw = A("10.77.0.1");
	assert_int_equal(hostnet_add(h, &gw, HOST_GATEWAY, NULL), 0);
	assert_int_equal(hostnet_add(h, &gw6, HOST_GATEWAY, NULL), 0);
	assert_int_equal(hostnet_add(h, &dns, HOST_RESOLVER, NULL), 0);
	assert_int_equal(hostnet_add(h, &dns_gw, HOST_RESOLVER, NULL), 0);
}

static void test_container_neighbourhood(void **state)
{
	(void)state;
	struct hostnet h;
	host_fixture(&h);
	expect_in(&h, "10.77.0.1", REBIND_NEVER, "the container's gateway");
	expect_in(&h, "fd77::1", REBIND_NEVER, "the container's gateway");
	expect_in(&h, "10.77.0.2", REBIND_NEVER, "one of the container's own addresses");
	expect_in(&h, "fd77::2", REBIND_NEVER, "own addresses");
	expect_in(&h, "8.8.4.4", REBIND_NEVER, "own addresses");
	expect_in(&h, "10.77.0.255", REBIND_NEVER,
		  "the broadcast address of the container's network 10.77.0.0/24");
	expect_in(&h, "10.77.0.53", REBIND_NEVER, "one of the container's DNS resolvers");
	expect_in(&h, "64:ff9b::10.77.0.1", REBIND_NEVER, "NAT64 address (64:ff9b::/96) of 10.77.0.1, the container's gateway");
	expect_in(&h, "64:ff9b::8.8.4.4", REBIND_NEVER, "own addresses");
	expect_in(&h, "::ffff:10.77.0.1", REBIND_NEVER, "gateway");
	/* The rest of the subnet is private, not never; a /31 has no broadcast. */
	expect_in(&h, "10.77.0.3", REBIND_PRIVATE, "private address (10.0.0.0/8)");
	expect_in(&h, "10.77.0.0", REBIND_PRIVATE, "private");
	expect_in(&h, "fd77::3", REBIND_PRIVATE, "unique local");
	expect_in(&h, "8.8.4.5", REBIND_OK, NULL);
	expect_in(&h, "8.8.8.8", REBIND_OK, NULL);
	hostnet_free(&h);
}

static bool has(const struct hostnet *h, const char *addr, enum host_role role)
{
	struct net_addr a = A(addr);
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].role == role && net_equal(&h->v[i].addr, &a))
			return true;
	return false;
}

static void test_interface_addresses(void **state)
{
	(void)state;
	struct hostnet h;
	hostnet_init(&h);
	struct net_addr a = A("10.1.2.3"), b = A("192.168.7.1"), c = A("192.168.9.9"),
			d = A("172.20.0.5"), e = A("2001:db8::5"), brd = A("172.20.0.127");
	assert_int_equal(hostnet_add_ifaddr(&h, &a, 8, NULL), 0);
	assert_int_equal(hostnet_add_ifaddr(&h, &b, 30, NULL), 0);
	assert_int_equal(hostnet_add_ifaddr(&h, &c, 31, NULL), 0);
	assert_int_equal(hostnet_add_ifaddr(&h, &d, 16, &brd), 0);
	assert_int_equal(hostnet_add_ifaddr(&h, &e, 64, NULL), 0);
	assert_true(has(&h, "10.1.2.3", HOST_OWN));
	assert_true(has(&h, "10.255.255.255", HOST_BROADCAST));
	assert_true(has(&h, "192.168.7.3", HOST_BROADCAST));
	assert_false(has(&h, "192.168.9.9", HOST_BROADCAST));
	assert_false(has(&h, "192.168.9.8", HOST_BROADCAST));
	assert_true(has(&h, "172.20.255.255", HOST_BROADCAST));
	assert_true(has(&h, "172.20.0.127", HOST_BROADCAST)); /* the kernel's, as set */
	assert_true(has(&h, "2001:db8::5", HOST_OWN));
	/* 10.1.2.3 and its broadcast, 192.168.7.1 and its, 192.168.9.9 alone,
	 * 172.20.0.5 and two broadcasts, 2001:db8::5: 9. */
	assert_int_equal(h.n, 9);
	/* Once each. */
	assert_int_equal(hostnet_add_ifaddr(&h, &a, 8, NULL), 0);
	assert_int_equal(h.n, 9);
	char why[REBIND_WHY_MAX];
	struct net_addr x = A("172.20.0.127");
	assert_int_equal(rebind_classify(&x, &h, why, sizeof(why)), REBIND_NEVER);
	assert_string_equal(why, "the broadcast address of the container's network 172.20.0.0/16");
	hostnet_free(&h);
}

static void test_route_tables(void **state)
{
	(void)state;
	struct hostnet h;
	hostnet_init(&h);
	/* /proc/net/route prints the network-order address as a number in
	 * the host's order. */
	struct net_addr gw = A("10.77.0.1"), gw2 = A("192.0.2.1");
	uint32_t g, g2;
	memcpy(&g, gw.bytes, 4);
	memcpy(&g2, gw2.bytes, 4);
	char line[256];
	assert_int_equal(hostnet_route4_line(&h, "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\t"
					     "Metric\tMask\t\tMTU\tWindow\tIRTT\n"), 0);
	snprintf(line, sizeof(line), "eth0\t00000000\t%08X\t0003\t0\t0\t0\t00000000\t0\t0\t0\n", g);
	assert_int_equal(hostnet_route4_line(&h, line), 0);
	/* A route without RTF_GATEWAY, and one whose gateway is 0: none. */
	snprintf(line, sizeof(line), "eth1\t0000000A\t%08X\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n", g2);
	assert_int_equal(hostnet_route4_line(&h, line), 0);
	assert_int_equal(hostnet_route4_line(&h, "eth0\t0000000A\t00000000\t0003\t0\t0\t0\t"
					     "000000FF\t0\t0\t0\n"), 0);
	assert_int_equal(hostnet_route4_line(&h, "garbage\n"), 0);
	assert_int_equal(hostnet_route4_line(&h, ""), 0);
	assert_int_equal(h.n, 1);
	assert_true(has(&h, "10.77.0.1", HOST_GATEWAY));

	assert_int_equal(hostnet_route6_line(&h,
		"00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
		"fd770000000000000000000000000001 00000400 00000001 00000000 00000003     eth0\n"), 0);
	assert_int_equal(hostnet_route6_line(&h,
		"fd770000000000000000000000000000 40 00000000000000000000000000000000 00 "
		"00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"), 0);
	assert_int_equal(hostnet_route6_line(&h,
		"00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
		"fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eth0\n"), 0);
	assert_int_equal(hostnet_route6_line(&h, "fd77 40 xyz\n"), 0);
	assert_int_equal(hostnet_route6_line(&h,
		"00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
		"fd77000000000000000000000000zz01 00000400 00000001 00000000 00000003     eth0\n"), 0);
	assert_int_equal(h.n, 3);
	assert_true(has(&h, "fd77::1", HOST_GATEWAY));
	assert_true(has(&h, "fe80::1", HOST_GATEWAY));
	hostnet_free(&h);
}

static void test_allowed_and_messages(void **state)
{
	(void)state;
	assert_true(rebind_allowed(REBIND_OK, false));
	assert_true(rebind_allowed(REBIND_OK, true));
	assert_false(rebind_allowed(REBIND_PRIVATE, false));
	assert_true(rebind_allowed(REBIND_PRIVATE, true));
	assert_false(rebind_allowed(REBIND_NEVER, false));
	assert_false(rebind_allowed(REBIND_NEVER, true));

	char why[REBIND_WHY_MAX], m[REBIND_MSG_MAX];
	struct net_addr a = A("169.254.169.254"), b = A("10.0.0.7");
	enum rebind_verdict v = rebind_classify(&a, NULL, why, sizeof(why));
	rebind_message("meta.example", &a, v, why, m, sizeof(m));
	assert_string_equal(m, "refused 169.254.169.254 for meta.example: a link-local address "
			    "(169.254.0.0/16: cloud metadata and other services of the host); "
			    "never allowed for a name");
	v = rebind_classify(&b, NULL, why, sizeof(why));
	rebind_message("db.example", &b, v, why, m, sizeof(m));
	assert_string_equal(m, "refused 10.0.0.7 for db.example: a private address (10.0.0.0/8); "
			    "allowed for a name only with --allow-private db.example");
	/* A short buffer is cut, not overrun; no reason buffer at all is fine. */
	char small[8];
	rebind_message("db.example", &b, v, why, small, sizeof(small));
	assert_string_equal(small, "refused");
	assert_int_equal(rebind_classify(&a, NULL, NULL, 0), REBIND_NEVER);
	struct net_addr nat = A("64:ff9b::169.254.169.254");
	char tiny[4];
	assert_int_equal(rebind_classify(&nat, NULL, tiny, sizeof(tiny)), REBIND_NEVER);
	assert_string_equal(tiny, "a N");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_never),
		cmocka_unit_test(test_ipv4_private),
		cmocka_unit_test(test_ipv6_ranges),
		cmocka_unit_test(test_ipv6_embedding_ipv4),
		cmocka_unit_test(test_container_neighbourhood),
		cmocka_unit_test(test_interface_addresses),
		cmocka_unit_test(test_route_tables),
		cmocka_unit_test(test_allowed_and_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
