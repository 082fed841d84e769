/* The name check's parsers: the TLS ClientHello (fw/tlshello.c) and the
 * HTTP request head (fw/httphost.c). Real first flights of openssl s_client
 * and curl (tests/data/clienthello-*.bin, request-curl.bin: what each sent
 * to a listener on 127.0.0.1 for example.org), whole, byte by byte and cut
 * into records; every malformed case on its own. Each input is also read at
 * each of its prefixes: answers go MORE... then stay DONE or BAD, so that
 * the fence may read a connection in any pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fw/httphost.h"
#include "../../fw/tlshello.h"

/* ---------------------------------------------------------------- bytes */

/* Room for the longest ClientHello in one-byte records, and some after. */
#define BYTES_MAX (6 * (4 + TLSHELLO_MAX) + 1024)

struct bytes {
	size_t n;
	uint8_t b[BYTES_MAX];
};

static struct bytes body, msg, wire, ext;

static void clear(struct bytes *o)
{
	o->n = 0;
}

static void put(struct bytes *o, const void *p, size_t n)
{
	if (n > BYTES_MAX - o->n)
		fail_msg("test bytes: %zu more do not fit", n);
	if (n == 0)
		return;
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void put8(struct bytes *o, unsigned v)
{
	uint8_t b = (uint8_t)v;
	put(o, &b, 1);
}

static void put16(struct bytes *o, unsigned v)
{
	put8(o, v >> 8);
	put8(o, v);
}

static void put24(struct bytes *o, unsigned v)
{
	put8(o, v >> 16);
	put16(o, v);
}

static void putstr(struct bytes *o, const char *s)
{
	put(o, s, strlen(s));
}

static void fill(struct bytes *o, uint8_t c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(o, c);
}

static void read_data(const char *name, struct bytes *o)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	o->n = fread(o->b, 1, sizeof(o->b), f);
	fclose(f);
	if (o->n == 0)
		fail_msg("%s is empty", path);
}

/* ------------------------------------------------------- TLS: building */

/* legacy_version 3.3, a random, a session_id of sid bytes. */
static void hello_start(struct bytes *o, size_t sid)
{
	put16(o, 0x0303);
	fill(o, 0xa5, 32);
	put8(o, (unsigned)sid);
	fill(o, 0x5a, sid);
}

/* Two cipher suites and the null compression method. */
static void hello_suites(struct bytes *o)
{
	put16(o, 4);
	put16(o, 0x1301);
	put16(o, 0x1302);
	put8(o, 1);
	put8(o, 0);
}

/* A ClientHello body with the extensions in ext (none at all when ext is
 * NULL). */
static void hello_body(struct bytes *o, const struct bytes *extensions)
{
	clear(o);
	hello_start(o, 32);
	hello_suites(o);
	if (extensions) {
		put16(o, (unsigned)extensions->n);
		put(o, extensions->b, extensions->n);
	}
}

static void ext_raw(struct bytes *o, unsigned type, const void *data, size_t n)
{
	put16(o, type);
	put16(o, (unsigned)n);
	put(o, data, n);
}

/* A server_name extension with one host_name of n bytes. */
static void ext_sni_n(struct bytes *o, const void *name, size_t n)
{
	put16(o, 0);
	put16(o, (unsigned)n + 5);
	put16(o, (unsigned)n + 3);
	put8(o, 0);
	put16(o, (unsigned)n);
	put(o, name, n);
}

static void ext_sni(struct bytes *o, const char *name)
{
	ext_sni_n(o, name, strlen(name));
}

/* supported_versions (TLS 1.3, 1.2), as clients send it. */
static void ext_versions(struct bytes *o)
{
	static const uint8_t v[] = { 4, 0x03, 0x04, 0x03, 0x03 };
	ext_raw(o, 43, v, sizeof(v));
}

/* The handshake message around a body. */
static void handshake(struct bytes *o, const struct bytes *b)
{
	clear(o);
	put8(o, 1);
	put24(o, (unsigned)b->n);
	put(o, b->b, b->n);
}

/* The message m in handshake records: sizes[i] bytes in record i, the last
 * size for every record after. */
static void records_sized(struct bytes *o, const struct bytes *m, const size_t *sizes,
			  size_t count)
{
	clear(o);
	for (size_t off = 0, i = 0; off < m->n; i++) {
		size_t n = sizes[i < count ? i : count - 1];
		if (n > m->n - off)
			n = m->n - off;
		put8(o, 22);
		put16(o, i == 0 ? 0x0301 : 0x0303);
		put16(o, (unsigned)n);
		put(o, m->b + off, n);
		off += n;
	}
}

static void records(struct bytes *o, const struct bytes *m, size_t size)
{
	records_sized(o, m, &size, 1);
}

/* wire = the body in one ClientHello record. */
static void wire_of(const struct bytes *b)
{
	handshake(&msg, b);
	records(&wire, &msg, 16384);
}

/* The handshake message of a captured single-record ClientHello. */
static void message_of_capture(const struct bytes *w, struct bytes *m)
{
	assert_true(w->n >= 9 && w->b[0] == 22);
	size_t rlen = (size_t)w->b[3] << 8 | w->b[4];
	assert_true(w->n >= 5 + rlen);
	clear(m);
	put(m, w->b + 5, rlen);
}

/* ------------------------------------------------------ TLS: expecting */

static enum peek_status tls(const uint8_t *b, size_t n, struct tls_hello *h, struct perr *e)
{
	*e = (struct perr)PERR_INIT;
	memset(h, 0x77, sizeof(*h)); /* nothing of an earlier call may stay */
	return tlshello_parse(b, n, h, e);
}

static bool zeroed(const struct tls_hello *h)
{
	return !h->has_name && !h->ech && h->name[0] == '\0';
}

/* The prefixes of w to read: all of them while that is cheap. */
static size_t prefix_step(size_t n)
{
	return n <= 8192 ? 1 : 997;
}

/* w is one whole ClientHello: every shorter prefix is MORE, w and w with
 * more bytes after it are DONE with the name (NULL: none) and ech. */
static void expect_tls(const struct bytes *w, const char *name, bool ech)
{
	struct tls_hello h;
	struct perr e;
	for (size_t i = 0; i < w->n; i += prefix_step(w->n)) {
		enum peek_status st = tls(w->b, i, &h, &e);
		if (st != PEEK_MORE)
			fail_msg("prefix of %zu of %zu bytes: %d, not MORE (%s)", i, w->n, st, e.msg);
		assert_true(zeroed(&h));
	}
	static struct bytes more;
	more = *w;
	static const uint8_t after[] = { 20, 3, 3, 0, 1, 1, 23, 3, 3, 0, 2, 0, 0, 0xff };
	put(&more, after, sizeof(after));
	for (int k = 0; k < 2; k++) {
		const struct bytes *x = k ? &more : w;
		enum peek_status st = tls(x->b, x->n, &h, &e);
		if (st != PEEK_DONE)
			fail_msg("%zu bytes: %d, not DONE (%s)", x->n, st, e.msg);
		assert_int_equal(e.err, 0);
		assert_int_equal(h.has_name, name != NULL);
		assert_string_equal(h.name, name ? name : "");
		assert_int_equal(h.ech, ech);
	}
}

/* w is refused, with part in the message: its prefixes are MORE then BAD,
 * and BAD stays. */
static void expect_tls_bad(const struct bytes *w, const char *part)
{
	struct tls_hello h;
	struct perr e;
	bool was_bad = false;
	for (size_t i = 0; i < w->n; i += prefix_step(w->n)) {
		enum peek_status st = tls(w->b, i, &h, &e);
		if (st == PEEK_DONE || (was_bad && st != PEEK_BAD))
			fail_msg("prefix of %zu of %zu bytes: %d after %s", i, w->n, st,
				 was_bad ? "BAD" : "MORE");
		was_bad = st == PEEK_BAD;
		assert_true(zeroed(&h));
	}
	enum peek_status st = tls(w->b, w->n, &h, &e);
	if (st != PEEK_BAD)
		fail_msg("%zu bytes: %d, not BAD", w->n, st);
	assert_int_equal(e.err, EINVAL);
	if (!strstr(e.msg, part))
		fail_msg("message \"%s\" does not say \"%s\"", e.msg, part);
	assert_true(zeroed(&h));
}

/* A ClientHello whose extensions are ext, refused with part. */
static void expect_ext_bad(const char *part)
{
	hello_body(&body, &ext);
	wire_of(&body);
	expect_tls_bad(&wire, part);
}

/* A ClientHello whose extensions are ext, DONE with name. */
static void expect_ext(const char *name, bool ech)
{
	hello_body(&body, &ext);
	wire_of(&body);
	expect_tls(&wire, name, ech);
}

/* A ClientHello with a versions extension and a server_name of n bytes. */
static void sni_case(const void *name, size_t n)
{
	clear(&ext);
	ext_versions(&ext);
	ext_sni_n(&ext, name, n);
}

/* ------------------------------------------------- TLS: real hellos */

static void test_tls_openssl(void **state)
{
	(void)state;
	read_data("clienthello-openssl.bin", &wire);
	expect_tls(&wire, "example.org", false); /* and every prefix MORE */
}

static void test_tls_curl(void **state)
{
	(void)state;
	read_data("clienthello-curl.bin", &wire);
	expect_tls(&wire, "example.org", false);
}

/* The same ClientHello cut into records of every size from 1 byte, and
 * with its handshake header split 1 + 2 + 1 bytes. */
static void test_tls_records(void **state)
{
	(void)state;
	static const char *const files[] = { "clienthello-openssl.bin", "clienthello-curl.bin" };
	static struct bytes capture, m;
	for (size_t f = 0; f < 2; f++) {
		read_data(files[f], &capture);
		message_of_capture(&capture, &m);
		for (size_t size = 1; size <= m.n; size += size < 20 ? 1 : 37) {
			records(&wire, &m, size);
			expect_tls(&wire, "example.org", false);
		}
		static const size_t split[] = { 1, 2, 1, 100 };
		records_sized(&wire, &m, split, 4);
		expect_tls(&wire, "example.org", false);
	}
}

/* ------------------------------------------------- TLS: good variants */

static void test_tls_no_extensions(void **state)
{
	(void)state;
	hello_body(&body, NULL);
	wire_of(&body);
	expect_tls(&wire, NULL, false);
}

static void test_tls_no_sni(void **state)
{
	(void)state;
	clear(&ext);
	ext_versions(&ext);
	expect_ext(NULL, false);
	clear(&ext); /* an empty extensions list */
	expect_ext(NULL, false);
}

static void test_tls_ech_outer_name(void **state)
{
	(void)state;
	clear(&ext);
	ext_sni(&ext, "public.example.net");
	ext_versions(&ext);
	static const uint8_t ech[] = { 0, 0, 1, 0, 1, 0x42, 0, 2, 0xaa, 0xbb, 0, 3, 1, 2, 3 };
	ext_raw(&ext, 0xfe0d, ech, sizeof(ech));
	expect_ext("public.example.net", true);
	clear(&ext); /* ECH without a server_name */
	ext_raw(&ext, 0xfe0d, ech, sizeof(ech));
	expect_ext(NULL, true);
}

static void test_tls_name_forms(void **state)
{
	(void)state;
	sni_case("WWW.Example.ORG.", 16);
	expect_ext("www.example.org", false);
	sni_case("a_b-c.9", 7);
	expect_ext("a_b-c.9", false);
	sni_case("192.0.2.1", 9);
	expect_ext("192.0.2.1", false);

	char name[256], want[256];
	memset(name, 'a', 63);
	sni_case(name, 63);
	memcpy(want, name, 63);
	want[63] = '\0';
	expect_ext(want, false);

	/* 253 characters, and 253 with a final dot. */
	for (size_t i = 0; i < 253; i++)
		name[i] = i % 2 ? '.' : 'x';
	memcpy(want, name, 253);
	want[253] = '\0';
	name[253] = '.';
	sni_case(name, 253);
	expect_ext(want, false);
	sni_case(name, 254);
	expect_ext(want, false);
}

/* The largest ClientHello, in one-byte records: DONE at exactly
 * tlshello_max_bytes(); one body byte more is refused. */
static void test_tls_largest(void **state)
{
	(void)state;
	assert_int_equal(tlshello_max_bytes(), 6 * (4 + TLSHELLO_MAX));
	clear(&ext);
	ext_sni(&ext, "big.example.org");
	hello_body(&body, &ext);
	size_t pad = TLSHELLO_MAX - body.n - 4; /* a padding extension */
	static uint8_t zeros[TLSHELLO_MAX];
	ext_raw(&ext, 21, zeros, pad);
	hello_body(&body, &ext);
	assert_int_equal(body.n, TLSHELLO_MAX);
	handshake(&msg, &body);
	records(&wire, &msg, 1);
	assert_int_equal(wire.n, tlshello_max_bytes());
	expect_tls(&wire, "big.example.org", false);
	records(&wire, &msg, 16384);
	expect_tls(&wire, "big.example.org", false);

	clear(&ext);
	ext_sni(&ext, "big.example.org");
	ext_raw(&ext, 21, zeros, pad + 1);
	expect_ext_bad("a ClientHello of 16385 bytes, more than 16384");
}

/* -------------------------------------------------- TLS: record layer */

static void test_tls_wrong_record_type(void **state)
{
	(void)state;
	static const uint8_t app[] = { 23, 3, 3, 0, 5, 1, 2, 3, 4, 5 };
	clear(&wire);
	put(&wire, app, sizeof(app));
	expect_tls_bad(&wire, "does not start with a handshake record (first byte 0x17");
	clear(&wire);
	putstr(&wire, "GET / HTTP/1.1\r\n");
	expect_tls_bad(&wire, "first byte 0x47");
}

static void test_tls_other_record_between(void **state)
{
	(void)state;
	read_data("clienthello-openssl.bin", &wire);
	static struct bytes m, w2;
	message_of_capture(&wire, &m);
	records(&wire, &m, 100);
	/* A change_cipher_spec record after the first fragment. */
	clear(&w2);
	put(&w2, wire.b, 105);
	static const uint8_t ccs[] = { 20, 3, 3, 0, 1, 1 };
	put(&w2, ccs, sizeof(ccs));
	put(&w2, wire.b + 105, wire.n - 105);
	expect_tls_bad(&w2, "a record of type 20 comes before the end of the ClientHello");
}

static void test_tls_sslv2(void **state)
{
	(void)state;
	/* An SSL 2.0-compatible CLIENT-HELLO: 2-byte length with the high
	 * bit, type 1, version 3.1, lengths of specs, session, challenge. */
	static const uint8_t v2[] = { 0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00,
				      0x00, 0x10, 0x00, 0x00, 0x04, 0x00, 0x00, 0x05 };
	clear(&wire);
	put(&wire, v2, sizeof(v2));
	expect_tls_bad(&wire, "SSL 2.0-compatible hello");
}

static void test_tls_record_version(void **state)
{
	(void)state;
	clear(&ext);
	ext_sni(&ext, "example.org");
	hello_body(&body, &ext);
	wire_of(&body);
	wire.b[1] = 2;
	expect_tls_bad(&wire, "a record of major version 2, not 3");
	wire.b[1] = 3;
	wire.b[2] = 5;
	expect_tls_bad(&wire, "a record of version 3.5");
	wire.b[2] = 4;
	expect_tls(&wire, "example.org", false);
	wire.b[2] = 0;
	expect_tls(&wire, "example.org", false);
}

static void test_tls_record_length(void **state)
{
	(void)state;
	static const uint8_t empty[] = { 22, 3, 1, 0, 0, 1, 0, 0, 50 };
	clear(&wire);
	put(&wire, empty, sizeof(empty));
	expect_tls_bad(&wire, "a handshake record of 0 bytes, not 1..16384");
	static const uint8_t big[] = { 22, 3, 1, 0x40, 0x01, 1, 0, 0x40, 0x00 };
	clear(&wire);
	put(&wire, big, sizeof(big));
	expect_tls_bad(&wire, "a handshake record of 16385 bytes");
}

/* A record that holds more than the ClientHello: what follows it in the
 * same record is not another client message. */
static void test_tls_record_past_message(void **state)
{
	(void)state;
	read_data("clienthello-openssl.bin", &wire);
	static struct bytes m;
	message_of_capture(&wire, &m);
	put8(&m, 0);
	records(&wire, &m, 16384);
	expect_tls_bad(&wire, "goes on 1 bytes past the end of the ClientHello");
	/* Split: the last record is the one too long. */
	records(&wire, &m, 200);
	expect_tls_bad(&wire, "past the end of the ClientHello");
	/* Known only once the header, in records of one byte, is complete. */
	static const size_t split[] = { 1, 1, 1, 1000 };
	records_sized(&wire, &m, split, 4);
	expect_tls_bad(&wire, "past the end of the ClientHello");
}

static void test_tls_not_client_hello(void **state)
{
	(void)state;
	hello_body(&body, NULL);
	wire_of(&body);
	wire.b[5] = 2; /* ServerHello */
	expect_tls_bad(&wire, "of type 2, not a ClientHello");
}

static void test_tls_handshake_over_bound(void **state)
{
	(void)state;
	static const uint8_t over[] = { 22, 3, 1, 0, 4, 1, 0, 0x40, 0x01 };
	clear(&wire);
	put(&wire, over, sizeof(over));
	expect_tls_bad(&wire, "a ClientHello of 16385 bytes, more than 16384");
	static const uint8_t huge[] = { 22, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff };
	clear(&wire);
	put(&wire, huge, sizeof(huge));
	expect_tls_bad(&wire, "a ClientHello of 16777215 bytes");
}

/* ----------------------------------------------------- TLS: the body */

static void test_tls_legacy_version(void **state)
{
	(void)state;
	hello_body(&body, NULL);
	body.b[0] = 0x7f;
	wire_of(&body);
	expect_tls_bad(&wire, "legacy_version 127.3 is not a TLS version");
}

/* Bodies cut short: the handshake length says they end before the field
 * that a length in them announces. */
static void test_tls_body_truncated(void **state)
{
	(void)state;
	clear(&body);
	put16(&body, 0x0303);
	fill(&body, 1, 20);
	wire_of(&body);
	expect_tls_bad(&wire, "the legacy_version and random goes past the end of the ClientHello");

	clear(&body);
	hello_start(&body, 0);
	body.n--; /* no session_id length */
	wire_of(&body);
	expect_tls_bad(&wire, "the session_id length goes past the end");

	clear(&body);
	hello_start(&body, 32);
	body.n -= 5;
	wire_of(&body);
	expect_tls_bad(&wire, "the session_id goes past the end of the ClientHello");

	clear(&body);
	hello_start(&body, 32);
	put8(&body, 0);
	wire_of(&body);
	expect_tls_bad(&wire, "the cipher_suites length goes past the end");

	clear(&body);
	hello_start(&body, 32);
	put16(&body, 6);
	put16(&body, 0x1301);
	wire_of(&body);
	expect_tls_bad(&wire, "the cipher_suites goes past the end");

	clear(&body);
	hello_start(&body, 32);
	put16(&body, 2);
	put16(&body, 0x1301);
	wire_of(&body);
	expect_tls_bad(&wire, "the compression_methods length goes past the end");

	clear(&body);
	hello_start(&body, 32);
	put16(&body, 2);
	put16(&body, 0x1301);
	put8(&body, 3);
	put8(&body, 0);
	wire_of(&body);
	expect_tls_bad(&wire, "the compression_methods goes past the end");

	hello_body(&body, NULL);
	put8(&body, 0); /* one byte where the extensions length is two */
	wire_of(&body);
	expect_tls_bad(&wire, "the extensions length goes past the end");
}

static void test_tls_session_id_too_long(void **state)
{
	(void)state;
	clear(&body);
	hello_start(&body, 33);
	hello_suites(&body);
	wire_of(&body);
	expect_tls_bad(&wire, "the session_id is 33 bytes, more than 32");
}

static void test_tls_cipher_suites(void **state)
{
	(void)state;
	clear(&body);
	hello_start(&body, 0);
	put16(&body, 3);
	fill(&body, 0x13, 3);
	put8(&body, 1);
	put8(&body, 0);
	wire_of(&body);
	expect_tls_bad(&wire, "the cipher_suites are 3 bytes, not a list of 2-byte suites");

	clear(&body);
	hello_start(&body, 0);
	put16(&body, 0);
	put8(&body, 1);
	put8(&body, 0);
	wire_of(&body);
	expect_tls_bad(&wire, "the cipher_suites are 0 bytes");
}

static void test_tls_no_compression(void **state)
{
	(void)state;
	clear(&body);
	hello_start(&body, 0);
	put16(&body, 2);
	put16(&body, 0x1301);
	put8(&body, 0);
	wire_of(&body);
	expect_tls_bad(&wire, "no compression_methods");
}

static void test_tls_extensions_length(void **state)
{
	(void)state;
	clear(&ext);
	ext_sni(&ext, "example.org");
	hello_body(&body, &ext);
	body.b[body.n - ext.n - 1] += 1; /* one more than there is */
	wire_of(&body);
	expect_tls_bad(&wire, "they go past its end");

	hello_body(&body, &ext);
	put8(&body, 0); /* a byte after the extensions */
	wire_of(&body);
	expect_tls_bad(&wire, "bytes follow them");
}

static void test_tls_extension_header_cut(void **state)
{
	(void)state;
	clear(&ext);
	ext_versions(&ext);
	put16(&ext, 0);
	put8(&ext, 0);
	expect_ext_bad("an extension's type and length goes past the end of the extensions");
}

static void test_tls_extension_past_list(void **state)
{
	(void)state;
	clear(&ext);
	ext_versions(&ext);
	put16(&ext, 10);
	put16(&ext, 4);
	put16(&ext, 0);
	expect_ext_bad("extension 10 (4 bytes) goes past the end of the extensions");
}

static void test_tls_duplicate_extension(void **state)
{
	(void)state;
	clear(&ext);
	ext_versions(&ext);
	ext_sni(&ext, "example.org");
	ext_versions(&ext);
	expect_ext_bad("extension 43 appears twice");
}

static void test_tls_two_sni_extensions(void **state)
{
	(void)state;
	clear(&ext);
	ext_sni(&ext, "example.org");
	ext_sni(&ext, "evil.example");
	expect_ext_bad("extension 0 appears twice");
}

/* ------------------------------------------------- TLS: server_name */

static void test_tls_sni_two_entries(void **state)
{
	(void)state;
	clear(&ext);
	put16(&ext, 0);
	put16(&ext, 2 + 2 * (3 + 3));
	put16(&ext, 2 * (3 + 3));
	for (int i = 0; i < 2; i++) {
		put8(&ext, 0);
		put16(&ext, 3);
		putstr(&ext, i ? "b.c" : "a.b");
	}
	expect_ext_bad("the server_name list has more than one entry");
}

static void test_tls_sni_not_host_name(void **state)
{
	(void)state;
	clear(&ext);
	put16(&ext, 0);
	put16(&ext, 2 + 3 + 11);
	put16(&ext, 3 + 11);
	put8(&ext, 1);
	put16(&ext, 11);
	putstr(&ext, "example.org");
	expect_ext_bad("the server_name entry is of type 1, not host_name (0)");
}

static void test_tls_sni_empty_extension(void **state)
{
	(void)state;
	clear(&ext);
	ext_raw(&ext, 0, NULL, 0);
	expect_ext_bad("the server_name list length goes past the end of the server_name extension");
}

static void test_tls_sni_list_length(void **state)
{
	(void)state;
	clear(&ext);
	ext_sni(&ext, "example.org");
	ext.b[5] += 1; /* the list is one byte longer than the extension */
	expect_ext_bad("the server_name list is 15 bytes in an extension that holds 14");
	clear(&ext);
	ext_sni(&ext, "example.org");
	ext.b[5] -= 1;
	expect_ext_bad("the server_name list is 13 bytes in an extension that holds 14");
}

static void test_tls_sni_entry_cut(void **state)
{
	(void)state;
	clear(&ext);
	put16(&ext, 0);
	put16(&ext, 4);
	put16(&ext, 2);
	put8(&ext, 0);
	put8(&ext, 0);
	expect_ext_bad("the server_name entry's type and length goes past the end of the "
		       "server_name list");
}

static void test_tls_sni_name_past_list(void **state)
{
	(void)state;
	clear(&ext);
	ext_sni(&ext, "example.org");
	ext.b[8] += 1; /* the name's length */
	expect_ext_bad("the host_name goes past the end of the server_name list");
}

static void test_tls_sni_empty_name(void **state)
{
	(void)state;
	sni_case("", 0);
	expect_ext_bad("the server_name \"\" is an empty host name");
	sni_case(".", 1);
	expect_ext_bad("the server_name \".\" is an empty host name");
}

static void test_tls_sni_bad_characters(void **state)
{
	(void)state;
	static const char *const names[] = {
		"exa mple.org", "a/b.org", "a:443", "a@b.org", "*.example.org", "a\\b",
		"xn--b\xc3\xa9.org", "a\"b", "a%2eb",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		sni_case(names[i], strlen(names[i]));
		expect_ext_bad("has a character that is not a letter, digit, '.', '-' or '_'");
	}
	sni_case("a\0.example.org", 14);
	expect_ext_bad("\"a\\x00.example.org\" has a character");
	sni_case("a\r\n.org", 7);
	expect_ext_bad("\"a\\x0d\\x0a.org\" has a character");
}

static void test_tls_sni_empty_label(void **state)
{
	(void)state;
	static const char *const names[] = { "a..b", ".a", "a..", "..", "a.b.." };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		sni_case(names[i], strlen(names[i]));
		expect_ext_bad("has an empty label");
	}
}

static void test_tls_sni_too_long(void **state)
{
	(void)state;
	char name[300];
	memset(name, 'a', 64);
	memcpy(name + 64, ".org", 4);
	sni_case(name, 68);
	expect_ext_bad("has a label longer than 63 characters");

	for (size_t i = 0; i < sizeof(name); i++)
		name[i] = i % 2 ? '.' : 'x';
	char want[254];
	memcpy(want, name, 253);
	want[253] = '\0';
	sni_case(name, 254); /* "x.x...x." without its final dot is 253: fine */
	expect_ext(want, false);
	sni_case(name, 255);
	expect_ext_bad("is longer than a host name (253 characters)");
	name[253] = 'x';
	sni_case(name, 254);
	expect_ext_bad("is longer than a host name (253 characters)");
	sni_case(name, 299);
	expect_ext_bad("is longer than a host name");
}

/* A ClientHello cut anywhere is a beginning: MORE, never BAD. */
static void test_tls_truncated_is_more(void **state)
{
	(void)state;
	read_data("clienthello-curl.bin", &wire);
	struct tls_hello h;
	struct perr e;
	for (size_t i = 0; i < wire.n; i++)
		assert_int_equal(tls(wire.b, i, &h, &e), PEEK_MORE);
	assert_int_equal(tls(wire.b, wire.n, &h, &e), PEEK_DONE);
}

/* ---------------------------------------------------------------- HTTP */

static enum peek_status http(const uint8_t *b, size_t n, char *host, size_t hostlen,
			     struct perr *e)
{
	*e = (struct perr)PERR_INIT;
	memset(host, 'x', hostlen);
	return httphost_parse(b, n, host, hostlen, e);
}

/* The head of n bytes at b names host: every shorter prefix is MORE, b and
 * b with a body after it are DONE. */
static void expect_http_n(const void *b, size_t n, const char *host)
{
	char got[PEEK_NAME_MAX];
	struct perr e;
	for (size_t i = 0; i < n; i++) {
		enum peek_status st = http(b, i, got, sizeof(got), &e);
		if (st != PEEK_MORE)
			fail_msg("prefix of %zu of %zu bytes: %d, not MORE (%s)", i, n, st, e.msg);
		assert_string_equal(got, "");
	}
	static struct bytes more;
	clear(&more);
	put(&more, b, n);
	put(&more, "\0\r\n\n garbage", 12);
	for (int k = 0; k < 2; k++) {
		enum peek_status st = http(more.b, k ? more.n : n, got, sizeof(got), &e);
		if (st != PEEK_DONE)
			fail_msg("%zu bytes: %d, not DONE (%s)", n, st, e.msg);
		assert_int_equal(e.err, 0);
		assert_string_equal(got, host);
	}
}

static void expect_http_bad_n(const void *b, size_t n, const char *part)
{
	char got[PEEK_NAME_MAX];
	struct perr e;
	bool was_bad = false;
	for (size_t i = 0; i < n; i++) {
		enum peek_status st = http(b, i, got, sizeof(got), &e);
		if (st == PEEK_DONE || (was_bad && st != PEEK_BAD))
			fail_msg("prefix of %zu of %zu bytes: %d after %s", i, n, st,
				 was_bad ? "BAD" : "MORE");
		was_bad = st == PEEK_BAD;
		assert_string_equal(got, "");
	}
	enum peek_status st = http(b, n, got, sizeof(got), &e);
	if (st != PEEK_BAD)
		fail_msg("\"%.*s\": %d, not BAD", (int)n, (const char *)b, st);
	assert_int_equal(e.err, EINVAL);
	if (!strstr(e.msg, part))
		fail_msg("message \"%s\" does not say \"%s\"", e.msg, part);
	assert_string_equal(got, "");
}

#define HTTP_OK(lit, host) expect_http_n(lit, sizeof(lit) - 1, host)
#define HTTP_BAD(lit, part) expect_http_bad_n(lit, sizeof(lit) - 1, part)

static void test_http_curl(void **state)
{
	(void)state;
	read_data("request-curl.bin", &wire);
	expect_http_n(wire.b, wire.n, "example.org"); /* and every prefix MORE */
}

static void test_http_hosts(void **state)
{
	(void)state;
	HTTP_OK("GET / HTTP/1.1\r\nHost: example.org\r\n\r\n", "example.org");
	HTTP_OK("GET /a?b=c HTTP/1.1\r\nHost: Example.ORG.:8080\r\n\r\n", "example.org");
	HTTP_OK("POST /x HTTP/1.0\r\nhOST:\texample.org \t\r\nContent-Length: 0\r\n\r\n",
		"example.org");
	HTTP_OK("GET / HTTP/1.1\r\nHost:example.org:65535\r\n\r\n", "example.org");
	HTTP_OK("GET / HTTP/1.1\r\nHost: 192.0.2.1:80\r\n\r\n", "192.0.2.1");
	HTTP_OK("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", "::1");
	HTTP_OK("GET / HTTP/1.1\r\nHost: [2001:DB8::A]\r\n\r\n", "2001:db8::a");
	HTTP_OK("GET / HTTP/1.1\r\nHost: [::ffff:192.0.2.1]\r\n\r\n", "::ffff:192.0.2.1");
	HTTP_OK("OPTIONS * HTTP/1.1\r\nHost: example.org\r\n\r\n", "example.org");
	HTTP_OK("GET / HTTP/1.1\r\nX-Host: evil.example\r\nHost: example.org\r\n"
		"Forwarded: host=evil.example\r\nX-Obs: caf\xc3\xa9\r\n\r\n",
		"example.org");
}

static void test_http_missing_host(void **state)
{
	(void)state;
	HTTP_BAD("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", "no Host header");
	HTTP_BAD("GET / HTTP/1.0\r\n\r\n", "no Host header");
}

static void test_http_two_hosts(void **state)
{
	(void)state;
	HTTP_BAD("GET / HTTP/1.1\r\nHost: example.org\r\nhost: example.org\r\n\r\n",
		 "a second Host header");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: example.org\r\nHOST: evil.example\r\n\r\n",
		 "a second Host header");
}

static void test_http_absolute_form(void **state)
{
	(void)state;
	HTTP_BAD("GET http://evil.example/ HTTP/1.1\r\nHost: example.org\r\n\r\n",
		 "absolute-form");
	HTTP_BAD("GET HTTPS://evil.example/ HTTP/1.1\r\n", "absolute-form");
	HTTP_BAD("GET evil.example:80 HTTP/1.1\r\n", "absolute-form");
	HTTP_BAD("GET ?x HTTP/1.1\r\n", "the target does not start with '/'");
}

static void test_http_connect(void **state)
{
	(void)state;
	HTTP_BAD("CONNECT evil.example:443 HTTP/1.1\r\nHost: example.org\r\n\r\n",
		 "CONNECT asks for a tunnel");
	HTTP_BAD("CONNECT / HTTP/1.1\r\nHost: example.org\r\n\r\n", "CONNECT");
}

static void test_http_asterisk(void **state)
{
	(void)state;
	HTTP_BAD("GET * HTTP/1.1\r\nHost: example.org\r\n\r\n", "\"*\" is for OPTIONS alone");
	HTTP_BAD("OPTIONS *x HTTP/1.1\r\n", "\"*\" is for OPTIONS alone");
}

static void test_http_obs_fold(void **state)
{
	(void)state;
	HTTP_BAD("GET / HTTP/1.1\r\nHost: example.org\r\nX: a\r\n b\r\n\r\n", "obs-fold");
	HTTP_BAD("GET / HTTP/1.1\r\n Host: evil.example\r\nHost: example.org\r\n\r\n",
		 "starts with whitespace");
	HTTP_BAD("GET / HTTP/1.1\r\n\tHost: evil.example\r\n", "starts with whitespace");
}

static void test_http_bare_lf(void **state)
{
	(void)state;
	HTTP_BAD("GET / HTTP/1.1\nHost: example.org\r\n\r\n", "a bare LF");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: example.org\n\r\n", "a bare LF");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: example.org\r\n\n", "a bare LF");
	HTTP_BAD("GET / HTTP/1.1\r\nX\nHost: example.org\r\n\r\n", "a bare LF");
	HTTP_BAD("GET /\nHTTP/1.1\r\n", "no HTTP version");
}

static void test_http_bare_cr(void **state)
{
	(void)state;
	HTTP_BAD("GET / HTTP/1.1\rHost: example.org\r\n\r\n", "a bare CR");
	HTTP_BAD("GET / HTTP/1.1\r\nX: a\rb\r\nHost: example.org\r\n\r\n", "a bare CR");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: example.org\r\n\rX", "a bare CR");
	HTTP_BAD("GET / HTTP/1.1\r\nHost\r\n\r\n", "has no colon");
}

static void test_http_space_before_colon(void **state)
{
	(void)state;
	HTTP_BAD("GET / HTTP/1.1\r\nHost : evil.example\r\nHost: example.org\r\n\r\n",
		 "whitespace between a header name and its colon");
	HTTP_BAD("GET / HTTP/1.1\r\nHost\t: evil.example\r\n", "whitespace between");
	HTTP_BAD("GET / HTTP/1.1\r\nHo st: x\r\n", "whitespace between");
}

static void test_http_header_name(void **state)
{
	(void)state;
	HTTP_BAD("GET / HTTP/1.1\r\n: x\r\n", "no name before its colon");
	HTTP_BAD("GET / HTTP/1.1\r\nHo(st: x\r\n", "not a token character");
	HTTP_BAD("GET / HTTP/1.1\r\nH\xc3\xb6st: x\r\n", "not a token character");
}

static void test_http_nul(void **state)
{
	(void)state;
	HTTP_BAD("GET / HTTP/1.1\r\nHost: example.org\0evil\r\n\r\n", "NUL");
	HTTP_BAD("GET / HTTP/1.1\r\nX: \0\r\nHost: example.org\r\n\r\n", "NUL");
	HTTP_BAD("GET / HTTP/1.1\r\nX\0: a\r\n", "NUL");
	HTTP_BAD("GET /\0 HTTP/1.1\r\n", "NUL");
	HTTP_BAD("G\0ET / HTTP/1.1\r\n", "the method is not a word of uppercase letters");
	HTTP_BAD("GET / HTTP/1.1\0\r\n", "the version is not HTTP/1.0 or HTTP/1.1");
}

static void test_http_control_bytes(void **state)
{
	(void)state;
	HTTP_BAD("GET / HTTP/1.1\r\nX: a\x01\r\n", "a control byte in a header value");
	HTTP_BAD("GET / HTTP/1.1\r\nX: a\x7f\r\n", "a control byte in a header value");
	HTTP_BAD("GET /a\tb HTTP/1.1\r\n", "control byte, space or non-ASCII");
	HTTP_BAD("GET /caf\xc3\xa9 HTTP/1.1\r\n", "control byte, space or non-ASCII");
}

static void test_http_request_line(void **state)
{
	(void)state;
	HTTP_BAD("get / HTTP/1.1\r\n", "the method is not a word of uppercase letters");
	HTTP_BAD("GETTTTTTTTTTTTTTT / HTTP/1.1\r\n", "longer than 16 letters");
	HTTP_OK("GETTTTTTTTTTTTTT / HTTP/1.1\r\nHost: a\r\n\r\n", "a");
	HTTP_BAD(" GET / HTTP/1.1\r\n", "starts with a space");
	HTTP_BAD("\r\nGET / HTTP/1.1\r\n", "does not start with a method");
	HTTP_BAD("GET  / HTTP/1.1\r\n", "two spaces after the method");
	HTTP_BAD("GET /  HTTP/1.1\r\n", "the version is not HTTP/1.0 or HTTP/1.1");
	HTTP_BAD("GET / HTTP/1.1 \r\n", "the version is not");
	HTTP_BAD("GET / HTTP/2.0\r\n", "the version is not");
	HTTP_BAD("GET / HTTP/1.2\r\n", "the version is not");
	HTTP_BAD("GET / http/1.1\r\n", "the version is not");
	HTTP_BAD("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "\"*\" is for OPTIONS alone");
	HTTP_BAD("GET /\r\n", "no HTTP version");
	HTTP_BAD("GET / HTTP/1.1\n", "a bare LF");
}

static void test_http_bad_host_values(void **state)
{
	(void)state;
	HTTP_BAD("GET / HTTP/1.1\r\nHost:\r\n\r\n", "the Host header is empty");
	HTTP_BAD("GET / HTTP/1.1\r\nHost:  \t\r\n\r\n", "the Host header is empty");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: example.org:0\r\n\r\n", "port is not a number 1..65535");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: example.org:65536\r\n\r\n", "port");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: example.org:\r\n\r\n", "port");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: example.org:80a\r\n\r\n", "port");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: example.org:123456\r\n\r\n", "port");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: example.org:80:81\r\n\r\n", "port");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", "port");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: user@example.org\r\n\r\n", "has a character");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: example.org evil.example\r\n\r\n", "has a character");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: example.org,evil.example\r\n\r\n", "has a character");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: ex%61mple.org\r\n\r\n", "has a character");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: a..b\r\n\r\n", "has an empty label");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: .\r\n\r\n", "is an empty host name");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: :80\r\n\r\n", "is an empty host name");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: ::1\r\n\r\n", "is an empty host name");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", "has no ']'");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: []\r\n\r\n", "is no IPv6 address");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n", "is no IPv6 address");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: [192.0.2.1]\r\n\r\n", "is no IPv6 address");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", "is no IPv6 address");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8:9]\r\n\r\n", "is no IPv6 address");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: 999.1.1.1\r\n\r\n", "all digits and dots but no IPv4");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: 127.1\r\n\r\n", "no IPv4");
	HTTP_BAD("GET / HTTP/1.1\r\nHost: 0177.0.0.1\r\n\r\n", "no IPv4");
}

/* The bound: a head of HTTPHOST_MAX bytes is read, one byte more is not;
 * so many bytes without the end of the head are refused, fewer wait. */
static void test_http_over_bound(void **state)
{
	(void)state;
	static const char start[] = "GET / HTTP/1.1\r\nHost: example.org\r\nX-Pad: ";
	clear(&wire);
	putstr(&wire, start);
	fill(&wire, 'a', HTTPHOST_MAX - wire.n - 4);
	putstr(&wire, "\r\n\r\n");
	assert_int_equal(wire.n, HTTPHOST_MAX);
	expect_http_n(wire.b, wire.n, "example.org");

	clear(&wire);
	putstr(&wire, start);
	fill(&wire, 'a', HTTPHOST_MAX - wire.n - 3);
	putstr(&wire, "\r\n\r\n");
	expect_http_bad_n(wire.b, wire.n, "no end of the request head (an empty line) in its "
			  "first 8192 bytes");

	char host[PEEK_NAME_MAX];
	struct perr e;
	assert_int_equal(http(wire.b, HTTPHOST_MAX - 1, host, sizeof(host), &e), PEEK_MORE);
	assert_int_equal(http(wire.b, HTTPHOST_MAX, host, sizeof(host), &e), PEEK_BAD);
	/* A long request line alone. */
	clear(&wire);
	putstr(&wire, "GET /");
	fill(&wire, 'a', HTTPHOST_MAX);
	assert_int_equal(http(wire.b, HTTPHOST_MAX - 1, host, sizeof(host), &e), PEEK_MORE);
	assert_int_equal(http(wire.b, wire.n, host, sizeof(host), &e), PEEK_BAD);
	assert_non_null(strstr(e.msg, "first 8192 bytes"));
}

static void test_http_host_buffer(void **state)
{
	(void)state;
	static const char req[] = "GET / HTTP/1.1\r\nHost: example.org\r\n\r\n";
	char host[12];
	struct perr e;
	assert_int_equal(http((const uint8_t *)req, sizeof(req) - 1, host, sizeof(host), &e),
			 PEEK_DONE);
	assert_string_equal(host, "example.org");
	assert_int_equal(http((const uint8_t *)req, sizeof(req) - 1, host, 11, &e), PEEK_BAD);
	assert_string_equal(host, "");
	assert_non_null(strstr(e.msg, "longer than the 11 bytes"));
}

/* ------------------------------------------------------- shared parts */

static void test_quote(void **state)
{
	(void)state;
	char q[PEEK_QUOTE_MAX];
	peek_quote((const uint8_t *)"a\"b\\c\x01\xff", 7, q);
	assert_string_equal(q, "a\\x22b\\x5cc\\x01\\xff");
	uint8_t many[300];
	memset(many, 0xff, sizeof(many));
	peek_quote(many, sizeof(many), q);
	assert_true(strlen(q) < PEEK_QUOTE_MAX);
	assert_string_equal(q + strlen(q) - 3, "...");
	memset(many, 'a', sizeof(many));
	peek_quote(many, PEEK_QUOTE_MAX - 1, q);
	assert_string_equal(q + strlen(q) - 3, "...");
	peek_quote(many, 90, q);
	assert_int_equal(strlen(q), 90);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_openssl),
		cmocka_unit_test(test_tls_curl),
		cmocka_unit_test(test_tls_records),
		cmocka_unit_test(test_tls_no_extensions),
		cmocka_unit_test(test_tls_no_sni),
		cmocka_unit_test(test_tls_ech_outer_name),
		cmocka_unit_test(test_tls_name_forms),
		cmocka_unit_test(test_tls_largest),
		cmocka_unit_test(test_tls_wrong_record_type),
		cmocka_unit_test(test_tls_other_record_between),
		cmocka_unit_test(test_tls_sslv2),
		cmocka_unit_test(test_tls_record_version),
		cmocka_unit_test(test_tls_record_length),
		cmocka_unit_test(test_tls_record_past_message),
		cmocka_unit_test(test_tls_not_client_hello),
		cmocka_unit_test(test_tls_handshake_over_bound),
		cmocka_unit_test(test_tls_legacy_version),
		cmocka_unit_test(test_tls_body_truncated),
		cmocka_unit_test(test_tls_session_id_too_long),
		cmocka_unit_test(test_tls_cipher_suites),
		cmocka_unit_test(test_tls_no_compression),
		cmocka_unit_test(test_tls_extensions_length),
		cmocka_unit_test(test_tls_extension_header_cut),
		cmocka_unit_test(test_tls_extension_past_list),
		cmocka_unit_test(test_tls_duplicate_extension),
		cmocka_unit_test(test_tls_two_sni_extensions),
		cmocka_unit_test(test_tls_sni_two_entries),
		cmocka_unit_test(test_tls_sni_not_host_name),
		cmocka_unit_test(test_tls_sni_empty_extension),
		cmocka_unit_test(test_tls_sni_list_length),
		cmocka_unit_test(test_tls_sni_entry_cut),
		cmocka_unit_test(test_tls_sni_name_past_list),
		cmocka_unit_test(test_tls_sni_empty_name),
		cmocka_unit_test(test_tls_sni_bad_characters),
		cmocka_unit_test(test_tls_sni_empty_label),
		cmocka_unit_test(test_tls_sni_too_long),
		cmocka_unit_test(test_tls_truncated_is_more),
		cmocka_unit_test(test_http_curl),
		cmocka_unit_test(test_http_hosts),
		cmocka_unit_test(test_http_missing_host),
		cmocka_unit_test(test_http_two_hosts),
		cmocka_unit_test(test_http_absolute_form),
		cmocka_unit_test(test_http_connect),
		cmocka_unit_test(test_http_asterisk),
		cmocka_unit_test(test_http_obs_fold),
		cmocka_unit_test(test_http_bare_lf),
		cmocka_unit_test(test_http_bare_cr),
		cmocka_unit_test(test_http_space_before_colon),
		cmocka_unit_test(test_http_header_name),
		cmocka_unit_test(test_http_nul),
		cmocka_unit_test(test_http_control_bytes),
		cmocka_unit_test(test_http_request_line),
		cmocka_unit_test(test_http_bad_host_values),
		cmocka_unit_test(test_http_over_bound),
		cmocka_unit_test(test_http_host_buffer),
		cmocka_unit_test(test_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
