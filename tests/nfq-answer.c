/* palisade-nfq-answer: answers the packets of an NFQUEUE queue by one rule,
 * for the nfqueue integration test.
 *
 *   palisade-nfq-answer [--copy BYTES] [--maxlen N] QUEUE RULE
 *
 * RULE: accept | drop | repeat-mark MARK | accept-mark MARK | hold (never
 * answers: the packets wait until the program exits, and the kernel drops
 * them) | accept-twice (a second verdict for each packet, which the kernel
 * refuses). MARK in hex (0x100) or decimal. Binds QUEUE (fw/nfqueue.c; copy
 * range 4096 and queue length 64 unless given), prints "ready", then one
 * line per packet, its TCP segment read by fw/segment.c:
 *
 *   packet id=3 family=4 src=127.0.0.1 dst=127.0.0.1 sport=40000 dport=443
 *     seq=1234 flags=0x18 mark=0x0 len=5 full=57 head=hello verdict=accept
 *
 * (one line; head: the payload's first 16 bytes, bytes outside '!'..'~' as
 * \xNN; full: the IP packet's whole length), or, when the packet holds no
 * TCP segment it can read:
 *
 *   unparsed id=3 hw=0x0800 len=28: REASON verdict=accept
 *
 * Runs until SIGTERM or SIGINT, then prints "done packets=N" and exits 0.
 * What nfq_receive reports goes to stderr as "warning: ..."; errors go to
 * stderr, with status 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fw/net.h"
#include "../fw/nfqueue.h"
#include "../fw/segment.h"
#include "../lib/text.h"

#define HEAD_MAX 16

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

struct answer {
	struct nfq *q;
	uint32_t verdict;
	bool set_mark, hold, twice;
	uint32_t mark;
	const char *name;    /* the rule, as printed */
	unsigned long packets;
	int failed;          /* errno of a failed write or verdict */
	char failure[1100];
};

static void print_head(struct text *t, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len && i < HEAD_MAX; i++) {
		if (p[i] > ' ' && p[i] <= '~' && p[i] != '\\')
			textf(t, "%c", p[i]);
		else
			textf(t, "\\x%02x", p[i]);
	}
}

static void on_packet(const struct nfq_packet *p, void *arg)
{
	struct answer *a = arg;
	a->packets++;
	char line[512];
	struct text t;
	text_init(&t, line, sizeof(line));
	struct tcp_segment s;
	struct perr err = PERR_INIT;
	if (segment_parse(p->data, p->len, &s, &err) == 0) {
		char src[NET_ADDR_STRLEN], dst[NET_ADDR_STRLEN];
		struct net_addr sa = net_host(s.family, s.src), da = net_host(s.family, s.dst);
		net_format(&sa, src, sizeof(src));
		net_format(&da, dst, sizeof(dst));
		textf(&t, "packet id=%" PRIu32 " family=%d src=%s dst=%s sport=%u dport=%u "
		      "seq=%" PRIu32 " flags=0x%02x mark=0x%" PRIx32 " len=%zu full=%zu head=",
		      p->id, (int)s.family, src, dst, s.sport, s.dport, s.seq, s.flags, p->mark,
		      s.len, p->full_len);
		print_head(&t, s.payload, s.len);
	} else {
		textf(&t, "unparsed id=%" PRIu32 " hw=0x%04x len=%zu: %s", p->id, p->hw_protocol,
		      p->len, err.msg);
	}
	textf(&t, " verdict=%s", a->name);
	if (printf("%s\n", line) < 0 || fflush(stdout) == EOF) {
		a->failed = errno ? errno : EIO;
		snprintf(a->failure, sizeof(a->failure), "stdout: %s", strerror(a->failed));
	}
	if (a->hold)
		return;
	for (int i = 0; i < (a->twice ? 2 : 1); i++) {
		if (nfq_verdict(a->q, p->id, a->verdict, a->set_mark, a->mark, &err) < 0) {
			a->failed = err.err;
			snprintf(a->failure, sizeof(a->failure), "%s", err.msg);
			return;
		}
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: palisade-nfq-answer [--copy BYTES] [--maxlen N] QUEUE "
		"accept|drop|repeat-mark MARK|accept-mark MARK|hold|accept-twice\n");
	return 1;
}

int main(int argc, char **argv)
{
	uint32_t copy = 4096, maxlen = 64, num;
	int i = 1;
	for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--copy")) {
			if (parse_u32(argv[i + 1], UINT32_MAX, &copy) < 0)
				return usage();
		} else if (!strcmp(argv[i], "--maxlen")) {
			if (parse_u32(argv[i + 1], UINT32_MAX, &maxlen) < 0)
				return usage();
		} else {
			return usage();
		}
	}
	if (argc - i < 2 || parse_u32(argv[i], UINT16_MAX, &num) < 0)
		return usage();
	struct answer a;
	memset(&a, 0, sizeof(a));
	const char *rule = argv[i + 1];
	char name[64];
	snprintf(name, sizeof(name), "%s", rule);
	if (!strcmp(rule, "accept") && argc - i == 2) {
		a.verdict = NF_ACCEPT;
	} else if (!strcmp(rule, "drop") && argc - i == 2) {
		a.verdict = NF_DROP;
	} else if (!strcmp(rule, "accept-twice") && argc - i == 2) {
		a.verdict = NF_ACCEPT;
		a.twice = true;
	} else if (!strcmp(rule, "hold") && argc - i == 2) {
		a.hold = true;
	} else if ((!strcmp(rule, "repeat-mark") || !strcmp(rule, "accept-mark")) &&
		   argc - i == 3 && parse_u32(argv[i + 2], UINT32_MAX, &a.mark) == 0) {
		a.verdict = rule[0] == 'r' ? NF_REPEAT : NF_ACCEPT;
		a.set_mark = true;
		snprintf(name, sizeof(name), "%s:0x%" PRIx32, rule, a.mark);
	} else {
		return usage();
	}
	a.name = name;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) {
		perror("palisade-nfq-answer: sigaction");
		return 1;
	}

	struct perr err = PERR_INIT;
	a.q = nfq_open((uint16_t)num, copy, maxlen, &err);
	if (!a.q) {
		fprintf(stderr, "palisade-nfq-answer: %s\n", err.msg);
		return 1;
	}
	if (printf("ready\n") < 0 || fflush(stdout) == EOF) {
		perror("palisade-nfq-answer: stdout");
		nfq_close(a.q);
		return 1;
	}
	int rc = 0;
	while (!stop) {
		struct pollfd p = { .fd = nfq_fd(a.q), .events = POLLIN };
		int n = poll(&p, 1, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("palisade-nfq-answer: poll");
			rc = 1;
			break;
		}
		/* POLLERR is an overflow, which nfq_receive reports. */
		if (p.revents & POLLNVAL) {
			fprintf(stderr, "palisade-nfq-answer: the socket is not open\n");
			rc = 1;
			break;
		}
		err = (struct perr)PERR_INIT;
		if (nfq_receive(a.q, on_packet, &a, &err) < 0)
			fprintf(stderr, "warning: %s\n", err.msg);
		if (a.failed) {
			fprintf(stderr, "palisade-nfq-answer: %s\n", a.failure);
			rc = 1;
			break;
		}
	}
	nfq_close(a.q);
	if (printf("done packets=%lu\n", a.packets) < 0 || fflush(stdout) == EOF)
		rc = 1;
	return rc;
}
