/* The DNS filter's cache of answers. Pure code, no I/O: the time is the
 * caller's (monotonic milliseconds).
 *
 * An entry is keyed on the query palisade sends upstream (dns_build_query
 * with ID 0): the lowercase name, type, class, RD, CD, whether there is an
 * OPT record and its DO bit. Only a query that would go upstream as the
 * same bytes gets the entry's answer, with the query's ID and question
 * bytes. The caller puts only answers that its policy allowed, after
 * their addresses went into the fence for at least as long as the entry
 * lives (lifetime_max).
 *
 * An entry lives for its least TTL (capped by the caller's lifetime_max);
 * a negative answer (NXDOMAIN, or NOERROR without answer records) for the
 * SOA record's negative TTL, at most DNSCACHE_NEGATIVE_MAX, and is not
 * kept without an SOA record. Truncated answers and rcodes other than
 * NOERROR and NXDOMAIN are not kept. A served answer's TTLs are lowered by
 * the whole seconds spent in the cache, rounded up, and an entry is not
 * served once that would bring a TTL to 0. Entries and their bytes are
 * bounded: the least recently used one goes first. */
#ifndef PALISADE_DNSCACHE_H
#define PALISADE_DNSCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dnsmsg.h"

#define DNSCACHE_DEFAULT_ENTRIES 1024
#define DNSCACHE_ENTRY_BYTES 512    /* the byte bound: this much per entry on average */
#define DNSCACHE_ANSWER_MAX 4096    /* a longer answer is not kept */
#define DNSCACHE_RECORDS_MAX 128    /* nor one with more records */
#define DNSCACHE_NEGATIVE_MAX 30    /* seconds a negative answer is kept at most */

struct dnscache;

struct dnscache_stats {
	unsigned long long hits, misses;
	size_t entries, bytes;
};

/* A cache of at most max_entries entries and max_entries *
 * DNSCACHE_ENTRY_BYTES bytes of entries. seed keys its hash table (random:
 * the agent picks the names, and so should not pick the collisions). NULL
 * when out of memory or max_entries is 0. */
struct dnscache *dnscache_new(size_t max_entries, uint32_t seed);
void dnscache_free(struct dnscache *c);

/* Keeps msg (len bytes), the answer to q, received at now_ms, for at most
 * lifetime_max seconds. Returns 1 when kept, 0 when it is not to be kept
 * (see above) or is malformed, -1 when out of memory. An entry for the same
 * question is replaced. */
int dnscache_put(struct dnscache *c, const struct dns_query *q, const uint8_t *msg, size_t len,
		 uint32_t lifetime_max, uint64_t now_ms);

/* The answer to q, whose message query (at least q->question_end bytes)
 * came from a client at now_ms: written into out (cap bytes) with q's ID,
 * the client's question bytes and TTLs lowered. Returns its length, or -1
 * on a miss (none, expired: then removed, or longer than cap). */
ssize_t dnscache_get(struct dnscache *c, const struct dns_query *q, const uint8_t *query,
		     uint64_t now_ms, uint8_t *out, size_t cap);

void dnscache_stats(const struct dnscache *c, struct dnscache_stats *s);

#endif
