/* Giving up root: the agent's user, empty capability sets, locked
 * securebits, no_new_privs, and a check of what the kernel reports. */
#ifndef PALISADE_PRIVS_H
#define PALISADE_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/err.h"
#include "user.h"

/* In the child, as root: supplementary groups (setgroups, from /etc/group),
 * then gid and uid through capng_change_id with the bounding and ambient
 * sets cleared, every capability set emptied, securebits locked, and
 * no_new_privs set. A setuid(0) that still succeeds afterwards is fatal. */
int privs_become_user(const struct agent_user *u, struct perr *err);

/* For a process that is not root (palisade exec under docker exec -u):
 * it cannot change its user, groups or securebits. Empties its effective,
 * permitted, inheritable and ambient sets (and the bounding set when it
 * holds CAP_SETPCAP), and sets no_new_privs, so that nothing it runs can
 * gain a capability. */
int privs_drop_unprivileged(struct perr *err);

/* Whether Landlock can confine ptrace here: its ABI version (2 or more:
 * version 1 would refuse every rename between directories), or 0 with
 * err saying why not. */
int privs_landlock_abi(struct perr *err);

/* Puts the calling process (no_new_privs set) in a Landlock domain of its
 * own that restricts no file access: the kernel then refuses it, and all
 * it starts, every ptrace-mode access to processes outside the domain:
 * PTRACE_ATTACH, /proc/PID/mem, process_vm_writev, pidfd_getfd, and the
 * reading of /proc/PID/environ, maps and fd. Its own children stay
 * traceable (PTRACE_TRACEME, and attach where the filter allows it).
 * Returns 1 when confined, 0 when the kernel cannot (err says why), -1 on
 * error. */
int privs_scope_ptrace(struct perr *err);

/* For PID 1 once the agent runs: keeps only the capabilities in keep[]
 * (in every set, the bounding set included), locks the securebits so uid 0
 * gains nothing by exec, sets no_new_privs, and loads PID 1's own system
 * call filter unless no_seccomp. */
int privs_restrict_pid1(const int *keep, size_t nkeep, bool no_seccomp, struct perr *err);

/* What /proc/<pid>/status says of a process. */
struct proc_status {
	unsigned long long cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	int no_new_privs;
	int seccomp;            /* 0 none, 1 strict, 2 filter */
	unsigned uid[4], gid[4]; /* real, effective, saved, filesystem */
	bool have_caps, have_nnp, have_seccomp, have_ids;
};

/* Parses the text of a status file. Pure. */
int proc_status_parse(const char *text, struct proc_status *st);
int proc_status_read(const char *path, struct proc_status *st, struct perr *err);

/* Checks, from /proc/self/status, that the process is the agent's user with
 * every capability set empty, no_new_privs set and, when want_seccomp, a
 * seccomp filter loaded. Any difference is an error naming it. */
int privs_verify(const struct agent_user *u, bool want_seccomp, struct perr *err);

/* privs_verify for a process that was not root: every capability set but
 * the bounding set empty, no uid 0 among real, effective, saved and file
 * system uids, no_new_privs, and the filter when want_seccomp. */
int privs_verify_unprivileged(bool want_seccomp, struct perr *err);

/* Checks PID 1's own status: effective, permitted and bounding sets exactly
 * keep[], nothing inheritable or ambient, no_new_privs, and a filter. */
int privs_verify_pid1(const int *keep, size_t nkeep, bool want_seccomp, struct perr *err);

#endif
