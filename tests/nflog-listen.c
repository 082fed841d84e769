/* palisade-nflog-listen: prints the events of an NFLOG group, for the nflog
 * integration test.
 *
 *   palisade-nflog-listen GROUP MILLISECONDS
 *
 * Binds GROUP, prints "ready" once bound, then one line per event for
 * MILLISECONDS:
 *
 *   event proto=tcp src=10.1.0.2 dst=10.1.0.9 sport=40000 dport=443 uid=1000 prefix=palisade-block
 *
 * and exits 0. Errors go to stderr, with status 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../fw/net.h"
#include "../fw/pktlog.h"

static long now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) {
		perror("palisade-nflog-listen: clock_gettime");
		exit(1);
	}
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int parse_num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static void proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP: snprintf(buf, len, "tcp"); break;
	case IPPROTO_UDP: snprintf(buf, len, "udp"); break;
	case IPPROTO_ICMP: snprintf(buf, len, "icmp"); break;
	case IPPROTO_ICMPV6: snprintf(buf, len, "icmpv6"); break;
	default: snprintf(buf, len, "%u", proto); break;
	}
}

struct out {
	int failed;
};

static void print_event(void *ctx, const struct pktlog_event *ev)
{
	struct out *o = ctx;
	char proto[8], src[NET_ADDR_STRLEN], dst[NET_ADDR_STRLEN], uid[16];
	proto_name(ev->proto, proto, sizeof(proto));
	net_format(&ev->src, src, sizeof(src));
	net_format(&ev->dst, dst, sizeof(dst));
	if (ev->has_uid)
		snprintf(uid, sizeof(uid), "%" PRIu32, ev->uid);
	else
		snprintf(uid, sizeof(uid), "-");
	if (printf("event proto=%s src=%s dst=%s sport=%u dport=%u uid=%s prefix=%s\n",
		   proto, src, dst, ev->sport, ev->dport, uid, ev->prefix) < 0 ||
	    fflush(stdout) == EOF)
		o->failed = errno ? errno : EIO;
}

int main(int argc, char **argv)
{
	unsigned long group, ms;
	if (argc != 3 || parse_num(argv[1], UINT16_MAX, &group) < 0 ||
	    parse_num(argv[2], LONG_MAX / 2, &ms) < 0) {
		fprintf(stderr, "usage: palisade-nflog-listen GROUP MILLISECONDS\n");
		return 1;
	}
	struct perr err = PERR_INIT;
	struct pktlog *l = pktlog_open((uint16_t)group, &err);
	if (!l) {
		fprintf(stderr, "palisade-nflog-listen: %s\n", err.msg);
		return 1;
	}
	if (printf("ready\n") < 0 || fflush(stdout) == EOF) {
		perror("palisade-nflog-listen: stdout");
		pktlog_close(l);
		return 1;
	}

	struct out o = { 0 };
	size_t dropped = 0;
	long end = now_ms() + (long)ms;
	int rc = 0;
	for (;;) {
		long left = end - now_ms();
		if (left <= 0)
			break;
		struct pollfd p = { .fd = pktlog_fd(l), .events = POLLIN };
		int n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("palisade-nflog-listen: poll");
			rc = 1;
			break;
		}
		if (n == 0)
			continue;
		if (pktlog_read(l, print_event, &o, &dropped, &err) < 0) {
			fprintf(stderr, "palisade-nflog-listen: %s\n", err.msg);
			rc = 1;
			break;
		}
		if (o.failed) {
			fprintf(stderr, "palisade-nflog-listen: stdout: %s\n", strerror(o.failed));
			rc = 1;
			break;
		}
	}
	if (dropped)
		fprintf(stderr, "palisade-nflog-listen: the socket buffer overflowed %zu times: "
			"events were lost\n", dropped);
	pktlog_close(l);
	return rc;
}
