/* The name check: which server a connection to an allowed address asks
 * for. An IP fence allows addresses, and a CDN serves thousands of names
 * from each: the fence lets a new TCP connection to port 80, 443 (or a
 * NAME:PORT/tls entry's port) through and holds its first data in the
 * kernel's queue (fw/rules.h); this module reads the TLS ClientHello's
 * server name (fw/tlshello.h) or, on port 80, the HTTP Host header
 * (fw/httphost.h) from those segments, reassembled up to a bound, and
 * decides for the whole connection: allowed when the name is, refused
 * (reset) otherwise, or when no name can be read. A UDP 443 (QUIC) flow
 * to a name's address is refused, so that the client falls back to TCP,
 * where the name is read. Addresses the allowlist gives as addresses or
 * CIDRs are not checked.
 *
 * No I/O and no clock: the caller passes each queued packet and the time,
 * and hears the verdicts through ops. */
#ifndef PALISADE_NAMECHECK_H
#define PALISADE_NAMECHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../fw/net.h"
#include "../lib/err.h"

#define NAMECHECK_PENDING_MAX 64   /* connections whose first bytes are held */
#define NAMECHECK_HELD_MAX 32      /* segments held for one connection */
#define NAMECHECK_WAIT_MS 5000     /* a connection's name must come within this */
#define NAMECHECK_DECIDED_MAX 256  /* flows decided lately, whose packets are rechecked */
#define NAMECHECK_DECIDED_MS 30000 /* for that long */

enum namecheck_verdict {
	NAMECHECK_PASS,    /* this packet alone: it carries no data */
	NAMECHECK_ALLOW,   /* the connection is checked and allowed */
	NAMECHECK_REFUSE,  /* the connection is refused: reset (TCP), unreachable (UDP) */
	NAMECHECK_DROP,    /* this packet is dropped: no room to hold it now */
	NAMECHECK_RECHECK, /* this packet goes back for its connection's mark to decide:
			    * one of a connection decided already; it comes back
			    * (recheck set) when its connection still waits */
};

/* A queued packet's parts (fw/segment.h parses them). */
struct namecheck_packet {
	uint8_t proto;             /* PROTO_TCP or PROTO_UDP */
	struct net_addr src, dst;  /* host addresses */
	uint16_t sport, dport;
	uint32_t seq;              /* TCP */
	bool recheck;              /* sent back with NAMECHECK_RECHECK, and queued again */
	const uint8_t *data;       /* the payload */
	size_t len;
};

struct namecheck_ops {
	/* Whether the allowlist names addr as an address or CIDR. */
	bool (*literal)(void *ctx, const struct net_addr *addr);
	/* Whether name (lower case) is allowed. */
	bool (*allowed)(void *ctx, const char *name);
	/* The verdict for queued packet id. */
	void (*verdict)(void *ctx, uint32_t id, enum namecheck_verdict v);
	/* A connection checked: its name (NULL when none could be read),
	 * whether it was allowed, and for a refusal why. In audit mode a
	 * connection the check would refuse is allowed, with refused set. */
	void (*checked)(void *ctx, const struct namecheck_packet *first, const char *name,
			bool refused, const char *why);
};

struct namecheck;

/* NULL when out of memory. */
struct namecheck *namecheck_new(const struct namecheck_ops *ops, void *ctx, bool audit);
void namecheck_free(struct namecheck *nc);

/* One queued packet, id the queue's, at now (monotonic ms). */
void namecheck_packet(struct namecheck *nc, uint32_t id, const struct namecheck_packet *p,
		      uint64_t now);

/* Refuses the connections that have waited NAMECHECK_WAIT_MS for their
 * name, and forgets old decisions. */
void namecheck_tick(struct namecheck *nc, uint64_t now);

/* How many connections are waiting for their name now. */
size_t namecheck_pending(const struct namecheck *nc);

#endif
