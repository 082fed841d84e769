#include "tlshello.h"

#include <string.h>

#include "../lib/bytes.h"

#define RECORD_HEADER 5
#define RECORD_MAX 16384 /* a TLSPlaintext fragment, 2^14 bytes */
#define CONTENT_HANDSHAKE 22
#define HANDSHAKE_HEADER 4 /* type, 24-bit length */
#define CLIENT_HELLO 1
#define RANDOM_LEN 32
#define SESSION_ID_MAX 32
#define EXT_SERVER_NAME 0
#define EXT_ECH 0xfe0d
#define NAME_TYPE_HOST 0

#define MSG_MAX (HANDSHAKE_HEADER + TLSHELLO_MAX)

size_t tlshello_max_bytes(void)
{
	/* Every record carries one byte of the message at least. */
	return (size_t)MSG_MAX * (RECORD_HEADER + 1);
}

/* A stretch of the ClientHello's body: bytes pos..end belong to it (end is
 * what a length field said), bytes up to have are there. */
struct rd {
	const uint8_t *p;
	size_t pos, end, have;
	const char *in; /* what holds the stretch, for messages */
};

/* What a look at the next bytes of a stretch gives. */
enum look { HERE, NOT_YET, PAST_END };

static enum look look(const struct rd *r, size_t n)
{
	if (n > r->end - r->pos)
		return PAST_END;
	if (n > r->have || r->pos > r->have - n)
		return NOT_YET;
	return HERE;
}

/* PEEK_DONE when the n bytes named what are there, PEEK_MORE when they
 * are still to come, PEEK_BAD when the stretch ends before them. */
static enum peek_status need(const struct rd *r, size_t n, const char *what, struct perr *err)
{
	switch (look(r, n)) {
	case HERE:
		return PEEK_DONE;
	case NOT_YET:
		return PEEK_MORE;
	default:
		perr_set(err, "TLS ClientHello: %s goes past the end of %s", what, r->in);
		return PEEK_BAD;
	}
}

/* The n bytes at r->pos, which r holds, as a stretch of their own. */
static struct rd inner(const struct rd *r, size_t n, const char *in)
{
	return (struct rd){ .p = r->p, .pos = r->pos, .end = r->pos + n, .have = r->have, .in = in };
}

/* The server_name extension's data (RFC 6066 3): a list of exactly one
 * host_name. */
static enum peek_status server_name(const struct rd *ext, struct tls_hello *out,
				    struct perr *err)
{
	struct rd r = *ext;
	r.in = "the server_name extension";
	enum peek_status st = need(&r, 2, "the server_name list length", err);
	if (st != PEEK_DONE)
		return st;
	size_t list = get16(r.p + r.pos);
	r.pos += 2;
	if (list != r.end - r.pos) {
		perr_set(err, "TLS ClientHello: the server_name list is %zu bytes in an extension "
			      "that holds %zu",
			 list, r.end - r.pos);
		return PEEK_BAD;
	}
	r.in = "the server_name list";
	st = need(&r, 3, "the server_name entry's type and length", err);
	if (st != PEEK_DONE)
		return st;
	uint8_t type = r.p[r.pos];
	size_t n = get16(r.p + r.pos + 1);
	if (type != NAME_TYPE_HOST) {
		perr_set(err, "TLS ClientHello: the server_name entry is of type %u, not host_name (0)",
			 type);
		return PEEK_BAD;
	}
	r.pos += 3;
	st = need(&r, n, "the host_name", err);
	if (st != PEEK_DONE)
		return st;
	if (r.pos + n != r.end) {
		perr_set(err, "TLS ClientHello: the server_name list has more than one entry; "
			      "a client names one host");
		return PEEK_BAD;
	}
	if (peek_host_name(r.p + r.pos, n, out->name, "TLS ClientHello: the server_name",
			   err) < 0)
		return PEEK_BAD;
	out->has_name = true;
	return PEEK_DONE;
}

/* The extensions of a ClientHello, list holding them. */
static enum peek_status extensions(struct rd *list, struct tls_hello *out, struct perr *err)
{
	uint64_t seen[65536 / 64];
	memset(seen, 0, sizeof(seen));
	while (list->pos < list->end) {
		enum peek_status st = need(list, 4, "an extension's type and length", err);
		if (st != PEEK_DONE)
			return st;
		uint16_t type = get16(list->p + list->pos);
		size_t n = get16(list->p + list->pos + 2);
		if (seen[type / 64] & (UINT64_C(1) << (type % 64))) {
			perr_set(err, "TLS ClientHello: extension %u appears twice", type);
			return PEEK_BAD;
		}
		seen[type / 64] |= UINT64_C(1) << (type % 64);
		list->pos += 4;
		if (look(list, n) == PAST_END) {
			perr_set(err, "TLS ClientHello: extension %u (%zu bytes) goes past the end of "
				      "the extensions",
				 type, n);
			return PEEK_BAD;
		}
		struct rd ext = inner(list, n, "an extension");
		if (type == EXT_SERVER_NAME) {
			st = server_name(&ext, out, err);
			if (st != PEEK_DONE)
				return st;
		} else if (type == EXT_ECH) {
			out->ech = true;
		}
		list->pos += n;
	}
	/* Done with what is there; the caller waits for the data of the
	 * extensions not read, if it is not there yet. */
	return PEEK_DONE;
}

/* The one-byte or two-byte length (width) at r->pos, in *n; r->pos moves
 * past it. */
static enum peek_status length(struct rd *r, size_t width, const char *what, size_t *n,
			       struct perr *err)
{
	enum peek_status st = need(r, width, what, err);
	if (st != PEEK_DONE)
		return st;
	*n = width == 1 ? r->p[r->pos] : get16(r->p + r->pos);
	r->pos += width;
	return PEEK_DONE;
}

/* The ClientHello's body: len bytes, have of them at p. */
static enum peek_status body(const uint8_t *p, size_t have, size_t len, struct tls_hello *out,
			     struct perr *err)
{
	struct rd r = { .p = p, .pos = 0, .end = len, .have = have, .in = "the ClientHello" };
	enum peek_status st = need(&r, 2 + RANDOM_LEN, "the legacy_version and random", err);
	if (st != PEEK_DONE)
		return st;
	if (p[0] != 3 || p[1] > 4) {
		perr_set(err, "TLS ClientHello: legacy_version %u.%u is not a TLS version", p[0],
			 p[1]);
		return PEEK_BAD;
	}
	r.pos += 2 + RANDOM_LEN;

	size_t n;
	if ((st = length(&r, 1, "the session_id length", &n, err)) != PEEK_DONE)
		return st;
	if (n > SESSION_ID_MAX) {
		perr_set(err, "TLS ClientHello: the session_id is %zu bytes, more than %d", n,
			 SESSION_ID_MAX);
		return PEEK_BAD;
	}
	if ((st = need(&r, n, "the session_id", err)) != PEEK_DONE)
		return st;
	r.pos += n;

	if ((st = length(&r, 2, "the cipher_suites length", &n, err)) != PEEK_DONE)
		return st;
	if (n < 2 || n % 2) {
		perr_set(err, "TLS ClientHello: the cipher_suites are %zu bytes, not a list of "
			      "2-byte suites", n);
		return PEEK_BAD;
	}
	if ((st = need(&r, n, "the cipher_suites", err)) != PEEK_DONE)
		return st;
	r.pos += n;

	if ((st = length(&r, 1, "the compression_methods length", &n, err)) != PEEK_DONE)
		return st;
	if (n < 1) {
		perr_set(err, "TLS ClientHello: no compression_methods");
		return PEEK_BAD;
	}
	if ((st = need(&r, n, "the compression_methods", err)) != PEEK_DONE)
		return st;
	r.pos += n;

	if (r.pos == r.end)
		return PEEK_DONE; /* no extensions */
	if ((st = length(&r, 2, "the extensions length", &n, err)) != PEEK_DONE)
		return st;
	if (n != r.end - r.pos) {
		perr_set(err, "TLS ClientHello: the extensions are %zu bytes where %zu are left: "
			      "%s", n, r.end - r.pos,
			 n > r.end - r.pos ? "they go past its end" : "bytes follow them");
		return PEEK_BAD;
	}
	struct rd list = inner(&r, n, "the extensions");
	return extensions(&list, out, err);
}

/* The record header at buf[off..], of which len - off bytes are there:
 * each byte is checked once it is there. PEEK_DONE with the record's
 * length once all five are. */
static enum peek_status record_header(const uint8_t *buf, size_t len, size_t off, size_t *rlen,
				      struct perr *err)
{
	size_t have = len - off;
	if (have >= 1 && buf[off] != CONTENT_HANDSHAKE) {
		if (off == 0 && (buf[0] & 0x80))
			perr_set(err, "TLS: the stream starts with an SSL 2.0-compatible hello "
				      "(first byte 0x%02x), which carries no server_name", buf[0]);
		else if (off == 0)
			perr_set(err, "TLS: the stream does not start with a handshake record "
				      "(first byte 0x%02x, not 22)", buf[0]);
		else
			perr_set(err, "TLS: a record of type %u comes before the end of the "
				      "ClientHello", buf[off]);
		return PEEK_BAD;
	}
	if (have >= 2 && buf[off + 1] != 3) {
		perr_set(err, "TLS: a record of major version %u, not 3", buf[off + 1]);
		return PEEK_BAD;
	}
	if (have >= 3 && buf[off + 2] > 4) {
		perr_set(err, "TLS: a record of version 3.%u, not 3.0..3.4", buf[off + 2]);
		return PEEK_BAD;
	}
	if (have < RECORD_HEADER)
		return PEEK_MORE;
	*rlen = get16(buf + off + 3);
	if (*rlen == 0 || *rlen > RECORD_MAX) {
		perr_set(err, "TLS: a handshake record of %zu bytes, not 1..%d", *rlen, RECORD_MAX);
		return PEEK_BAD;
	}
	return PEEK_DONE;
}

/* Refuses a record that goes on past the end of the message: start bytes
 * of the message came before it, total is its length (0: not known yet). */
static enum peek_status record_fits(size_t start, size_t rlen, size_t total, struct perr *err)
{
	if (!total || rlen <= total - start)
		return PEEK_DONE;
	perr_set(err, "TLS: a handshake record goes on %zu bytes past the end of the ClientHello",
		 rlen - (total - start));
	return PEEK_BAD;
}

/* The handshake message's header, once the first have bytes of the
 * message at m are there: sets *total when it is known. */
static enum peek_status message_header(const uint8_t *m, size_t have, size_t *total,
				       struct perr *err)
{
	if (have >= 1 && m[0] != CLIENT_HELLO) {
		perr_set(err, "TLS: the first handshake message is of type %u, not a ClientHello (1)",
			 m[0]);
		return PEEK_BAD;
	}
	if (have < HANDSHAKE_HEADER)
		return PEEK_MORE;
	size_t body_len = (size_t)m[1] << 16 | (size_t)m[2] << 8 | m[3];
	if (body_len > TLSHELLO_MAX) {
		perr_set(err, "TLS: a ClientHello of %zu bytes, more than %d", body_len,
			 TLSHELLO_MAX);
		return PEEK_BAD;
	}
	*total = HANDSHAKE_HEADER + body_len;
	return PEEK_DONE;
}

/* Reassembles the ClientHello from the handshake records at the start of
 * buf: *m is where its first *have bytes are (in buf while one record
 * holds them, else copied to msg), *total its length with its header (0
 * while that is not there). PEEK_DONE when every record there was read. */
static enum peek_status records(const uint8_t *buf, size_t len, uint8_t msg[MSG_MAX],
				const uint8_t **m, size_t *have, size_t *total, struct perr *err)
{
	size_t off = 0;
	for (unsigned n = 0; !*total || *have < *total; n++) {
		size_t rlen = 0;
		enum peek_status st = record_header(buf, len, off, &rlen, err);
		if (st != PEEK_DONE)
			return st;
		size_t start = *have, got = len - off - RECORD_HEADER;
		if (got > rlen)
			got = rlen;
		/* Checked before the copy: the record fits what is left of the
		 * message, or it comes before the message's header is complete
		 * (start < 4), and 3 + RECORD_MAX bytes fit msg. */
		if (record_fits(start, rlen, *total, err) != PEEK_DONE)
			return PEEK_BAD;
		const uint8_t *data = buf + off + RECORD_HEADER;
		if (n == 0) {
			*m = data;
		} else {
			if (n == 1)
				memcpy(msg, *m, start);
			memcpy(msg + start, data, got);
			*m = msg;
		}
		*have += got;
		if (!*total) {
			st = message_header(*m, *have, total, err);
			if (st == PEEK_BAD)
				return st;
			if (record_fits(start, rlen, *total, err) != PEEK_DONE)
				return PEEK_BAD;
		}
		if (got < rlen)
			return PEEK_MORE;
		off += RECORD_HEADER + rlen;
	}
	return PEEK_DONE;
}

enum peek_status tlshello_parse(const uint8_t *buf, size_t len, struct tls_hello *out,
				struct perr *err)
{
	memset(out, 0, sizeof(*out));
	uint8_t msg[MSG_MAX];
	const uint8_t *m = NULL;
	size_t have = 0, total = 0;
	enum peek_status st = records(buf, len, msg, &m, &have, &total, err);
	if (st == PEEK_BAD || !total)
		return st;
	st = body(m + HANDSHAKE_HEADER, have - HANDSHAKE_HEADER, total - HANDSHAKE_HEADER, out,
		  err);
	if (st == PEEK_DONE && have < total)
		st = PEEK_MORE;
	if (st != PEEK_DONE)
		memset(out, 0, sizeof(*out));
	return st;
}
