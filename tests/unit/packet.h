/* IP packets built byte by byte, for the tests of the packet parsers
 * (test_nflog.c, test_segment.c). Include after cmocka.h. */
#ifndef PALISADE_TEST_PACKET_H
#define PALISADE_TEST_PACKET_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../lib/bytes.h"

/* A packet under construction. */
struct pkt {
	uint8_t b[512];
	size_t len;
};

static inline void add(struct pkt *p, const void *data, size_t n)
{
	assert_true(p->len + n <= sizeof(p->b));
	memcpy(p->b + p->len, data, n);
	p->len += n;
}

/* An IPv4 header from 10.1.0.2 to 10.1.0.9 with `optlen` bytes of options
 * (a multiple of 4), for a payload of `payload` bytes. */
static inline void ip4(struct pkt *p, uint8_t proto, size_t optlen, size_t payload,
		       uint16_t frag)
{
	uint8_t h[60] = { 0 };
	size_t ihl = 20 + optlen;
	h[0] = (uint8_t)(0x40 | ihl / 4);
	put16(h + 2, (uint16_t)(ihl + payload));
	put16(h + 6, frag);
	h[8] = 64;
	h[9] = proto;
	const uint8_t src[4] = { 10, 1, 0, 2 }, dst[4] = { 10, 1, 0, 9 };
	memcpy(h + 12, src, 4);
	memcpy(h + 16, dst, 4);
	for (size_t i = 0; i < optlen; i++)
		h[20 + i] = 1; /* NOP options */
	add(p, h, ihl);
}

/* An IPv6 header from fd99::1 to fd99::9. */
static inline void ip6(struct pkt *p, uint8_t next, size_t payload)
{
	uint8_t h[40] = { 0 };
	h[0] = 0x60;
	put16(h + 4, (uint16_t)payload);
	h[6] = next;
	h[7] = 64;
	h[8] = 0xfd;
	h[9] = 0x99;
	h[23] = 1;  /* fd99::1 */
	h[24] = 0xfd;
	h[25] = 0x99;
	h[39] = 9;  /* fd99::9 */
	add(p, h, sizeof(h));
}

/* An extension header of `len` bytes (a multiple of 8) with next header
 * `next`. */
static inline void ext(struct pkt *p, uint8_t next, size_t len)
{
	uint8_t h[64] = { 0 };
	assert_true(len >= 8 && len % 8 == 0 && len <= sizeof(h));
	h[0] = next;
	h[1] = (uint8_t)(len / 8 - 1);
	add(p, h, len);
}

#endif
