/* lib/mnl: libmnl's API as libnftnl calls it. Messages and attributes are
 * built and read back, malformed ones (too short, longer than their buffer,
 * trailing bytes) are refused without reading past the buffer (the buffers
 * are allocated to the byte, for AddressSanitizer), batches never take more
 * than their limit, callbacks see the kernel's errors as errno, the socket
 * talks to the kernel and ignores other processes. Then libnftnl.a, linked
 * against it, builds and parses its messages and batches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "../../lib/mnl.h"

/* A buffer of exactly n bytes, filled with 0xAA, so that reading past it is
 * an AddressSanitizer report. */
static void *exact(size_t n)
{
	void *p = malloc(n);
	assert_non_null(p);
	memset(p, 0xAA, n);
	return p;
}

static struct nlattr *attr_at(void *buf, uint16_t nla_len, uint16_t type)
{
	struct nlattr *a = buf;
	a->nla_len = nla_len;
	a->nla_type = type;
	return a;
}

/* --- messages --- */

static void test_nlmsg_build(void **state)
{
	(void)state;
	char buf[256];
	memset(buf, 0xAA, sizeof(buf));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	assert_ptr_equal(nlh, buf);
	assert_int_equal(nlh->nlmsg_len, MNL_NLMSG_HDRLEN);
	assert_int_equal(nlh->nlmsg_type, 0);
	assert_int_equal(nlh->nlmsg_flags, 0);
	assert_int_equal(nlh->nlmsg_seq, 0);
	assert_int_equal(nlh->nlmsg_pid, 0);
	assert_int_equal(mnl_nlmsg_get_payload_len(nlh), 0);

	/* 3 bytes asked, 4 zeroed and taken. */
	unsigned char *extra = mnl_nlmsg_put_extra_header(nlh, 3);
	assert_ptr_equal(extra, buf + 16);
	assert_ptr_equal(extra, mnl_nlmsg_get_payload(nlh));
	assert_int_equal(nlh->nlmsg_len, 20);
	for (int i = 0; i < 4; i++)
		assert_int_equal(extra[i], 0);
	assert_int_equal((unsigned char)buf[20], 0xAA);
	assert_int_equal(mnl_nlmsg_get_payload_len(nlh), 4);
	assert_int_equal(mnl_nlmsg_size(4), 20);
	assert_ptr_equal(mnl_nlmsg_get_payload_offset(nlh, 3), buf + 20);
	assert_ptr_equal(mnl_nlmsg_get_payload_tail(nlh), buf + 20);
	nlh->nlmsg_len = 21;
	assert_ptr_equal(mnl_nlmsg_get_payload_tail(nlh), buf + 24);
}

static void test_nlmsg_ok_next(void **state)
{
	(void)state;
	struct nlmsghdr *nlh = exact(40);
	nlh->nlmsg_len = 20;
	assert_true(mnl_nlmsg_ok(nlh, 40));
	assert_true(mnl_nlmsg_ok(nlh, 20));
	/* Longer than the bytes that hold it. */
	assert_false(mnl_nlmsg_ok(nlh, 19));
	/* Shorter than a header. */
	nlh->nlmsg_len = 15;
	assert_false(mnl_nlmsg_ok(nlh, 40));
	/* Not even a header's room: nlmsg_len is not read. */
	assert_false(mnl_nlmsg_ok(nlh, 15));
	assert_false(mnl_nlmsg_ok(nlh, -1));
	/* A length that is negative as an int is not "short enough". */
	nlh->nlmsg_len = 0x80000010u;
	assert_false(mnl_nlmsg_ok(nlh, 40));

	nlh->nlmsg_len = 18;
	int len = 40;
	struct nlmsghdr *next = mnl_nlmsg_next(nlh, &len);
	assert_ptr_equal(next, (char *)nlh + 20);
	assert_int_equal(len, 20);
	next->nlmsg_len = 20;
	assert_true(mnl_nlmsg_ok(next, len));
	next = mnl_nlmsg_next(next, &len);
	assert_int_equal(len, 0);
	assert_false(mnl_nlmsg_ok(next, len));
	free(nlh);
}

static void test_nlmsg_seq_portid(void **state)
{
	(void)state;
	struct nlmsghdr nlh = { .nlmsg_seq = 7, .nlmsg_pid = 99 };
	assert_true(mnl_nlmsg_seq_ok(&nlh, 7));
	assert_true(mnl_nlmsg_seq_ok(&nlh, 0));
	assert_false(mnl_nlmsg_seq_ok(&nlh, 8));
	assert_true(mnl_nlmsg_portid_ok(&nlh, 99));
	assert_true(mnl_nlmsg_portid_ok(&nlh, 0));
	assert_false(mnl_nlmsg_portid_ok(&nlh, 98));
	nlh.nlmsg_seq = 0;
	nlh.nlmsg_pid = 0;
	assert_true(mnl_nlmsg_seq_ok(&nlh, 8));
	assert_true(mnl_nlmsg_portid_ok(&nlh, 98));
}

/* --- attributes --- */

static void test_attr_put_get(void **state)
{
	(void)state;
	char buf[256] __attribute__((aligned(8)));
	memset(buf, 0xAA, sizeof(buf));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	mnl_nlmsg_put_extra_header(nlh, 4);
	mnl_attr_put_u8(nlh, 1, 0x12);
	mnl_attr_put_u16(nlh, 2, 0x3456);
	mnl_attr_put_u32(nlh, 3, 0x789abcde);
	mnl_attr_put_u64(nlh, 4, 0x0102030405060708ull);
	mnl_attr_put_str(nlh, 5, "abc");
	mnl_attr_put_strz(nlh, 6, "abc");
	mnl_attr_put(nlh, 7, 0, NULL);
	/* 20 + 8 + 8 + 8 + 12 + 8 + 8 + 4 */
	assert_int_equal(nlh->nlmsg_len, 76);

	struct nlattr *a = mnl_nlmsg_get_payload_offset(nlh, 4);
	assert_int_equal(mnl_attr_get_type(a), 1);
	assert_int_equal(mnl_attr_get_len(a), 5);
	assert_int_equal(mnl_attr_get_payload_len(a), 1);
	assert_int_equal(mnl_attr_get_u8(a), 0x12);
	/* The padding is zeroed, not left as it was. */
	for (int i = 1; i < 4; i++)
		assert_int_equal(((unsigned char *)mnl_attr_get_payload(a))[i], 0);
	a = mnl_attr_next(a);
	assert_int_equal(mnl_attr_get_type(a), 2);
	assert_int_equal(mnl_attr_get_u16(a), 0x3456);
	a = mnl_attr_next(a);
	assert_int_equal(mnl_attr_get_u32(a), 0x789abcde);
	a = mnl_attr_next(a);
	assert_int_equal(mnl_attr_get_len(a), 12);
	assert_true(mnl_attr_get_u64(a) == 0x0102030405060708ull);
	a = mnl_attr_next(a);
	assert_int_equal(mnl_attr_get_payload_len(a), 3);
	assert_memory_equal(mnl_attr_get_str(a), "abc", 3);
	assert_int_equal(mnl_attr_get_str(a)[3], 0); /* padding */
	a = mnl_attr_next(a);
	assert_int_equal(mnl_attr_get_payload_len(a), 4);
	assert_string_equal(mnl_attr_get_str(a), "abc");
	a = mnl_attr_next(a);
	assert_int_equal(mnl_attr_get_type(a), 7);
	assert_int_equal(mnl_attr_get_len(a), MNL_ATTR_HDRLEN);
	assert_ptr_equal(mnl_attr_next(a), mnl_nlmsg_get_payload_tail(nlh));
	assert_int_equal((unsigned char)buf[76], 0xAA);
}

static void test_attr_ok(void **state)
{
	(void)state;
	char *buf = exact(12);
	struct nlattr *a = attr_at(buf, 8, 1);
	assert_true(mnl_attr_ok(a, 12));
	assert_true(mnl_attr_ok(a, 8));
	/* Longer than the buffer: truncated. */
	assert_false(mnl_attr_ok(a, 7));
	a->nla_len = 13;
	assert_false(mnl_attr_ok(a, 12));
	/* Shorter than its header. */
	a->nla_len = 3;
	assert_false(mnl_attr_ok(a, 12));
	a->nla_len = 0;
	assert_false(mnl_attr_ok(a, 12));
	/* No room for a header: the header is not read (past the buffer). */
	assert_false(mnl_attr_ok((struct nlattr *)(buf + 10), 2));
	assert_false(mnl_attr_ok(a, -4));

	a->nla_len = 5;
	assert_ptr_equal(mnl_attr_next(a), buf + 8);
	a->nla_len = 8;
	assert_ptr_equal(mnl_attr_next(a), buf + 8);
	free(buf);
}

struct seen {
	int n;
	uint16_t types[16];
	int stop_at;  /* return MNL_CB_STOP at this attribute (1-based), 0: never */
	int error_at; /* MNL_CB_ERROR */
};

static int collect(const struct nlattr *attr, void *data)
{
	struct seen *s = data;
	if (s->n < 16)
		s->types[s->n] = mnl_attr_get_type(attr);
	s->n++;
	if (s->n == s->stop_at)
		return MNL_CB_STOP;
	if (s->n == s->error_at)
		return MNL_CB_ERROR;
	return MNL_CB_OK;
}

/* A message of n bytes at the end of a buffer allocated to the byte: the
 * header, a 4-byte family header, then what the caller writes. */
static struct nlmsghdr *msg_exact(uint32_t n)
{
	struct nlmsghdr *nlh = exact(n);
	memset(nlh, 0, n < 20 ? n : 20);
	nlh->nlmsg_len = n;
	return nlh;
}

static void test_attr_parse(void **state)
{
	(void)state;
	struct nlmsghdr *nlh = msg_exact(20 + 8 + 8);
	attr_at((char *)nlh + 20, 5, 1);
	attr_at((char *)nlh + 28, 8, 2);
	struct seen s = { 0 };
	assert_int_equal(mnl_attr_parse(nlh, 4, collect, &s), MNL_CB_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.types[0], 1);
	assert_int_equal(s.types[1], 2);

	/* The callback's stop and error end the walk and are returned. */
	s = (struct seen){ .stop_at = 1 };
	assert_int_equal(mnl_attr_parse(nlh, 4, collect, &s), MNL_CB_STOP);
	assert_int_equal(s.n, 1);
	s = (struct seen){ .error_at = 1 };
	assert_int_equal(mnl_attr_parse(nlh, 4, collect, &s), MNL_CB_ERROR);
	assert_int_equal(s.n, 1);

	/* The last attribute runs past the message: the first is seen, the
	 * truncated one is not, and the parse fails. */
	((struct nlattr *)((char *)nlh + 28))->nla_len = 9;
	s = (struct seen){ 0 };
	errno = 0;
	assert_int_equal(mnl_attr_parse(nlh, 4, collect, &s), MNL_CB_ERROR);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(s.n, 1);

	/* An attribute shorter than its header. */
	((struct nlattr *)((char *)nlh + 28))->nla_len = 2;
	s = (struct seen){ 0 };
	errno = 0;
	assert_int_equal(mnl_attr_parse(nlh, 4, collect, &s), MNL_CB_ERROR);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(s.n, 1);
	free(nlh);

	/* Bytes left that cannot hold an attribute's header (not read). */
	nlh = msg_exact(20 + 8 + 2);
	attr_at((char *)nlh + 20, 8, 1);
	s = (struct seen){ 0 };
	assert_int_equal(mnl_attr_parse(nlh, 4, collect, &s), MNL_CB_ERROR);
	assert_int_equal(s.n, 1);
	free(nlh);

	/* A message shorter than its family header. */
	nlh = msg_exact(18);
	s = (struct seen){ 0 };
	errno = 0;
	assert_int_equal(mnl_attr_parse(nlh, 4, collect, &s), MNL_CB_ERROR);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(s.n, 0);
	free(nlh);

	/* No attributes at all is fine. */
	nlh = msg_exact(20);
	assert_int_equal(mnl_attr_parse(nlh, 4, collect, &s), MNL_CB_OK);
	assert_int_equal(s.n, 0);
	free(nlh);
}

static void test_attr_nest(void **state)
{
	(void)state;
	char buf[256] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	mnl_nlmsg_put_extra_header(nlh, 4);
	mnl_attr_put_u32(nlh, 1, 5);
	struct nlattr *nest = mnl_attr_nest_start(nlh, 2);
	mnl_attr_put_u16(nlh, 3, 6);
	struct nlattr *inner = mnl_attr_nest_start(nlh, 4);
	mnl_attr_put_strz(nlh, 5, "x");
	mnl_attr_nest_end(nlh, inner);
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_put_u8(nlh, 6, 1);
	assert_int_equal(nest->nla_type, NLA_F_NESTED | 2);
	assert_int_equal(mnl_attr_get_type(nest), 2);
	assert_int_equal(mnl_attr_get_len(nest), 4 + 8 + 4 + 8);
	assert_int_equal(mnl_attr_validate(nest, MNL_TYPE_NESTED), 0);

	struct seen s = { 0 };
	assert_int_equal(mnl_attr_parse(nlh, 4, collect, &s), MNL_CB_OK);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.types[1], 2);
	s = (struct seen){ 0 };
	assert_int_equal(mnl_attr_parse_nested(nest, collect, &s), MNL_CB_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.types[0], 3);
	assert_int_equal(s.types[1], 4);
	s = (struct seen){ 0 };
	assert_int_equal(mnl_attr_parse_nested(inner, collect, &s), MNL_CB_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.types[0], 5);
	s = (struct seen){ 0 };
	assert_int_equal(mnl_attr_parse_payload(mnl_attr_get_payload(nest),
						mnl_attr_get_payload_len(nest), collect, &s),
			 MNL_CB_OK);
	assert_int_equal(s.n, 2);

	/* The for_each macros see the same, and stop at the end. */
	int n = 0;
	const struct nlattr *pos;
	mnl_attr_for_each(pos, nlh, 4)
		n++;
	assert_int_equal(n, 3);
	n = 0;
	mnl_attr_for_each_nested(pos, nest)
		n++;
	assert_int_equal(n, 2);

	/* An inner attribute longer than its nest (though the message would
	 * hold it) is refused. */
	struct nlattr *first = mnl_attr_get_payload(nest);
	first->nla_len = 24;
	s = (struct seen){ 0 };
	errno = 0;
	assert_int_equal(mnl_attr_parse_nested(nest, collect, &s), MNL_CB_ERROR);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(s.n, 0);

	/* A nest shorter than its own header: nothing is read. */
	char *small = exact(4);
	struct nlattr *bad = attr_at(small, 2, NLA_F_NESTED | 1);
	s = (struct seen){ 0 };
	assert_int_equal(mnl_attr_parse_nested(bad, collect, &s), MNL_CB_ERROR);
	assert_int_equal(s.n, 0);
	free(small);
}

static void test_attr_type_valid(void **state)
{
	(void)state;
	struct nlattr a = { .nla_len = 4, .nla_type = NLA_F_NESTED | 5 };
	assert_int_equal(mnl_attr_type_valid(&a, 5), 1);
	errno = 0;
	assert_int_equal(mnl_attr_type_valid(&a, 4), -1);
	assert_int_equal(errno, EOPNOTSUPP);
}

/* Validates an attribute of payload bytes p (n of them) at the end of an
 * exact buffer; errno on failure, 0 on success. */
static int validate_bytes(enum mnl_attr_data_type type, size_t exp_len, const void *p, size_t n)
{
	char *buf = exact(4 + n);
	struct nlattr *a = attr_at(buf, (uint16_t)(4 + n), 1);
	if (n)
		memcpy(buf + 4, p, n);
	errno = 0;
	int ret = exp_len ? mnl_attr_validate2(a, type, exp_len) : mnl_attr_validate(a, type);
	int err = errno;
	free(buf);
	if (ret == 0)
		return 0;
	assert_int_equal(ret, -1);
	assert_int_not_equal(err, 0);
	return err;
}

static void test_attr_validate(void **state)
{
	(void)state;
	const char z[16] = { 0 };
	/* Integers: exactly their size. */
	assert_int_equal(validate_bytes(MNL_TYPE_U8, 0, z, 1), 0);
	assert_int_equal(validate_bytes(MNL_TYPE_U8, 0, z, 0), ERANGE);
	assert_int_equal(validate_bytes(MNL_TYPE_U8, 0, z, 2), ERANGE);
	assert_int_equal(validate_bytes(MNL_TYPE_U16, 0, z, 2), 0);
	assert_int_equal(validate_bytes(MNL_TYPE_U16, 0, z, 1), ERANGE);
	assert_int_equal(validate_bytes(MNL_TYPE_U32, 0, z, 4), 0);
	assert_int_equal(validate_bytes(MNL_TYPE_U32, 0, z, 3), ERANGE);
	assert_int_equal(validate_bytes(MNL_TYPE_U32, 0, z, 8), ERANGE);
	assert_int_equal(validate_bytes(MNL_TYPE_U64, 0, z, 8), 0);
	assert_int_equal(validate_bytes(MNL_TYPE_U64, 0, z, 4), ERANGE);
	assert_int_equal(validate_bytes(MNL_TYPE_MSECS, 0, z, 8), 0);
	assert_int_equal(validate_bytes(MNL_TYPE_MSECS, 0, z, 7), ERANGE);
	/* A flag carries nothing. */
	assert_int_equal(validate_bytes(MNL_TYPE_FLAG, 0, z, 0), 0);
	assert_int_equal(validate_bytes(MNL_TYPE_FLAG, 0, z, 1), ERANGE);
	/* Strings: not empty; a NUL inside (the string is never read past
	 * the attribute's end: the buffer ends there). */
	assert_int_equal(validate_bytes(MNL_TYPE_STRING, 0, "ab", 3), 0);
	assert_int_equal(validate_bytes(MNL_TYPE_STRING, 0, "ab", 0), ERANGE);
	assert_int_equal(validate_bytes(MNL_TYPE_STRING, 0, "abc", 3), EINVAL);
	assert_int_equal(validate_bytes(MNL_TYPE_NUL_STRING, 0, "ab", 3), 0);
	assert_int_equal(validate_bytes(MNL_TYPE_NUL_STRING, 0, "abc", 3), EINVAL);
	assert_int_equal(validate_bytes(MNL_TYPE_NUL_STRING, 0, "a\0c", 3), EINVAL);
	assert_int_equal(validate_bytes(MNL_TYPE_NUL_STRING, 0, "", 0), ERANGE);
	/* Nests: empty, or room for one attribute header. */
	assert_int_equal(validate_bytes(MNL_TYPE_NESTED, 0, z, 0), 0);
	assert_int_equal(validate_bytes(MNL_TYPE_NESTED, 0, z, 4), 0);
	assert_int_equal(validate_bytes(MNL_TYPE_NESTED, 0, z, 2), ERANGE);
	/* Binary: any length; validate2 wants its length exactly. */
	assert_int_equal(validate_bytes(MNL_TYPE_BINARY, 0, z, 7), 0);
	assert_int_equal(validate_bytes(MNL_TYPE_BINARY, 16, z, 16), 0);
	assert_int_equal(validate_bytes(MNL_TYPE_BINARY, 16, z, 15), ERANGE);
	assert_int_equal(validate_bytes(MNL_TYPE_BINARY, 4, z, 5), ERANGE);
	/* Unknown types. */
	assert_int_equal(validate_bytes(MNL_TYPE_MAX, 0, z, 4), EINVAL);
	assert_int_equal(validate_bytes(MNL_TYPE_MAX, 4, z, 4), EINVAL);

	/* An attribute shorter than its header: its payload length would
	 * wrap around to 65535-odd bytes; refused without reading any. */
	char *buf = exact(4);
	struct nlattr *a = attr_at(buf, 2, 1);
	errno = 0;
	assert_int_equal(mnl_attr_validate(a, MNL_TYPE_NUL_STRING), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(mnl_attr_validate(a, MNL_TYPE_BINARY), -1);
	free(buf);
}

/* --- callbacks --- */

struct run {
	int data_msgs;
	int ret; /* what the data callback returns */
};

static int on_data(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	struct run *r = data;
	r->data_msgs++;
	return r->ret;
}

/* Appends a message of the given type, flags, seq, port id and payload
 * length to buf at *off. */
static struct nlmsghdr *put_msg(char *buf, size_t *off, uint16_t type, uint16_t flags,
				uint32_t seq, uint32_t pid, size_t payload)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + *off);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = pid;
	memset(mnl_nlmsg_put_extra_header(nlh, payload), 0, MNL_ALIGN(payload));
	*off += nlh->nlmsg_len;
	return nlh;
}

static void put_error(char *buf, size_t *off, int error, uint32_t seq)
{
	struct nlmsghdr *nlh =
		put_msg(buf, off, NLMSG_ERROR, 0, seq, 42, sizeof(struct nlmsgerr));
	struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	e->error = error;
}

/* Runs the off bytes of messages in buf from an exact copy. */
static int run_exact(const char *buf, size_t off, unsigned int seq, unsigned int portid,
		     struct run *r)
{
	char *copy = exact(off);
	memcpy(copy, buf, off);
	errno = 0;
	int ret = mnl_cb_run(copy, off, seq, portid, on_data, r);
	free(copy);
	return ret;
}

static void test_cb_run(void **state)
{
	(void)state;
	char buf[1024] __attribute__((aligned(8)));
	size_t off = 0;
	struct run r = { .ret = MNL_CB_OK };

	/* Data, data, done, data: the last is never seen. */
	put_msg(buf, &off, NLMSG_MIN_TYPE, NLM_F_MULTI, 5, 42, 8);
	put_msg(buf, &off, NLMSG_MIN_TYPE + 1, NLM_F_MULTI, 5, 42, 0);
	put_msg(buf, &off, NLMSG_DONE, NLM_F_MULTI, 5, 42, 4);
	put_msg(buf, &off, NLMSG_MIN_TYPE, 0, 5, 42, 0);
	assert_int_equal(run_exact(buf, off, 5, 42, &r), MNL_CB_STOP);
	assert_int_equal(r.data_msgs, 2);

	/* No DONE: all data seen, OK. A noop goes on. */
	off = 0;
	r = (struct run){ .ret = MNL_CB_OK };
	put_msg(buf, &off, NLMSG_MIN_TYPE, 0, 5, 42, 0);
	put_msg(buf, &off, NLMSG_NOOP, 0, 5, 42, 0);
	put_msg(buf, &off, NLMSG_MIN_TYPE, 0, 0, 0, 0);
	assert_int_equal(run_exact(buf, off, 5, 42, &r), MNL_CB_OK);
	assert_int_equal(r.data_msgs, 2);
	/* The data callback's stop and error end the run. */
	r = (struct run){ .ret = MNL_CB_STOP };
	assert_int_equal(run_exact(buf, off, 5, 42, &r), MNL_CB_STOP);
	assert_int_equal(r.data_msgs, 1);
	r = (struct run){ .ret = MNL_CB_ERROR };
	assert_int_equal(run_exact(buf, off, 5, 42, &r), MNL_CB_ERROR);
	assert_int_equal(r.data_msgs, 1);
	assert_int_equal(run_exact(buf, 0, 5, 42, &r), MNL_CB_OK);

	/* The kernel's error, of either sign, is errno. */
	off = 0;
	r = (struct run){ .ret = MNL_CB_OK };
	put_msg(buf, &off, NLMSG_MIN_TYPE, 0, 5, 42, 0);
	put_error(buf, &off, -ENOENT, 5);
	put_msg(buf, &off, NLMSG_MIN_TYPE, 0, 5, 42, 0);
	assert_int_equal(run_exact(buf, off, 5, 42, &r), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(r.data_msgs, 1);
	off = 0;
	put_error(buf, &off, EPERM, 5);
	assert_int_equal(run_exact(buf, off, 5, 42, &r), -1);
	assert_int_equal(errno, EPERM);
	/* Error 0 is an acknowledgement: stop. */
	off = 0;
	put_error(buf, &off, 0, 5);
	assert_int_equal(run_exact(buf, off, 5, 42, &r), MNL_CB_STOP);
	/* An error message too short to hold the error. */
	off = 0;
	put_msg(buf, &off, NLMSG_ERROR, 0, 5, 42, 2);
	assert_int_equal(run_exact(buf, off, 5, 42, &r), -1);
	assert_int_equal(errno, EBADMSG);

	/* Another port id, another sequence number, an interrupted dump. */
	off = 0;
	r = (struct run){ .ret = MNL_CB_OK };
	put_msg(buf, &off, NLMSG_MIN_TYPE, 0, 5, 43, 0);
	assert_int_equal(run_exact(buf, off, 5, 42, &r), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(r.data_msgs, 0);
	/* (0 expected: any port id.) */
	assert_int_equal(run_exact(buf, off, 5, 0, &r), MNL_CB_OK);
	off = 0;
	r = (struct run){ .ret = MNL_CB_OK };
	put_msg(buf, &off, NLMSG_MIN_TYPE, 0, 5, 42, 0);
	put_msg(buf, &off, NLMSG_MIN_TYPE, 0, 6, 42, 0);
	assert_int_equal(run_exact(buf, off, 5, 42, &r), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(r.data_msgs, 1);
	off = 0;
	put_msg(buf, &off, NLMSG_MIN_TYPE, NLM_F_DUMP_INTR, 5, 42, 0);
	assert_int_equal(run_exact(buf, off, 5, 42, &r), -1);
	assert_int_equal(errno, EINTR);

	/* Malformed: a message longer than the bytes received, shorter than
	 * its header, a huge length, trailing bytes. */
	off = 0;
	r = (struct run){ .ret = MNL_CB_OK };
	struct nlmsghdr *nlh = put_msg(buf, &off, NLMSG_MIN_TYPE, 0, 5, 42, 8);
	nlh->nlmsg_len += 4;
	assert_int_equal(run_exact(buf, off, 5, 42, &r), -1);
	assert_int_equal(errno, EBADMSG);
	nlh->nlmsg_len = 8;
	assert_int_equal(run_exact(buf, off, 5, 42, &r), -1);
	assert_int_equal(errno, EBADMSG);
	nlh->nlmsg_len = 0x80000010u;
	assert_int_equal(run_exact(buf, off, 5, 42, &r), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(r.data_msgs, 0);
	nlh->nlmsg_len = 16;
	assert_int_equal(run_exact(buf, 16 + 6, 5, 42, &r), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(r.data_msgs, 1);
}

static int ctl_count(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	((struct run *)data)->data_msgs += 100;
	return MNL_CB_OK;
}

static void test_cb_run2(void **state)
{
	(void)state;
	char buf[256] __attribute__((aligned(8)));
	size_t off = 0;
	put_error(buf, &off, 0, 5);
	put_msg(buf, &off, NLMSG_DONE, 0, 5, 42, 4);
	put_msg(buf, &off, NLMSG_MIN_TYPE, 0, 5, 42, 0);
	/* The caller's control callbacks replace the defaults: the
	 * acknowledgement and DONE go on, the data is seen. */
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = ctl_count, [NLMSG_DONE] = ctl_count };
	struct run r = { .ret = MNL_CB_OK };
	assert_int_equal(mnl_cb_run2(buf, off, 5, 42, on_data, &r, ctl, NLMSG_MIN_TYPE), MNL_CB_OK);
	assert_int_equal(r.data_msgs, 201);
	/* A type the array has no callback for is skipped. */
	mnl_cb_t only_error[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = ctl_count };
	r = (struct run){ .ret = MNL_CB_OK };
	assert_int_equal(mnl_cb_run2(buf, off, 5, 42, on_data, &r, only_error, NLMSG_MIN_TYPE),
			 MNL_CB_OK);
	assert_int_equal(r.data_msgs, 101);
	/* Types past the array's length get the defaults. */
	r = (struct run){ .ret = MNL_CB_OK };
	assert_int_equal(mnl_cb_run2(buf, off, 5, 42, on_data, &r, ctl, NLMSG_ERROR),
			 MNL_CB_STOP);
	assert_int_equal(r.data_msgs, 0);
}

/* --- batches --- */

static void test_batch(void **state)
{
	(void)state;
	const size_t limit = 64;
	/* libmnl's convention: room for one message past the limit. */
	char *buf = exact(2 * limit);
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, limit);
	assert_non_null(b);
	assert_true(mnl_nlmsg_batch_is_empty(b));
	assert_ptr_equal(mnl_nlmsg_batch_head(b), buf);
	assert_ptr_equal(mnl_nlmsg_batch_current(b), buf);
	assert_int_equal(mnl_nlmsg_batch_size(b), 0);

	/* 24 + 24 fit; a third of 24 would make 72 > 64. */
	for (int i = 0; i < 2; i++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
		nlh->nlmsg_seq = (uint32_t)i;
		mnl_attr_put_u32(nlh, 1, (uint32_t)i);
		assert_true(mnl_nlmsg_batch_next(b));
		assert_false(mnl_nlmsg_batch_is_empty(b));
	}
	assert_int_equal(mnl_nlmsg_batch_size(b), 48);
	assert_ptr_equal(mnl_nlmsg_batch_current(b), buf + 48);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
	nlh->nlmsg_seq = 2;
	mnl_attr_put_u32(nlh, 1, 2);
	assert_false(mnl_nlmsg_batch_next(b));
	/* Refused: the batch keeps its size and position. */
	assert_int_equal(mnl_nlmsg_batch_size(b), 48);
	assert_ptr_equal(mnl_nlmsg_batch_current(b), buf + 48);
	/* What the batch holds: two whole messages, then nothing. */
	int len = (int)mnl_nlmsg_batch_size(b);
	int n = 0;
	for (struct nlmsghdr *m = mnl_nlmsg_batch_head(b); mnl_nlmsg_ok(m, len);
	     m = mnl_nlmsg_next(m, &len))
		assert_int_equal(m->nlmsg_seq, (uint32_t)n++);
	assert_int_equal(n, 2);
	assert_int_equal(len, 0);

	/* Reset: the refused message becomes the first. */
	mnl_nlmsg_batch_reset(b);
	assert_int_equal(mnl_nlmsg_batch_size(b), 24);
	assert_int_equal(((struct nlmsghdr *)buf)->nlmsg_seq, 2);
	assert_ptr_equal(mnl_nlmsg_batch_current(b), buf + 24);
	/* Reset with nothing refused: empty. */
	mnl_nlmsg_batch_reset(b);
	assert_true(mnl_nlmsg_batch_is_empty(b));
	assert_ptr_equal(mnl_nlmsg_batch_current(b), buf);

	/* A message exactly filling the limit fits; then an empty header
	 * (16 bytes) does not. */
	nlh = mnl_nlmsg_put_header(buf);
	mnl_attr_put(nlh, 1, limit - 16 - 4, buf + limit);
	assert_int_equal(nlh->nlmsg_len, limit);
	assert_true(mnl_nlmsg_batch_next(b));
	mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
	assert_false(mnl_nlmsg_batch_next(b));
	assert_int_equal(mnl_nlmsg_batch_size(b), limit);
	/* A huge length is refused too. */
	mnl_nlmsg_batch_reset(b);
	nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
	nlh->nlmsg_len = UINT32_MAX;
	assert_false(mnl_nlmsg_batch_next(b));
	assert_int_equal(mnl_nlmsg_batch_size(b), 16);
	mnl_nlmsg_batch_stop(b);
	free(buf);
}

/* --- sockets --- */

struct dump {
	int links;
	int lo; /* saw the loopback device */
};

static int on_link(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	d->links++;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	if (ifi->ifi_flags & IFF_LOOPBACK)
		d->lo = 1;
	return MNL_CB_OK;
}

static void send_link_dump(struct mnl_socket *nl, uint32_t seq)
{
	char req[64] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtgenmsg));
	assert_int_equal(mnl_socket_sendto(nl, req, nlh->nlmsg_len), (ssize_t)nlh->nlmsg_len);
}

static void test_socket(void **state)
{
	(void)state;
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	assert_non_null(nl);
	int fd = mnl_socket_get_fd(nl);
	assert_true(fd >= 0);
	/* Never inherited by what palisade runs. */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	unsigned int portid = mnl_socket_get_portid(nl);
	assert_int_not_equal(portid, 0);

	int on = 1;
	assert_int_equal(mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &on, sizeof(on)), 0);
	int val = 0;
	socklen_t vlen = sizeof(val);
	assert_int_equal(mnl_socket_getsockopt(nl, NETLINK_CAP_ACK, &val, &vlen), 0);
	assert_int_equal(val, 1);

	/* Another process's message to this port is not taken for the
	 * kernel's: it is dropped (a non-blocking read then finds nothing). */
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	struct mnl_socket *other = mnl_socket_open(NETLINK_ROUTE);
	assert_non_null(other);
	assert_int_equal(mnl_socket_bind(other, 0, MNL_SOCKET_AUTOPID), 0);
	char fake[64] __attribute__((aligned(8)));
	size_t off = 0;
	put_error(fake, &off, 0, 1);
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = portid };
	assert_int_equal(sendto(mnl_socket_get_fd(other), fake, off, 0, (struct sockaddr *)&to,
				sizeof(to)),
			 (ssize_t)off);
	long page = MNL_SOCKET_BUFFER_SIZE;
	char *buf = malloc((size_t)page);
	assert_non_null(buf);
	errno = 0;
	assert_int_equal(mnl_socket_recvfrom(nl, buf, (size_t)page), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(mnl_socket_close(other), 0);
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK), 0);

	/* A dump from the kernel, read until DONE. */
	send_link_dump(nl, 77);
	struct dump d = { 0 };
	int ret;
	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, (size_t)page);
		assert_true(n > 0);
		ret = mnl_cb_run(buf, (size_t)n, 77, portid, on_link, &d);
	} while (ret > MNL_CB_STOP);
	assert_int_equal(ret, MNL_CB_STOP);
	assert_true(d.links >= 1);
	assert_true(d.lo);

	/* A datagram larger than the buffer is an error, not a cut message. */
	send_link_dump(nl, 78);
	errno = 0;
	assert_int_equal(mnl_socket_recvfrom(nl, buf, 16), -1);
	assert_int_equal(errno, ENOSPC);
	free(buf);
	assert_int_equal(mnl_socket_close(nl), 0);
	assert_int_equal(mnl_socket_close(NULL), 0);
}

/* --- libnftnl.a, linked against lib/mnl --- */

static void test_nftnl_table_roundtrip(void **state)
{
	(void)state;
	char *buf = calloc(1, (size_t)MNL_SOCKET_BUFFER_SIZE);
	assert_non_null(buf);
	struct nftnl_table *t = nftnl_table_alloc();
	assert_non_null(t);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, "palisade");
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
	struct nlmsghdr *nlh = nftnl_table_nlmsg_build_hdr(buf, NFT_MSG_NEWTABLE, NFPROTO_IPV6,
							   NLM_F_CREATE | NLM_F_ACK, 9);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	assert_int_equal(nlh->nlmsg_type, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE);
	assert_int_equal(nlh->nlmsg_seq, 9);
	assert_int_equal(nlh->nlmsg_len % MNL_ALIGNTO, 0);

	struct nftnl_table *back = nftnl_table_alloc();
	assert_non_null(back);
	assert_int_equal(nftnl_table_nlmsg_parse(nlh, back), 0);
	assert_string_equal(nftnl_table_get_str(back, NFTNL_TABLE_NAME), "palisade");
	assert_int_equal(nftnl_table_get_u32(back, NFTNL_TABLE_FAMILY), NFPROTO_IPV6);
	nftnl_table_free(back);

	/* The last attribute (the flags) cut short: libnftnl's parse fails. */
	nlh->nlmsg_len -= 4;
	back = nftnl_table_alloc();
	assert_int_equal(nftnl_table_nlmsg_parse(nlh, back), -1);
	nftnl_table_free(back);
	free(buf);
}

static void test_nftnl_rule_roundtrip(void **state)
{
	(void)state;
	char *buf = calloc(1, (size_t)MNL_SOCKET_BUFFER_SIZE);
	assert_non_null(buf);
	struct nftnl_rule *r = nftnl_rule_alloc();
	assert_non_null(r);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "palisade");
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "output");
	struct nftnl_expr *e = nftnl_expr_alloc("meta");
	assert_non_null(e);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_SKUID);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG32_00);
	nftnl_rule_add_expr(r, e);
	e = nftnl_expr_alloc("immediate");
	assert_non_null(e);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
	nftnl_rule_add_expr(r, e);
	struct nlmsghdr *nlh = nftnl_rule_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_IPV4,
							  NLM_F_CREATE | NLM_F_APPEND, 3);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);

	/* Nests (expressions, their data, the verdict) parse back. */
	struct nftnl_rule *back = nftnl_rule_alloc();
	assert_non_null(back);
	assert_int_equal(nftnl_rule_nlmsg_parse(nlh, back), 0);
	assert_string_equal(nftnl_rule_get_str(back, NFTNL_RULE_CHAIN), "output");
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(back);
	assert_non_null(it);
	e = nftnl_expr_iter_next(it);
	assert_non_null(e);
	assert_string_equal(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "meta");
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY), NFT_META_SKUID);
	e = nftnl_expr_iter_next(it);
	assert_non_null(e);
	assert_string_equal(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "immediate");
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT), NF_ACCEPT);
	assert_null(nftnl_expr_iter_next(it));
	nftnl_expr_iter_destroy(it);
	nftnl_rule_free(back);
	free(buf);
}

static void test_nftnl_batch(void **state)
{
	(void)state;
	size_t limit = (size_t)MNL_SOCKET_BUFFER_SIZE;
	char *buf = calloc(2, limit);
	assert_non_null(buf);
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, limit);
	assert_non_null(b);
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), 1);
	assert_true(mnl_nlmsg_batch_next(b));
	struct nftnl_table *t = nftnl_table_alloc();
	assert_non_null(t);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, "palisade");
	struct nlmsghdr *nlh = nftnl_table_nlmsg_build_hdr(mnl_nlmsg_batch_current(b),
							   NFT_MSG_NEWTABLE, NFPROTO_IPV4,
							   NLM_F_CREATE | NLM_F_ACK, 2);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	assert_true(mnl_nlmsg_batch_next(b));
	nftnl_batch_end(mnl_nlmsg_batch_current(b), 3);
	assert_true(mnl_nlmsg_batch_next(b));

	const uint16_t want[] = { NFNL_MSG_BATCH_BEGIN,
				  (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE,
				  NFNL_MSG_BATCH_END };
	int len = (int)mnl_nlmsg_batch_size(b);
	int n = 0;
	for (struct nlmsghdr *m = mnl_nlmsg_batch_head(b); mnl_nlmsg_ok(m, len);
	     m = mnl_nlmsg_next(m, &len), n++) {
		assert_true(n < 3);
		assert_int_equal(m->nlmsg_type, want[n]);
		assert_int_equal(m->nlmsg_seq, (uint32_t)n + 1);
		if (n != 1) {
			const struct nfgenmsg *g = mnl_nlmsg_get_payload(m);
			assert_int_equal(ntohs(g->res_id), NFNL_SUBSYS_NFTABLES);
		}
	}
	assert_int_equal(n, 3);
	assert_int_equal(len, 0);
	mnl_nlmsg_batch_stop(b);
	free(buf);

	/* libnftnl's own paged batch, on mnl_nlmsg_batch_next(): pages of 64
	 * bytes take three 20-byte messages; the fourth starts a new page. */
	struct nftnl_batch *nb = nftnl_batch_alloc(64, (uint32_t)limit);
	assert_non_null(nb);
	for (uint32_t seq = 1; seq <= 7; seq++) {
		nftnl_batch_begin(nftnl_batch_buffer(nb), seq);
		assert_int_equal(nftnl_batch_update(nb), 0);
	}
	int pages = nftnl_batch_iovec_len(nb);
	assert_int_equal(pages, 3);
	struct iovec iov[3];
	nftnl_batch_iovec(nb, iov, 3);
	uint32_t seq = 1;
	for (int i = 0; i < pages; i++) {
		assert_int_equal(iov[i].iov_len, i < 2 ? 60 : 20);
		len = (int)iov[i].iov_len;
		for (struct nlmsghdr *m = iov[i].iov_base; mnl_nlmsg_ok(m, len);
		     m = mnl_nlmsg_next(m, &len))
			assert_int_equal(m->nlmsg_seq, seq++);
	}
	assert_int_equal(seq, 8);
	nftnl_batch_free(nb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nlmsg_build),
		cmocka_unit_test(test_nlmsg_ok_next),
		cmocka_unit_test(test_nlmsg_seq_portid),
		cmocka_unit_test(test_attr_put_get),
		cmocka_unit_test(test_attr_ok),
		cmocka_unit_test(test_attr_parse),
		cmocka_unit_test(test_attr_nest),
		cmocka_unit_test(test_attr_type_valid),
		cmocka_unit_test(test_attr_validate),
		cmocka_unit_test(test_cb_run),
		cmocka_unit_test(test_cb_run2),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_socket),
		cmocka_unit_test(test_nftnl_table_roundtrip),
		cmocka_unit_test(test_nftnl_rule_roundtrip),
		cmocka_unit_test(test_nftnl_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
