/* Taking away what could give the agent root back: set-uid and set-gid bits
 * and file capabilities on the container's own root filesystem, and sudo,
 * doas and pkexec. Only the root mount is touched: volumes, bind mounts
 * (a host's /workspace), /proc, /sys and /dev are left exactly as they are. */
#ifndef PALISADE_STRIP_H
#define PALISADE_STRIP_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/err.h"

struct strip_stats {
	size_t files;        /* regular files inspected */
	size_t dirs;         /* directories walked */
	size_t setuid;       /* set-uid bits removed */
	size_t setgid;       /* set-gid bits removed (files only) */
	size_t filecaps;     /* security.capability attributes removed */
	size_t mounts;       /* other mounts met and left alone */
	size_t too_deep;     /* directories below the depth limit, not walked */
	size_t removed;      /* sudo, doas, pkexec files removed */
	bool readonly;       /* the root filesystem is read-only: nothing changed */
	bool no_mnt_id;      /* the kernel has no STATX_MNT_ID: mountinfo was used */
	bool xattr_proc;     /* no getxattrat (before Linux 6.13, or refused by a
	                      * seccomp profile): file capabilities were read
	                      * through /proc/self/fd */
};

/* Walks the file system under root (normally "/"), staying on root's own
 * mount, and strips every regular file. A read-only root is not an error:
 * stats->readonly is set and nothing is changed. */
int strip_setid(const char *root, struct strip_stats *stats, struct perr *err);

/* Removes sudo, sudoedit, doas, pkexec and their configuration, where they
 * are on the root mount (by mount id; before Linux 5.8, which has none, by
 * device). When root's own mount cannot be inspected, nothing is removed
 * and it is an error. */
int strip_sudo(const char *root, struct strip_stats *stats, struct perr *err);

#endif
