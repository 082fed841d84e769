/* The transport of palisade's DNS filter: listens on the loopback
 * addresses, port 53, UDP and TCP; hands each query to the caller to
 * decide; forwards allowed queries to the upstream resolvers (UDP for UDP
 * clients, TCP for TCP clients) and hands each answer to the caller before
 * passing it back. What is allowed, and what an answer changes, is the
 * caller's business. One thread, non-blocking, driven by PID 1's loop. */
#ifndef PALISADE_DNSPROXY_H
#define PALISADE_DNSPROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/err.h"
#include "../lib/loop.h"
#include "dnsmsg.h"
#include "net.h"

#define DNSPROXY_UPSTREAMS_MAX 16
#define DNSPROXY_PENDING_MAX 512   /* forwarded queries waiting for an answer */
#define DNSPROXY_TCP_MAX 32        /* client connections at once */
#define DNSPROXY_TRY_MS 1000       /* one upstream's time to answer */
#define DNSPROXY_IDLE_MS 10000     /* an idle client connection is closed */

struct dnsproxy_ops {
	/* true: forward the query; false: answer NXDOMAIN. */
	bool (*decide)(void *ctx, const struct dns_query *q, bool tcp);
	/* A forwarded query's answer, parsed, before it is passed back.
	 * Returns 0, or -1 to answer SERVFAIL instead (the fence could not
	 * be updated). */
	int (*answered)(void *ctx, const struct dns_query *q, const struct dns_answer *a);
	/* No upstream answered, or the answer was malformed: the client
	 * gets SERVFAIL. */
	void (*failed)(void *ctx, const struct dns_query *q, const char *why);
};

struct dnsproxy;

/* Binds 127.0.0.1:53 and, when with_v6, [::1]:53 (UDP and TCP). The
 * upstreams must not be those addresses; with none, allowed names get
 * SERVFAIL. Needs to run as root (port 53). */
struct dnsproxy *dnsproxy_open(const struct net_addr *upstreams, size_t n, bool with_v6,
			       struct perr *err);
/* Whether [::1]:53 is served (IPv6 may be off in the container). */
bool dnsproxy_has_v6(const struct dnsproxy *p);
int dnsproxy_attach(struct dnsproxy *p, struct loop *l, const struct dnsproxy_ops *ops,
		    void *ctx, struct perr *err);
/* Retries or fails queries whose upstream is late, closes idle
 * connections. Call after every pass of the loop. */
void dnsproxy_tick(struct dnsproxy *p);
void dnsproxy_close(struct dnsproxy *p);

#endif
