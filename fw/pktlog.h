/* The packet log: the packets that palisade's rules send to an NFLOG group
 * before rejecting them, read from the kernel with libnl-nf-3. (pktlog_*,
 * not nflog_*, which is libnetfilter_log's.) */
#ifndef PALISADE_PKTLOG_H
#define PALISADE_PKTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/err.h"
#include "net.h"

#define PKTLOG_PREFIX_MAX 64

struct pktlog_event {
	enum net_family family;
	uint8_t proto;                  /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6, or another */
	struct net_addr src, dst;       /* hosts */
	uint16_t sport, dport;          /* TCP and UDP only, else 0 */
	bool has_uid;
	uint32_t uid;                   /* the sending socket's owner, when the kernel gave it */
	char prefix[PKTLOG_PREFIX_MAX];  /* the rule's --nflog-prefix, "" when none */
};

/* Parses the IP header of a logged packet (IPv4, or IPv6 with its
 * extension headers skipped) and, for TCP and UDP, the ports. ev's family,
 * proto, src, dst, sport and dport are set. Returns 0, or -1 when the packet
 * is too short or not IPv4/IPv6. Pure. */
int pktlog_parse_packet(const uint8_t *pkt, size_t len, struct pktlog_event *ev);

struct pktlog;

/* Binds NFLOG group `group` for IPv4 and IPv6 (copying the first 128 bytes
 * of each packet, asking for the sender's uid), non-blocking. Needs
 * CAP_NET_ADMIN. Errors say what failed and what to do. */
struct pktlog *pktlog_open(uint16_t group, struct perr *err);
/* The socket to poll for input. */
int pktlog_fd(const struct pktlog *l);
/* Reads every event pending on the socket, without blocking, calling fn for
 * each one it could parse. Returns the number of events, or -1 with err
 * (a lost message because the socket buffer overflowed is not an error: it
 * is counted in *dropped when dropped is not NULL; the kernel reports each
 * overflow once, however many events it lost). Under a flood it
 * returns after a bounded number of messages, the socket still readable,
 * so that a level-triggered poll calls it again. */
int pktlog_read(struct pktlog *l, void (*fn)(void *ctx, const struct pktlog_event *ev),
	       void *ctx, size_t *dropped, struct perr *err);
void pktlog_close(struct pktlog *l);

#endif
