/* Forgetting the connections made before the fence went up. */
#ifndef PALISADE_CONNTRACK_H
#define PALISADE_CONNTRACK_H

#include <stdbool.h>

#include "../lib/err.h"

/* Flushes the namespace's connection tracking table for IPv4 (and IPv6).
 * A connection opened before the fence (by a `docker exec` session that
 * raced palisade's start, say) then no longer matches the ESTABLISHED
 * rule, and its next packet is rejected. */
int conntrack_flush(bool v6, struct perr *err);

#endif
