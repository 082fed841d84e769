/* The packet queue's reading of the kernel's messages (nfq_parse_msg):
 * each way a message can be wrong. The socket itself is tested against the
 * kernel (tests/integration/nfqueue.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fw/nfqueue.h"
#include "../../lib/mnl.h"

#define QUEUE 7

static union {
	struct nlmsghdr h;
	uint8_t b[1024];
} buf;

static const uint8_t ip_packet[] = { 0x45, 0, 0, 20, 1, 2, 3, 4, 5, 6 };

/* A packet message's headers for queue res_id. */
static struct nlmsghdr *msg(uint8_t family, uint8_t version, uint16_t res_id)
{
	memset(&buf, 0, sizeof(buf));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(&buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = family;
	g->version = version;
	g->res_id = htons(res_id);
	return nlh;
}

static void put_hdr(struct nlmsghdr *nlh, uint32_t id, uint16_t hw)
{
	struct nfqnl_msg_packet_hdr h = { .packet_id = htonl(id), .hw_protocol = htons(hw),
					  .hook = 3 };
	mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof(h), &h);
}

/* As the kernel ends a message: the payload last, not padded. */
static void put_payload(struct nlmsghdr *nlh, const void *data, size_t len)
{
	mnl_attr_put(nlh, NFQA_PAYLOAD, len, data);
	nlh->nlmsg_len -= (uint32_t)(MNL_ALIGN(len) - len);
}

/* An IPv4 packet message, as the kernel sends it, for id 42. */
static struct nlmsghdr *good(void)
{
	struct nlmsghdr *nlh = msg(AF_INET, NFNETLINK_V0, QUEUE);
	put_hdr(nlh, 42, ETH_P_IP);
	mnl_attr_put_u32(nlh, NFQA_IFINDEX_OUTDEV, htonl(1));
	mnl_attr_put_u32(nlh, NFQA_MARK, htonl(0x100));
	put_payload(nlh, ip_packet, sizeof(ip_packet));
	return nlh;
}

static void parse_bad(const struct nlmsghdr *nlh, bool want_id, const char *want)
{
	struct nfq_packet p;
	bool has_id = !want_id;
	struct perr err = PERR_INIT;
	assert_int_equal(nfq_parse_msg(nlh, QUEUE, &p, &has_id, &err), NFQ_MSG_BAD);
	assert_int_equal(has_id, want_id);
	if (want_id)
		assert_int_equal(p.id, 42);
	if (!strstr(err.msg, want))
		fail_msg("want /%s/, got: %s", want, err.msg);
}

static void test_packet(void **state)
{
	(void)state;
	struct nlmsghdr *nlh = good();
	assert_int_not_equal(nlh->nlmsg_len % 4, 0);
	struct nfq_packet p;
	bool has_id = false;
	struct perr err = PERR_INIT;
	assert_int_equal(nfq_parse_msg(nlh, QUEUE, &p, &has_id, &err), NFQ_MSG_PACKET);
	assert_true(has_id);
	assert_int_equal(err.err, 0);
	assert_int_equal(p.id, 42);
	assert_int_equal(p.hw_protocol, ETH_P_IP);
	assert_int_equal(p.mark, 0x100);
	assert_int_equal(p.len, sizeof(ip_packet));
	assert_int_equal(p.full_len, sizeof(ip_packet));
	assert_memory_equal(p.data, ip_packet, sizeof(ip_packet));
	assert_true(p.data > buf.b && p.data + p.len <= buf.b + nlh->nlmsg_len);

	/* IPv6, no mark (the kernel sends none for 0), cut by the copy range,
	 * an attribute of a newer kernel. */
	nlh = msg(AF_INET6, NFNETLINK_V0, QUEUE);
	put_hdr(nlh, 7, ETH_P_IPV6);
	mnl_attr_put_u32(nlh, NFQA_MAX + 5, 0);
	mnl_attr_put_u32(nlh, NFQA_CAP_LEN, htonl(1500));
	put_payload(nlh, ip_packet, 3);
	assert_int_equal(nfq_parse_msg(nlh, QUEUE, &p, &has_id, &err), NFQ_MSG_PACKET);
	assert_int_equal(p.id, 7);
	assert_int_equal(p.hw_protocol, ETH_P_IPV6);
	assert_int_equal(p.mark, 0);
	assert_int_equal(p.len, 3);
	assert_int_equal(p.full_len, 1500);
}

static void test_other_messages(void **state)
{
	(void)state;
	struct nlmsghdr *nlh = good();
	struct nfq_packet p;
	bool has_id = true;
	struct perr err = PERR_INIT;
	const uint16_t others[] = {
		NLMSG_ERROR, NLMSG_DONE, NLMSG_NOOP,
		(NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG,
		(NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT,
		(NFNL_SUBSYS_ULOG << 8) | NFQNL_MSG_PACKET,
	};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		nlh->nlmsg_type = others[i];
		assert_int_equal(nfq_parse_msg(nlh, QUEUE, &p, &has_id, &err), NFQ_MSG_OTHER);
		assert_false(has_id);
		assert_int_equal(err.err, 0);
	}
}

static void test_no_id(void **state)
{
	(void)state;
	/* Too short for the nfgenmsg header. */
	struct nlmsghdr *nlh = good();
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 3;
	parse_bad(nlh, false, "a packet message of 19 bytes without its nfgenmsg header");
	/* Another queue's. */
	nlh = good();
	((struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->res_id = htons(QUEUE + 1);
	parse_bad(nlh, false, "a packet message for queue 8");
	/* No packet header, or one of the wrong size. */
	nlh = msg(AF_INET, NFNETLINK_V0, QUEUE);
	put_payload(nlh, ip_packet, sizeof(ip_packet));
	parse_bad(nlh, false, "without a valid packet header (missing)");
	nlh = msg(AF_INET, NFNETLINK_V0, QUEUE);
	uint8_t big[8] = { 0, 0, 0, 42, 8, 0, 3, 0 };
	mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof(big), big);
	put_payload(nlh, ip_packet, sizeof(ip_packet));
	parse_bad(nlh, false, "(wrong length)");
	nlh = msg(AF_INET, NFNETLINK_V0, QUEUE);
	mnl_attr_put(nlh, NFQA_PACKET_HDR, 6, big);
	put_payload(nlh, ip_packet, sizeof(ip_packet));
	parse_bad(nlh, false, "(wrong length)");
	/* Broken before the packet header. */
	nlh = msg(AF_INET, NFNETLINK_V0, QUEUE);
	nlh->nlmsg_len += 3;
	put_hdr(nlh, 42, ETH_P_IP);
	parse_bad(nlh, false, "missing");
}

static void test_bad_with_id(void **state)
{
	(void)state;
	/* Bytes after the last attribute that are no attribute. */
	struct nlmsghdr *nlh = good();
	nlh->nlmsg_len = (uint32_t)MNL_ALIGN(nlh->nlmsg_len) + 3;
	parse_bad(nlh, true, "packet 42: its attributes end in bytes that are no attribute");
	/* An attribute longer than the message. */
	nlh = good();
	nlh->nlmsg_len -= 1;
	parse_bad(nlh, true, "no attribute");

	nlh = good();
	((struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->version = 1;
	parse_bad(nlh, true, "packet 42: nfnetlink version 1, not 0");

	/* A family and a protocol that do not match, or neither IPv4 nor
	 * IPv6. */
	const struct {
		uint8_t family;
		uint16_t hw;
	} mismatch[] = {
		{ AF_INET, ETH_P_IPV6 }, { AF_INET6, ETH_P_IP }, { 7 /* NFPROTO_BRIDGE */, ETH_P_IP },
		{ AF_INET, ETH_P_ARP }, { AF_UNSPEC, ETH_P_IP },
	};
	for (size_t i = 0; i < sizeof(mismatch) / sizeof(mismatch[0]); i++) {
		nlh = msg(mismatch[i].family, NFNETLINK_V0, QUEUE);
		put_hdr(nlh, 42, mismatch[i].hw);
		put_payload(nlh, ip_packet, sizeof(ip_packet));
		parse_bad(nlh, true, "not IPv4 or IPv6");
	}

	/* Each attribute used, twice. */
	const int twice[] = { NFQA_PACKET_HDR, NFQA_MARK, NFQA_CAP_LEN, NFQA_PAYLOAD };
	for (size_t i = 0; i < sizeof(twice) / sizeof(twice[0]); i++) {
		nlh = msg(AF_INET, NFNETLINK_V0, QUEUE);
		put_hdr(nlh, 42, ETH_P_IP);
		mnl_attr_put_u32(nlh, NFQA_MARK, htonl(1));
		mnl_attr_put_u32(nlh, NFQA_CAP_LEN, htonl(100));
		mnl_attr_put(nlh, NFQA_PAYLOAD, sizeof(ip_packet), ip_packet);
		if (twice[i] == NFQA_PACKET_HDR)
			put_hdr(nlh, 42, ETH_P_IP);
		else if (twice[i] == NFQA_PAYLOAD)
			mnl_attr_put(nlh, NFQA_PAYLOAD, 1, ip_packet);
		else
			mnl_attr_put_u32(nlh, (uint16_t)twice[i], htonl(1000));
		char want[64];
		snprintf(want, sizeof(want), "packet 42: attribute %d given twice", twice[i]);
		parse_bad(nlh, true, want);
	}

	/* A mark or a capture length of the wrong size. */
	nlh = msg(AF_INET, NFNETLINK_V0, QUEUE);
	put_hdr(nlh, 42, ETH_P_IP);
	mnl_attr_put_u16(nlh, NFQA_MARK, 1);
	put_payload(nlh, ip_packet, sizeof(ip_packet));
	parse_bad(nlh, true, "packet 42: a mark of 2 bytes");
	nlh = msg(AF_INET, NFNETLINK_V0, QUEUE);
	put_hdr(nlh, 42, ETH_P_IP);
	mnl_attr_put_u64(nlh, NFQA_CAP_LEN, 1);
	put_payload(nlh, ip_packet, sizeof(ip_packet));
	parse_bad(nlh, true, "packet 42: a capture length of 8 bytes");
	/* A capture length below what was copied. */
	nlh = msg(AF_INET, NFNETLINK_V0, QUEUE);
	put_hdr(nlh, 42, ETH_P_IP);
	mnl_attr_put_u32(nlh, NFQA_CAP_LEN, htonl(9));
	put_payload(nlh, ip_packet, sizeof(ip_packet));
	parse_bad(nlh, true, "packet 42: capture length 9 below the 10 bytes copied");

	/* No payload, or an empty one. */
	nlh = msg(AF_INET, NFNETLINK_V0, QUEUE);
	put_hdr(nlh, 42, ETH_P_IP);
	parse_bad(nlh, true, "packet 42: no payload");
	nlh = msg(AF_INET, NFNETLINK_V0, QUEUE);
	put_hdr(nlh, 42, ETH_P_IP);
	put_payload(nlh, ip_packet, 0);
	parse_bad(nlh, true, "packet 42: no payload");
}

static void test_open_arguments(void **state)
{
	(void)state;
	/* Refused before any socket is opened. */
	struct perr err = PERR_INIT;
	assert_null(nfq_open(QUEUE, 0, 16, &err));
	assert_int_equal(err.err, EINVAL);
	assert_non_null(strstr(err.msg, "copy range 0 is not in 1..65531"));
	err = (struct perr)PERR_INIT;
	assert_null(nfq_open(QUEUE, NFQ_COPY_RANGE_MAX + 1, 16, &err));
	assert_non_null(strstr(err.msg, "copy range 65532"));
	err = (struct perr)PERR_INIT;
	assert_null(nfq_open(QUEUE, 128, 0, &err));
	assert_int_equal(err.err, EINVAL);
	assert_non_null(strstr(err.msg, "a queue length of 0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packet),
		cmocka_unit_test(test_other_messages),
		cmocka_unit_test(test_no_id),
		cmocka_unit_test(test_bad_with_id),
		cmocka_unit_test(test_open_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
