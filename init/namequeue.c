#include "namequeue.h"

#include <linux/netfilter.h>
#include <sys/epoll.h>
#include <stdlib.h>
#include <string.h>

#include "../fw/nfqueue.h"
#include "../fw/rules.h"
#include "../fw/segment.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "namecheck.h"

/* A ClientHello is at most 16 KiB; a segment carries at most 64 KiB. */
#define COPY_RANGE NFQ_COPY_RANGE_MAX
/* Packets the kernel holds for PID 1 at most; more are dropped (no
 * bypass). */
#define QUEUE_MAXLEN 1024

struct namequeue {
	struct dnsfilter *filter;
	struct nfq *nfq;
	struct namecheck *check;
	unsigned long long failed;   /* verdicts the kernel refused */
	uint64_t warned_ms;          /* the last warning about the queue */
	unsigned long long unsaid;   /* warnings held back since */
};

static bool literal(void *ctx, const struct net_addr *addr)
{
	struct namequeue *q = ctx;
	return dnsfilter_literal(q->filter, addr);
}

static bool allowed(void *ctx, const char *name)
{
	struct namequeue *q = ctx;
	return dnsfilter_name_allowed(q->filter, name);
}

static void verdict(void *ctx, uint32_t id, enum namecheck_verdict v)
{
	struct namequeue *q = ctx;
	struct perr err = PERR_INIT;
	int rc;
	switch (v) {
	case NAMECHECK_PASS:
		rc = nfq_verdict(q->nfq, id, NF_ACCEPT, false, 0, &err);
		break;
	case NAMECHECK_ALLOW:
		rc = nfq_verdict(q->nfq, id, NF_REPEAT, true, MARK_OK, &err);
		break;
	case NAMECHECK_REFUSE:
		rc = nfq_verdict(q->nfq, id, NF_REPEAT, true, MARK_REFUSE, &err);
		break;
	case NAMECHECK_RECHECK:
		rc = nfq_verdict(q->nfq, id, NF_REPEAT, true, MARK_RECHECK, &err);
		break;
	case NAMECHECK_DROP:
	default:
		rc = nfq_verdict(q->nfq, id, NF_DROP, false, 0, &err);
		break;
	}
	/* The packet stays in the kernel's queue: dropped when the queue
	 * goes, never let through. */
	if (rc < 0 && q->failed++ == 0)
		log_warn("name check: %s", err.msg);
}

static void checked(void *ctx, const struct namecheck_packet *first, const char *name,
		    bool refused, const char *why)
{
	struct namequeue *q = ctx;
	dnsfilter_on_checked(q->filter, first, name, refused, why);
}

static const struct namecheck_ops check_ops = { literal, allowed, verdict, checked };

static void to_addr(struct net_addr *a, enum net_family f, const uint8_t *bytes)
{
	memset(a, 0, sizeof(*a));
	a->family = f;
	a->prefix = f == NET_V4 ? 32 : 128;
	memcpy(a->bytes, bytes, f == NET_V4 ? 4 : 16);
}

static void on_packet(const struct nfq_packet *qp, void *arg)
{
	struct namequeue *q = arg;
	struct tcp_segment s;
	struct perr err = PERR_INIT;
	if (segment_parse(qp->data, qp->len, &s, &err) < 0) {
		/* Not what the fence queues: nothing to read a name from. */
		log_debug("name check: dropped a queued packet: %s", err.msg);
		verdict(q, qp->id, NAMECHECK_DROP);
		return;
	}
	struct namecheck_packet p = {
		.proto = s.proto, .sport = s.sport, .dport = s.dport, .seq = s.seq,
		.recheck = (qp->mark & MARK_RECHECK) != 0, .data = s.payload, .len = s.len,
	};
	to_addr(&p.src, s.family, s.src);
	to_addr(&p.dst, s.family, s.dst);
	namecheck_packet(q->check, qp->id, &p, clock_ms());
}

static void on_readable(void *arg, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	struct namequeue *q = arg;
	struct perr err = PERR_INIT;
	if (nfq_receive(q->nfq, on_packet, q, &err) == 0 || err.err == 0)
		return;
	/* An agent that floods the queue overflows it again and again: one
	 * line in 10 s, with the count of those not said. */
	uint64_t now = clock_ms();
	if (q->warned_ms && now - q->warned_ms < 10000) {
		q->unsaid++;
		return;
	}
	if (q->unsaid)
		log_warn("name check: %s (and %llu more such reports)", err.msg, q->unsaid);
	else
		log_warn("name check: %s", err.msg);
	q->warned_ms = now;
	q->unsaid = 0;
}

struct namequeue *namequeue_open(struct dnsfilter *f, bool audit, struct perr *err)
{
	struct namequeue *q = calloc(1, sizeof(*q));
	if (!q) {
		perr_code(err, ENOMEM, "out of memory");
		return NULL;
	}
	q->filter = f;
	q->check = namecheck_new(&check_ops, q, audit);
	if (!q->check) {
		perr_code(err, ENOMEM, "out of memory");
		namequeue_close(q);
		return NULL;
	}
	q->nfq = nfq_open(NAMECHECK_QUEUE, COPY_RANGE, QUEUE_MAXLEN, err);
	if (!q->nfq) {
		perr_prefix(err, "name check: cannot listen on the fence's queue %d; run with "
			    "--no-name-check to go without it", NAMECHECK_QUEUE);
		namequeue_close(q);
		return NULL;
	}
	return q;
}

void namequeue_close(struct namequeue *q)
{
	if (!q)
		return;
	nfq_close(q->nfq);
	namecheck_free(q->check);
	free(q);
}

int namequeue_attach(struct namequeue *q, struct loop *loop, struct perr *err)
{
	return loop_add(loop, nfq_fd(q->nfq), EPOLLIN, on_readable, q, err);
}

void namequeue_tick(struct namequeue *q)
{
	namecheck_tick(q->check, clock_ms());
}
