/* How palisade was started, as far as /proc tells: which program is PID 1
 * of its PID namespace, which is its parent, and whether it runs in a user
 * namespace. Where palisade is not its container's PID 1, this says why
 * (docker run --init, a shared PID namespace, an entrypoint bypassed by a
 * CI job) and what to do, instead of a guess. Reading is apart from the
 * judging: launch_classify and the messages are pure. */
#ifndef PALISADE_LAUNCH_H
#define PALISADE_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../lib/err.h"

#define LAUNCH_COMM_MAX 16 /* a command name in /proc (TASK_COMM_LEN) */

/* What /proc says. Names are "" when they could not be read. */
struct launch_facts {
	char pid1[LAUNCH_COMM_MAX];   /* PID 1's command name, /proc/1/comm */
	char self[LAUNCH_COMM_MAX];   /* palisade's own, /proc/self/comm */
	pid_t ppid;                   /* 0: the parent is outside this PID namespace */
	char parent[LAUNCH_COMM_MAX]; /* the parent's command name */
};

enum launch_kind {
	LAUNCH_BY_HAND,          /* from a shell or a service, or /proc could not tell */
	LAUNCH_NEXT_TO_PALISADE, /* with docker exec next to palisade as PID 1 */
	LAUNCH_INIT_IN_FRONT,    /* another init is PID 1 (docker run --init) */
	LAUNCH_UNDER_PID1,       /* another program is PID 1 and started palisade */
	LAUNCH_SHARED_POD,       /* PID 1 is a pod's pause process */
	LAUNCH_SHARED_HOST,      /* started by a container runtime seen from here */
	LAUNCH_BYPASSED,         /* from outside this namespace, PID 1 another program */
};

/* A command name as /proc gives it (raw, len bytes, a newline at the end
 * or not) into out: at most LAUNCH_COMM_MAX - 1 bytes, each byte that is
 * not printable ASCII, or is a quote, made '?'. */
void launch_comm(const char *raw, size_t len, char out[LAUNCH_COMM_MAX]);

/* PID 1 is palisade: its name is "palisade", or palisade's own. */
bool launch_pid1_is_palisade(const struct launch_facts *f);

enum launch_kind launch_classify(const struct launch_facts *f);

/* Why palisade refuses to run when it is not PID 1 (pid is its own pid),
 * and what to do, for the kind of start f shows. Cut at size. */
void launch_refusal(const struct launch_facts *f, pid_t pid, char *buf, size_t size);

/* The text of /proc/self/uid_map maps every uid to itself: the initial
 * user namespace (or one that changes nothing). Anything that cannot be
 * read as a map is not. */
bool launch_uid_map_is_identity(const char *uid_map);

/* Reads f from /proc. */
void launch_read(struct launch_facts *f);

/* palisade runs in a user namespace that maps uids (rootless Podman).
 * False when /proc/self/uid_map cannot be read. */
bool launch_in_user_namespace(void);

/* For palisade exec and palisade status: -1 with err when PID 1 of this
 * container is readable and is not palisade (its entrypoint was bypassed,
 * so nothing fences it), else 0. */
int launch_check_fenced(struct perr *err);

#endif
