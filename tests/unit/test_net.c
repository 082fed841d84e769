#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../fw/net.h"

static void roundtrip(const char *in, const char *want)
{
	struct net_addr a;
	struct perr why = PERR_INIT;
	char out[NET_ADDR_STRLEN];
	assert_int_equal(net_parse(in, true, &a, &why), 0);
	assert_int_equal(why.err, 0);
	net_format(&a, out, sizeof(out));
	assert_string_equal(out, want);
}

/* code: EAFNOSUPPORT for text that is no address (the allowlist then
 * tries it as a name), EINVAL for an address with a bad /prefix. */
static void expect_error(const char *in, int code, const char *reason)
{
	struct net_addr a;
	struct perr why = PERR_INIT;
	assert_int_equal(net_parse(in, true, &a, &why), -1);
	assert_int_equal(why.err, code);
	assert_non_null(strstr(why.msg, reason));
}

static void test_parse_hosts_and_networks(void **state)
{
	(void)state;
	roundtrip("192.0.2.1", "192.0.2.1");
	roundtrip("140.82.112.0/20", "140.82.112.0/20");
	roundtrip("192.0.2.7/32", "192.0.2.7");
	roundtrip("2001:db8::1", "2001:db8::1");
	roundtrip("2606:50c0::/32", "2606:50c0::/32");
	roundtrip("2001:DB8:0:0::1", "2001:db8::1");
	roundtrip("::ffff:192.0.2.1", "::ffff:192.0.2.1");
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_error("192.0.2.300", EAFNOSUPPORT, "is not an address");
	expect_error("192.0.2", EAFNOSUPPORT, "is not an address");
	expect_error("140.82.112.5/20", EINVAL, "did you mean 140.82.112.0/20?");
	expect_error("2001:db8::1/32", EINVAL, "did you mean 2001:db8::/32?");
	expect_error("10.0.0.0/0", EINVAL, "no fence");
	expect_error("10.0.0.0/33", EINVAL, "longer than the address");
	expect_error("10.0.0.0/", EINVAL, "malformed");
	expect_error("10.0.0.0/8x", EINVAL, "malformed");
	expect_error("10.0.0.0/-1", EINVAL, "malformed");
	expect_error("", EAFNOSUPPORT, "is not an address");

	struct net_addr a;
	struct perr why = PERR_INIT;
	assert_int_equal(net_parse("10.0.0.0/8", false, &a, &why), -1);
	assert_int_equal(why.err, EINVAL);
	assert_string_equal(why.msg, "takes no /prefix here");
}

static void test_contains(void **state)
{
	(void)state;
	struct net_addr n, h;
	net_parse("140.82.112.0/20", true, &n, NULL);
	net_parse("140.82.127.255", false, &h, NULL);
	assert_true(net_contains(&n, &h));
	net_parse("140.82.128.0", false, &h, NULL);
	assert_false(net_contains(&n, &h));
	net_parse("2001:db8::1", false, &h, NULL);
	assert_false(net_contains(&n, &h));
}

static bool loopback(const char *text)
{
	struct net_addr a;
	assert_int_equal(net_parse(text, false, &a, NULL), 0);
	return net_is_loopback(&a);
}

/* The loopback addresses, and palisade's own on each family. */
static void test_loopback(void **state)
{
	(void)state;
	assert_true(loopback("127.0.0.1"));
	assert_true(loopback("127.0.0.11"));
	assert_true(loopback("127.255.255.255"));
	assert_false(loopback("126.255.255.255"));
	assert_false(loopback("128.0.0.1"));
	assert_true(loopback("::1"));
	assert_false(loopback("::2"));
	assert_false(loopback("::"));
	assert_false(loopback("::ffff:127.0.0.1"));
	char t[NET_ADDR_STRLEN];
	struct net_addr a = net_loopback(NET_V4);
	net_format(&a, t, sizeof(t));
	assert_string_equal(t, "127.0.0.1");
	assert_true(net_is_host(&a));
	a = net_loopback(NET_V6);
	net_format(&a, t, sizeof(t));
	assert_string_equal(t, "::1");
	assert_true(net_is_host(&a));
	static const uint8_t b[4] = { 192, 0, 2, 7 };
	a = net_host(NET_V4, b);
	net_format(&a, t, sizeof(t));
	assert_string_equal(t, "192.0.2.7");
}

static void test_ports(void **state)
{
	(void)state;
	struct port_list l;
	struct perr why = PERR_INIT;
	char out[128];
	assert_int_equal(port_list_parse("80,443,443/udp", &l, &why), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(port_list_count(&l, PROTO_TCP), 2);
	assert_int_equal(port_list_count(&l, PROTO_UDP), 1);
	port_list_format(&l, out, sizeof(out));
	assert_string_equal(out, "tcp 80,443 udp 443");

	assert_int_equal(port_list_parse("443,443/tcp", &l, &why), 0);
	assert_int_equal(l.n, 1); /* duplicates dropped */

	assert_int_equal(port_list_parse("0", &l, &why), -1);
	assert_int_equal(port_list_parse("65536", &l, &why), -1);
	assert_int_equal(port_list_parse("80/sctp", &l, &why), -1);
	assert_non_null(strstr(why.msg, "sctp"));
	assert_int_equal(why.err, EINVAL);
	assert_int_equal(port_list_parse("", &l, &why), -1);
	assert_int_equal(port_list_parse("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", &l, &why), -1);
	assert_non_null(strstr(why.msg, "more than 15"));

	uint16_t p;
	assert_int_equal(port_parse("08", &p), -1);
	assert_int_equal(port_parse("65535", &p), 0);
	assert_int_equal(p, 65535);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_hosts_and_networks),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_ports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
