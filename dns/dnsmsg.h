/* DNS messages (RFC 1035) as palisade's DNS filter sees them. Every query
 * and every answer is hostile input: every length, offset and compression
 * pointer is checked before it is used. Pure code, no I/O. */
#ifndef PALISADE_DNSMSG_H
#define PALISADE_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../fw/net.h"
#include "../lib/err.h"

#define DNS_HEADER_LEN 12
#define DNS_NAME_MAX 253        /* longest name in text form, without the final dot */
#define DNS_UDP_MAX 65535       /* largest message palisade handles, UDP or TCP */
#define DNS_ADDRS_MAX 64        /* addresses kept from one answer */
#define DNS_CHAIN_MAX 16        /* CNAME hops followed from the question's name */
/* A query's header and question, at most: a name is 255 bytes on the wire. */
#define DNS_QUESTION_MAX (DNS_HEADER_LEN + 255 + 4)
/* A query palisade builds: the header, the question, its own OPT record. */
#define DNS_FORWARD_MAX (DNS_QUESTION_MAX + 11)
#define DNS_EDNS_UDP 1232       /* the UDP payload size palisade announces */
#define DNS_CLASS_IN 1

/* Bits of the header's second 16 bits. */
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_OPCODE 0x7800
#define DNS_FLAG_TC 0x0200
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080
#define DNS_FLAG_CD 0x0010
#define DNS_FLAG_RCODE 0x000f
/* In an OPT record's TTL: DNSSEC records wanted. */
#define DNS_EDNS_DO 0x8000

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_OPT = 41,
};

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
};

/* A query with exactly one question. */
struct dns_query {
	uint16_t id;
	uint16_t flags;                 /* the header's second 16 bits, as sent */
	char name[DNS_NAME_MAX + 1];    /* lowercase, no final dot; "" is the root */
	uint16_t qtype;
	uint16_t qclass;
	size_t question_end;            /* offset just past the question */
	bool has_opt;                   /* an EDNS OPT record in the additional section */
	bool edns_do;                   /* its DO bit */
	uint16_t udp_size;              /* the OPT record's UDP payload size, or 512 */
};

/* Parses a query: QR clear, opcode QUERY (0), QDCOUNT 1, a well-formed name
 * (no compression pointer in a query's question, labels 1..63 bytes, name
 * <= 253 characters in text form, no '.' or control bytes inside a label:
 * anything that cannot be written back as "a.b.c" is refused). Answer and
 * authority counts must be 0; the additional section may hold records (an
 * OPT one is read; a second one, or one not owned by the root, is refused;
 * a UDP size below 512 counts as 512). Bytes after the last record are
 * refused. Returns 0, or -1 with err (EBADMSG; may be NULL) saying what is
 * wrong, e.g. "a name longer than 253 characters". */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q, struct perr *err);

/* An address from an answer, with its TTL in seconds. */
struct dns_addr {
	struct net_addr addr;       /* a host: prefix 32 or 128 */
	uint32_t ttl;
};

struct dns_answer {
	uint16_t id;
	uint8_t rcode;
	bool truncated;                 /* TC set: the client will ask again over TCP */
	size_t naddrs;
	struct dns_addr addrs[DNS_ADDRS_MAX];
	size_t nchain;                  /* names in the CNAME chain after the question's */
	char chain[DNS_CHAIN_MAX][DNS_NAME_MAX + 1];
};

/* Parses a response to q: QR set, the same ID, one question equal to q's
 * (name compared without case, type and class). Collects the A and AAAA
 * records of the answer section whose owner is the question's name or a
 * name reached from it through CNAME records of the answer section (in any
 * order, at most DNS_CHAIN_MAX hops, loops stopped); records of other
 * owners are ignored. Compression pointers anywhere are followed with
 * bounds and loop checks. Addresses past DNS_ADDRS_MAX are dropped. Returns
 * 0, or -1 with err (EBADMSG; may be NULL) saying what is wrong.
 *
 * Only the header, the question and the answer section are read. Records
 * of class other than IN, of a wrong RDLENGTH, or whose owner or CNAME
 * target cannot be written as "a.b.c" are not matched, without failing the
 * response. An address seen twice is kept once, with the larger TTL; each
 * address keeps its own record's TTL (0 when its top bit is set, RFC 2181).
 * When TC is set the answer section may end early: its whole records are
 * used. */
int dns_parse_response(const uint8_t *msg, size_t len, const struct dns_query *q,
		       struct dns_answer *a, struct perr *err);

/* Writes into out (cap bytes) a reply to the query msg (parsed into q)
 * carrying rcode and no records: the header (same ID, QR and RA set, RD
 * copied, opcode 0), the question copied, and an OPT record (UDP size
 * 1232, no options) when the query had one. out may be msg itself. Only
 * rcode's low 4 bits are written. Returns its length, or -1 when cap is
 * too small. */
ssize_t dns_build_reply(const uint8_t *msg, const struct dns_query *q, uint8_t rcode,
			uint8_t *out, size_t cap);

/* dns_build_reply with TC set: the answer did not fit the client's UDP
 * size (q->udp_size), and it asks again over TCP. */
ssize_t dns_build_truncated(const uint8_t *msg, const struct dns_query *q, uint8_t rcode,
			    uint8_t *out, size_t cap);

/* Writes into out (cap bytes) the query palisade sends upstream for q. It
 * is built from q's fields, never copied from the client's bytes: a header
 * with ID id, RD and CD as the client set them and no other flag; the one
 * question, its name in q's canonical form (lowercase), type and class;
 * and, when the client sent an OPT record, palisade's own (UDP size
 * DNS_EDNS_UDP, version 0, DO as the client set it, no options). The rest
 * of the client's message (its other records, EDNS options, flags) is not
 * carried. Returns the length (at most DNS_FORWARD_MAX), or -1 when cap is
 * too small or q->name is not a name ("a.b.c", labels of 1..63 bytes, 253
 * characters at most, or "" for the root). */
ssize_t dns_build_query(const struct dns_query *q, uint16_t id, uint8_t *out, size_t cap);

/* Makes msg (len bytes), an upstream's response to the query built for q
 * and already checked by dns_parse_response, the answer for q's client:
 * q's ID, and the question section replaced with the client's own bytes
 * (query, its message, at least q->question_end long), so that the name
 * is spelled as the client spelled it. The two questions have the same
 * length, so no offset in msg moves. Returns 0, or -1, msg unchanged, when
 * msg's question is not q's (the name compared without case, type and
 * class exactly) or msg is shorter than it. */
int dns_answer_client(uint8_t *msg, size_t len, const uint8_t *query, const struct dns_query *q);

/* The records of a response (len bytes) after its question, which ends at
 * question_end: the answer, authority and additional sections as the
 * header counts them. Writes the offset of each record's TTL field into
 * ttl_off (max entries), OPT records left out (their TTL field is not a
 * time); the least of those TTLs into *min_ttl (UINT32_MAX when there is
 * none; one with its top bit set counts as 0, RFC 2181); and into
 * *soa_ttl the time a negative answer may be kept (RFC 2308: the lesser
 * of the authority section's SOA record's TTL and its MINIMUM field), or
 * UINT32_MAX without an SOA record. Returns the number of offsets, or -1
 * when a record is malformed or runs past the end, bytes follow the last
 * one, or there are more than max. */
ssize_t dns_response_ttls(const uint8_t *msg, size_t len, size_t question_end,
			  uint16_t *ttl_off, size_t max, uint32_t *min_ttl, uint32_t *soa_ttl);

/* True when name (lowercase, as in dns_query) is strictly under suffix
 * (lowercase): "example.com" has "a.example.com" and "a.b.example.com"
 * under it, not "example.com" nor "badexample.com". An empty suffix has
 * nothing under it. */
bool dns_name_under(const char *suffix, const char *name);

#endif
