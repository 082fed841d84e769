#include "nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/capability.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "../lib/array.h"
#include "../lib/capmsg.h"
#include "../lib/mnl.h"
#include "../lib/text.h"
#include "fence.h"
#include "nftplan.h"

/* The longest set key: an IPv6 address, a protocol and a port, each in
 * registers of 4 bytes. */
#define KEY_MAX 24
/* Members per NEWSETELEM message, so that one fits a batch page's spare
 * room (MNL_SOCKET_BUFFER_SIZE). */
#define ELEMS_PER_MSG 48
/* Receive buffer for dumps: the kernel sizes a dump's messages to it. */
#define DUMP_BUF 65536

static const int chain_hook[CHAINS] = { NF_INET_LOCAL_IN, NF_INET_FORWARD, NF_INET_LOCAL_OUT };

static const char *family_name(enum net_family f)
{
	return f == NET_V4 ? "ip" : "ip6";
}

static uint16_t nfproto(enum net_family f)
{
	return f == NET_V4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
}

/* --- keys (pure) --- */

/* A key is the address, then, in a port set, the protocol and the port,
 * each in its own 4-byte register as the rule loads them. */
static size_t key_len(enum net_family f, enum set_kind k)
{
	return net_len(f) + (k == SET_PORT ? 8 : 0);
}

static void key_make(uint8_t *out, enum net_family f, enum set_kind k, const uint8_t *addr,
		     uint8_t proto, uint16_t port)
{
	memset(out, 0, KEY_MAX);
	memcpy(out, addr, net_len(f));
	if (k == SET_PORT) {
		out[net_len(f)] = proto;
		out[net_len(f) + 4] = (uint8_t)(port >> 8);
		out[net_len(f) + 5] = (uint8_t)port;
	}
}

/* --- netlink --- */

struct nft {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
};

static struct nft *nft_connect(int *e)
{
	struct nft *n = calloc(1, sizeof(*n));
	if (!n) {
		*e = ENOMEM;
		return NULL;
	}
	n->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!n->nl || mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		*e = errno;
		nft_close(n);
		return NULL;
	}
	/* Errors without the message they answer: they stay small. */
	int one = 1;
	(void)mnl_socket_setsockopt(n->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	n->portid = mnl_socket_get_portid(n->nl);
	n->seq = 1;
	return n;
}

void nft_close(struct nft *n)
{
	if (!n)
		return;
	if (n->nl)
		mnl_socket_close(n->nl);
	free(n);
}

static int kernel_error(struct perr *err, int e, const char *what)
{
	if (e == EPERM || e == EACCES)
		return cap_refused(err, CAP_NET_ADMIN, cap_held(CAP_NET_ADMIN), what);
	/* No netfilter netlink at all: the legacy backend's ipsets need it
	 * too, so it is no way out (qemu-user, which runs an image of another
	 * architecture, fails here the same way). */
	if (e == EPROTONOSUPPORT || e == EAFNOSUPPORT)
		return perr_code(err, e, "%s: the kernel has no netfilter netlink (%s), which "
				 "both of palisade's backends need; load it on the host with "
				 "modprobe nfnetlink nf_tables (under qemu-user, with an image of "
				 "another architecture than the host's, run the host's instead)",
				 what, strerror(e));
	if (e == ENOENT || e == EOPNOTSUPP)
		return perr_code(err, e, "%s: the kernel has no nf_tables (%s); load it on the "
				 "host with modprobe nf_tables, or run with --backend legacy", what,
				 strerror(e));
	return perr_sys(err, e, "%s", what);
}

struct nft *nft_open(struct perr *err)
{
	int e;
	struct nft *n = nft_connect(&e);
	if (!n)
		kernel_error(err, e, "nftables: cannot open a netfilter netlink socket");
	return n;
}

/* Reads one datagram from the kernel; flags MSG_DONTWAIT or 0. */
static ssize_t recv_kernel(struct nft *n, void *buf, size_t len, int flags)
{
	for (;;) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof(from);
		ssize_t r = recvfrom(mnl_socket_get_fd(n->nl), buf, len, flags | MSG_TRUNC,
				     (struct sockaddr *)&from, &fl);
		if (r < 0)
			return -1;
		if ((size_t)r > len) {
			errno = ENOSPC;
			return -1;
		}
		if (fl == sizeof(from) && from.nl_family == AF_NETLINK && from.nl_pid == 0)
			return r;
	}
}

int nft_probe(void)
{
	int e;
	struct nft *n = nft_connect(&e);
	if (!n)
		return e;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = n->seq++;
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, seq);
	e = EPROTO;
	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0) {
		e = errno;
		goto out;
	}
	/* The kernel answers before sendto returns: the generation, then
	 * the acknowledgement, or an error. */
	for (;;) {
		ssize_t r = recv_kernel(n, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0) {
			e = errno == EAGAIN ? EPROTO : errno;
			goto out;
		}
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, (int)r); nlh = mnl_nlmsg_next(nlh, (int *)&r)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *me = mnl_nlmsg_get_payload(nlh);
				if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*me)))
					continue;
				e = -me->error;
				goto out;
			}
		}
	}
out:
	nft_close(n);
	return e;
}

int nft_probe_error(struct perr *err, int e)
{
	return kernel_error(err, e, "nftables: the kernel's nf_tables does not answer");
}

/* What each message of a batch did, to name the one the kernel refused. */
struct msg_what {
	const char *what;   /* "adding rule" */
	const char *name;   /* "output" */
	enum net_family family;
	int index;          /* a rule's number in its chain, or -1 */
};

struct batch {
	struct nftnl_batch *b;
	uint32_t seq0, seq;
	struct msg_what *what;
	size_t nwhat, cap;
	bool bad;           /* out of memory on the way */
};

static int batch_init(struct batch *bt, struct nft *n)
{
	memset(bt, 0, sizeof(*bt));
	bt->b = nftnl_batch_alloc(32 * 4096, MNL_SOCKET_BUFFER_SIZE);
	if (!bt->b)
		return -1;
	bt->seq0 = bt->seq = n->seq;
	nftnl_batch_begin(nftnl_batch_buffer(bt->b), bt->seq++);
	if (nftnl_batch_update(bt->b) < 0)
		bt->bad = true;
	return 0;
}

static void batch_free(struct batch *bt)
{
	if (bt->b)
		nftnl_batch_free(bt->b);
	free(bt->what);
}

/* A new message's header at the batch's end; the caller fills it and
 * calls batch_next. */
static struct nlmsghdr *batch_msg(struct batch *bt, uint16_t type, enum net_family f,
				  uint16_t flags, const char *what, const char *name, int index)
{
	size_t i = bt->seq - bt->seq0;
	if (i >= bt->cap) {
		size_t old = bt->cap;
		struct msg_what *v = array_grow(bt->what, &bt->cap, sizeof(*v), 64);
		if (!v) {
			bt->bad = true;
		} else {
			/* Unnamed until filled: the batch's begin message (seq0)
			 * has no entry of its own. */
			memset(v + old, 0, (bt->cap - old) * sizeof(*v));
			bt->what = v;
		}
	}
	if (i < bt->cap) {
		bt->what[i] = (struct msg_what){ what, name, f, index };
		bt->nwhat = i + 1;
	}
	return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(bt->b), type, nfproto(f), flags, bt->seq++);
}

static void batch_next(struct batch *bt)
{
	if (nftnl_batch_update(bt->b) < 0)
		bt->bad = true;
}

static int batch_fail(struct perr *err, const struct batch *bt, uint32_t seq, int e)
{
	size_t i = seq - bt->seq0;
	if (seq <= bt->seq0 || i >= bt->nwhat || !bt->what[i].what)
		return kernel_error(err, e, "nftables: the kernel refused the transaction");
	const struct msg_what *w = &bt->what[i];
	char what[256];
	if (w->index >= 0)
		snprintf(what, sizeof(what), "nftables: table %s %s: %s %d of chain %s",
			 family_name(w->family), NFTPLAN_TABLE, w->what, w->index + 1, w->name);
	else
		snprintf(what, sizeof(what), "nftables: table %s %s: %s%s%s", family_name(w->family),
			 NFTPLAN_TABLE, w->what, w->name ? " " : "", w->name ? w->name : "");
	return kernel_error(err, e, what);
}

/* Sends the batch in one datagram (the kernel applies it as one
 * transaction) and reads the answers: the kernel handles the batch before
 * sendmsg returns, so they are all queued by then. Only the last message
 * asks for an acknowledgement; every refused one sends an error. */
static int batch_send(struct nft *n, struct batch *bt, uint32_t ack_seq, struct perr *err)
{
	nftnl_batch_end(nftnl_batch_buffer(bt->b), bt->seq++);
	batch_next(bt);
	n->seq = bt->seq;
	if (bt->bad)
		return perr_code(err, ENOMEM, "out of memory");
	int niov = nftnl_batch_iovec_len(bt->b);
	struct iovec *iov = calloc((size_t)niov, sizeof(*iov));
	if (!iov)
		return perr_code(err, ENOMEM, "out of memory");
	nftnl_batch_iovec(bt->b, iov, (uint32_t)niov);
	size_t total = 0;
	for (int i = 0; i < niov; i++)
		total += iov[i].iov_len;
	int fd = mnl_socket_get_fd(n->nl);
	if (total > 16384 && total < (size_t)INT32_MAX / 2) {
		int size = (int)total + 4096;
		/* The kernel takes a datagram no larger than the send buffer. */
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	struct msghdr msg = {
		.msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = iov, .msg_iovlen = (size_t)niov,
	};
	ssize_t sent = sendmsg(fd, &msg, 0);
	int se = errno;
	free(iov);
	if (sent < 0)
		return kernel_error(err, se, "nftables: sending the transaction");
	if ((size_t)sent != total)
		return perr_set(err, "nftables: sending the transaction: %zd of %zu bytes sent", sent,
				total);

	char buf[MNL_SOCKET_BUFFER_SIZE];
	bool acked = false;
	int first_err = 0;
	uint32_t err_seq = 0;
	for (;;) {
		ssize_t r = recv_kernel(n, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (!first_err) {
				first_err = errno;
				err_seq = 0;
			}
			if (errno == ENOBUFS)
				continue;
			break;
		}
		int left = (int)r;
		for (struct nlmsghdr *nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
				continue;
			const struct nlmsgerr *me = mnl_nlmsg_get_payload(nlh);
			if (me->error == 0 && nlh->nlmsg_seq == ack_seq)
				acked = true;
			else if (me->error != 0 && !first_err) {
				first_err = -me->error;
				err_seq = nlh->nlmsg_seq;
			}
		}
	}
	if (first_err)
		return batch_fail(err, bt, err_seq, first_err);
	if (!acked)
		return perr_set(err, "nftables: the kernel did not acknowledge the transaction");
	return 0;
}

/* --- the plan as nftnl objects --- */

struct rule_builder {
	struct nftnl_rule *r;
	bool bad;
};

static void add(struct rule_builder *b, struct nftnl_expr *e)
{
	if (!e)
		b->bad = true;
	else
		nftnl_rule_add_expr(b->r, e);
}

static struct nftnl_expr *expr(struct rule_builder *b, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);
	if (!e)
		b->bad = true;
	return e;
}

static void e_meta(struct rule_builder *b, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = expr(b, "meta");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	add(b, e);
}

static void e_cmp(struct rule_builder *b, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr(b, "cmp");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	add(b, e);
}

static void e_cmp_u32(struct rule_builder *b, uint32_t op, uint32_t v)
{
	e_cmp(b, op, &v, sizeof(v));
}

static void e_payload(struct rule_builder *b, uint32_t base, uint32_t off, uint32_t len,
		      uint32_t dreg)
{
	struct nftnl_expr *e = expr(b, "payload");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	add(b, e);
}

/* reg 1 = reg 1 & mask (len bytes). */
static void e_mask(struct rule_builder *b, const void *mask, uint32_t len)
{
	uint8_t zero[16] = { 0 };
	struct nftnl_expr *e = expr(b, "bitwise");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	add(b, e);
}

static void e_ct(struct rule_builder *b, uint32_t key, int dir)
{
	struct nftnl_expr *e = expr(b, "ct");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	if (dir >= 0)
		nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, (uint8_t)dir);
	add(b, e);
}

static void e_port(struct rule_builder *b, uint32_t off, uint16_t port)
{
	uint16_t be = htons(port);
	e_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, off, 2, NFT_REG_1);
	e_cmp(b, NFT_CMP_EQ, &be, sizeof(be));
}

/* The destination address, and in a port set its protocol and port, into
 * the registers a lookup of the set's key reads, then the lookup. */
static void e_lookup(struct rule_builder *b, enum net_family f, enum set_kind kind,
		     const char *set)
{
	e_payload(b, NFT_PAYLOAD_NETWORK_HEADER, f == NET_V4 ? 16 : 24, (uint32_t)net_len(f),
		  NFT_REG_1);
	if (kind == SET_PORT) {
		e_meta(b, NFT_META_L4PROTO, f == NET_V4 ? NFT_REG32_01 : NFT_REG_2);
		e_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, f == NET_V4 ? NFT_REG32_02 : NFT_REG32_05);
	}
	struct nftnl_expr *e = expr(b, "lookup");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, 0);
	add(b, e);
}

/* Whether the queue verdict is the x_tables NFQUEUE target through
 * nft_compat, for a kernel built without nf_tables' own queue expression
 * (nft_queue): nft_install finds out, and nft_verify reads back what it
 * installed. */
static bool queue_compat;

/* reg 1 & mask == value. */
static void e_masked_eq(struct rule_builder *b, uint32_t value, uint32_t mask)
{
	e_mask(b, &mask, sizeof(mask));
	e_cmp_u32(b, NFT_CMP_EQ, value);
}

/* ct mark set ct mark & ~mask ^ value, as --set-xmark value/mask. */
static void e_set_ctmark(struct rule_builder *b, uint32_t value, uint32_t mask)
{
	uint32_t keep = ~mask;
	struct nftnl_expr *e;
	e_ct(b, NFT_CT_MARK, -1);
	if (!(e = expr(b, "bitwise")))
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(uint32_t));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &keep, sizeof(keep));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &value, sizeof(value));
	add(b, e);
	if (!(e = expr(b, "ct")))
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_MARK);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, NFT_REG_1);
	add(b, e);
}

static void e_verdict(struct rule_builder *b, const struct rule *r, enum net_family f)
{
	struct nftnl_expr *e;
	switch (r->verdict) {
	case VERDICT_CONNMARK:
		e_set_ctmark(b, r->set_ctmark, r->set_ctmark_mask);
		return;
	case VERDICT_QUEUE:
		/* No flags: without a listener the kernel drops (no bypass). */
		if (queue_compat) {
			/* libnftnl keeps (and frees) the info it is given. */
			struct xt_NFQ_info *info = calloc(1, sizeof(*info));
			if (!info || !(e = expr(b, "target"))) {
				free(info);
				b->bad = true;
				return;
			}
			info->queuenum = NAMECHECK_QUEUE;
			nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
			nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 0);
			nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, sizeof(*info));
			add(b, e);
			return;
		}
		if (!(e = expr(b, "queue")))
			return;
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_NUM, NAMECHECK_QUEUE);
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_TOTAL, 1);
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_FLAGS, 0);
		add(b, e);
		return;
	case VERDICT_ACCEPT:
	case VERDICT_DROP:
		if (!(e = expr(b, "immediate")))
			return;
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT,
				   r->verdict == VERDICT_ACCEPT ? NF_ACCEPT : NF_DROP);
		add(b, e);
		return;
	case VERDICT_REJECT_TCP_RESET:
	case VERDICT_REJECT_PROHIBITED:
		if (!(e = expr(b, "reject")))
			return;
		if (r->verdict == VERDICT_REJECT_TCP_RESET) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_TCP_RST);
			nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, 0);
		} else {
			/* ICMP "communication administratively prohibited":
			 * code 13 of ICMP, 1 of ICMPv6. */
			nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMP_UNREACH);
			nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, f == NET_V4 ? 13 : 1);
		}
		add(b, e);
		return;
	case VERDICT_NFLOG:
		if (!(e = expr(b, "log")))
			return;
		nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, NFLOG_GROUP);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, r->nflog_prefix);
		add(b, e);
		return;
	}
}

/* One nft rule of plan rule r: with lookup in set (NULL: r has none), and
 * port, the one of r's list of ports it matches (0: r has no list); see
 * nftplan_rule_nth. */
static struct nftnl_rule *rule_make(const struct rule *r, enum net_family f, const char *set,
				    uint16_t port)
{
	struct rule_builder b = { .r = nftnl_rule_alloc() };
	if (!b.r)
		return NULL;
	nftnl_rule_set_u32(b.r, NFTNL_RULE_FAMILY, nfproto(f));
	nftnl_rule_set_str(b.r, NFTNL_RULE_TABLE, NFTPLAN_TABLE);
	nftnl_rule_set_str(b.r, NFTNL_RULE_CHAIN, nftplan_chain_names[r->chain]);
	if (r->iface) {
		char name[IFNAMSIZ] = { 0 };
		snprintf(name, sizeof(name), "%s", r->iface);
		e_meta(&b, r->chain == CHAIN_INPUT ? NFT_META_IIFNAME : NFT_META_OIFNAME, NFT_REG_1);
		e_cmp(&b, NFT_CMP_EQ, name, sizeof(name));
	}
	if (r->has_dst) {
		struct nftplan_elem rg;
		struct set_elem e = { .net = r->dst };
		uint32_t len = (uint32_t)net_len(f);
		nftplan_elem_of(&e, &rg);
		e_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, f == NET_V4 ? 16 : 24, len, NFT_REG_1);
		if (!net_is_host(&r->dst)) {
			uint8_t mask[16];
			for (size_t i = 0; i < len; i++)
				mask[i] = (uint8_t)~(rg.first[i] ^ rg.last[i]);
			e_mask(&b, mask, len);
		}
		e_cmp(&b, NFT_CMP_EQ, rg.first, len);
	}
	if (r->proto) {
		e_meta(&b, NFT_META_L4PROTO, NFT_REG_1);
		e_cmp(&b, NFT_CMP_EQ, &r->proto, 1);
	}
	if (r->owner_uid >= 0) {
		/* The load breaks the rule for a packet without a full socket,
		 * like --socket-exists. */
		e_meta(&b, NFT_META_SKUID, NFT_REG_1);
		e_cmp_u32(&b, r->owner_invert ? NFT_CMP_NEQ : NFT_CMP_EQ, (uint32_t)r->owner_uid);
	} else if (r->socket_exists) {
		e_meta(&b, NFT_META_SKUID, NFT_REG_1);
		e_cmp_u32(&b, NFT_CMP_GTE, 0);
	}
	if (r->src_not_local) {
		struct nftnl_expr *e = expr(&b, "fib");
		if (e) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_SADDR);
			nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
			nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
			add(&b, e);
		}
		e_cmp_u32(&b, NFT_CMP_NEQ, RTN_LOCAL);
	}
	if (r->established) {
		uint32_t mask = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED);
		e_ct(&b, NFT_CT_STATE, -1);
		e_mask(&b, &mask, sizeof(mask));
		e_cmp_u32(&b, NFT_CMP_NEQ, 0);
	}
	if (r->ct_origdport) {
		uint16_t be = htons(r->ct_origdport);
		e_ct(&b, NFT_CT_PROTO_DST, 0 /* the original direction */);
		e_cmp(&b, NFT_CMP_EQ, &be, sizeof(be));
	}
	if (r->icmp6_type >= 0) {
		uint8_t t = (uint8_t)r->icmp6_type;
		e_payload(&b, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1);
		e_cmp(&b, NFT_CMP_EQ, &t, 1);
	}
	if (set)
		e_lookup(&b, f, r->set_dims == 2 ? SET_PORT : SET_DEFAULT, set);
	if (r->sport)
		e_port(&b, 0, r->sport);
	if (r->dport)
		e_port(&b, 2, r->dport);
	if (port)
		e_port(&b, 2, port);
	if (r->mark_mask) {
		e_meta(&b, NFT_META_MARK, NFT_REG_1);
		e_masked_eq(&b, r->mark, r->mark_mask);
	}
	if (r->ctmark_mask) {
		e_ct(&b, NFT_CT_MARK, -1);
		e_masked_eq(&b, r->ctmark, r->ctmark_mask);
	}
	e_verdict(&b, r, f);
	if (b.bad) {
		nftnl_rule_free(b.r);
		return NULL;
	}
	return b.r;
}

struct rule_list {
	struct nftnl_rule **v;
	size_t n, cap;
};

static void rule_list_free(struct rule_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		nftnl_rule_free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int rule_list_push(struct rule_list *l, struct nftnl_rule *r)
{
	if (!r)
		return -1;
	if (l->n == l->cap) {
		struct nftnl_rule **v = array_grow(l->v, &l->cap, sizeof(*v), 64);
		if (!v) {
			nftnl_rule_free(r);
			return -1;
		}
		l->v = v;
	}
	l->v[l->n++] = r;
	return 0;
}

/* The nft rules of one chain of a family's plan, in order, as
 * nftplan_rule_nth lists them. */
static int plan_rules(const struct ruleset *rs, enum chain c, struct rule_list *out,
		      struct perr *err)
{
	memset(out, 0, sizeof(*out));
	enum net_family f = rs->family;
	for (size_t i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->v[i];
		if (r->chain != c)
			continue;
		if (r->set && nftplan_rule_set_kind(r, f) < 0) {
			rule_list_free(out);
			return perr_set(err, "nftables: rule %zu refers to an unknown set %s", i + 1,
					r->set);
		}
		for (size_t j = 0; j < nftplan_rule_count(r, f); j++) {
			const char *set;
			uint16_t port;
			nftplan_rule_nth(r, f, j, &set, &port);
			if (rule_list_push(out, rule_make(r, f, set, port)) < 0) {
				rule_list_free(out);
				return perr_code(err, ENOMEM, "out of memory");
			}
		}
	}
	return 0;
}

/* A port set of intervals tells the kernel the fields of its key (the
 * kernel takes the description only with the flag NFT_SET_CONCAT). */
static void set_key_type(struct nftnl_set *s, enum net_family f, enum set_kind k, bool net)
{
	/* nft's datatype numbers, so that `nft list` shows the key. */
	enum { TYPE_IPADDR = 7, TYPE_IP6ADDR = 8, TYPE_INET_PROTOCOL = 12, TYPE_INET_SERVICE = 13 };
	uint32_t addr = f == NET_V4 ? TYPE_IPADDR : TYPE_IP6ADDR;
	uint32_t type = k == SET_PORT ? (((addr << 6) | TYPE_INET_PROTOCOL) << 6) | TYPE_INET_SERVICE
				       : addr;
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, (uint32_t)key_len(f, k));
	if (k == SET_PORT && net) {
		uint8_t fields[NFT_REG32_COUNT] = { (uint8_t)net_len(f), 1, 2 };
		nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, fields, 3);
	}
}

static uint32_t set_flags(enum set_kind k, bool net)
{
	if (!net)
		return NFT_SET_TIMEOUT;
	return NFT_SET_INTERVAL | (k == SET_PORT ? NFT_SET_CONCAT : 0);
}

static struct nftnl_set *set_new(enum net_family f, const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();
	if (!s)
		return NULL;
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, nfproto(f));
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFTPLAN_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	return s;
}

/* Adds an element with key (and key_end, or NULL) to s. */
static int elem_add(struct nftnl_set *s, const uint8_t *key, const uint8_t *key_end, size_t len,
		    uint32_t flags, uint32_t timeout)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	if (!e)
		return -1;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, (uint32_t)len);
	if (key_end)
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END, key_end, (uint32_t)len);
	if (flags)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, flags);
	if (timeout)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, (uint64_t)timeout * 1000);
	nftnl_set_elem_add(s, e);
	return 0;
}

/* The elements of one range: a host's key; in a set of intervals, a port
 * set's key and key end, or else the first address and, unless the range
 * runs to the last address, an end mark at the address after it. */
static int range_elems(struct nftnl_set *s, enum net_family f, enum set_kind k, bool net,
		       const struct nftplan_elem *r, uint32_t timeout)
{
	uint8_t key[KEY_MAX], end[KEY_MAX];
	size_t len = key_len(f, k);
	key_make(key, f, k, r->first, r->proto, r->port);
	if (!net)
		return elem_add(s, key, NULL, len, 0, timeout);
	if (k == SET_PORT) {
		key_make(end, f, k, r->last, r->proto, r->port);
		return elem_add(s, key, end, len, 0, 0);
	}
	if (elem_add(s, key, NULL, len, 0, 0) < 0)
		return -1;
	uint8_t after[16];
	if (!nftplan_next_addr(f, r->last, after))
		return 0;
	key_make(end, f, k, after, 0, 0);
	return elem_add(s, end, NULL, len, NFT_SET_ELEM_INTERVAL_END, 0);
}

/* NEWSETELEM (or DELSETELEM) messages for members v[0..n), a few to a
 * message; with timeouts, each with its own. */
static void batch_elems(struct batch *bt, uint16_t type, enum net_family f, enum set_kind k,
			bool net, const char *name, const struct nftplan_elem *v, bool timeouts,
			size_t n, bool ack)
{
	for (size_t i = 0; i < n && !bt->bad; i += ELEMS_PER_MSG) {
		struct nftnl_set *s = set_new(f, name);
		if (!s) {
			bt->bad = true;
			return;
		}
		for (size_t j = i; j < n && j < i + ELEMS_PER_MSG; j++)
			if (range_elems(s, f, k, net, &v[j], timeouts ? v[j].timeout : 0) < 0)
				bt->bad = true;
		bool last = i + ELEMS_PER_MSG >= n;
		struct nlmsghdr *nlh = batch_msg(bt, type, f,
						 NLM_F_CREATE | (ack && last ? NLM_F_ACK : 0),
						 type == NFT_MSG_DELSETELEM ? "removing members of set"
									    : "adding members to set",
						 name, -1);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
		batch_next(bt);
	}
}

/* The messages that make family fi's table; with ack, the last one asks
 * for the acknowledgement. */
static void batch_family(struct batch *bt, const struct nftplan *np, int fi,
			 struct rule_list rules[CHAINS], bool ack)
{
	enum net_family f = net_family_at(fi);
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t) {
		bt->bad = true;
		return;
	}
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, nfproto(f));
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFTPLAN_TABLE);
	/* Made if absent (so that the delete finds it), deleted with all it
	 * holds, made anew: an earlier start's table is replaced whole. */
	static const uint16_t steps[] = { NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE, NFT_MSG_NEWTABLE };
	for (size_t i = 0; i < 3; i++) {
		struct nlmsghdr *nlh = batch_msg(bt, steps[i], f,
						 steps[i] == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0,
						 steps[i] == NFT_MSG_NEWTABLE ? "creating the table"
									      : "deleting the table",
						 NULL, -1);
		nftnl_table_nlmsg_build_payload(nlh, t);
		batch_next(bt);
	}
	nftnl_table_free(t);

	for (int k = 0; k < SET_KINDS && !bt->bad; k++) {
		for (int net = 0; net < NFTPLAN_PARTS && !bt->bad; net++) {
			const struct nftplan_set *ps = &np->sets[fi][k][net];
			const char *name = nftplan_set_name((enum set_kind)k, (enum nftplan_part)net);
			struct nftnl_set *s = set_new(f, name);
			if (!s) {
				bt->bad = true;
				break;
			}
			set_key_type(s, f, (enum set_kind)k, net);
			nftnl_set_set_u32(s, NFTNL_SET_FLAGS, set_flags((enum set_kind)k, net));
			nftnl_set_set_u32(s, NFTNL_SET_ID, (uint32_t)(fi * 8 + k * 2 + net + 1));
			struct nlmsghdr *nlh = batch_msg(bt, NFT_MSG_NEWSET, f, NLM_F_CREATE,
							 "creating set", name, -1);
			nftnl_set_nlmsg_build_payload(nlh, s);
			nftnl_set_free(s);
			batch_next(bt);
			batch_elems(bt, NFT_MSG_NEWSETELEM, f, (enum set_kind)k, net, name, ps->v,
				    true, ps->n, false);
		}
	}

	int last_chain = -1;
	for (int c = 0; c < CHAINS; c++)
		if (rules[c].n)
			last_chain = c;
	for (int c = 0; c < CHAINS && !bt->bad; c++) {
		struct nftnl_chain *ch = nftnl_chain_alloc();
		if (!ch) {
			bt->bad = true;
			return;
		}
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, nfproto(f));
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NFTPLAN_TABLE);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, nftplan_chain_names[c]);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, (uint32_t)chain_hook[c]);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, 0);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_DROP);
		bool last = ack && c == CHAINS - 1 && last_chain < 0;
		struct nlmsghdr *nlh = batch_msg(bt, NFT_MSG_NEWCHAIN, f,
						 NLM_F_CREATE | (last ? NLM_F_ACK : 0),
						 "creating chain", nftplan_chain_names[c], -1);
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		nftnl_chain_free(ch);
		batch_next(bt);
	}
	for (int c = 0; c < CHAINS && !bt->bad; c++) {
		for (size_t i = 0; i < rules[c].n; i++) {
			bool last = c == last_chain && i + 1 == rules[c].n;
			struct nlmsghdr *nlh = batch_msg(bt, NFT_MSG_NEWRULE, f,
							 NLM_F_APPEND | NLM_F_CREATE |
							 (ack && last ? NLM_F_ACK : 0),
							 "adding rule", nftplan_chain_names[c], (int)i);
			nftnl_rule_nlmsg_build_payload(nlh, rules[c].v[i]);
			batch_next(bt);
		}
	}
}

static void plan_rules_free(struct rule_list rules[NET_FAMILIES][CHAINS])
{
	for (int f = 0; f < NET_FAMILIES; f++)
		for (int c = 0; c < CHAINS; c++)
			rule_list_free(&rules[f][c]);
}

static int plan_rules_all(const struct fence_plan *plan,
			  struct rule_list rules[NET_FAMILIES][CHAINS], struct perr *err)
{
	memset(rules, 0, sizeof(struct rule_list) * NET_FAMILIES * CHAINS);
	for (int f = 0; f < fence_families(plan); f++)
		for (int c = 0; c < CHAINS; c++)
			if (plan_rules(&plan->rules[f], (enum chain)c, &rules[f][c], err) < 0) {
				plan_rules_free(rules);
				return -1;
			}
	return 0;
}

/* The plan's nft sets and rules, both freed on failure. */
static int plan_nft(const struct fence_plan *plan, struct nftplan *np,
		    struct rule_list rules[NET_FAMILIES][CHAINS], struct perr *err)
{
	if (nftplan_build(plan, np, err) < 0) {
		nftplan_free(np);
		return perr_prefix(err, "nftables");
	}
	if (plan_rules_all(plan, rules, err) < 0) {
		nftplan_free(np);
		return -1;
	}
	return 0;
}

static bool plan_queues(const struct fence_plan *plan)
{
	for (int f = 0; f < fence_families(plan); f++)
		for (size_t i = 0; i < plan->rules[f].n; i++)
			if (plan->rules[f].v[i].verdict == VERDICT_QUEUE)
				return true;
	return false;
}

static int install_once(const struct fence_plan *plan, struct perr *err);

int nft_install(const struct fence_plan *plan, struct perr *err)
{
	queue_compat = false;
	int rc = install_once(plan, err);
	/* ENOENT: an expression the kernel does not know; the transaction
	 * changed nothing. */
	if (rc < 0 && err->err == ENOENT && plan_queues(plan)) {
		struct perr again = PERR_INIT;
		queue_compat = true;
		rc = install_once(plan, &again);
		if (rc < 0 && again.err == ENOENT)
			return perr_code(err, ENOENT, "nftables: the kernel has neither nf_tables' queue "
					 "(nft_queue) nor x_tables' NFQUEUE target through nft_compat, "
					 "which the name check needs; load one on the host (modprobe "
					 "nft_queue), or run with --no-name-check");
		if (rc < 0)
			*err = again;
	}
	return rc;
}

static int install_once(const struct fence_plan *plan, struct perr *err)
{
	struct rule_list rules[NET_FAMILIES][CHAINS];
	struct nftplan np;
	if (plan_nft(plan, &np, rules, err) < 0)
		return -1;
	struct nft *n = nft_open(err);
	int rc = -1;
	if (!n)
		goto out;
	struct batch bt;
	if (batch_init(&bt, n) < 0) {
		perr_code(err, ENOMEM, "out of memory");
		goto out;
	}
	for (int f = 0; f < fence_families(plan); f++)
		batch_family(&bt, &np, f, rules[f], f == fence_families(plan) - 1);
	rc = batch_send(n, &bt, bt.seq - 1, err);
	batch_free(&bt);
out:
	plan_rules_free(rules);
	nftplan_free(&np);
	nft_close(n);
	return rc;
}

int nft_allow(struct nft *n, enum net_family f, enum set_kind k, const struct set_elem *v,
	      size_t nv, struct perr *err)
{
	if (nv == 0)
		return 0;
	struct nftplan_elem *e = calloc(nv, sizeof(*e));
	struct batch bt;
	if (!e || batch_init(&bt, n) < 0) {
		free(e);
		return perr_code(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < nv; i++)
		nftplan_elem_of(&v[i], &e[i]);
	const char *name = nftplan_set_name(k, NFTPLAN_HOST);
	/* Added if absent (so that the removal finds it), removed, added with
	 * the new timeout: in one transaction, so never missing. */
	batch_elems(&bt, NFT_MSG_NEWSETELEM, f, k, false, name, e, true, nv, false);
	batch_elems(&bt, NFT_MSG_DELSETELEM, f, k, false, name, e, false, nv, false);
	batch_elems(&bt, NFT_MSG_NEWSETELEM, f, k, false, name, e, true, nv, true);
	uint32_t ack = bt.seq - 1;
	int rc = batch_send(n, &bt, ack, err);
	batch_free(&bt);
	free(e);
	return rc;
}

/* --- reading back --- */

/* Sends the dump request nlh and hands each message of the answer to cb. */
static int dump(struct nft *n, struct nlmsghdr *nlh, mnl_cb_t cb, void *data, const char *what,
		struct perr *err)
{
	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
		return kernel_error(err, errno, what);
	char *buf = malloc(DUMP_BUF);
	if (!buf)
		return perr_code(err, ENOMEM, "out of memory");
	int rc;
	for (;;) {
		ssize_t r = recv_kernel(n, buf, DUMP_BUF, 0);
		if (r < 0) {
			rc = kernel_error(err, errno, what);
			break;
		}
		rc = mnl_cb_run(buf, (size_t)r, nlh->nlmsg_seq, n->portid, cb, data);
		if (rc < 0) {
			rc = kernel_error(err, errno, what);
			break;
		}
		if (rc == MNL_CB_STOP) {
			rc = 0;
			break;
		}
	}
	free(buf);
	return rc;
}

/* The objects of a dump (chains, rules or sets), parsed by libnftnl. */
struct obj_list {
	void **v;
	size_t n, cap;
	void *(*alloc)(void);
	int (*parse)(const struct nlmsghdr *nlh, void *o);
	void (*free)(void *o);
};

static void *alloc_chain(void) { return nftnl_chain_alloc(); }
static void *alloc_rule(void) { return nftnl_rule_alloc(); }
static void *alloc_set(void) { return nftnl_set_alloc(); }
static int parse_chain(const struct nlmsghdr *nlh, void *o) { return nftnl_chain_nlmsg_parse(nlh, o); }
static int parse_rule(const struct nlmsghdr *nlh, void *o) { return nftnl_rule_nlmsg_parse(nlh, o); }
static int parse_set(const struct nlmsghdr *nlh, void *o) { return nftnl_set_nlmsg_parse(nlh, o); }
static void free_chain(void *o) { nftnl_chain_free(o); }
static void free_rule(void *o) { nftnl_rule_free(o); }
static void free_set(void *o) { nftnl_set_free(o); }

#define CHAIN_LIST { .alloc = alloc_chain, .parse = parse_chain, .free = free_chain }
#define RULE_LIST { .alloc = alloc_rule, .parse = parse_rule, .free = free_rule }
#define SET_LIST { .alloc = alloc_set, .parse = parse_set, .free = free_set }

static void obj_list_free(struct obj_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		l->free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int on_obj(const struct nlmsghdr *nlh, void *data)
{
	struct obj_list *l = data;
	void *o = l->alloc();
	if (!o || l->parse(nlh, o) < 0) {
		if (o)
			l->free(o);
		errno = o ? EPROTO : ENOMEM;
		return MNL_CB_ERROR;
	}
	if (l->n == l->cap) {
		void **v = array_grow(l->v, &l->cap, sizeof(*v), 16);
		if (!v) {
			l->free(o);
			errno = ENOMEM;
			return MNL_CB_ERROR;
		}
		l->v = v;
	}
	l->v[l->n++] = o;
	return MNL_CB_OK;
}

static int on_elems(const struct nlmsghdr *nlh, void *data)
{
	if (nftnl_set_elems_nlmsg_parse(nlh, data) < 0) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* Dumps the chains, rules (of chain) or sets (type GETCHAIN, GETRULE,
 * GETSET) of palisade's table of family f into l. */
static int dump_table(struct nft *n, enum net_family f, uint16_t type, const char *chain,
		      struct obj_list *l, const char *what, struct perr *err)
{
	char req[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(req, type, nfproto(f), NLM_F_DUMP, n->seq++);
	/* The table is attribute 1 of chains, rules and sets alike. */
	mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, NFTPLAN_TABLE);
	if (chain)
		mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain);
	if (dump(n, nlh, on_obj, l, what, err) < 0) {
		obj_list_free(l);
		return -1;
	}
	return 0;
}

/* A rule's expressions as libnftnl prints them, "[ meta load ... ] ...":
 * what two rules are compared by. */
static int expr_text(struct nftnl_expr *e, void *data)
{
	struct text *t = data;
	char one[512];
	if (nftnl_expr_snprintf(one, sizeof(one), e, NFTNL_OUTPUT_DEFAULT, 0) < 0)
		one[0] = '\0';
	textf(t, "%s[ %s %s]", t->used ? " " : "", nftnl_expr_get_str(e, NFTNL_EXPR_NAME), one);
	return 0;
}

static void rule_text(struct nftnl_rule *r, char *buf, size_t len)
{
	struct text t;
	text_init(&t, buf, len);
	nftnl_expr_foreach(r, expr_text, &t);
}

static int verify_chains(struct nft *n, enum net_family f, struct rule_list planned[CHAINS],
			 struct perr *err)
{
	const char *tn = family_name(f);
	struct obj_list chains = CHAIN_LIST;
	if (dump_table(n, f, NFT_MSG_GETCHAIN, NULL, &chains, "nftables: reading back the chains",
		       err) < 0)
		return -1;
	int rc = 0;
	size_t mine = 0;
	for (size_t i = 0; i < chains.n && rc == 0; i++) {
		struct nftnl_chain *c = chains.v[i];
		if (strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), NFTPLAN_TABLE) != 0)
			continue;
		mine++;
		const char *name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
		int k = -1;
		for (int j = 0; j < CHAINS; j++)
			if (strcmp(name, nftplan_chain_names[j]) == 0)
				k = j;
		if (k < 0)
			rc = perr_set(err, "nftables: verification: table %s %s has a chain %s that "
				      "palisade did not make", tn, NFTPLAN_TABLE, name);
		else if (!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM) ||
			 nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) != (uint32_t)chain_hook[k] ||
			 nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO) != 0 ||
			 nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) != NF_DROP ||
			 strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), "filter") != 0)
			rc = perr_set(err, "nftables: verification: chain %s of table %s %s is not a "
				      "filter chain on hook %s, priority 0, policy drop", name, tn,
				      NFTPLAN_TABLE, name);
	}
	if (rc == 0 && mine != CHAINS)
		rc = perr_set(err, "nftables: verification: table %s %s has %zu chains, the plan %d",
			      tn, NFTPLAN_TABLE, mine, CHAINS);
	obj_list_free(&chains);

	for (int c = 0; c < CHAINS && rc == 0; c++) {
		struct obj_list rules = RULE_LIST;
		if (dump_table(n, f, NFT_MSG_GETRULE, nftplan_chain_names[c], &rules,
			       "nftables: reading back the rules", err) < 0)
			return -1;
		size_t k = 0;
		for (size_t i = 0; i < rules.n && rc == 0; i++) {
			struct nftnl_rule *r = rules.v[i];
			if (strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), NFTPLAN_TABLE) != 0 ||
			    strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), nftplan_chain_names[c]) != 0)
				continue;
			if (k >= planned[c].n) {
				rc = perr_set(err, "nftables: verification: chain %s of table %s %s has "
					      "more rules than the plan's %zu", nftplan_chain_names[c], tn,
					      NFTPLAN_TABLE, planned[c].n);
				break;
			}
			char got[2048], want[2048];
			rule_text(r, got, sizeof(got));
			rule_text(planned[c].v[k], want, sizeof(want));
			if (strcmp(got, want) != 0)
				rc = perr_set(err, "nftables: verification: rule %zu of chain %s (table "
					      "%s %s) differs from the plan: the kernel has %.400s; the "
					      "plan %.400s", k + 1, nftplan_chain_names[c], tn, NFTPLAN_TABLE, got, want);
			k++;
		}
		if (rc == 0 && k != planned[c].n)
			rc = perr_set(err, "nftables: verification: chain %s of table %s %s has %zu "
				      "rules, the plan %zu", nftplan_chain_names[c], tn, NFTPLAN_TABLE, k,
				      planned[c].n);
		obj_list_free(&rules);
	}
	return rc;
}

/* A set's members as the kernel gives them back: a host's key is a range
 * of one address; a port set of intervals gives key and key end; a set of
 * intervals of addresses marks where each interval starts and, unless it
 * runs to the last address, the address after its end. */
struct elem_key {
	uint8_t key[KEY_MAX], end[KEY_MAX];
	bool has_end, interval_end;
	uint32_t timeout, expires;  /* seconds */
};

static int elem_key_cmp(const void *pa, const void *pb)
{
	/* Unused key bytes are zero. */
	return memcmp(((const struct elem_key *)pa)->key, ((const struct elem_key *)pb)->key,
		      KEY_MAX);
}

static void key_parse(const uint8_t *key, enum net_family f, enum set_kind k, uint8_t *addr,
		      uint8_t *proto, uint16_t *port)
{
	memcpy(addr, key, net_len(f));
	*proto = 0;
	*port = 0;
	if (k == SET_PORT) {
		*proto = key[net_len(f)];
		*port = (uint16_t)(key[net_len(f) + 4] << 8 | key[net_len(f) + 5]);
	}
}

struct elem_keys {
	struct elem_key *v;
	size_t n, cap, len;
};

/* Milliseconds to whole seconds, rounded up (a member with 1 ms left is
 * still there). */
static uint32_t ms_to_s(uint64_t ms)
{
	uint64_t s = ms / 1000 + (ms % 1000 != 0);
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

static int on_elem(struct nftnl_set_elem *e, void *data)
{
	struct elem_keys *ks = data;
	uint32_t kl = 0;
	const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &kl);
	if (!key || kl != ks->len)
		return 0;
	if (ks->n == ks->cap) {
		struct elem_key *v = array_grow(ks->v, &ks->cap, sizeof(*v), 16);
		if (!v)
			return -1;
		ks->v = v;
	}
	struct elem_key *ek = &ks->v[ks->n++];
	memset(ek, 0, sizeof(*ek));
	memcpy(ek->key, key, ks->len);
	const void *end = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &kl);
	if (end && kl == ks->len) {
		memcpy(ek->end, end, ks->len);
		ek->has_end = true;
	}
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
		ek->interval_end = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) &
				   NFT_SET_ELEM_INTERVAL_END;
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT))
		ek->timeout = ms_to_s(nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT));
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
		ek->expires = ms_to_s(nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION));
	return 0;
}

/* The address before a (there is one: a is an interval's end mark). */
static void addr_prev(uint8_t *a, size_t len)
{
	for (size_t j = len; j-- > 0;)
		if (a[j]-- != 0)
			break;
}

/* The members of s (read with its elements) into out, in nftplan's order. */
static int set_members(struct nftnl_set *s, struct nftplan_set *out)
{
	enum net_family f = out->family;
	enum set_kind k = out->kind;
	bool net = out->part == NFTPLAN_NET;
	size_t alen = net_len(f);
	struct elem_keys ks = { .len = key_len(f, k) };
	if (nftnl_set_elem_foreach(s, on_elem, &ks) < 0) {
		free(ks.v);
		return -1;
	}
	if (ks.n > 1)
		qsort(ks.v, ks.n, sizeof(*ks.v), elem_key_cmp);
	int rc = 0;
	bool open = false;
	struct nftplan_elem cur = { 0 };
	for (size_t i = 0; i < ks.n && rc == 0; i++) {
		const struct elem_key *ek = &ks.v[i];
		if (!net || k == SET_PORT) {
			struct nftplan_elem e = { .timeout = ek->timeout, .expires = ek->expires };
			uint8_t p;
			uint16_t pt;
			key_parse(ek->key, f, k, e.first, &e.proto, &e.port);
			key_parse(ek->has_end ? ek->end : ek->key, f, k, e.last, &p, &pt);
			rc = nftplan_set_add(out, &e);
			continue;
		}
		if (open) {
			/* The interval ends at the address before this mark, or
			 * before the next interval's start. */
			memcpy(cur.last, ek->key, alen);
			addr_prev(cur.last, alen);
			rc = nftplan_set_add(out, &cur);
			open = false;
		}
		if (!ek->interval_end) {
			memset(&cur, 0, sizeof(cur));
			memcpy(cur.first, ek->key, alen);
			open = true;
		}
	}
	if (rc == 0 && open) {
		memset(cur.last, 0xff, alen);
		rc = nftplan_set_add(out, &cur);
	}
	free(ks.v);
	if (rc == 0)
		nftplan_set_normalize(out);
	return rc;
}

/* Reads the members of palisade's set (f, k, part) into out (emptied
 * first; freed by the caller). */
static int read_set(struct nft *n, struct nftnl_set *s, struct nftplan_set *out,
		    struct perr *err)
{
	char req[MNL_SOCKET_BUFFER_SIZE];
	out->n = 0;
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETSETELEM, nfproto(out->family),
						     NLM_F_DUMP, n->seq++);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	if (dump(n, nlh, on_elems, s, "nftables: reading back a set's members", err) < 0)
		return -1;
	if (set_members(s, out) < 0)
		return perr_code(err, ENOMEM, "out of memory");
	return 0;
}

static int compare_members(enum net_family f, const struct nftplan_set *got,
			   const struct nftplan_set *want, struct perr *err)
{
	for (size_t i = 0; i < got->n || i < want->n; i++) {
		const struct nftplan_elem *g = i < got->n ? &got->v[i] : NULL;
		const struct nftplan_elem *w = i < want->n ? &want->v[i] : NULL;
		if (g && w && memcmp(g->first, w->first, 16) == 0 &&
		    memcmp(g->last, w->last, 16) == 0 && g->proto == w->proto && g->port == w->port)
			continue;
		char gs[128] = "nothing", ws[128] = "nothing";
		if (g)
			nftplan_elem_format(got, g, gs, sizeof(gs));
		if (w)
			nftplan_elem_format(want, w, ws, sizeof(ws));
		return perr_set(err, "nftables: verification: set %s of table %s %s holds %zu "
				"members, the plan %zu; member %zu: the kernel has %s, the plan %s",
				nftplan_set_name(want->kind, want->part), family_name(f),
				NFTPLAN_TABLE, got->n, want->n, i + 1, gs, ws);
	}
	return 0;
}

/* Which of palisade's sets s is: kind and part; false for another. */
static bool set_which(struct nftnl_set *s, enum set_kind *kind, enum nftplan_part *part)
{
	const char *name = nftnl_set_get_str(s, NFTNL_SET_NAME);
	if (strcmp(nftnl_set_get_str(s, NFTNL_SET_TABLE), NFTPLAN_TABLE) != 0)
		return false;
	for (int k = 0; k < SET_KINDS; k++)
		for (int p = 0; p < NFTPLAN_PARTS; p++)
			if (strcmp(name, nftplan_set_name((enum set_kind)k, (enum nftplan_part)p)) == 0) {
				*kind = (enum set_kind)k;
				*part = (enum nftplan_part)p;
				return true;
			}
	return false;
}

static int verify_sets(struct nft *n, int fi, const struct nftplan *np, struct perr *err)
{
	enum net_family f = net_family_at(fi);
	const char *tn = family_name(f);
	struct obj_list sets = SET_LIST;
	if (dump_table(n, f, NFT_MSG_GETSET, NULL, &sets, "nftables: reading back the sets", err) < 0)
		return -1;
	int rc = 0;
	size_t mine = 0;
	for (size_t i = 0; i < sets.n && rc == 0; i++) {
		struct nftnl_set *s = sets.v[i];
		if (strcmp(nftnl_set_get_str(s, NFTNL_SET_TABLE), NFTPLAN_TABLE) != 0)
			continue;
		mine++;
		const char *name = nftnl_set_get_str(s, NFTNL_SET_NAME);
		enum set_kind kind;
		enum nftplan_part part;
		if (!set_which(s, &kind, &part)) {
			rc = perr_set(err, "nftables: verification: table %s %s has a set %s that "
				      "palisade did not make", tn, NFTPLAN_TABLE, name);
			break;
		}
		bool net = part == NFTPLAN_NET;
		if (nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN) != key_len(f, kind) ||
		    nftnl_set_get_u32(s, NFTNL_SET_FLAGS) != set_flags(kind, net)) {
			rc = perr_set(err, "nftables: verification: set %s of table %s %s has key "
				      "length %u and flags 0x%x, the plan %zu and 0x%x", name, tn,
				      NFTPLAN_TABLE, nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN),
				      nftnl_set_get_u32(s, NFTNL_SET_FLAGS), key_len(f, kind),
				      set_flags(kind, net));
			break;
		}
		const struct nftplan_set *want = &np->sets[fi][kind][part];
		struct nftplan_set got = { .family = f, .kind = kind, .part = part };
		rc = read_set(n, s, &got, err);
		if (rc == 0)
			rc = compare_members(f, &got, want, err);
		free(got.v);
	}
	if (rc == 0 && mine != 2 * SET_KINDS)
		rc = perr_set(err, "nftables: verification: table %s %s has %zu sets, the plan %d",
			      tn, NFTPLAN_TABLE, mine, 2 * SET_KINDS);
	obj_list_free(&sets);
	return rc;
}

void nft_sets_free(struct nftplan_set sets[SET_KINDS][NFTPLAN_PARTS])
{
	for (int k = 0; k < SET_KINDS; k++)
		for (int p = 0; p < NFTPLAN_PARTS; p++) {
			free(sets[k][p].v);
			sets[k][p].v = NULL;
			sets[k][p].n = sets[k][p].cap = 0;
		}
}

int nft_read_sets(struct nft *n, enum net_family f,
		  struct nftplan_set sets[SET_KINDS][NFTPLAN_PARTS], bool *table, struct perr *err)
{
	for (int k = 0; k < SET_KINDS; k++)
		for (int p = 0; p < NFTPLAN_PARTS; p++)
			sets[k][p] = (struct nftplan_set){ .family = f, .kind = (enum set_kind)k,
							   .part = (enum nftplan_part)p };
	*table = false;
	struct obj_list l = SET_LIST;
	struct perr derr = PERR_INIT;
	if (dump_table(n, f, NFT_MSG_GETSET, NULL, &l, "nftables: reading the sets", &derr) < 0) {
		/* The kernel looks the table up first: ENOENT, it is not there. */
		if (derr.err == ENOENT)
			return 0;
		*err = derr;
		return -1;
	}
	*table = true;
	int rc = 0;
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		enum set_kind k;
		enum nftplan_part p;
		if (set_which(l.v[i], &k, &p))
			rc = read_set(n, l.v[i], &sets[k][p], err);
	}
	obj_list_free(&l);
	if (rc < 0)
		nft_sets_free(sets);
	return rc;
}

int nft_verify(const struct fence_plan *plan, struct perr *err)
{
	struct rule_list rules[NET_FAMILIES][CHAINS];
	struct nftplan np;
	if (plan_nft(plan, &np, rules, err) < 0)
		return -1;
	struct nft *n = nft_open(err);
	int rc = n ? 0 : -1;
	for (int f = 0; f < fence_families(plan) && rc == 0; f++) {
		rc = verify_chains(n, net_family_at(f), rules[f], err);
		if (rc == 0)
			rc = verify_sets(n, f, &np, err);
	}
	nft_close(n);
	plan_rules_free(rules);
	nftplan_free(&np);
	return rc;
}
