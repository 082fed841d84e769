/* The system call filter: a table of denied calls (caps/sctable.c), built
 * into a seccomp filter with libseccomp. Default allow; denied calls fail
 * with an errno (EPERM, or ENOSYS for clone3) rather than killing, so that
 * programs can degrade. Calls from other ABIs (32-bit x86, x32) fail with
 * EPERM, all of them. */
#ifndef PALISADE_SECCOMP_H
#define PALISADE_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/err.h"

enum sc_match {
	SC_ALWAYS,        /* every call */
	SC_NS_FLAGS,      /* clone or unshare that asks for a new namespace */
	SC_TTY_INJECT,    /* ioctl TIOCSTI / TIOCLINUX, on the low 32 bits */
	SC_SOCKET_FAMILY, /* socket/socketpair outside AF_UNIX, INET, INET6, NETLINK */
	SC_SOCKOPT,       /* setsockopt options that join multicast groups or set
			   * their sources, and TCP_FASTOPEN_CONNECT, on the low
			   * 32 bits */
	SC_PTRACE_ATTACH, /* ptrace PTRACE_ATTACH or PTRACE_SEIZE (PTRACE_TRACEME stays) */
	SC_FASTOPEN,      /* MSG_FASTOPEN in sendto, sendmsg or sendmmsg's flags */
};

struct sc_entry {
	const char *name;   /* system call, as libseccomp names it */
	enum sc_match match;
	int err;            /* the errno the call fails with */
	bool pid1_only;     /* denied to PID 1 itself, not to the agent */
	const char *why;    /* one line */
};

extern const struct sc_entry sc_table[];
extern const size_t sc_table_len;

enum sc_who { SC_AGENT, SC_PID1 };

/* Builds and loads the filter for the calling thread and its children.
 * allow[] names calls to leave out (--seccomp-allow); a name that the table
 * does not deny is an error. Calls this libseccomp does not know are
 * skipped: the kernel cannot have them either. no_new_privs must be set. */
int sc_load(enum sc_who who, const char *const *allow, size_t nallow,
		 struct perr *err);

/* Checks --seccomp-allow names against the table (for configuration). */
int sc_check_allow(const char *const *allow, size_t nallow, struct perr *err);

/* The calls that act on other processes, denied to the agent unless
 * --allow-ptrace: ptrace attach, process_vm_writev, pidfd_getfd. PID 1's
 * own filter leaves them alone. */
extern const char *const sc_ptrace_calls[];
extern const size_t sc_ptrace_ncalls;

/* Whether allow[] lets the agent attach to other processes with ptrace:
 * then it is not confined to its own processes either (see privs.h). */
bool sc_allows_ptrace(const char *const *allow, size_t nallow);

#endif
