#include "pktlog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netfilter/log.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/capmsg.h"
#include "../lib/bytes.h"

/* How much of each packet the kernel copies: enough for an IPv6 header,
 * a few extension headers and the ports. */
#define NFLOG_COPY_RANGE 128
/* The socket's receive buffer: room for a few thousand events between two
 * reads. Past it the kernel drops events and reports ENOBUFS. */
#define NFLOG_RCVBUF (2 * 1024 * 1024)
/* One datagram holds one event, or a batch of them; the kernel's batches are
 * a few pages at most. A longer datagram is cut and counted as dropped. */
#define NFLOG_BUF (64 * 1024)
/* A flood of blocked packets must not keep the caller (PID 1) in
 * pktlog_read: past this many datagrams it returns, and the socket, still
 * readable, brings it back. */
#define NFLOG_READ_MAX 1024
/* Extension headers followed before giving up on an IPv6 packet. */
#define IPV6_EXT_MAX 16

struct pktlog {
	struct nl_sock *sk;
	uint16_t group;
	union {
		struct nlmsghdr hdr; /* aligns the buffer for the headers */
		/* The slack keeps nlmsg_next's last step inside the buffer. */
		uint8_t bytes[NFLOG_BUF + NLMSG_ALIGNTO];
	} buf;
};

/* --- the packet ---------------------------------------------------------- */

/* The ports of a TCP or UDP header at p, when all of it is there. */
static void parse_ports(const uint8_t *p, size_t len, struct pktlog_event *ev)
{
	size_t need = ev->proto == IPPROTO_TCP ? 20 : ev->proto == IPPROTO_UDP ? 8 : 0;
	if (!need || len < need)
		return;
	ev->sport = get16(p);
	ev->dport = get16(p + 2);
}

static int parse_v4(const uint8_t *pkt, size_t len, struct pktlog_event *ev)
{
	if (len < 20)
		return -1;
	size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
	size_t total = get16(pkt + 2);
	if (ihl < 20 || ihl > len || total < ihl)
		return -1;
	/* The copy may be shorter than the packet, never longer: bytes past
	 * the total length are not part of it. */
	if (total < len)
		len = total;
	ev->family = NET_V4;
	ev->proto = pkt[9];
	ev->src.family = ev->dst.family = NET_V4;
	ev->src.prefix = ev->dst.prefix = 32;
	memcpy(ev->src.bytes, pkt + 12, 4);
	memcpy(ev->dst.bytes, pkt + 16, 4);
	/* Only the first fragment carries the transport header. */
	if ((get16(pkt + 6) & 0x1fff) == 0)
		parse_ports(pkt + ihl, len - ihl, ev);
	return 0;
}

static int parse_v6(const uint8_t *pkt, size_t len, struct pktlog_event *ev)
{
	if (len < 40)
		return -1;
	size_t payload = get16(pkt + 4);
	/* A payload length of 0 is a jumbogram's: its length is in an option. */
	if (payload && 40 + payload < len)
		len = 40 + payload;
	ev->family = NET_V6;
	ev->src.family = ev->dst.family = NET_V6;
	ev->src.prefix = ev->dst.prefix = 128;
	memcpy(ev->src.bytes, pkt + 8, 16);
	memcpy(ev->dst.bytes, pkt + 24, 16);

	/* Walk the extension headers. When one is cut off, proto stays that
	 * header's number: the event keeps its addresses, without ports. */
	uint8_t next = pkt[6];
	size_t off = 40;
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		size_t hlen;
		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (len - off < 2)
				goto out;
			hlen = ((size_t)pkt[off + 1] + 1) * 8;
			break;
		case IPPROTO_AH:
			if (len - off < 2)
				goto out;
			hlen = ((size_t)pkt[off + 1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			if (len - off < 8)
				goto out;
			if (get16(pkt + off + 2) & 0xfff8) {
				/* A later fragment: the upper-layer protocol
				 * is known, its header is not here. */
				next = pkt[off];
				goto out;
			}
			hlen = 8;
			break;
		default:
			ev->proto = next;
			parse_ports(pkt + off, len - off, ev);
			return 0;
		}
		if (hlen > len - off)
			goto out;
		next = pkt[off];
		off += hlen;
	}
out:
	ev->proto = next;
	return 0;
}

int pktlog_parse_packet(const uint8_t *pkt, size_t len, struct pktlog_event *ev)
{
	struct pktlog_event e;
	memset(&e, 0, sizeof(e));
	if (!pkt || len < 1)
		return -1;
	int rc;
	switch (pkt[0] >> 4) {
	case 4:
		rc = parse_v4(pkt, len, &e);
		break;
	case 6:
		rc = parse_v6(pkt, len, &e);
		break;
	default:
		return -1;
	}
	if (rc < 0)
		return -1;
	ev->family = e.family;
	ev->proto = e.proto;
	ev->src = e.src;
	ev->dst = e.dst;
	ev->sport = e.sport;
	ev->dport = e.dport;
	return 0;
}

/* --- the socket ---------------------------------------------------------- */

static int open_fail(struct perr *err, uint16_t group, int nlerr)
{
	char what[64];
	snprintf(what, sizeof(what), "nflog: binding NFLOG group %u", group);
	switch (nlerr) {
	case NLE_PERM:
		return cap_refused_or_taken(err, CAP_NET_ADMIN, what,
					    "another program (ulogd?) listens on that group");
	case NLE_BUSY:
		/* What the kernel says to a socket that binds its group twice. */
		return perr_code(err, EBUSY, "nflog: binding NFLOG group %u: the group is already "
				 "bound to this socket", group);
	case NLE_INVAL:
	case NLE_OPNOTSUPP:
	case NLE_PROTO_MISMATCH:
	case NLE_OBJ_NOTFOUND:
		return perr_code(err, EPROTONOSUPPORT, "nflog: binding NFLOG group %u: the kernel "
				 "has no nfnetlink_log (%s); load it on the host with modprobe "
				 "nfnetlink_log", group, nl_geterror(nlerr));
	default:
		return perr_code(err, EIO, "nflog: binding NFLOG group %u: %s", group,
				 nl_geterror(nlerr));
	}
}

struct pktlog *pktlog_open(uint16_t group, struct perr *err)
{
	struct pktlog *l = calloc(1, sizeof(*l));
	if (!l) {
		perr_code(err, ENOMEM, "nflog: out of memory");
		return NULL;
	}
	l->group = group;
	l->sk = nl_socket_alloc();
	if (!l->sk) {
		free(l);
		perr_code(err, ENOMEM, "nflog: out of memory");
		return NULL;
	}
	/* Events carry sequence number 0: they answer no request. */
	nl_socket_disable_seq_check(l->sk);

	errno = 0;
	int rc = nl_connect(l->sk, NETLINK_NETFILTER);
	if (rc < 0) {
		int e = errno;
		if (e == EPROTONOSUPPORT || e == EAFNOSUPPORT || rc == -NLE_PROTO_MISMATCH ||
		    rc == -NLE_AF_NOSUPPORT)
			perr_code(err, e ? e : EPROTONOSUPPORT, "nflog: cannot open netfilter "
				  "netlink: the kernel has no nfnetlink; load it on the host with "
				  "modprobe nfnetlink_log");
		else
			perr_code(err, e ? e : EIO, "nflog: cannot open netfilter netlink: %s",
				  e ? strerror(e) : nl_geterror(rc));
		goto fail;
	}
	int fd = nl_socket_get_fd(l->sk);

	/* nl_connect set a 32 KiB buffer. CAP_NET_ADMIN lets the buffer pass
	 * net.core.rmem_max; without it, take what the limit allows. */
	int size = NFLOG_RCVBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0) {
		perr_sys(err, errno, "nflog: setting the receive buffer of the NFLOG socket");
		goto fail;
	}

	/* One request binds the group and configures it. The group receives
	 * every family's packets: NFLOG rules of iptables and ip6tables
	 * reach it without a per-family (PF_BIND) binding, which would only
	 * make nfnetlink_log the namespace's default logger for other
	 * users of nf_log. The kernel reports the sending socket's owner
	 * (NFULA_UID) whenever it knows it: there is no flag to ask for it. */
	struct nfnl_log *cfg = nfnl_log_alloc();
	if (!cfg) {
		perr_code(err, ENOMEM, "nflog: out of memory");
		goto fail;
	}
	nfnl_log_set_group(cfg, group);
	nfnl_log_set_copy_mode(cfg, NFNL_LOG_COPY_PACKET);
	nfnl_log_set_copy_range(cfg, NFLOG_COPY_RANGE);
	/* Each event on its own, at once. */
	nfnl_log_set_queue_threshold(cfg, 1);
	rc = nfnl_log_create(l->sk, cfg);
	nfnl_log_put(cfg);
	if (rc < 0) {
		open_fail(err, group, -rc);
		goto fail;
	}

	/* Set up while blocking, so that the acknowledgement was waited for;
	 * from now on, reads never block. */
	rc = nl_socket_set_nonblocking(l->sk);
	if (rc < 0) {
		perr_code(err, EIO, "nflog: making the NFLOG socket non-blocking: %s",
			  nl_geterror(rc));
		goto fail;
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		perr_sys(err, errno, "nflog: setting close-on-exec on the NFLOG socket");
		goto fail;
	}
	return l;

fail:
	pktlog_close(l);
	return NULL;
}

int pktlog_fd(const struct pktlog *l)
{
	return nl_socket_get_fd(l->sk);
}

void pktlog_close(struct pktlog *l)
{
	/* Closing the socket unbinds the group. */
	if (l && l->sk)
		nl_socket_free(l->sk);
	free(l);
}

/* --- the messages -------------------------------------------------------- */

static void copy_prefix(char *dst, const struct nlattr *a)
{
	/* Up to the first NUL or the end of the attribute, cut to fit,
	 * without control characters. */
	const char *s = nla_data(a);
	size_t n = strnlen(s, (size_t)nla_len(a));
	if (n > PKTLOG_PREFIX_MAX - 1)
		n = PKTLOG_PREFIX_MAX - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	dst[n] = '\0';
}

/* One netlink message: an event, or something else to pass over. Returns 1
 * when it was an event handed to fn, else 0. */
static int handle_msg(struct pktlog *l, struct nlmsghdr *nlh,
		      void (*fn)(void *ctx, const struct pktlog_event *ev), void *ctx)
{
	/* Acknowledgements of the setup, end-of-batch markers: no events. */
	if (nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET))
		return 0;
	/* nlmsg_parse checks that the header is whole and that every
	 * attribute lies inside the message; each one used is checked for
	 * its own length below. */
	struct nlattr *tb[NFULA_MAX + 1];
	if (nlmsg_parse(nlh, sizeof(struct nfgenmsg), tb, NFULA_MAX, NULL) < 0)
		return 0;
	const struct nfgenmsg *g = nlmsg_data(nlh);
	if (ntohs(g->res_id) != l->group || !tb[NFULA_PAYLOAD])
		return 0;

	struct pktlog_event ev;
	memset(&ev, 0, sizeof(ev));
	if (pktlog_parse_packet(nla_data(tb[NFULA_PAYLOAD]), (size_t)nla_len(tb[NFULA_PAYLOAD]),
			       &ev) < 0)
		return 0;
	if ((g->nfgen_family == AF_INET && ev.family != NET_V4) ||
	    (g->nfgen_family == AF_INET6 && ev.family != NET_V6))
		return 0;
	if (tb[NFULA_UID] && nla_len(tb[NFULA_UID]) == 4) {
		ev.has_uid = true;
		ev.uid = ntohl(nla_get_u32(tb[NFULA_UID]));
	}
	if (tb[NFULA_PREFIX])
		copy_prefix(ev.prefix, tb[NFULA_PREFIX]);
	fn(ctx, &ev);
	return 1;
}

int pktlog_read(struct pktlog *l, void (*fn)(void *ctx, const struct pktlog_event *ev),
	       void *ctx, size_t *dropped, struct perr *err)
{
	int fd = nl_socket_get_fd(l->sk);
	int events = 0;
	for (int d = 0; d < NFLOG_READ_MAX; d++) {
		struct sockaddr_nl from;
		struct iovec iov = { .iov_base = l->buf.bytes, .iov_len = NFLOG_BUF };
		struct msghdr mh = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		memset(&from, 0, sizeof(from));
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				/* The socket buffer overflowed: events were
				 * lost, the ones queued after are still there. */
				if (dropped)
					(*dropped)++;
				continue;
			}
			return perr_sys(err, errno, "nflog: reading NFLOG group %u", l->group);
		}
		/* Only the kernel speaks on this socket. */
		if (mh.msg_namelen != sizeof(from) || from.nl_family != AF_NETLINK ||
		    from.nl_pid != 0)
			continue;
		size_t len = (size_t)n;
		if (len > NFLOG_BUF || (mh.msg_flags & MSG_TRUNC)) {
			/* Cut: what is whole is used, the rest is lost. */
			if (dropped)
				(*dropped)++;
			len = NFLOG_BUF;
		}
		int rem = (int)len;
		for (struct nlmsghdr *nlh = &l->buf.hdr; nlmsg_ok(nlh, rem);
		     nlh = nlmsg_next(nlh, &rem))
			events += handle_msg(l, nlh, fn, ctx);
	}
	return events;
}
