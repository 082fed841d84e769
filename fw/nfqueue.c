#include "nfqueue.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../lib/bytes.h"
#include "../lib/capmsg.h"
#include "../lib/clock.h"
#include "../lib/mnl.h"

/* A packet message besides the packet's copy: the netlink and nfgenmsg
 * headers and the attributes the kernel adds (packet header, mark,
 * interfaces, hardware address, timestamp, capture length, skb info; on
 * a bridge, VLAN and layer-2 header), a few hundred bytes in all. */
#define NFQ_MSG_ATTRS 512
/* The read buffer's room besides the copy: the attributes, with margin. */
#define NFQ_MSG_ROOM 4096
/* What one waiting packet costs the socket's receive buffer besides its
 * message, which the kernel allocates rounded up to a power of two: the
 * sk_buff and its shared info. */
#define NFQ_SKB_COST 1024
#define NFQ_RCVBUF_MIN (256 * 1024)
#define NFQ_RCVBUF_MAX (256 * 1024 * 1024)
/* Datagrams one nfq_receive reads at most: a flood must not keep PID 1
 * there. */
#define NFQ_READ_MAX 1024
/* How long nfq_open waits for the kernel's acknowledgement. The kernel
 * answers before sendto returns; this only bounds a kernel that does not. */
#define NFQ_ACK_MS 2000

#define NFQ_TYPE(msg) ((uint16_t)((NFNL_SUBSYS_QUEUE << 8) | (msg)))

struct nfq {
	struct mnl_socket *nl;
	uint16_t num;
	int rcvbuf;    /* the receive buffer as the kernel set it */
	size_t bufsize;
	uint8_t *buf;  /* one datagram */
};

/* --- one message ---------------------------------------------------------- */

_Static_assert(NFQA_MAX < 64, "a bit for each attribute");

struct attrs {
	const struct nlattr *tb[NFQA_MAX + 1];
	uint64_t twice; /* 1 << type for each attribute given more than once */
};

static int collect(const struct nlattr *a, void *data)
{
	struct attrs *t = data;
	uint16_t type = mnl_attr_get_type(a);
	/* Attributes of newer kernels: not used. */
	if (type > NFQA_MAX)
		return MNL_CB_OK;
	if (t->tb[type])
		t->twice |= (uint64_t)1 << type;
	t->tb[type] = a;
	return MNL_CB_OK;
}

/* The attributes read: each must come once. */
static const int used_attrs[] = { NFQA_PACKET_HDR, NFQA_MARK, NFQA_CAP_LEN, NFQA_PAYLOAD };

/* Whether the attribute is there with exactly len bytes. */
static bool attr_is(const struct nlattr *a, size_t len)
{
	return a && mnl_attr_validate2(a, MNL_TYPE_UNSPEC, len) == 0;
}

enum nfq_msg nfq_parse_msg(const struct nlmsghdr *nlh, uint16_t num, struct nfq_packet *p,
			   bool *has_id, struct perr *err)
{
	*has_id = false;
	if (nlh->nlmsg_type != NFQ_TYPE(NFQNL_MSG_PACKET))
		return NFQ_MSG_OTHER;
	memset(p, 0, sizeof(*p));
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg)) {
		perr_set(err, "a packet message of %u bytes without its nfgenmsg header",
			 nlh->nlmsg_len);
		return NFQ_MSG_BAD;
	}
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	if (ntohs(g->res_id) != num) {
		perr_set(err, "a packet message for queue %u", ntohs(g->res_id));
		return NFQ_MSG_BAD;
	}
	struct attrs t;
	memset(&t, 0, sizeof(t));
	/* Attributes before a broken one are collected: the packet's id, when
	 * it was among them, lets the caller drop the packet. */
	bool whole = mnl_attr_parse(nlh, sizeof(*g), collect, &t) >= 0;
	const struct nlattr *hdr = t.tb[NFQA_PACKET_HDR];
	if (!attr_is(hdr, sizeof(struct nfqnl_msg_packet_hdr))) {
		perr_set(err, "a packet message without a valid packet header (%s)",
			 hdr ? "wrong length" : "missing");
		return NFQ_MSG_BAD;
	}
	const uint8_t *ph = mnl_attr_get_payload(hdr);
	p->id = get32(ph);
	p->hw_protocol = get16(ph + 4);
	*has_id = true;
	if (!whole) {
		perr_set(err, "packet %u: its attributes end in bytes that are no attribute", p->id);
		return NFQ_MSG_BAD;
	}
	if (g->version != NFNETLINK_V0) {
		perr_set(err, "packet %u: nfnetlink version %u, not 0", p->id, g->version);
		return NFQ_MSG_BAD;
	}
	for (size_t i = 0; i < sizeof(used_attrs) / sizeof(used_attrs[0]); i++) {
		if (t.twice & (uint64_t)1 << used_attrs[i]) {
			perr_set(err, "packet %u: attribute %d given twice", p->id, used_attrs[i]);
			return NFQ_MSG_BAD;
		}
	}
	if (!((g->nfgen_family == AF_INET && p->hw_protocol == ETH_P_IP) ||
	      (g->nfgen_family == AF_INET6 && p->hw_protocol == ETH_P_IPV6))) {
		perr_set(err, "packet %u: family %u and protocol 0x%04x, not IPv4 or IPv6", p->id,
			 g->nfgen_family, p->hw_protocol);
		return NFQ_MSG_BAD;
	}
	const struct nlattr *a = t.tb[NFQA_MARK];
	if (a && !attr_is(a, sizeof(uint32_t))) {
		perr_set(err, "packet %u: a mark of %u bytes", p->id, mnl_attr_get_payload_len(a));
		return NFQ_MSG_BAD;
	}
	if (a)
		p->mark = ntohl(mnl_attr_get_u32(a));
	a = t.tb[NFQA_PAYLOAD];
	if (!a || mnl_attr_get_payload_len(a) == 0) {
		perr_set(err, "packet %u: no payload (the queue copies no packet?)", p->id);
		return NFQ_MSG_BAD;
	}
	p->data = mnl_attr_get_payload(a);
	p->len = mnl_attr_get_payload_len(a);
	p->full_len = p->len;
	a = t.tb[NFQA_CAP_LEN];
	if (a) {
		if (!attr_is(a, sizeof(uint32_t))) {
			perr_set(err, "packet %u: a capture length of %u bytes", p->id,
				 mnl_attr_get_payload_len(a));
			return NFQ_MSG_BAD;
		}
		uint32_t full = ntohl(mnl_attr_get_u32(a));
		if (full < p->len) {
			perr_set(err, "packet %u: capture length %u below the %zu bytes copied",
				 p->id, full, p->len);
			return NFQ_MSG_BAD;
		}
		p->full_len = full;
	}
	return NFQ_MSG_PACKET;
}

/* --- the socket ------------------------------------------------------------ */

/* A request for queue num at buf: the netlink and nfgenmsg headers. */
static struct nlmsghdr *put_request(void *buf, uint8_t type, uint16_t flags, uint32_t seq,
				    uint16_t num)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NFQ_TYPE(type);
	nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	nlh->nlmsg_seq = seq;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(num);
	return nlh;
}

static int send_request(struct nfq *q, const struct nlmsghdr *nlh, const char *what,
			struct perr *err)
{
	for (;;) {
		ssize_t n = mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return perr_sys(err, errno, "nfqueue %u: sending %s", q->num, what);
		if ((size_t)n != nlh->nlmsg_len)
			return perr_code(err, EIO, "nfqueue %u: sending %s: %zd of %u bytes sent",
					 q->num, what, n, nlh->nlmsg_len);
		return 0;
	}
}

int nfq_verdict(struct nfq *q, uint32_t id, uint32_t verdict, bool set_mark, uint32_t mark,
		struct perr *err)
{
	if (verdict != NF_ACCEPT && verdict != NF_DROP && verdict != NF_REPEAT)
		return perr_set(err, "nfqueue %u: verdict %u for packet %u is not NF_ACCEPT, "
				"NF_DROP or NF_REPEAT", q->num, verdict, id);
	union {
		struct nlmsghdr h;
		uint8_t b[128];
	} buf;
	/* Not acknowledged: the kernel answers only a verdict it refuses, and
	 * says which packet through the sequence number, the packet's id. */
	struct nlmsghdr *nlh = put_request(&buf, NFQNL_MSG_VERDICT, 0, id, q->num);
	struct nfqnl_msg_verdict_hdr vh = { .verdict = htonl(verdict), .id = htonl(id) };
	mnl_attr_put(nlh, NFQA_VERDICT_HDR, sizeof(vh), &vh);
	if (set_mark)
		mnl_attr_put_u32(nlh, NFQA_MARK, htonl(mark));
	return send_request(q, nlh, "a verdict", err);
}

/* What one nfq_receive has to report: the first event in full, the others
 * counted. */
struct report {
	struct perr first;
	size_t overflows, refused, bad, cut, other;
};

static void note(struct report *r, size_t *count, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void note(struct report *r, size_t *count, int code, const char *fmt, ...)
{
	(*count)++;
	if (r->first.err)
		return;
	char msg[sizeof(r->first.msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	perr_code(&r->first, code, "%s", msg);
}

/* An error the kernel sent back: for a verdict it refused (verdicts ask
 * for no acknowledgement, so error 0 is none of ours). */
static void kernel_error(struct nfq *q, const struct nlmsghdr *nlh, struct report *r)
{
	const struct nlmsgerr *me = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*me))) {
		note(r, &r->bad, EBADMSG, "nfqueue %u: an error message of %u bytes from the kernel",
		     q->num, nlh->nlmsg_len);
		return;
	}
	if (me->error == 0)
		return;
	int e = me->error == INT32_MIN ? EINVAL : me->error < 0 ? -me->error : me->error;
	if (me->msg.nlmsg_type == NFQ_TYPE(NFQNL_MSG_VERDICT))
		note(r, &r->refused, e, "nfqueue %u: the kernel refused the verdict for packet %u: "
		     "%s%s", q->num, me->msg.nlmsg_seq, strerror(e),
		     e == ENOENT ? " (no such packet waits: answered twice?)" : "");
	else
		note(r, &r->refused, e, "nfqueue %u: the kernel refused a message of type 0x%x: %s",
		     q->num, me->msg.nlmsg_type, strerror(e));
}

/* One message of a datagram: returns 1 when it was a packet handed to cb. */
static int handle(struct nfq *q, const struct nlmsghdr *nlh,
		  void (*cb)(const struct nfq_packet *p, void *arg), void *arg, struct report *r)
{
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		kernel_error(q, nlh, r);
		return 0;
	}
	struct nfq_packet p;
	struct perr e = PERR_INIT;
	bool has_id;
	switch (nfq_parse_msg(nlh, q->num, &p, &has_id, &e)) {
	case NFQ_MSG_PACKET:
		cb(&p, arg);
		return 1;
	case NFQ_MSG_BAD: {
		/* Fail closed: a packet that cannot be shown is dropped. */
		struct perr ve = PERR_INIT;
		bool dropped = has_id && nfq_verdict(q, p.id, NF_DROP, false, 0, &ve) == 0;
		note(r, &r->bad, EBADMSG, "nfqueue %u: %s: %s", q->num, e.msg,
		     dropped ? "the packet was dropped"
			     : has_id ? ve.msg : "ignored (no packet id to answer)");
		return 0;
	}
	default:
		return 0;
	}
}

/* The messages of one datagram of n bytes in q->buf. */
static int handle_datagram(struct nfq *q, size_t n,
			   void (*cb)(const struct nfq_packet *p, void *arg), void *arg,
			   struct report *r)
{
	int packets = 0;
	int left = (int)n;
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)q->buf;
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		packets += handle(q, nlh, cb, arg, r);
	/* The last message may lack its padding: left is then below 0. */
	if (left > 0)
		note(r, &r->bad, EBADMSG, "nfqueue %u: a datagram from the kernel ends in %d bytes "
		     "that are no message", q->num, left);
	return packets;
}

int nfq_receive(struct nfq *q, void (*cb)(const struct nfq_packet *p, void *arg), void *arg,
		struct perr *err)
{
	struct report r;
	memset(&r, 0, sizeof(r));
	int packets = 0;
	for (int d = 0; d < NFQ_READ_MAX; d++) {
		ssize_t n = mnl_socket_recvfrom(q->nl, q->buf, q->bufsize);
		if (n >= 0) {
			packets += handle_datagram(q, (size_t)n, cb, arg, &r);
			continue;
		}
		int e = errno;
		if (e == EAGAIN || e == EWOULDBLOCK)
			break;
		if (e == EINTR)
			continue;
		if (e == ENOBUFS) {
			/* Reported once per overflow; what came after is
			 * still there. */
			note(&r, &r.overflows, ENOBUFS, "nfqueue %u: the socket's receive buffer (%d "
			     "bytes) overflowed: the kernel dropped the packets it could not hand "
			     "over (fail closed); raise net.core.rmem_max, or lower the queue's "
			     "length", q->num, q->rcvbuf);
			continue;
		}
		if (e == ENOSPC) {
			note(&r, &r.cut, EMSGSIZE, "nfqueue %u: a message from the kernel was longer "
			     "than the %zu bytes read; its packet waits until the queue is closed",
			     q->num, q->bufsize);
			continue;
		}
		note(&r, &r.other, e, "nfqueue %u: reading the socket: %s", q->num, strerror(e));
		break;
	}
	size_t events = r.overflows + r.refused + r.bad + r.cut + r.other;
	if (events == 0)
		return packets;
	if (events == 1)
		return perr_code(err, r.first.err, "%s", r.first.msg);
	return perr_code(err, r.first.err, "%s; %zu events in all: %zu overflows, %zu refused "
			 "verdicts, %zu bad messages, %zu cut messages, %zu read errors",
			 r.first.msg, events, r.overflows, r.refused, r.bad, r.cut, r.other);
}

/* The receive buffer for maxlen packets of copy_range bytes. */
static int rcvbuf_size(uint32_t copy_range, uint32_t maxlen)
{
	uint64_t msg = (uint64_t)copy_range + NFQ_MSG_ATTRS, alloc = 256;
	while (alloc < msg)
		alloc <<= 1;
	uint64_t total = (alloc + NFQ_SKB_COST) * maxlen;
	if (total < NFQ_RCVBUF_MIN)
		return NFQ_RCVBUF_MIN;
	/* The kernel doubles what it is given. */
	return total > NFQ_RCVBUF_MAX ? NFQ_RCVBUF_MAX : (int)total;
}

/* Waits for the kernel's answer to request seq of type: 0 with *kerr its
 * error (0: acknowledged), or -1 with err. A packet that the queue takes
 * meanwhile (a rule already sends to it) is dropped: it came before the
 * queue was ready. */
static int wait_answer(struct nfq *q, uint32_t seq, uint16_t type, int *kerr, struct perr *err)
{
	uint64_t end = clock_ms() + NFQ_ACK_MS;
	for (;;) {
		uint64_t now = clock_ms();
		if (now >= end)
			return perr_code(err, ETIMEDOUT, "nfqueue %u: the kernel did not answer the "
					 "queue's configuration within %d ms", q->num, NFQ_ACK_MS);
		struct pollfd p = { .fd = mnl_socket_get_fd(q->nl), .events = POLLIN };
		int rc = poll(&p, 1, (int)(end - now));
		if (rc < 0 && errno != EINTR)
			return perr_sys(err, errno, "nfqueue %u: waiting for the kernel", q->num);
		if (rc <= 0)
			continue;
		ssize_t n = mnl_socket_recvfrom(q->nl, q->buf, q->bufsize);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ENOBUFS || errno == ENOSPC)
				continue;
			return perr_sys(err, errno, "nfqueue %u: reading the kernel's answer", q->num);
		}
		int left = (int)n;
		for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)q->buf;
		     mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *me = mnl_nlmsg_get_payload(nlh);
				if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*me)) ||
				    me->msg.nlmsg_seq != seq || me->msg.nlmsg_type != type)
					continue;
				*kerr = me->error == INT32_MIN ? EINVAL
					: me->error < 0 ? -me->error : me->error;
				return 0;
			}
			struct nfq_packet pk;
			struct perr e = PERR_INIT;
			bool has_id;
			if (nfq_parse_msg(nlh, q->num, &pk, &has_id, &e) != NFQ_MSG_OTHER && has_id &&
			    nfq_verdict(q, pk.id, NF_DROP, false, 0, err) < 0)
				return -1;
		}
	}
}

static int config_error(struct nfq *q, int e, struct perr *err)
{
	char what[64];
	snprintf(what, sizeof(what), "nfqueue: binding queue %u", q->num);
	switch (e) {
	case EPERM:
	case EACCES:
		return cap_refused_or_taken(err, CAP_NET_ADMIN, what,
					    "another program holds that queue");
	case EBUSY:
		return perr_code(err, EBUSY, "%s: the queue is already bound to this socket", what);
	case EINVAL:
	case EOPNOTSUPP:
	case ENOENT:
	case EPROTONOSUPPORT:
		return perr_code(err, EPROTONOSUPPORT, "%s: the kernel has no nfnetlink_queue, or "
				 "one without fail-open control (%s); load it on the host with "
				 "modprobe nfnetlink_queue", what, strerror(e));
	default:
		return perr_sys(err, e, "%s", what);
	}
}

/* Binds the queue and configures it in one request, acknowledged. The
 * kernel checks the flags before it binds, and nothing after the binding
 * can fail: the queue is bound as asked, or not at all. */
static int configure(struct nfq *q, uint32_t copy_range, uint32_t maxlen, struct perr *err)
{
	union {
		struct nlmsghdr h;
		uint8_t b[256];
	} buf;
	const uint32_t seq = 1;
	struct nlmsghdr *nlh = put_request(&buf, NFQNL_MSG_CONFIG, NLM_F_ACK, seq, q->num);
	/* No PF_BIND: since Linux 3.8 the kernel ignores it, and a bound
	 * queue takes the packets of every family. */
	struct nfqnl_msg_config_cmd cmd = { .command = NFQNL_CFG_CMD_BIND };
	mnl_attr_put(nlh, NFQA_CFG_CMD, sizeof(cmd), &cmd);
	struct nfqnl_msg_config_params params = {
		.copy_range = htonl(copy_range),
		.copy_mode = NFQNL_COPY_PACKET,
	};
	mnl_attr_put(nlh, NFQA_CFG_PARAMS, sizeof(params), &params);
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(maxlen));
	/* Fail-open off, said rather than assumed: with it, the kernel would
	 * accept the packets that find the queue full or the socket's buffer
	 * full. */
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(0));
	if (send_request(q, nlh, "the queue's configuration", err) < 0)
		return -1;
	int kerr = EIO; /* set by wait_answer when it returns 0 */
	if (wait_answer(q, seq, NFQ_TYPE(NFQNL_MSG_CONFIG), &kerr, err) < 0)
		return -1;
	return kerr ? config_error(q, kerr, err) : 0;
}

struct nfq *nfq_open(uint16_t num, uint32_t copy_range, uint32_t maxlen, struct perr *err)
{
	if (copy_range < 1 || copy_range > NFQ_COPY_RANGE_MAX) {
		perr_set(err, "nfqueue %u: copy range %u is not in 1..%d", num, copy_range,
			 NFQ_COPY_RANGE_MAX);
		return NULL;
	}
	if (maxlen < 1) {
		perr_set(err, "nfqueue %u: a queue length of 0", num);
		return NULL;
	}
	struct nfq *q = calloc(1, sizeof(*q));
	if (!q) {
		perr_code(err, ENOMEM, "nfqueue %u: out of memory", num);
		return NULL;
	}
	q->num = num;
	q->bufsize = MNL_ALIGN((size_t)copy_range) + NFQ_MSG_ROOM;
	q->buf = malloc(q->bufsize);
	if (!q->buf) {
		perr_code(err, ENOMEM, "nfqueue %u: out of memory", num);
		goto fail;
	}
	/* Close-on-exec (lib/mnl.c opens every socket so). */
	q->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!q->nl) {
		int e = errno;
		if (e == EPROTONOSUPPORT || e == EAFNOSUPPORT)
			perr_code(err, e, "nfqueue %u: cannot open netfilter netlink: the kernel has "
				  "no nfnetlink; load it on the host with modprobe nfnetlink_queue",
				  num);
		else
			perr_sys(err, e, "nfqueue %u: cannot open a netfilter netlink socket", num);
		goto fail;
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perr_sys(err, errno, "nfqueue %u: binding the netlink socket", num);
		goto fail;
	}
	int fd = mnl_socket_get_fd(q->nl);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		perr_sys(err, errno, "nfqueue %u: making the socket non-blocking", num);
		goto fail;
	}
	/* Errors carry the header of the message they answer, not all of it.
	 * A kernel without the option (before 4.3) sends the whole verdict,
	 * which fits as well. */
	int one = 1;
	(void)mnl_socket_setsockopt(q->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	/* CAP_NET_ADMIN (of the first user namespace) lets the buffer pass
	 * net.core.rmem_max; without it, take what the limit allows. */
	int size = rcvbuf_size(copy_range, maxlen);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0) {
		perr_sys(err, errno, "nfqueue %u: setting the socket's receive buffer", num);
		goto fail;
	}
	socklen_t sl = sizeof(q->rcvbuf);
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &q->rcvbuf, &sl) < 0) {
		perr_sys(err, errno, "nfqueue %u: reading the socket's receive buffer", num);
		goto fail;
	}
	if (configure(q, copy_range, maxlen, err) < 0)
		goto fail;
	return q;

fail:
	nfq_close(q);
	return NULL;
}

int nfq_fd(const struct nfq *q)
{
	return mnl_socket_get_fd(q->nl);
}

void nfq_close(struct nfq *q)
{
	if (!q)
		return;
	/* Closing the socket unbinds the queue; the kernel drops what
	 * waits in it. */
	if (q->nl)
		mnl_socket_close(q->nl);
	free(q->buf);
	free(q);
}
