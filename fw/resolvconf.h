/* The container's resolvers, from /etc/resolv.conf. Pure parsing. */
#ifndef PALISADE_RESOLVCONF_H
#define PALISADE_RESOLVCONF_H

#include <stddef.h>

#include "net.h"

#define RESOLVERS_MAX 8

struct resolvers {
	size_t n;                      /* "nameserver" lines */
	struct net_addr v[RESOLVERS_MAX];
	size_t n_ext;                  /* Docker's "# ExtServers: [...]" */
	struct net_addr ext[RESOLVERS_MAX];
};

/* Reads nameserver lines (an address, optionally with %scope, which is
 * dropped) and the upstreams that Docker's embedded resolver (127.0.0.11)
 * forwards to, which Docker records in a "# ExtServers: [a b]" comment;
 * "host(...)" upstreams are reached from the host's namespace and are
 * skipped. Unparsable lines are ignored, as the C library does. */
void resolvconf_parse(const char *text, struct resolvers *out);

/* Reads path; a missing file gives no resolvers. */
int resolvconf_read(const char *path, struct resolvers *out);

#endif
