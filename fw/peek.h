/* The name check reads the first bytes an agent sends on a TCP connection
 * to an allowed address (a TLS ClientHello: fw/tlshello.h, an HTTP request
 * head: fw/httphost.h) for the host they name. What the two parsers share:
 * their answer and the check of a host name. Pure code; the agent controls
 * every byte it reads. */
#ifndef PALISADE_PEEK_H
#define PALISADE_PEEK_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/err.h"

/* A parser's answer on the bytes of a stream from its first one:
 * PEEK_MORE: what is there is a valid beginning, more bytes are needed;
 * PEEK_DONE: the whole message is there and was read;
 * PEEK_BAD: it is not the message, malformed, or over its bound (err). */
enum peek_status { PEEK_MORE, PEEK_DONE, PEEK_BAD };

/* Longest host name (253 characters) and its NUL. */
#define PEEK_NAME_MAX 254

/* Checks the host name of len bytes at p: one trailing dot is dropped,
 * then 1..253 characters of [A-Za-z0-9._-], no empty label, labels of 63
 * characters at most. Writes it lower-cased and NUL-terminated to out and
 * returns 0, or makes out "" and returns -1 with err (EINVAL) saying
 * `WHAT "the name" has ...`, the name quoted by peek_quote. */
int peek_host_name(const uint8_t *p, size_t len, char out[PEEK_NAME_MAX], const char *what,
		   struct perr *err);

/* Longest text peek_quote writes, with its NUL. */
#define PEEK_QUOTE_MAX 100

/* Bytes from the agent as text for a message: printable ASCII as it is
 * except '"' and '\', any other byte as \xNN; cut with "..." so that it
 * fits PEEK_QUOTE_MAX. */
void peek_quote(const uint8_t *p, size_t len, char out[PEEK_QUOTE_MAX]);

#endif
