/* The container's resolvers, from /etc/resolv.conf. Pure parsing. */
#ifndef PALISADE_RESOLVCONF_H
#define PALISADE_RESOLVCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/err.h"
#include <sys/types.h>

#include "../fw/net.h"

#define RESOLVERS_MAX 8
#define RESOLVCONF_MAX 16384   /* longer files are read up to this */

struct resolvers {
	size_t n;                      /* "nameserver" lines */
	struct net_addr v[RESOLVERS_MAX];
	size_t n_ext;                  /* Docker's "# ExtServers: [...]" */
	struct net_addr ext[RESOLVERS_MAX];
	bool filtered;                 /* palisade had already rewritten the file */
};

/* Reads nameserver lines (an address, optionally with %scope, which is
 * dropped) and the upstreams that Docker's embedded resolver (127.0.0.11)
 * forwards to, which Docker records in a "# ExtServers: [a b]" comment;
 * "host(...)" upstreams are reached from the host's namespace and are
 * skipped. Unparsable lines are ignored, as the C library does. */
void resolvconf_parse(const char *text, struct resolvers *out);

/* Reads path; a missing file gives no resolvers. A file that palisade
 * rewrote (a "# palisade upstreams: ..." line) gives the upstreams it
 * recorded, not its own address. */
int resolvconf_read(const char *path, struct resolvers *out, struct perr *err);

/* The file pointed at palisade's DNS filter: the upstreams recorded in a
 * comment, nameserver 127.0.0.1 (and ::1 with v6), and every other line of
 * text (search, options, comments) kept. Returns its length, or -1 when it
 * does not fit cap. Pure. */
ssize_t resolvconf_filtered(const char *text, const struct resolvers *up, bool v6,
			    char *buf, size_t cap);

/* Reads path into buf (NUL-terminated, at most cap - 1 bytes). Returns the
 * length, 0 for a missing file, or -1 (err->err is the system's error). */
int resolvconf_load(const char *path, char *buf, size_t cap, struct perr *err);
/* Rewrites path in place. Returns 0, or -1 (err->err is the system's
 * error: EACCES for a file of another user's, EROFS on a read-only mount). */
int resolvconf_write(const char *path, const char *text, size_t len, struct perr *err);

#endif
