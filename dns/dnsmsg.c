#include "dnsmsg.h"

#include <string.h>

#include "../lib/bytes.h"

/* Longest name in wire form (RFC 1035 2.3.4): its labels, their length
 * bytes and the root's. 255 wire bytes are exactly DNS_NAME_MAX text. */
#define NAME_WIRE_MAX 255
#define LABEL_MAX 63
/* Compression pointers followed in one name. Targets strictly go down, so
 * loops end anyway; this bounds the work a hostile name costs. A name has
 * at most 127 labels, so an honest one never needs more. */
#define PTR_MAX 128
/* Type, class, TTL and RDLENGTH after a record's name. */
#define RR_FIXED_LEN 10
#define OPT_RR_LEN 11
#define EDNS_UDP_MIN 512

/* What reading a name gives, besides a malformed name (-1). */
enum {
	NAME_OK = 0,
	NAME_UNPRINTABLE = 1, /* well formed, but not writable as "a.b.c" */
};

static int fail(struct perr *err, const char *msg)
{
	return perr_code(err, EBADMSG, "%s", msg);
}

/* Appends one label to the text name, lowercased. Returns false when a
 * byte of it could not be written back as "a.b.c". */
static bool label_text(const uint8_t *label, size_t n, char *out, size_t *used)
{
	bool printable = true;
	if (*used)
		out[(*used)++] = '.';
	for (size_t i = 0; i < n; i++) {
		uint8_t c = label[i];
		if (c == '.' || c < 0x21 || c > 0x7e)
			printable = false;
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		out[(*used)++] = (char)c;
	}
	return printable;
}

/* Reads the name at *off into out (DNS_NAME_MAX + 1 bytes, lowercase) and
 * moves *off past the name's bytes in place (up to its first pointer).
 * A pointer must go strictly before the start of the bytes it was reached
 * from and past the header: targets go down at every jump, so a loop ends.
 * Returns NAME_OK, NAME_UNPRINTABLE, or -1 for a malformed name. */
static int name_read(const uint8_t *msg, size_t len, size_t *off, bool allow_ptr,
		     char *out, struct perr *err)
{
	size_t pos = *off, limit = *off, end = 0, wire = 1, used = 0;
	unsigned jumps = 0;
	bool printable = true;

	for (;;) {
		if (pos >= len)
			return fail(err, "a name runs past the end of the message");
		uint8_t b = msg[pos];
		if ((b & 0xc0) == 0xc0) {
			if (!allow_ptr)
				return fail(err, "a compression pointer in the question of a query");
			if (pos + 1 >= len)
				return fail(err, "a compression pointer runs past the end of the message");
			size_t target = (size_t)(b & 0x3f) << 8 | msg[pos + 1];
			if (target < DNS_HEADER_LEN || target >= limit)
				return fail(err, "a compression pointer that does not point to an earlier name");
			if (++jumps > PTR_MAX)
				return fail(err, "too many compression pointers in a name");
			if (!end)
				end = pos + 2;
			pos = limit = target;
			continue;
		}
		if (b & 0xc0)
			return fail(err, "a label of an unknown type");
		if (b == 0)
			break;
		/* b <= 63 here, since its top two bits are clear. */
		if (b > len - pos - 1)
			return fail(err, "a label runs past the end of the message");
		wire += 1u + b;
		if (wire > NAME_WIRE_MAX)
			return fail(err, "a name longer than 253 characters");
		if (!label_text(msg + pos + 1, b, out, &used))
			printable = false;
		pos += 1u + b;
	}
	out[used] = '\0';
	*off = end ? end : pos + 1;
	return printable ? NAME_OK : NAME_UNPRINTABLE;
}

/* A resource record's fixed part, its name left where it is. */
struct rr {
	uint16_t type;
	uint16_t class;
	uint32_t ttl;
	size_t rdata;
	uint16_t rdlen;
};

/* Reads the record at *off: its owner into owner, with name_read's result
 * in *status, and its fixed part into rr; checks that its data fits and
 * moves *off past it. Returns 0 or -1. */
static int rr_read(const uint8_t *msg, size_t len, size_t *off, char *owner, int *status,
		   struct rr *rr, struct perr *err)
{
	int st = name_read(msg, len, off, true, owner, err);
	if (st < 0)
		return -1;
	if (len - *off < RR_FIXED_LEN)
		return fail(err, "a record runs past the end of the message");
	const uint8_t *p = msg + *off;
	rr->type = get16(p);
	rr->class = get16(p + 2);
	rr->ttl = get32(p + 4);
	rr->rdlen = get16(p + 8);
	rr->rdata = *off + RR_FIXED_LEN;
	if (rr->rdlen > len - rr->rdata)
		return fail(err, "a record's data runs past the end of the message");
	*off = rr->rdata + rr->rdlen;
	*status = st;
	return 0;
}

/* The additional section of a query: records are skipped, an OPT one is
 * read. */
static int query_additional(const uint8_t *msg, size_t len, size_t *off, unsigned count,
			    struct dns_query *q, struct perr *err)
{
	char owner[DNS_NAME_MAX + 1];
	for (unsigned i = 0; i < count; i++) {
		struct rr rr;
		int st;
		if (rr_read(msg, len, off, owner, &st, &rr, err) < 0)
			return -1;
		if (rr.type != DNS_TYPE_OPT)
			continue;
		/* RFC 6891 6.1.1: one OPT record, owned by the root. */
		if (q->has_opt)
			return fail(err, "more than one OPT record");
		if (st != NAME_OK || owner[0])
			return fail(err, "an OPT record not owned by the root");
		q->has_opt = true;
		q->edns_do = rr.ttl & DNS_EDNS_DO;
		q->udp_size = rr.class < EDNS_UDP_MIN ? EDNS_UDP_MIN : rr.class;
	}
	return 0;
}

int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q, struct perr *err)
{
	memset(q, 0, sizeof(*q));
	if (len < DNS_HEADER_LEN)
		return fail(err, "shorter than a DNS header");
	if (len > DNS_UDP_MAX)
		return fail(err, "longer than a DNS message");
	q->id = get16(msg);
	q->flags = get16(msg + 2);
	if (q->flags & DNS_FLAG_QR)
		return fail(err, "a response, not a query");
	if (q->flags & DNS_FLAG_OPCODE)
		return fail(err, "not a standard query (opcode QUERY)");
	if (get16(msg + 4) != 1)
		return fail(err, "not exactly one question");
	if (get16(msg + 6) || get16(msg + 8))
		return fail(err, "a query with answer or authority records");

	size_t off = DNS_HEADER_LEN;
	int st = name_read(msg, len, &off, false, q->name, err);
	if (st < 0)
		return -1;
	if (st != NAME_OK)
		return fail(err, "a name with a '.', a space or a control byte in a label");
	if (len - off < 4)
		return fail(err, "the question runs past the end of the message");
	q->qtype = get16(msg + off);
	q->qclass = get16(msg + off + 2);
	off += 4;
	q->question_end = off;
	q->udp_size = EDNS_UDP_MIN;

	if (query_additional(msg, len, &off, get16(msg + 10), q, err) < 0)
		return -1;
	/* Bytes no record accounts for could carry anything: refuse them. */
	if (off != len)
		return fail(err, "bytes after the last record");
	return 0;
}

/* Where the answer section is and how many of its records are whole. */
struct section {
	size_t start;
	unsigned count;
};

/* Checks the header and question of a response to q and finds its answer
 * section. */
static int response_head(const uint8_t *msg, size_t len, const struct dns_query *q,
			 struct dns_answer *a, struct section *an, struct perr *err)
{
	if (len < DNS_HEADER_LEN)
		return fail(err, "shorter than a DNS header");
	if (len > DNS_UDP_MAX)
		return fail(err, "longer than a DNS message");
	uint16_t flags = get16(msg + 2);
	a->id = get16(msg);
	a->rcode = flags & DNS_FLAG_RCODE;
	a->truncated = flags & DNS_FLAG_TC;
	if (!(flags & DNS_FLAG_QR))
		return fail(err, "a query, not a response");
	if (a->id != q->id)
		return fail(err, "the ID is not the query's");
	if (get16(msg + 4) != 1)
		return fail(err, "not exactly one question");

	char name[DNS_NAME_MAX + 1];
	size_t off = DNS_HEADER_LEN;
	int st = name_read(msg, len, &off, true, name, err);
	if (st < 0)
		return -1;
	if (len - off < 4)
		return fail(err, "the question runs past the end of the message");
	if (st != NAME_OK || strcmp(name, q->name) != 0 || get16(msg + off) != q->qtype ||
	    get16(msg + off + 2) != q->qclass)
		return fail(err, "the question is not the query's");
	an->start = off + 4;
	an->count = get16(msg + 6);
	return 0;
}

/* Checks that every record of the answer section is whole. A truncated
 * response may end inside it: its whole records are kept. */
static int answer_check(const uint8_t *msg, size_t len, bool truncated, struct section *an,
			struct perr *err)
{
	char owner[DNS_NAME_MAX + 1];
	size_t off = an->start;
	for (unsigned i = 0; i < an->count; i++) {
		struct rr rr;
		int st;
		if (rr_read(msg, len, &off, owner, &st, &rr, truncated ? NULL : err) < 0) {
			if (!truncated)
				return -1;
			an->count = i;
			break;
		}
	}
	return 0;
}

static bool name_in(const char *name, const char *qname, const struct dns_answer *a)
{
	if (strcmp(name, qname) == 0)
		return true;
	for (size_t i = 0; i < a->nchain; i++)
		if (strcmp(name, a->chain[i]) == 0)
			return true;
	return false;
}

/* A walk over the records of the answer section, which answer_check found
 * whole. */
struct walk {
	const uint8_t *msg;
	size_t len, off;
	unsigned left;
};

static void walk_start(struct walk *w, const uint8_t *msg, size_t len,
		       const struct section *an)
{
	*w = (struct walk){ .msg = msg, .len = len, .off = an->start, .left = an->count };
}

/* The next record of class IN whose owner is printable: its owner into
 * owner, its fixed part into rr. False at the end. */
static bool walk_next(struct walk *w, char *owner, struct rr *rr)
{
	while (w->left > 0) {
		w->left--;
		int st;
		if (rr_read(w->msg, w->len, &w->off, owner, &st, rr, NULL) < 0)
			return false;
		if (st == NAME_OK && rr->class == DNS_CLASS_IN)
			return true;
	}
	return false;
}

/* Looks for a CNAME record owned by name in the answer section and writes
 * its target into target. Only the first one counts: a name has at most
 * one CNAME. Returns true when one with a printable target is found. */
static bool cname_of(const uint8_t *msg, size_t len, const struct section *an,
		     const char *name, char *target)
{
	char owner[DNS_NAME_MAX + 1];
	struct rr rr;
	struct walk w;
	walk_start(&w, msg, len, an);
	while (walk_next(&w, owner, &rr)) {
		if (rr.type != DNS_TYPE_CNAME || strcmp(owner, name) != 0)
			continue;
		/* The target's bytes in place must be exactly the record's data. */
		size_t t = rr.rdata;
		return name_read(msg, len, &t, true, target, NULL) == NAME_OK &&
		       t == rr.rdata + rr.rdlen;
	}
	return false;
}

/* Follows the CNAME chain from the question's name into a->chain. */
static void follow_chain(const uint8_t *msg, size_t len, const struct section *an,
			 const char *qname, struct dns_answer *a)
{
	const char *name = qname;
	char target[DNS_NAME_MAX + 1];
	while (a->nchain < DNS_CHAIN_MAX && cname_of(msg, len, an, name, target)) {
		if (name_in(target, qname, a))
			return; /* a loop */
		memcpy(a->chain[a->nchain], target, sizeof(target));
		name = a->chain[a->nchain++];
	}
}

static void addr_add(struct dns_answer *a, enum net_family family, const uint8_t *bytes, uint32_t ttl)
{
	struct dns_addr d = { .addr = net_host(family, bytes) };
	/* RFC 2181 8: a TTL with its top bit set is 0. */
	d.ttl = ttl & 0x80000000u ? 0 : ttl;
	for (size_t i = 0; i < a->naddrs; i++) {
		if (net_equal(&a->addrs[i].addr, &d.addr)) {
			if (d.ttl > a->addrs[i].ttl)
				a->addrs[i].ttl = d.ttl;
			return;
		}
	}
	if (a->naddrs < DNS_ADDRS_MAX)
		a->addrs[a->naddrs++] = d;
}

/* Collects the A and AAAA records owned by the question's name or a name
 * of its chain. */
static void collect(const uint8_t *msg, size_t len, const struct section *an,
		    const char *qname, struct dns_answer *a)
{
	char owner[DNS_NAME_MAX + 1];
	struct rr rr;
	struct walk w;
	walk_start(&w, msg, len, an);
	while (walk_next(&w, owner, &rr)) {
		if (!name_in(owner, qname, a))
			continue;
		if (rr.type == DNS_TYPE_A && rr.rdlen == 4)
			addr_add(a, NET_V4, msg + rr.rdata, rr.ttl);
		else if (rr.type == DNS_TYPE_AAAA && rr.rdlen == 16)
			addr_add(a, NET_V6, msg + rr.rdata, rr.ttl);
	}
}

int dns_parse_response(const uint8_t *msg, size_t len, const struct dns_query *q,
		       struct dns_answer *a, struct perr *err)
{
	struct section an;
	memset(a, 0, sizeof(*a));
	if (response_head(msg, len, q, a, &an, err) < 0)
		return -1;
	if (answer_check(msg, len, a->truncated, &an, err) < 0)
		return -1;
	follow_chain(msg, len, &an, q->name, a);
	collect(msg, len, &an, q->name, a);
	return 0;
}

/* Writes palisade's OPT record at p: the root, UDP size DNS_EDNS_UDP,
 * extended rcode 0, version 0, DO when asked, no options. */
static void opt_write(uint8_t *p, bool edns_do)
{
	memset(p, 0, OPT_RR_LEN);
	put16(p + 1, DNS_TYPE_OPT);
	put16(p + 3, DNS_EDNS_UDP);
	put16(p + 7, edns_do ? DNS_EDNS_DO : 0);
}

static ssize_t build_reply(const uint8_t *msg, const struct dns_query *q, uint16_t flags,
			   uint8_t *out, size_t cap)
{
	size_t qlen = q->question_end;
	size_t need = qlen + (q->has_opt ? OPT_RR_LEN : 0);
	if (qlen < DNS_HEADER_LEN || need > cap)
		return -1;
	/* out may be msg itself. */
	memmove(out, msg, qlen);
	put16(out + 2, flags);
	put16(out + 4, 1);
	put16(out + 6, 0);
	put16(out + 8, 0);
	put16(out + 10, q->has_opt ? 1 : 0);
	if (q->has_opt)
		opt_write(out + qlen, false);
	return (ssize_t)need;
}

ssize_t dns_build_reply(const uint8_t *msg, const struct dns_query *q, uint8_t rcode,
			uint8_t *out, size_t cap)
{
	uint16_t flags = DNS_FLAG_QR | DNS_FLAG_RA | (q->flags & DNS_FLAG_RD) |
			 (rcode & DNS_FLAG_RCODE);
	return build_reply(msg, q, flags, out, cap);
}

ssize_t dns_build_truncated(const uint8_t *msg, const struct dns_query *q, uint8_t rcode,
			    uint8_t *out, size_t cap)
{
	uint16_t flags = DNS_FLAG_QR | DNS_FLAG_RA | DNS_FLAG_TC | (q->flags & DNS_FLAG_RD) |
			 (rcode & DNS_FLAG_RCODE);
	return build_reply(msg, q, flags, out, cap);
}

/* Writes the text name ("a.b.c", or "" for the root) as labels at
 * out + *n, within cap. Returns -1 for an empty label, a label longer
 * than 63 bytes, a name longer than 255 bytes on the wire, or no room. */
static int name_write(const char *name, uint8_t *out, size_t *n, size_t cap)
{
	size_t start = *n, pos = *n;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > LABEL_MAX || pos - start + 1 + l + 1 > NAME_WIRE_MAX ||
		    cap - pos < 1 + l)
			return -1;
		out[pos] = (uint8_t)l;
		memcpy(out + pos + 1, p, l);
		pos += 1 + l;
		p += l;
		if (*p == '.' && *++p == '\0')
			return -1; /* a name ending with a dot: an empty label */
	}
	if (cap - pos < 1)
		return -1;
	out[pos++] = 0;
	*n = pos;
	return 0;
}

ssize_t dns_build_query(const struct dns_query *q, uint16_t id, uint8_t *out, size_t cap)
{
	if (cap < DNS_HEADER_LEN)
		return -1;
	put16(out, id);
	put16(out + 2, q->flags & (DNS_FLAG_RD | DNS_FLAG_CD));
	put16(out + 4, 1);
	put16(out + 6, 0);
	put16(out + 8, 0);
	put16(out + 10, q->has_opt ? 1 : 0);
	size_t n = DNS_HEADER_LEN;
	if (name_write(q->name, out, &n, cap) < 0 || cap - n < 4)
		return -1;
	put16(out + n, q->qtype);
	put16(out + n + 2, q->qclass);
	n += 4;
	if (q->has_opt) {
		if (cap - n < OPT_RR_LEN)
			return -1;
		opt_write(out + n, q->edns_do);
		n += OPT_RR_LEN;
	}
	return (ssize_t)n;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

int dns_answer_client(uint8_t *msg, size_t len, const uint8_t *query, const struct dns_query *q)
{
	size_t end = q->question_end;
	if (end < DNS_HEADER_LEN + 5 || len < end)
		return -1;
	/* The name: label lengths are below 64, never letters, so comparing
	 * every byte without case compares the labels' lengths exactly. */
	for (size_t i = DNS_HEADER_LEN; i < end - 4; i++)
		if (lower(msg[i]) != lower(query[i]))
			return -1;
	if (memcmp(msg + end - 4, query + end - 4, 4) != 0)
		return -1;
	memcpy(msg + DNS_HEADER_LEN, query + DNS_HEADER_LEN, end - DNS_HEADER_LEN);
	put16(msg, q->id);
	return 0;
}

#define DNS_TYPE_SOA 6
#define SOA_FIXED_LEN 20        /* serial, refresh, retry, expire, minimum */

static uint32_t ttl_value(uint32_t ttl)
{
	return ttl & 0x80000000u ? 0 : ttl;
}

ssize_t dns_response_ttls(const uint8_t *msg, size_t len, size_t question_end,
			  uint16_t *ttl_off, size_t max, uint32_t *min_ttl, uint32_t *soa_ttl)
{
	*min_ttl = *soa_ttl = UINT32_MAX;
	if (len < DNS_HEADER_LEN || len > DNS_UDP_MAX || question_end > len)
		return -1;
	unsigned ancount = get16(msg + 6), nscount = get16(msg + 8);
	unsigned total = ancount + nscount + get16(msg + 10);
	size_t off = question_end, n = 0;
	char owner[DNS_NAME_MAX + 1];
	for (unsigned i = 0; i < total; i++) {
		struct rr rr;
		int st;
		if (rr_read(msg, len, &off, owner, &st, &rr, NULL) < 0)
			return -1;
		if (rr.type == DNS_TYPE_OPT)
			continue;
		if (n == max)
			return -1;
		ttl_off[n++] = (uint16_t)(rr.rdata - 6);
		uint32_t ttl = ttl_value(rr.ttl);
		if (ttl < *min_ttl)
			*min_ttl = ttl;
		bool authority = i >= ancount && i < ancount + nscount;
		if (authority && rr.type == DNS_TYPE_SOA && rr.rdlen >= SOA_FIXED_LEN + 2) {
			uint32_t minimum = ttl_value(get32(msg + rr.rdata + rr.rdlen - 4));
			uint32_t neg = ttl < minimum ? ttl : minimum;
			if (neg < *soa_ttl)
				*soa_ttl = neg;
		}
	}
	if (off != len)
		return -1;
	return (ssize_t)n;
}

bool dns_name_under(const char *suffix, const char *name)
{
	size_t slen = strlen(suffix), nlen = strlen(name);
	/* At least one label and its dot before the suffix. */
	if (slen == 0 || nlen < slen + 2)
		return false;
	return name[nlen - slen - 1] == '.' && strcmp(name + nlen - slen, suffix) == 0;
}
