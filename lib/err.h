/* Error reporting between modules: a module that fails fills a perr with one
 * line saying what failed, on which input, and what to do; init/ prints it. */
#ifndef PALISADE_ERR_H
#define PALISADE_ERR_H

#include <stddef.h>

struct perr {
	char msg[1024];
};

/* Formats the message into e (truncated to fit) and returns -1, so that
 * callers can write `return perr_set(e, "...")`. e may be NULL. */
int perr_set(struct perr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to the message already in e. Returns -1. */
int perr_prefix(struct perr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
