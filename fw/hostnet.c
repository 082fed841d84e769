#include "hostnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RTF_GATEWAY_FLAG 0x0002 /* <linux/route.h>'s RTF_GATEWAY */

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* "Iface Destination Gateway Flags ...": the addresses are the kernel's
 * network-order 32 bits printed as one hexadecimal number in the host's
 * order, so the number's bytes in memory are the address's. */
int hostnet_route4_line(struct hostnet *h, const char *line)
{
	char iface[IF_NAMESIZE + 1];
	unsigned dst, gw, flags;
	if (sscanf(line, "%16s %8x %8x %x", iface, &dst, &gw, &flags) != 4)
		return 0;
	if (!(flags & RTF_GATEWAY_FLAG) || gw == 0)
		return 0;
	struct net_addr a = { .family = NET_V4, .prefix = 32 };
	uint32_t g = gw;
	memcpy(a.bytes, &g, 4);
	return hostnet_add(h, &a, HOST_GATEWAY, NULL);
}

static bool hex16(const char *s, uint8_t out[16])
{
	for (size_t i = 0; i < 16; i++) {
		unsigned v;
		char two[3] = { s[2 * i], s[2 * i + 1], '\0' };
		char *end;
		if (!two[0] || !two[1])
			return false;
		v = (unsigned)strtoul(two, &end, 16);
		if (*end)
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

/* "DEST DLEN SRC SLEN NEXTHOP METRIC REFCNT USE FLAGS IFACE", the
 * addresses as 32 hexadecimal digits in network order. */
int hostnet_route6_line(struct hostnet *h, const char *line)
{
	char dst[33], src[33], hop[33];
	unsigned dlen, slen;
	if (sscanf(line, "%32s %2x %32s %2x %32s", dst, &dlen, src, &slen, hop) != 5 ||
	    strlen(hop) != 32)
		return 0;
	struct net_addr a = { .family = NET_V6, .prefix = 128 };
	if (!hex16(hop, a.bytes) || all_zero(a.bytes, 16))
		return 0;
	return hostnet_add(h, &a, HOST_GATEWAY, NULL);
}

int hostnet_add_ifaddr(struct hostnet *h, const struct net_addr *a, unsigned prefix,
		       const struct net_addr *brd)
{
	unsigned total = net_bits(a->family);
	if (prefix > total)
		prefix = total;
	struct net_addr net = *a;
	net.prefix = (uint8_t)prefix;
	for (unsigned bit = prefix; bit < total; bit++)
		net.bytes[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	if (hostnet_add(h, a, HOST_OWN, &net) < 0)
		return -1;
	if (a->family != NET_V4)
		return 0;
	/* A /31 or /32 has no broadcast address (RFC 3021). */
	if (prefix <= 30) {
		struct net_addr b = net;
		b.prefix = 32;
		for (unsigned bit = prefix; bit < 32; bit++)
			b.bytes[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
		if (hostnet_add(h, &b, HOST_BROADCAST, &net) < 0)
			return -1;
	}
	if (brd && brd->family == NET_V4 && !all_zero(brd->bytes, 4) &&
	    hostnet_add(h, brd, HOST_BROADCAST, &net) < 0)
		return -1;
	return 0;
}

static unsigned mask_bits(const uint8_t *b, size_t n)
{
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t x = b[i];
		while (x & 0x80) {
			bits++;
			x = (uint8_t)(x << 1);
		}
		if (b[i] != 0xff)
			break;
	}
	return bits;
}

static bool sa_addr(const struct sockaddr *sa, struct net_addr *out)
{
	if (!sa)
		return false;
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		out->family = NET_V4;
		out->prefix = 32;
		memcpy(out->bytes, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		out->family = NET_V6;
		out->prefix = 128;
		memcpy(out->bytes, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

static int read_routes(struct hostnet *h, const char *path, bool may_be_absent,
		       int (*line_fn)(struct hostnet *, const char *), struct perr *err)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		if (may_be_absent && errno == ENOENT)
			return 0;
		return perr_code(err, errno, "cannot read %s for the container's gateways: %s; palisade "
				 "needs /proc mounted", path, strerror(errno));
	}
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	errno = 0;
	while (getline(&line, &cap, f) >= 0) {
		if (line_fn(h, line) < 0) {
			rc = perr_code(err, ENOMEM, "reading %s: out of memory", path);
			break;
		}
	}
	if (rc == 0 && ferror(f))
		rc = perr_sys(err, errno, "reading %s", path);
	free(line);
	fclose(f);
	return rc;
}

int hostnet_read(struct hostnet *h, struct perr *err)
{
	struct ifaddrs *ifs;
	if (getifaddrs(&ifs) < 0)
		return perr_sys(err, errno, "cannot list the container's addresses (getifaddrs)");
	int rc = 0;
	for (struct ifaddrs *i = ifs; i && rc == 0; i = i->ifa_next) {
		struct net_addr a, m, b;
		if (!sa_addr(i->ifa_addr, &a))
			continue;
		unsigned prefix = a.prefix;
		if (sa_addr(i->ifa_netmask, &m) && m.family == a.family)
			prefix = mask_bits(m.bytes, net_len(a.family));
		bool brd = (i->ifa_flags & IFF_BROADCAST) && sa_addr(i->ifa_broadaddr, &b) &&
			   b.family == NET_V4;
		if (hostnet_add_ifaddr(h, &a, prefix, brd ? &b : NULL) < 0)
			rc = perr_code(err, ENOMEM, "listing the container's addresses: out of memory");
	}
	freeifaddrs(ifs);
	if (rc < 0)
		return rc;
	if (read_routes(h, PROC_ROUTE4, false, hostnet_route4_line, err) < 0)
		return -1;
	/* No IPv6 in the kernel: no such file. */
	return read_routes(h, PROC_ROUTE6, true, hostnet_route6_line, err);
}
