/* /run/palisade: what PID 1 leaves for the processes that come next to it
 * with docker exec (the ready marker, the status, the agent's settings for
 * palisade exec). Only root may have written what is read there: the
 * directory must be root's and writable by root alone, every directory
 * above it root's (writable by others only when sticky), no symbolic link
 * on the way, and each file root's, regular, and writable by root alone. */
#ifndef PALISADE_RUNDIR_H
#define PALISADE_RUNDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/err.h"

#define RUN_DIR "/run/palisade"

/* The files palisade writes there. */
#define RUN_READY "ready"   /* the startup line, once the fence holds */
#define RUN_STATUS "status" /* names and counts, for palisade status */
#define RUN_AGENT "agent"   /* the agent's user and filter, for palisade exec */

/* Opens RUN_DIR after the checks above and returns a descriptor, or -1
 * with err (err->err EROFS when the root is read-only and the directory
 * could not be made, EPERM when a check fails). With create (PID 1 at
 * start), /run and RUN_DIR are made when missing, and the files an earlier
 * run of the container left are removed, also from a directory that fails
 * the checks. */
int rundir_open(bool create, struct perr *err);

/* Writes name in the directory atomically (a new file, renamed over the
 * old one), mode 0644 whatever the umask. On failure, err->err is the
 * failed step's errno (EROFS on a read-only root). */
int rundir_write(int dirfd, const char *name, const char *data, size_t len, struct perr *err);

/* Reads RUN_DIR/name, after the checks, into buf (NUL-terminated); a file
 * of size or more bytes is an error. Returns its length, or -1 with err
 * (err->err ENOENT when the file is missing, EPERM when a check fails,
 * EFBIG when it is too large).
 *
 * Each function also leaves errno at err->err on failure. */
long rundir_read(const char *name, char *buf, size_t size, struct perr *err);

#endif
