/* What the fuzz targets of the name check's parsers (fuzz_tlshello.c,
 * fuzz_httphost.c) share: the checks, and reading an input at each of its
 * prefixes with the bytes past the prefix poisoned, so that AddressSanitizer
 * stops a parser that reads one of them. */
#ifndef PALISADE_PEEK_FUZZ_H
#define PALISADE_PEEK_FUZZ_H

#include <errno.h>
#include <sanitizer/asan_interface.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../fw/peek.h"

static inline void check(bool ok)
{
	if (!ok)
		abort();
}

/* A host name as the parsers give it: NUL-terminated inside
 * PEEK_NAME_MAX, 1..253 characters of [a-z0-9._-], labels of 1..63. */
static inline void check_host_name(const char *name)
{
	size_t len = strnlen(name, PEEK_NAME_MAX);
	check(len >= 1 && len < PEEK_NAME_MAX);
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (c == '.') {
			check(label >= 1);
			label = 0;
			continue;
		}
		check((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
		check(++label <= 63);
	}
	check(label >= 1);
}

/* An answer with its error: BAD says why (EINVAL), MORE and DONE leave
 * err as it was. */
static inline void check_err(enum peek_status st, const struct perr *err)
{
	check(st == PEEK_MORE || st == PEEK_DONE || st == PEEK_BAD);
	if (st == PEEK_BAD)
		check(err->err == EINVAL && err->msg[0] != '\0' &&
		      strnlen(err->msg, sizeof(err->msg)) < sizeof(err->msg));
	else
		check(err->err == 0 && err->msg[0] == '\0');
}

/* How the answers along the prefixes of an input go: MORE, then one of
 * DONE or BAD for good. Call with each prefix's answer, shortest first;
 * returns whether this one is the first DONE. */
struct prefix_walk {
	enum peek_status last;
	bool started;
};

static inline bool walk_step(struct prefix_walk *w, enum peek_status st)
{
	bool first_done = st == PEEK_DONE && (!w->started || w->last == PEEK_MORE);
	if (w->started && w->last != PEEK_MORE)
		check(st == w->last);
	w->last = st;
	w->started = true;
	return first_done;
}

/* The prefixes read: every one of a short input, a sample of a long one,
 * and the whole. */
static inline size_t prefix_next(size_t i, size_t size)
{
	if (size <= 4096 || i + 1 >= size)
		return i + 1;
	size_t next = i + 61;
	return next < size ? next : size;
}

/* A copy of the input on the heap, whose bytes prefix_only poisons. */
static inline uint8_t *input_copy(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	check(copy != NULL);
	if (size)
		memcpy(copy, data, size);
	return copy;
}

/* copy holds the input's size bytes; only its first len may be read. */
static inline void prefix_only(uint8_t *copy, size_t len, size_t size)
{
	ASAN_UNPOISON_MEMORY_REGION(copy, size);
	ASAN_POISON_MEMORY_REGION(copy + len, size - len);
}

#endif
