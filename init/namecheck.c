#include "namecheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fw/httphost.h"
#include "../fw/tlshello.h"

/* Room for a parser's message and what is said around it. */
#define WHY_MAX (sizeof(((struct perr *)0)->msg) + 64)

/* A connection whose first bytes are being read: the stream from its
 * first byte, and the queued packets held until the decision. */
struct pending {
	bool used;
	struct namecheck_packet first; /* its addresses and ports (data not kept) */
	uint64_t since;
	uint32_t seq0;                 /* the sequence number of the first byte */
	uint8_t *buf;
	size_t len, cap;
	uint32_t held[NAMECHECK_HELD_MAX];
	size_t nheld;
};

/* A flow decided lately: its packets queued before the decision reached
 * the kernel are sent back for the connection's mark to decide, so that
 * they are not read as a new stream's first bytes. A new connection
 * between the same ports is a new flow: its packets come back, and are
 * read. */
struct decided {
	struct namecheck_packet key;
	uint64_t at;
};

struct namecheck {
	const struct namecheck_ops *ops;
	void *ctx;
	bool audit;
	struct pending pending[NAMECHECK_PENDING_MAX];
	size_t npending;
	struct decided decided[NAMECHECK_DECIDED_MAX];
	size_t decided_next;
};

/* The most bytes held for one connection: a ClientHello of TLSHELLO_MAX
 * bytes in up to four records (clients send one, two for the largest key
 * shares), which is more than an HTTP request head may take. A stream
 * that names nothing by then is refused. */
static size_t bytes_max(void)
{
	size_t b = TLSHELLO_MAX + 4 * (5 + 4);
	return b < tlshello_max_bytes() ? b : tlshello_max_bytes();
}

struct namecheck *namecheck_new(const struct namecheck_ops *ops, void *ctx, bool audit)
{
	struct namecheck *nc = calloc(1, sizeof(*nc));
	if (!nc)
		return NULL;
	nc->ops = ops;
	nc->ctx = ctx;
	nc->audit = audit;
	return nc;
}

static void pending_clear(struct namecheck *nc, struct pending *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
	nc->npending--;
}

void namecheck_free(struct namecheck *nc)
{
	if (!nc)
		return;
	for (size_t i = 0; i < NAMECHECK_PENDING_MAX; i++)
		free(nc->pending[i].buf);
	free(nc);
}

size_t namecheck_pending(const struct namecheck *nc)
{
	return nc->npending;
}

/* Same flow: protocol, both addresses and ports. */
static bool same_flow(const struct namecheck_packet *a, const struct namecheck_packet *b)
{
	return a->proto == b->proto && a->sport == b->sport && a->dport == b->dport &&
	       net_equal(&a->src, &b->src) && net_equal(&a->dst, &b->dst);
}

static struct decided *find_decided(struct namecheck *nc, const struct namecheck_packet *p,
				    uint64_t now)
{
	for (size_t i = 0; i < NAMECHECK_DECIDED_MAX; i++) {
		struct decided *d = &nc->decided[i];
		if (d->at && now - d->at < NAMECHECK_DECIDED_MS && same_flow(&d->key, p))
			return d;
	}
	return NULL;
}

static void remember(struct namecheck *nc, const struct namecheck_packet *p, uint64_t now)
{
	struct decided *d = &nc->decided[nc->decided_next];
	d->key = *p;
	d->key.data = NULL;
	d->key.len = 0;
	d->at = now ? now : 1;
	nc->decided_next = (nc->decided_next + 1) % NAMECHECK_DECIDED_MAX;
}

/* The decision on a connection (its first packet p; held packets, if
 * any, in c), said to ops and remembered. name NULL: none read. */
static void decide(struct namecheck *nc, const struct namecheck_packet *p, struct pending *c,
		   uint32_t id, bool have_id, const char *name, const char *why, uint64_t now)
{
	bool refused = why != NULL;
	enum namecheck_verdict v = refused && !nc->audit ? NAMECHECK_REFUSE : NAMECHECK_ALLOW;
	nc->ops->checked(nc->ctx, p, name, refused, why);
	if (c)
		for (size_t i = 0; i < c->nheld; i++)
			nc->ops->verdict(nc->ctx, c->held[i], v);
	if (have_id)
		nc->ops->verdict(nc->ctx, id, v);
	remember(nc, p, now);
}

/* The name the stream starts with, once known: PEEK_DONE with name (or
 * with name empty: the stream names no host), PEEK_MORE, or PEEK_BAD with
 * why. Port 80 carries HTTP, or TLS. */
static enum peek_status read_name(const struct pending *c, char *name, size_t len,
				  char *why, size_t whylen)
{
	struct perr err = PERR_INIT;
	enum peek_status st;
	name[0] = '\0';
	if (c->first.dport == 80 && c->len > 0 && c->buf[0] != 0x16) {
		st = httphost_parse(c->buf, c->len, name, len, &err);
		if (st == PEEK_BAD)
			snprintf(why, whylen, "not an HTTP/1.x request naming one host: %s", err.msg);
		return st;
	}
	struct tls_hello h;
	st = tlshello_parse(c->buf, c->len, &h, &err);
	if (st == PEEK_BAD) {
		snprintf(why, whylen, "not a TLS ClientHello%s: %s",
			 c->first.dport == 80 ? " or HTTP request" : "", err.msg);
	} else if (st == PEEK_DONE && h.has_name) {
		snprintf(name, len, "%s", h.name);
	}
	return st;
}

static struct pending *find_pending(struct namecheck *nc, const struct namecheck_packet *p)
{
	for (size_t i = 0; i < NAMECHECK_PENDING_MAX; i++)
		if (nc->pending[i].used && same_flow(&nc->pending[i].first, p))
			return &nc->pending[i];
	return NULL;
}

static struct pending *new_pending(struct namecheck *nc, const struct namecheck_packet *p,
				   uint64_t now)
{
	for (size_t i = 0; i < NAMECHECK_PENDING_MAX; i++) {
		struct pending *c = &nc->pending[i];
		if (c->used)
			continue;
		memset(c, 0, sizeof(*c));
		c->used = true;
		c->first = *p;
		c->first.data = NULL;
		c->first.len = 0;
		c->since = now;
		c->seq0 = p->seq;
		nc->npending++;
		return c;
	}
	return NULL;
}

/* Appends the part of p's payload that continues the stream. Segments
 * are sent in order by the agent's own kernel; one already seen (a
 * retransmission) or after a gap adds nothing. Returns -1 when the
 * stream would pass the bound. */
static int append(struct pending *c, const struct namecheck_packet *p)
{
	uint32_t off = p->seq - c->seq0; /* modulo 2^32, as TCP counts */
	if (off > c->len || (size_t)off + p->len <= c->len)
		return 0;
	size_t skip = c->len - off, add = p->len - skip;
	if (c->len + add > bytes_max())
		return -1;
	if (c->len + add > c->cap) {
		size_t cap = c->cap ? c->cap : 2048;
		while (cap < c->len + add)
			cap *= 2;
		if (cap > bytes_max())
			cap = bytes_max();
		uint8_t *b = realloc(c->buf, cap);
		if (!b)
			return -1;
		c->buf = b;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, p->data + skip, add);
	c->len += add;
	return 0;
}

static void check_tcp(struct namecheck *nc, uint32_t id, const struct namecheck_packet *p,
		      uint64_t now)
{
	struct pending *c = find_pending(nc, p);
	if (!c) {
		c = new_pending(nc, p, now);
		if (!c) {
			/* Fail closed: the agent's kernel sends the segment
			 * again, when there may be room. */
			nc->ops->verdict(nc->ctx, id, NAMECHECK_DROP);
			return;
		}
	}
	char why[WHY_MAX];
	if (c->nheld == NAMECHECK_HELD_MAX) {
		snprintf(why, sizeof(why), "more than %d segments before the name",
			 NAMECHECK_HELD_MAX);
		goto refuse;
	}
	if (append(c, p) < 0) {
		snprintf(why, sizeof(why), "no name in the first %zu bytes", bytes_max());
		goto refuse;
	}
	c->held[c->nheld++] = id;
	char name[256];
	switch (read_name(c, name, sizeof(name), why, sizeof(why))) {
	case PEEK_MORE:
		return;
	case PEEK_BAD:
		goto refuse_held;
	case PEEK_DONE:
		break;
	}
	if (!name[0]) {
		snprintf(why, sizeof(why), "%s", c->first.dport == 80 && c->buf[0] != 0x16
							 ? "the request names no host"
							 : "the ClientHello has no server name");
		goto refuse_held;
	}
	const char *no = nc->ops->allowed(nc->ctx, name) ? NULL
								   : "the name is not allowed";
	decide(nc, &c->first, c, 0, false, name, no, now);
	pending_clear(nc, c);
	return;
refuse:
	decide(nc, &c->first, c, id, true, NULL, why, now);
	pending_clear(nc, c);
	return;
refuse_held:
	decide(nc, &c->first, c, 0, false, name[0] ? name : NULL, why, now);
	pending_clear(nc, c);
}

void namecheck_packet(struct namecheck *nc, uint32_t id, const struct namecheck_packet *p,
		      uint64_t now)
{
	/* The kernel knows the decision on a flow decided lately; a packet
	 * that comes back from it is of a connection still waiting. */
	struct decided *d = find_decided(nc, p, now);
	if (d && !p->recheck) {
		nc->ops->verdict(nc->ctx, id, NAMECHECK_RECHECK);
		return;
	}
	if (d)
		d->at = 0;
	if (nc->ops->literal(nc->ctx, &p->dst)) {
		nc->ops->verdict(nc->ctx, id, NAMECHECK_ALLOW);
		return;
	}
	if (p->proto == PROTO_UDP) {
		decide(nc, p, NULL, id, true, NULL,
		       "QUIC carries its server name encrypted; the client should fall back "
		       "to TCP, where the name is read", now);
		return;
	}
	/* The handshake's last ACK, a SYN sent again, a FIN or a reset:
	 * nothing to read. */
	if (p->len == 0 && !find_pending(nc, p)) {
		nc->ops->verdict(nc->ctx, id, NAMECHECK_PASS);
		return;
	}
	if (p->len == 0) {
		/* Behind held data, it waits with it. */
		struct pending *c = find_pending(nc, p);
		if (c->nheld < NAMECHECK_HELD_MAX) {
			c->held[c->nheld++] = id;
			return;
		}
		nc->ops->verdict(nc->ctx, id, NAMECHECK_DROP);
		return;
	}
	check_tcp(nc, id, p, now);
}

void namecheck_tick(struct namecheck *nc, uint64_t now)
{
	for (size_t i = 0; i < NAMECHECK_PENDING_MAX && nc->npending; i++) {
		struct pending *c = &nc->pending[i];
		if (!c->used || now - c->since < NAMECHECK_WAIT_MS)
			continue;
		char why[96];
		snprintf(why, sizeof(why), "no complete %s within %d s",
			 c->first.dport == 80 && c->len && c->buf[0] != 0x16 ? "request head"
									    : "ClientHello",
			 NAMECHECK_WAIT_MS / 1000);
		decide(nc, &c->first, c, 0, false, NULL, why, now);
		pending_clear(nc, c);
	}
}
