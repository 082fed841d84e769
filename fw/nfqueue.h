/* The packet queue: packets that a rule sends to an NFQUEUE queue wait in
 * the kernel until palisade gives each its verdict (accept, drop, or
 * repeat: through the hook again, with a new mark). Spoken to over netfilter
 * netlink with lib/mnl.c. (nfq_* here, not libnetfilter_queue's.)
 *
 * Fail closed throughout: the queue is bound without NFQA_CFG_F_FAIL_OPEN,
 * so a packet that finds the queue full, that the socket's buffer cannot
 * take, or that arrives while no socket is bound, is dropped by the kernel;
 * closing the socket drops the packets still waiting. The rules that fill
 * the queue must not say --queue-bypass (nft: bypass). */
#ifndef PALISADE_NFQUEUE_H
#define PALISADE_NFQUEUE_H

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/err.h"

/* The largest copy range: what one netlink attribute holds (65535 bytes
 * with its 4-byte header). */
#define NFQ_COPY_RANGE_MAX 65531

struct nfq;

struct nfq_packet {
	uint32_t id;           /* what nfq_verdict answers */
	uint16_t hw_protocol;  /* ETH_P_IP or ETH_P_IPV6 (host order) */
	uint32_t mark;         /* the packet's mark when it was queued */
	const uint8_t *data;   /* the IP packet, its first len bytes; valid during the callback */
	size_t len;
	size_t full_len;       /* the packet's whole length: more than len when the copy
				* range cut it */
};

/* Binds queue num for IPv4 and IPv6 packets (one binding takes every
 * family's packets), copying the first copy_range bytes of each packet
 * (1..NFQ_COPY_RANGE_MAX), at most maxlen packets waiting (at least 1; the
 * kernel drops those past it), fail-open explicitly off. The socket is
 * non-blocking and close-on-exec, its receive buffer sized for maxlen
 * packets (capped at 256 MiB). Needs CAP_NET_ADMIN. The configuration is
 * acknowledged by the kernel before this returns. Errors say what failed
 * and what to do: EPERM (no CAP_NET_ADMIN), EBUSY (another socket holds
 * the queue), EPROTONOSUPPORT (no nfnetlink_queue in the kernel), EINVAL
 * (arguments). */
struct nfq *nfq_open(uint16_t num, uint32_t copy_range, uint32_t maxlen, struct perr *err);

/* The socket to poll for input (POLLIN / EPOLLIN); POLLERR comes with an
 * overflow of its receive buffer, which nfq_receive reports (and clears). */
int nfq_fd(const struct nfq *q);

/* Reads what is pending on the socket, without blocking, and calls cb for
 * each queued packet, which cb (or the caller later) answers with
 * nfq_verdict; p and its data are valid during the call only. Returns the
 * number of packets handed to cb, 0 when none was pending; past 1024
 * datagrams it returns, the socket still readable, so that a
 * level-triggered poll brings the caller back. -1 with err when something
 * is to be reported, after every pending packet was handed over; the queue
 * goes on working, call again when the socket is readable:
 *   ENOBUFS   the socket's receive buffer overflowed: the kernel dropped
 *             the packets it could not hand over
 *   EBADMSG   a message from the kernel was not valid; its packet, when its
 *             id could be read, was dropped (NF_DROP)
 *   EMSGSIZE  a message did not fit the buffer (its packet waits until the
 *             queue is closed)
 *   another   the kernel refused a verdict (its error: ENOENT, no such
 *             packet waits; ...) or reading the socket failed.
 * err->msg says which, with counts when several happened. */
int nfq_receive(struct nfq *q, void (*cb)(const struct nfq_packet *p, void *arg), void *arg,
		struct perr *err);

/* The verdict for packet id: NF_ACCEPT, NF_DROP or NF_REPEAT (the packet
 * goes through the hook's rules again: set a mark that a rule before the
 * queue's accepts, or it comes back). With set_mark the packet's mark
 * becomes mark. Returns 0 once sent, or -1 with err (EINVAL: another
 * verdict; or the failed send). The kernel is not asked to acknowledge
 * verdicts: it reports the ones it refuses, which the next nfq_receive
 * returns. */
int nfq_verdict(struct nfq *q, uint32_t id, uint32_t verdict, bool set_mark, uint32_t mark,
		struct perr *err);

/* Closes the socket, which unbinds the queue: the kernel drops the
 * packets still waiting, and those that come after. NULL is allowed. */
void nfq_close(struct nfq *q);

/* --- one message, for the tests (pure) --- */

enum nfq_msg {
	NFQ_MSG_OTHER,   /* not a packet of this queue (acknowledgements, ...): pass over */
	NFQ_MSG_PACKET,  /* *p is set */
	NFQ_MSG_BAD,     /* a packet message that is not valid, err says why; p->id
			  * holds its id when has_id is true (answer it NF_DROP) */
};

/* Reads the message at nlh, whole (mnl_nlmsg_ok checked), sent for queue
 * num. A packet is valid when its message has a whole nfgenmsg of version
 * 0 for AF_INET or AF_INET6, each attribute it uses exactly once and of
 * its exact size, and the payload with a hw_protocol that matches the
 * family. p->data points into the message. */
enum nfq_msg nfq_parse_msg(const struct nlmsghdr *nlh, uint16_t num, struct nfq_packet *p,
			   bool *has_id, struct perr *err);

#endif
