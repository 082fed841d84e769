/* Files palisade trusts must be ones the agent cannot have written. */
#ifndef PALISADE_SAFEFILE_H
#define PALISADE_SAFEFILE_H

#include <stddef.h>

#include "../lib/err.h"

/* Opens path for reading after checking that it is a regular file owned by
 * root and not writable by group or others, and that every directory on its
 * resolved path is owned by root and writable by nobody but root (group
 * write is accepted only for gid 0). `what` names the file in messages
 * ("allowlist file"). Returns an O_CLOEXEC fd, or -1 with the fix in err. */
int safefile_open(const char *path, const char *what, struct perr *err);

/* Reads all of fd (at most max bytes) into a new buffer. */
int safefile_read_all(int fd, const char *path, size_t max, char **buf,
		      size_t *len, struct perr *err);

#endif
