/* The capabilities palisade needs to fence the container and give up root,
 * checked before anything is changed: a container started without one
 * (--cap-drop ALL, Kubernetes, a runtime's own default set) fails at once,
 * with every missing one named and the flags that give them. What the
 * image decides (stripping files other users own: DAC_READ_SEARCH, FOWNER,
 * SETFCAP) is named where it fails instead. */
#ifndef PALISADE_NEED_H
#define PALISADE_NEED_H

#include <stdint.h>

#include "../lib/err.h"

/* Which needed capabilities the effective set have (1 << CAP_*) lacks.
 * port_start is the network namespace's
 * net.ipv4.ip_unprivileged_port_start (-1 when unknown): below it, binding
 * port 53 for the DNS filter needs CAP_NET_BIND_SERVICE. user is the
 * agent's user, for the message. Returns 0 when none is missing, else -1
 * with err (EPERM) naming each one, what it is for, and the fix. Pure. */
int caps_check(uint64_t have, int port_start, const char *user, struct perr *err);

/* caps_check with the process's effective set and its network namespace's
 * sysctl. */
int caps_preflight(const char *user, struct perr *err);

#endif
