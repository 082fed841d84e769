/* A TCP segment (or UDP datagram) read out of the IP packet that carries
 * it: the first data of a connection, as the packet queue hands it over.
 * Pure code. */
#ifndef PALISADE_SEGMENT_H
#define PALISADE_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/err.h"
#include "net.h"

/* TCP's flags (the header's 14th byte; linux/tcp.h's TCP_FLAG_* are
 * another thing). */
#define SEG_FIN 0x01
#define SEG_SYN 0x02
#define SEG_RST 0x04
#define SEG_PSH 0x08
#define SEG_ACK 0x10
#define SEG_URG 0x20

/* Extension headers (hop-by-hop, routing, destination options) that
 * segment_parse passes over before it gives up on an IPv6 packet. */
#define SEGMENT_IPV6_EXT_MAX 8

struct tcp_segment {
	enum net_family family;
	uint8_t proto;             /* IPPROTO_TCP, or IPPROTO_UDP (no seq nor flags) */
	uint8_t src[16], dst[16];  /* network order; IPv4 uses the first 4 bytes */
	uint16_t sport, dport;
	uint32_t seq;
	uint8_t flags;             /* SEG_* */
	const uint8_t *payload;    /* inside the packet given; NULL when len is 0 */
	size_t len;                /* the data after the TCP header and its options */
};

/* Reads the TCP segment of an IPv4 or IPv6 packet of len bytes at pkt.
 * The packet ends where its IP header says (IPv4's total length, IPv6's
 * payload length), not at len: bytes after it are no part of the segment.
 * Returns 0 with *out set, or -1 with err (may be NULL), out untouched:
 *   EMSGSIZE        the IP header says the packet is longer than len: a
 *                   copy cut short (the queue's copy range)
 *   EPROTONOSUPPORT the packet is well formed but carries no TCP header to
 *                   read: another protocol, a fragment, an extension header
 *                   other than hop-by-hop, routing and destination options,
 *                   or more than SEGMENT_IPV6_EXT_MAX of those
 *   EINVAL          anything else that is not a valid IPv4 or IPv6 packet
 *                   with a whole TCP header. */
int segment_parse(const uint8_t *pkt, size_t len, struct tcp_segment *out, struct perr *err);

#endif
