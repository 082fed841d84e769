/* The host a TLS client names: the server_name of its ClientHello (RFC 8446
 * 4.1.2, RFC 6066 3), read from the first bytes it sends on a connection.
 * Pure code; the client controls every byte and is not trusted. */
#ifndef PALISADE_TLSHELLO_H
#define PALISADE_TLSHELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/err.h"
#include "peek.h"

/* Bound on the ClientHello handshake message's body (its 24-bit length). */
#define TLSHELLO_MAX 16384

struct tls_hello {
	bool has_name;             /* a server_name extension with one host_name */
	char name[PEEK_NAME_MAX];  /* lower-cased, one trailing dot removed, NUL-terminated */
	bool ech;                  /* an encrypted_client_hello extension (0xfe0d) is
				    * there: name is the outer, public one */
};

/* Reads buf, every byte the client sent on the stream so far from its
 * first, as TLS handshake records (content type 22, version 3.0..3.4,
 * 1..16384 bytes each) carrying one ClientHello, which may be split over
 * several records. out is cleared, then filled on PEEK_DONE.
 *
 * PEEK_MORE: a valid beginning of a ClientHello, more bytes are needed.
 * PEEK_DONE: the whole ClientHello is read; has_name says whether it named
 *   a host. Bytes after the record that ends it are not read.
 * PEEK_BAD: not a TLS ClientHello (another record type before its end, an
 *   SSL 2.0-compatible hello), malformed (a length past the end of what
 *   holds it, bytes left over after the extensions or in the last record,
 *   a duplicate extension, a server_name that is not one host_name, or a
 *   name that peek_host_name refuses), or a message longer than
 *   TLSHELLO_MAX; err (EINVAL) says why.
 *
 * Answers depend only on the bytes: a longer buf that starts with a buf
 * answered PEEK_DONE or PEEK_BAD gets the same answer. */
enum peek_status tlshello_parse(const uint8_t *buf, size_t len, struct tls_hello *out,
				struct perr *err);

/* The most bytes tlshello_parse may need before it answers PEEK_DONE or
 * PEEK_BAD: the longest ClientHello in records of one byte each. */
size_t tlshello_max_bytes(void);

#endif
