/* The transport of palisade's DNS filter: listens on the loopback
 * addresses, port 53, UDP and TCP, on sockets no one else can bind next to;
 * hands each query to the caller to decide; forwards allowed queries to
 * the upstream resolvers (UDP for UDP clients, TCP for TCP clients) and
 * hands each answer to the caller before passing it back. What is allowed,
 * and what an answer changes, is the caller's business. One thread,
 * non-blocking, driven by PID 1's loop.
 *
 * What reaches an upstream is rebuilt from the parsed question, never the
 * client's bytes (dns_build_query): a fresh random ID, RD and CD, the name
 * in lowercase, class IN only, palisade's own OPT record. Each try of a
 * query has a socket of its own, connected to the upstream, on a port the
 * kernel picks at random (a TCP connection for TCP); a message on it that
 * does not answer the query is dropped and the query goes on waiting. The
 * answer goes back with the client's ID and question. */
#ifndef PALISADE_DNSPROXY_H
#define PALISADE_DNSPROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../fw/net.h"
#include "../lib/err.h"
#include "../lib/loop.h"
#include "dnsmsg.h"

#define DNSPROXY_UPSTREAMS_MAX 16
#define DNSPROXY_PENDING_MAX 512   /* forwarded queries waiting for an answer */
#define DNSPROXY_TCP_MAX 32        /* client connections at once */
#define DNSPROXY_TRY_MS 1000       /* one upstream's time to answer */
#define DNSPROXY_IDLE_MS 10000     /* an idle client connection is closed */

struct dnsproxy_ops {
	/* true: forward the query; false: answer NXDOMAIN. */
	bool (*decide)(void *ctx, const struct dns_query *q);
	/* A forwarded query's answer, parsed, before it is passed back.
	 * Returns 0, or -1 to answer SERVFAIL instead (the fence could not
	 * be updated). *cache_for (0 on entry) is how many seconds at most
	 * the answer may be served from the cache: set it only for an answer
	 * the policy allowed and whose addresses the fence holds for that
	 * long at least. */
	int (*answered)(void *ctx, const struct dns_query *q, const struct dns_answer *a,
			uint32_t *cache_for);
	/* q, which decide allowed, was answered from the cache. May be
	 * NULL. */
	void (*cache_hit)(void *ctx, const struct dns_query *q);
	/* No upstream answered: the client gets SERVFAIL. */
	void (*failed)(void *ctx, const struct dns_query *q, const char *why);
	/* A message from the upstream that does not answer q (another ID
	 * or question, not a response, malformed) was dropped; q goes on
	 * waiting for the answer. May be NULL. */
	void (*dropped)(void *ctx, const struct dns_query *q, const char *why);
};

struct dnsproxy;

/* Binds 127.0.0.1:53 and, when with_v6, [::1]:53 (UDP and TCP). Class IN
 * queries are forwarded; others get NOTIMP. Answers are cached in at most
 * cache_entries entries (dns/dnscache.h; 0: no cache). The
 * upstreams must not be those addresses; with none, allowed names get
 * SERVFAIL. Needs to run as root (port 53). */
struct dnsproxy *dnsproxy_open(const struct net_addr *upstreams, size_t n, bool with_v6,
			       size_t cache_entries, struct perr *err);
/* Whether [::1]:53 is served (IPv6 may be off in the container). */
bool dnsproxy_has_v6(const struct dnsproxy *p);
int dnsproxy_attach(struct dnsproxy *p, struct loop *l, const struct dnsproxy_ops *ops,
		    void *ctx, struct perr *err);
/* Retries or fails queries whose upstream is late, closes idle
 * connections. Call after every pass of the loop. */
void dnsproxy_tick(struct dnsproxy *p);
void dnsproxy_close(struct dnsproxy *p);

#endif
