/* Error reporting between modules: a module that fails fills a perr with one
 * line saying what failed, on which input, and what to do; init/ prints it.
 * Callers that act on the kind of failure branch on err, never on the text
 * of msg nor on the global errno (which later calls may have changed).
 *
 * err is 0 while no failure is recorded (PERR_INIT) and a positive errno
 * once one is: the system's error for a failed system call, EINVAL for
 * input that is not valid, or another code a function documents (ENOENT
 * for a thing that is not there, ENOSPC for a full table, ...). */
#ifndef PALISADE_ERR_H
#define PALISADE_ERR_H

#include <errno.h>
#include <stddef.h>

struct perr {
	int err;
	char msg[1024];
};

/* Every struct perr starts as `struct perr e = PERR_INIT;`. */
#define PERR_INIT { .err = 0, .msg = "" }

/* Records a failure with the code errnum (a positive errno; anything else
 * is recorded as EIO) and the message formatted into e (truncated to
 * fit); with sys, the message is followed by ": " and strerror(errnum).
 * Returns -1, so that callers can write `return perr_set(e, "...")`.
 * e may be NULL. Called through the three macros below. */
int perr_fill(struct perr *e, int errnum, int sys, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A failure of input or state: err = EINVAL. */
#define perr_set(e, ...) perr_fill((e), EINVAL, 0, __VA_ARGS__)
/* A failure with another code, for a message whose text is not
 * strerror's, or carries it elsewhere than at the end. */
#define perr_code(e, errnum, ...) perr_fill((e), (errnum), 0, __VA_ARGS__)
/* A failed system call: pass errno (or a copy taken right after the
 * call); the message ends with ": strerror(errnum)". */
#define perr_sys(e, errnum, ...) perr_fill((e), (errnum), 1, __VA_ARGS__)

/* Prepends "prefix: " to the message already in e; err is kept.
 * Returns -1. e may be NULL. */
int perr_prefix(struct perr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
