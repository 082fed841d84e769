/* The log of what the fence and the DNS filter refuse (or, in audit mode,
 * would refuse): one line each on stderr, as text or, with --log-format
 * json, as a JSON object. Rate-limited, so that a flood of refusals
 * cannot flood the log: REFUSALLOG_BURST lines at once, then
 * REFUSALLOG_PER_SEC a second; the same refusal once in
 * REFUSALLOG_REPEAT_SEC. What is held back is counted and said every 10
 * seconds (refusal_log_tick). */
#ifndef PALISADE_REFUSALLOG_H
#define PALISADE_REFUSALLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "../fw/pktlog.h"
#include "dnspolicy.h"

#define REFUSALLOG_BURST 20
#define REFUSALLOG_PER_SEC 5
#define REFUSALLOG_REPEAT_SEC 30

/* Why the fence logged a packet, from its rule's NFLOG prefix
 * (fw/rules.h). */
enum packet_cause {
	PACKET_NOT_ALLOWED,     /* no entry allows the destination */
	PACKET_DNS,             /* DNS around palisade's resolver */
	PACKET_LOOPBACK,        /* a loopback address other than 127.0.0.1 and ::1 */
};
/* *audit: let through, audit mode logged what it would refuse. */
enum packet_cause packet_cause(const struct pktlog_event *ev, bool *audit);

struct refusal_log;

/* json: JSON lines; audit: audit mode, where refusals are what would be
 * refused. NULL when out of memory. */
struct refusal_log *refusal_log_new(bool json, bool audit);
void refusal_log_free(struct refusal_log *l);

/* A query for a name no entry allows; audited: let through (audit mode). */
void refusal_log_query(struct refusal_log *l, const char *name, uint16_t qtype, bool audited);
/* An address of an allowed name's answer that the answer policy kept out. */
void refusal_log_answer(struct refusal_log *l, const char *name, const struct dns_refusal *r);
/* A packet the fence logged; name: what the destination was last an
 * answer for, or NULL. */
void refusal_log_packet(struct refusal_log *l, const struct pktlog_event *ev, const char *name);
/* A query no upstream answered (the agent gets SERVFAIL), and a message
 * from an upstream that does not answer the query (dropped). */
/* A connection the name check refused (in audit mode: would refuse): the
 * server name it sent (NULL: none could be read), and why. */
void refusal_log_name(struct refusal_log *l, uint8_t proto, const struct net_addr *dst,
		      uint16_t port, const char *name, const char *why);
void refusal_log_failed(struct refusal_log *l, const char *name, const char *why);
void refusal_log_dropped(struct refusal_log *l, const char *name, const char *why);

/* After each pass of the loop: says how many lines were held back, at
 * most every 10 seconds. */
void refusal_log_tick(struct refusal_log *l);

#endif
