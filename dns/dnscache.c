#include "dnscache.h"

#include <stdlib.h>
#include <string.h>

#include "../lib/bytes.h"

struct entry {
	struct entry *chain;            /* the next one in its bucket */
	struct entry *newer, *older;    /* the LRU list */
	uint32_t hash;
	uint64_t stored_ms;
	uint32_t lifetime;              /* seconds */
	size_t size;                    /* what it counts for in the byte bound */
	uint16_t keylen, msglen, nttl;
	uint16_t question_end;
	/* nttl TTL offsets (uint16_t), the key, then the answer. */
	uint8_t data[];
};

struct dnscache {
	size_t max_entries, max_bytes;
	size_t nbuckets;                /* a power of two */
	struct entry **buckets;
	struct entry *newest, *oldest;
	uint32_t seed;
	struct dnscache_stats st;
};

static const uint8_t *entry_key(const struct entry *e)
{
	return e->data + e->nttl * sizeof(uint16_t);
}

static const uint8_t *entry_msg(const struct entry *e)
{
	return entry_key(e) + e->keylen;
}

struct dnscache *dnscache_new(size_t max_entries, uint32_t seed)
{
	if (max_entries == 0 || max_entries > SIZE_MAX / 4 / DNSCACHE_ENTRY_BYTES)
		return NULL;
	struct dnscache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->max_entries = max_entries;
	c->max_bytes = max_entries * DNSCACHE_ENTRY_BYTES;
	c->nbuckets = 16;
	while (c->nbuckets < max_entries)
		c->nbuckets *= 2;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->seed = seed;
	return c;
}

void dnscache_free(struct dnscache *c)
{
	if (!c)
		return;
	for (struct entry *e = c->newest, *next; e; e = next) {
		next = e->older;
		free(e);
	}
	free(c->buckets);
	free(c);
}

/* FNV-1a, started from the seed. */
static uint32_t key_hash(const struct dnscache *c, const uint8_t *key, size_t n)
{
	uint32_t h = 2166136261u ^ c->seed;
	for (size_t i = 0; i < n; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}

/* The key of q: the query palisade sends upstream for it, ID 0. */
static ssize_t query_key(const struct dns_query *q, uint8_t *key)
{
	return dns_build_query(q, 0, key, DNS_FORWARD_MAX);
}

static struct entry **bucket_of(struct dnscache *c, uint32_t hash)
{
	return &c->buckets[hash & (c->nbuckets - 1)];
}

static struct entry *find(struct dnscache *c, const uint8_t *key, size_t n, uint32_t hash)
{
	for (struct entry *e = *bucket_of(c, hash); e; e = e->chain)
		if (e->hash == hash && e->keylen == n && memcmp(entry_key(e), key, n) == 0)
			return e;
	return NULL;
}

static void lru_unlink(struct dnscache *c, struct entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void lru_push(struct dnscache *c, struct entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest)
		c->newest->newer = e;
	c->newest = e;
	if (!c->oldest)
		c->oldest = e;
}

static void remove_entry(struct dnscache *c, struct entry *e)
{
	struct entry **pp = bucket_of(c, e->hash);
	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	lru_unlink(c, e);
	c->st.entries--;
	c->st.bytes -= e->size;
	free(e);
}

/* How long an answer may be kept, in seconds; 0: not at all. */
static uint32_t lifetime_of(const uint8_t *msg, uint32_t min_ttl, uint32_t soa_ttl,
			    uint32_t lifetime_max)
{
	uint16_t flags = get16(msg + 2);
	uint8_t rcode = flags & DNS_FLAG_RCODE;
	if (flags & DNS_FLAG_TC)
		return 0;
	if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN)
		return 0;
	uint32_t t;
	if (rcode == DNS_RCODE_NXDOMAIN || get16(msg + 6) == 0) {
		/* Negative: without an SOA record, nothing says for how long. */
		if (soa_ttl == UINT32_MAX)
			return 0;
		t = soa_ttl < DNSCACHE_NEGATIVE_MAX ? soa_ttl : DNSCACHE_NEGATIVE_MAX;
	} else {
		if (min_ttl == UINT32_MAX)
			return 0;
		t = min_ttl;
	}
	if (t > min_ttl)
		t = min_ttl;
	return t < lifetime_max ? t : lifetime_max;
}

int dnscache_put(struct dnscache *c, const struct dns_query *q, const uint8_t *msg, size_t len,
		 uint32_t lifetime_max, uint64_t now_ms)
{
	uint8_t key[DNS_FORWARD_MAX];
	ssize_t kl = query_key(q, key);
	if (kl < 0 || len > DNSCACHE_ANSWER_MAX || len < q->question_end ||
	    q->question_end < DNS_HEADER_LEN)
		return 0;
	uint16_t offs[DNSCACHE_RECORDS_MAX];
	uint32_t min_ttl, soa_ttl;
	ssize_t nttl = dns_response_ttls(msg, len, q->question_end, offs, DNSCACHE_RECORDS_MAX,
					 &min_ttl, &soa_ttl);
	if (nttl < 0)
		return 0;
	uint32_t lifetime = lifetime_of(msg, min_ttl, soa_ttl, lifetime_max);
	if (lifetime == 0)
		return 0;
	size_t size = sizeof(struct entry) + (size_t)nttl * sizeof(uint16_t) + (size_t)kl + len;
	if (size > c->max_bytes)
		return 0;

	uint32_t hash = key_hash(c, key, (size_t)kl);
	struct entry *old = find(c, key, (size_t)kl, hash);
	if (old)
		remove_entry(c, old);
	while (c->oldest && (c->st.entries >= c->max_entries || c->st.bytes + size > c->max_bytes))
		remove_entry(c, c->oldest);

	struct entry *e = malloc(size);
	if (!e)
		return -1;
	*e = (struct entry){
		.hash = hash,
		.stored_ms = now_ms,
		.lifetime = lifetime,
		.size = size,
		.keylen = (uint16_t)kl,
		.msglen = (uint16_t)len,
		.nttl = (uint16_t)nttl,
		.question_end = (uint16_t)q->question_end,
	};
	memcpy(e->data, offs, (size_t)nttl * sizeof(uint16_t));
	memcpy(e->data + nttl * sizeof(uint16_t), key, (size_t)kl);
	memcpy(e->data + nttl * sizeof(uint16_t) + kl, msg, len);
	struct entry **b = bucket_of(c, hash);
	e->chain = *b;
	*b = e;
	lru_push(c, e);
	c->st.entries++;
	c->st.bytes += size;
	return 1;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

ssize_t dnscache_get(struct dnscache *c, const struct dns_query *q, const uint8_t *query,
		     uint64_t now_ms, uint8_t *out, size_t cap)
{
	uint8_t key[DNS_FORWARD_MAX];
	ssize_t kl = query_key(q, key);
	struct entry *e = kl < 0 ? NULL : find(c, key, (size_t)kl, key_hash(c, key, (size_t)kl));
	if (!e || e->question_end != q->question_end) {
		c->st.misses++;
		return -1;
	}
	/* Seconds in the cache, rounded up: a client never keeps the answer
	 * past the time the upstream gave. */
	uint64_t age_ms = now_ms > e->stored_ms ? now_ms - e->stored_ms : 0;
	uint64_t age = (age_ms + 999) / 1000;
	if (age >= e->lifetime) {
		remove_entry(c, e);
		c->st.misses++;
		return -1;
	}
	if (e->msglen > cap) {
		c->st.misses++;
		return -1;
	}
	memcpy(out, entry_msg(e), e->msglen);
	put16(out, q->id);
	memcpy(out + DNS_HEADER_LEN, query + DNS_HEADER_LEN, q->question_end - DNS_HEADER_LEN);
	for (size_t i = 0; i < e->nttl; i++) {
		/* Every TTL is at least the lifetime, which is above age. */
		uint16_t off;
		memcpy(&off, e->data + i * sizeof(off), sizeof(off));
		put32(out + off, get32(out + off) - (uint32_t)age);
	}
	lru_unlink(c, e);
	lru_push(c, e);
	c->st.hits++;
	return e->msglen;
}

void dnscache_stats(const struct dnscache *c, struct dnscache_stats *s)
{
	*s = c->st;
}
