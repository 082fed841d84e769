/* The host an HTTP/1.x client names: the Host header of its request head
 * (RFC 9112 3 and 5, RFC 9110 7.2), read from the first bytes it sends on
 * a connection. Whatever a server or proxy behind the allowed address
 * might route on besides Host is refused: a target in absolute-form or
 * authority-form (CONNECT), a second Host, and the ambiguous framings of
 * request smuggling (obs-fold, bare CR or LF, whitespace before a colon,
 * NUL). Pure code; the client controls every byte and is not trusted. */
#ifndef PALISADE_HTTPHOST_H
#define PALISADE_HTTPHOST_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/err.h"
#include "peek.h"

/* Bound on the request head: the request line, the headers and the empty
 * line that ends them. */
#define HTTPHOST_MAX 8192

/* Reads buf, every byte the client sent on the stream so far from its
 * first, as an HTTP/1.0 or HTTP/1.1 request head:
 *   METHOD SP target SP HTTP/1.x CRLF *(name ":" OWS value OWS CRLF) CRLF
 * with METHOD 1..16 uppercase letters (not CONNECT), target "/..." of
 * visible ASCII ("*" for OPTIONS), names tokens, values without control
 * bytes but HT, and exactly one Host header: host or host:port (port
 * 1..65535), host a name that peek_host_name takes (all digits and dots:
 * an IPv4 address) or an [IPv6] address.
 *
 * PEEK_MORE: a valid beginning of a head, shorter than HTTPHOST_MAX.
 * PEEK_DONE: the whole head is there; host (hostlen bytes; PEEK_NAME_MAX
 *   always holds it) is its Host without the port, lower-cased, without
 *   the brackets of an IPv6 address and the final dot of a name. Bytes
 *   after the head are not read.
 * PEEK_BAD: anything else, or no end of the head in HTTPHOST_MAX bytes;
 *   err (EINVAL) says why.
 * host is "" unless PEEK_DONE. Answers depend only on the bytes: a longer
 * buf that starts with a buf answered PEEK_DONE or PEEK_BAD gets the same
 * answer. */
enum peek_status httphost_parse(const uint8_t *buf, size_t len, char *host, size_t hostlen,
				struct perr *err);

#endif
