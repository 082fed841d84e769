#include "segment.h"

#include <netinet/in.h>
#include <string.h>

#include "../lib/bytes.h"

#define IPV4_HDR_MIN 20
#define IPV6_HDR 40
#define TCP_HDR_MIN 20
#define UDP_HDR 8

/* The UDP header at off, in a packet that ends at end: its length may not
 * pass the packet's. */
static int parse_udp(const uint8_t *pkt, size_t off, size_t end, struct tcp_segment *s,
		     struct perr *err)
{
	size_t avail = end - off;
	if (avail < UDP_HDR)
		return perr_set(err, "UDP header cut off: %zu bytes of the %d it needs", avail,
				UDP_HDR);
	const uint8_t *u = pkt + off;
	size_t ulen = get16(u + 4);
	if (ulen < UDP_HDR || ulen > avail)
		return perr_set(err, "UDP length %zu is not within %d..%zu", ulen, UDP_HDR, avail);
	s->proto = IPPROTO_UDP;
	s->sport = get16(u);
	s->dport = get16(u + 2);
	s->len = ulen - UDP_HDR;
	s->payload = s->len ? u + UDP_HDR : NULL;
	return 0;
}

/* The TCP (or UDP) header at off, in a packet that ends at end. */
static int parse_tcp(const uint8_t *pkt, size_t off, size_t end, struct tcp_segment *s,
		     struct perr *err)
{
	if (s->proto == IPPROTO_UDP)
		return parse_udp(pkt, off, end, s, err);
	size_t avail = end - off;
	if (avail < TCP_HDR_MIN)
		return perr_set(err, "TCP header cut off: %zu bytes of the %d it needs at least",
				avail, TCP_HDR_MIN);
	const uint8_t *t = pkt + off;
	size_t doff = (size_t)(t[12] >> 4) * 4;
	if (doff < TCP_HDR_MIN)
		return perr_set(err, "TCP data offset %zu is below %d", doff, TCP_HDR_MIN);
	if (doff > avail)
		return perr_set(err, "TCP data offset %zu is past the segment's %zu bytes", doff,
				avail);
	s->sport = get16(t);
	s->dport = get16(t + 2);
	s->seq = get32(t + 4);
	s->flags = t[13];
	s->len = avail - doff;
	s->payload = s->len ? t + doff : NULL;
	return 0;
}

static int parse_v4(const uint8_t *pkt, size_t len, struct tcp_segment *s, struct perr *err)
{
	if (len < IPV4_HDR_MIN)
		return perr_set(err, "IPv4 header cut off: %zu bytes of the %d it needs", len,
				IPV4_HDR_MIN);
	size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
	size_t total = get16(pkt + 2);
	if (ihl < IPV4_HDR_MIN)
		return perr_set(err, "IPv4 header length %zu is below %d", ihl, IPV4_HDR_MIN);
	if (total < ihl)
		return perr_set(err, "IPv4 total length %zu is below its header length %zu", total,
				ihl);
	if (total > len)
		return perr_code(err, EMSGSIZE, "IPv4 total length %zu is past the %zu bytes given "
				 "(a copy cut short)", total, len);
	uint16_t frag = get16(pkt + 6);
	if (frag & 0x3fff)
		return perr_code(err, EPROTONOSUPPORT, "an IPv4 fragment (%s, offset %u)",
				 frag & 0x2000 ? "more fragments" : "the last one",
				 (unsigned)(frag & 0x1fff) * 8);
	if (pkt[9] != IPPROTO_TCP && pkt[9] != IPPROTO_UDP)
		return perr_code(err, EPROTONOSUPPORT, "IPv4 protocol %u, not TCP (6) or UDP (17)",
				 pkt[9]);
	s->proto = pkt[9];
	s->family = NET_V4;
	memcpy(s->src, pkt + 12, 4);
	memcpy(s->dst, pkt + 16, 4);
	return parse_tcp(pkt, ihl, total, s, err);
}

static int parse_v6(const uint8_t *pkt, size_t len, struct tcp_segment *s, struct perr *err)
{
	if (len < IPV6_HDR)
		return perr_set(err, "IPv6 header cut off: %zu bytes of the %d it needs", len,
				IPV6_HDR);
	size_t end = IPV6_HDR + (size_t)get16(pkt + 4);
	if (end > len)
		return perr_code(err, EMSGSIZE, "IPv6 payload length %zu is past the %zu bytes "
				 "given (a copy cut short)", end - IPV6_HDR, len - IPV6_HDR);
	uint8_t next = pkt[6];
	size_t off = IPV6_HDR;
	for (int n = 0;; n++) {
		switch (next) {
		case IPPROTO_TCP:
		case IPPROTO_UDP:
			s->proto = next;
			s->family = NET_V6;
			memcpy(s->src, pkt + 8, 16);
			memcpy(s->dst, pkt + 24, 16);
			return parse_tcp(pkt, off, end, s, err);
		case IPPROTO_HOPOPTS:
			/* RFC 8200: only right after the IPv6 header. */
			if (n > 0)
				return perr_set(err, "IPv6 hop-by-hop options after another "
						"extension header");
			/* fall through */
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS: {
			if (n == SEGMENT_IPV6_EXT_MAX)
				return perr_code(err, EPROTONOSUPPORT, "more than %d IPv6 extension "
						 "headers", SEGMENT_IPV6_EXT_MAX);
			if (end - off < 2)
				return perr_set(err, "IPv6 extension header %u cut off at byte %zu",
						next, off);
			size_t hlen = ((size_t)pkt[off + 1] + 1) * 8;
			if (hlen > end - off)
				return perr_set(err, "IPv6 extension header %u of %zu bytes is past "
						"the packet's end (%zu bytes left)", next, hlen,
						end - off);
			next = pkt[off];
			off += hlen;
			break;
		}
		case IPPROTO_FRAGMENT:
			return perr_code(err, EPROTONOSUPPORT, "an IPv6 fragment");
		default:
			return perr_code(err, EPROTONOSUPPORT, "IPv6 next header %u, not TCP (6) or "
					 "UDP (17)", next);
		}
	}
}

int segment_parse(const uint8_t *pkt, size_t len, struct tcp_segment *out, struct perr *err)
{
	if (!pkt || len == 0)
		return perr_set(err, "an empty packet");
	struct tcp_segment s;
	memset(&s, 0, sizeof(s));
	int rc;
	switch (pkt[0] >> 4) {
	case 4:
		rc = parse_v4(pkt, len, &s, err);
		break;
	case 6:
		rc = parse_v6(pkt, len, &s, err);
		break;
	default:
		return perr_set(err, "IP version %u, not 4 or 6", pkt[0] >> 4);
	}
	if (rc < 0)
		return -1;
	*out = s;
	return 0;
}
