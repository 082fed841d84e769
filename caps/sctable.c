/* The system calls the agent may not make, each with the reason. Keep one
 * line a reason. Denied calls fail with EPERM (clone3 with ENOSYS) instead
 * of killing the caller, so that programs that probe for a feature go on
 * without it. --seccomp-allow NAME takes one out. */
#include <errno.h>

#include "seccomp.h"

#define DENY(n, why) { n, SC_ALWAYS, EPERM, false, why }

const struct sc_entry sc_table[] = {
	/* File system layout: what palisade checked must stay what it is. */
	DENY("mount", "mounting could hide or replace files and reach host file systems"),
	DENY("umount2", "unmounting could uncover what a mount hides"),
	DENY("pivot_root", "changes the root the fence and the stripping were applied to"),
	DENY("chroot", "a root of its own is a classic step of escapes"),
	DENY("move_mount", "new mount API: mounting by another door"),
	DENY("open_tree", "new mount API: clones mounts"),
	DENY("fsopen", "new mount API: creates file system contexts"),
	DENY("fsconfig", "new mount API: configures file system contexts"),
	DENY("fsmount", "new mount API: turns a context into a mount"),
	DENY("fspick", "new mount API: reconfigures existing mounts"),
	DENY("mount_setattr", "new mount API: changes mount flags such as read-only"),

	/* Namespaces: a new user or network namespace escapes the fence's view. */
	{ "unshare", SC_NS_FLAGS, EPERM, false,
	  "new namespaces open kernel attack surface and networks the fence does not cover" },
	{ "clone", SC_NS_FLAGS, EPERM, false,
	  "clone with namespace flags is unshare by another name; plain clone stays allowed" },
	{ "clone3", SC_ALWAYS, ENOSYS, false,
	  "its flags sit behind a pointer a filter cannot read; ENOSYS makes libc fall back to clone" },
	DENY("setns", "joining another namespace leaves the fenced one"),

	/* The kernel itself. */
	DENY("kexec_load", "replaces the running kernel"),
	DENY("kexec_file_load", "replaces the running kernel"),
	DENY("init_module", "loads kernel code"),
	DENY("finit_module", "loads kernel code"),
	DENY("delete_module", "unloads kernel code"),
	DENY("bpf", "eBPF programs: large attack surface, and can read kernel memory"),
	DENY("perf_event_open", "profiling the kernel leaks addresses and has had many bugs"),
	DENY("userfaultfd", "lets exploits pause the kernel mid-copy"),

	/* Kernel keyrings: shared with the host, not namespaced. */
	DENY("keyctl", "kernel keyrings are not isolated by containers"),
	DENY("add_key", "kernel keyrings are not isolated by containers"),
	DENY("request_key", "kernel keyrings are not isolated by containers"),

	/* io_uring: a second system call interface, which also opens sockets. */
	DENY("io_uring_setup", "a second syscall interface beyond this filter, sockets included"),
	DENY("io_uring_enter", "a second syscall interface beyond this filter"),
	DENY("io_uring_register", "a second syscall interface beyond this filter"),

	/* Files by handle: bypasses path checks (the "shocker" escape). */
	DENY("open_by_handle_at", "opens host files by handle, past the container's root"),
	DENY("name_to_handle_at", "makes handles for open_by_handle_at"),

	/* Other terminals. */
	{ "ioctl", SC_TTY_INJECT, EPERM, false,
	  "TIOCSTI and TIOCLINUX type into another process's terminal (CVE-2019-10063: low 32 bits)" },

	/* Host-wide settings. */
	DENY("acct", "process accounting writes host-wide records"),
	DENY("swapon", "changes the host's swap"),
	DENY("swapoff", "changes the host's swap"),
	DENY("reboot", "reboots or halts"),
	DENY("settimeofday", "sets the host's clock"),
	DENY("clock_settime", "sets the host's clock"),
	DENY("clock_adjtime", "adjusts the host's clock"),
	DENY("adjtimex", "adjusts the host's clock"),
	DENY("syslog", "reads the kernel log, with addresses"),
	DENY("quotactl", "changes disk quotas"),
	DENY("quotactl_fd", "changes disk quotas"),
	DENY("iopl", "raw I/O port access"),
	DENY("ioperm", "raw I/O port access"),

	/* Networks iptables cannot see: only AF_UNIX, AF_INET, AF_INET6 and
	 * AF_NETLINK are allowed. AF_VSOCK reaches the host or hypervisor,
	 * AF_PACKET and AF_KEY bypass IP filtering, and so on. */
	{ "socket", SC_SOCKET_FAMILY, EPERM, false,
	  "families other than unix, inet, inet6 and netlink (AF_VSOCK, AF_PACKET, ...) bypass the fence" },
	{ "socketpair", SC_SOCKET_FAMILY, EPERM, false,
	  "the same families, for socket pairs" },
	{ "setsockopt", SC_SOCKOPT, EPERM, false,
	  "joining multicast groups makes the kernel announce agent-chosen addresses to the link; "
	  "TCP_FASTOPEN_CONNECT sends data in the SYN, past the name check" },

	/* TCP Fast Open puts data in the SYN, which the fence lets through
	 * before the name check reads the connection's first data. Clients
	 * that get an error send the data after the handshake. */
	{ "sendto", SC_FASTOPEN, EPERM, false, "MSG_FASTOPEN sends data in the SYN, past the name check" },
	{ "sendmsg", SC_FASTOPEN, EPERM, false, "MSG_FASTOPEN sends data in the SYN, past the name check" },
	{ "sendmmsg", SC_FASTOPEN, EPERM, false, "MSG_FASTOPEN sends data in the SYN, past the name check" },

	/* Other processes of the agent's user that this filter does not hold
	 * (docker exec sessions): taking one over runs code outside the
	 * filter. --allow-ptrace lets them through (and PTRACE_TRACEME, with
	 * which debuggers start their own programs, always works). */
	{ "ptrace", SC_PTRACE_ATTACH, EPERM, false,
	  "PTRACE_ATTACH/SEIZE on a process outside the filter (a docker exec session) runs code outside it" },
	DENY("process_vm_writev", "writes another process's memory, one outside the filter included"),
	DENY("pidfd_getfd", "takes another process's descriptors, such as an editor's terminal"),

	/* PID 1 runs nothing after it starts the agent. */
	{ "execve", SC_ALWAYS, EPERM, true, "PID 1 never runs another program once the agent runs" },
	{ "execveat", SC_ALWAYS, EPERM, true, "PID 1 never runs another program once the agent runs" },
};

const size_t sc_table_len = sizeof(sc_table) / sizeof(sc_table[0]);
