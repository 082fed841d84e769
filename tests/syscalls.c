#include "syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "syscalls32.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define NOPATH "/nonexistent-palisade-test"

#define CALL(name_, want_, expr)                                        \
	do {                                                            \
		if (n < max) {                                          \
			errno = 0;                                      \
			long r_ = (long)(expr);                         \
			out[n].name = name_;                            \
			out[n].ret = r_;                                \
			out[n].err = r_ < 0 ? errno : 0;                \
			out[n].want = want_;                            \
			if (r_ >= 0 && strncmp(name_, "socket", 6) == 0) \
				close((int)r_);                         \
			n++;                                            \
		}                                                       \
	} while (0)

size_t exercise_native(struct call_result *out, size_t max)
{
	size_t n = 0;
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	char c = 'x';
	CALL("mount", EPERM, syscall(SYS_mount, NULL, NULL, NULL, 0, NULL));
	CALL("umount2", EPERM, syscall(SYS_umount2, NOPATH, 0));
	CALL("pivot_root", EPERM, syscall(SYS_pivot_root, NOPATH, NOPATH));
	CALL("chroot", EPERM, syscall(SYS_chroot, NOPATH));
	CALL("move_mount", EPERM, syscall(SYS_move_mount, -1, "", -1, "", 0));
	CALL("open_tree", EPERM, syscall(SYS_open_tree, -1, NOPATH, 0));
	CALL("fsopen", EPERM, syscall(SYS_fsopen, "palisade-no-such-fs", 0));
	CALL("fsconfig", EPERM, syscall(SYS_fsconfig, -1, 0, NULL, NULL, 0));
	CALL("fsmount", EPERM, syscall(SYS_fsmount, -1, 0, 0));
	CALL("fspick", EPERM, syscall(SYS_fspick, -1, NOPATH, 0));
	CALL("mount_setattr", EPERM, syscall(SYS_mount_setattr, -1, NOPATH, 0, NULL, 0));
	/* Namespace flags plus CLONE_THREAD without CLONE_SIGHAND: invalid, so
	 * without the filter nothing is created either. */
	CALL("unshare", EPERM, syscall(SYS_unshare, CLONE_NEWUSER | CLONE_IO));
	CALL("clone", EPERM, syscall(SYS_clone, CLONE_NEWUSER | CLONE_THREAD, NULL, NULL, NULL, 0));
	CALL("clone3", ENOSYS, syscall(SYS_clone3, NULL, 0));
	CALL("setns", EPERM, syscall(SYS_setns, -1, 0));
	CALL("kexec_load", EPERM, syscall(SYS_kexec_load, 0, 0, NULL, 0xffff0000UL));
	CALL("kexec_file_load", EPERM, syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0xffff0000UL));
	CALL("init_module", EPERM, syscall(SYS_init_module, NULL, 0, NULL));
	CALL("finit_module", EPERM, syscall(SYS_finit_module, -1, NULL, 0));
	CALL("delete_module", EPERM, syscall(SYS_delete_module, "palisade_no_such_module", O_NONBLOCK));
	CALL("bpf", EPERM, syscall(SYS_bpf, -1, NULL, 0));
	CALL("perf_event_open", EPERM, syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	CALL("userfaultfd", EPERM, syscall(SYS_userfaultfd, 0xffffffff));
	CALL("keyctl", EPERM, syscall(SYS_keyctl, -1, 0, 0, 0, 0));
	CALL("add_key", EPERM, syscall(SYS_add_key, NULL, NULL, NULL, 0, 0));
	CALL("request_key", EPERM, syscall(SYS_request_key, NULL, NULL, NULL, 0));
	CALL("io_uring_setup", EPERM, syscall(SYS_io_uring_setup, 0, NULL));
	CALL("io_uring_enter", EPERM, syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0));
	CALL("io_uring_register", EPERM, syscall(SYS_io_uring_register, -1, 0, NULL, 0));
	CALL("open_by_handle_at", EPERM, syscall(SYS_open_by_handle_at, -1, NULL, 0));
	CALL("name_to_handle_at", EPERM, syscall(SYS_name_to_handle_at, -1, NULL, NULL, NULL, 0));
	/* On /dev/null, without the filter: ENOTTY. */
	CALL("ioctl TIOCSTI", EPERM, syscall(SYS_ioctl, devnull, TIOCSTI, &c));
	CALL("ioctl TIOCSTI with high bits", EPERM, syscall(SYS_ioctl, devnull, 0x100000000UL | TIOCSTI, &c));
	CALL("ioctl TIOCLINUX", EPERM, syscall(SYS_ioctl, devnull, TIOCLINUX, &c));
	CALL("acct", EPERM, syscall(SYS_acct, NOPATH));
	CALL("swapon", EPERM, syscall(SYS_swapon, NOPATH, 0));
	CALL("swapoff", EPERM, syscall(SYS_swapoff, NOPATH));
	CALL("reboot", EPERM, syscall(SYS_reboot, 0, 0, 0, NULL));
	CALL("clock_settime", EPERM, syscall(SYS_clock_settime, CLOCK_REALTIME, NULL));
	CALL("clock_adjtime", EPERM, syscall(SYS_clock_adjtime, CLOCK_REALTIME, NULL));
	CALL("adjtimex", EPERM, syscall(SYS_adjtimex, NULL));
	CALL("settimeofday", EPERM, syscall(SYS_settimeofday, NULL, NULL));
	CALL("syslog", EPERM, syscall(SYS_syslog, -1, NULL, 0));
	CALL("quotactl", EPERM, syscall(SYS_quotactl, 0, NULL, 0, NULL));
	CALL("quotactl_fd", EPERM, syscall(SYS_quotactl_fd, -1, 0, 0, NULL));
	CALL("iopl", EPERM, syscall(SYS_iopl, 4));
	CALL("ioperm", EPERM, syscall(SYS_ioperm, 0xffffffffUL, 1, 0));
	CALL("socket AF_VSOCK", EPERM, syscall(SYS_socket, AF_VSOCK, SOCK_STREAM, 0));
	CALL("socket AF_VSOCK with high bits", EPERM, syscall(SYS_socket, 0x100000000UL | AF_VSOCK, SOCK_STREAM, 0));
	CALL("socket AF_PACKET", EPERM, syscall(SYS_socket, AF_PACKET, SOCK_DGRAM, 0));
	CALL("socket AF_KEY", EPERM, syscall(SYS_socket, AF_KEY, SOCK_RAW, 2));
	CALL("socket AF_TIPC", EPERM, syscall(SYS_socket, AF_TIPC, SOCK_RDM, 0));
	CALL("socketpair AF_VSOCK", EPERM, syscall(SYS_socketpair, AF_VSOCK, SOCK_STREAM, 0, NULL));
	/* Multicast joins, on a bad descriptor: without the filter, EBADF. */
#define SETSOCKOPT(name_, level_, opt_) \
	CALL("setsockopt " name_, EPERM, syscall(SYS_setsockopt, -1, level_, opt_, NULL, 0))
	SETSOCKOPT("IP_ADD_MEMBERSHIP", SOL_IP, IP_ADD_MEMBERSHIP);
	SETSOCKOPT("IP_ADD_MEMBERSHIP with high bits", 0x100000000UL | SOL_IP,
		   0x100000000UL | IP_ADD_MEMBERSHIP);
	SETSOCKOPT("IP_ADD_SOURCE_MEMBERSHIP", SOL_IP, IP_ADD_SOURCE_MEMBERSHIP);
	SETSOCKOPT("IP_BLOCK_SOURCE", SOL_IP, IP_BLOCK_SOURCE);
	SETSOCKOPT("IP_UNBLOCK_SOURCE", SOL_IP, IP_UNBLOCK_SOURCE);
	SETSOCKOPT("IP_MSFILTER", SOL_IP, IP_MSFILTER);
	SETSOCKOPT("MCAST_JOIN_GROUP (IPv4)", SOL_IP, MCAST_JOIN_GROUP);
	SETSOCKOPT("MCAST_JOIN_SOURCE_GROUP (IPv4)", SOL_IP, MCAST_JOIN_SOURCE_GROUP);
	SETSOCKOPT("MCAST_BLOCK_SOURCE (IPv4)", SOL_IP, MCAST_BLOCK_SOURCE);
	SETSOCKOPT("MCAST_UNBLOCK_SOURCE (IPv4)", SOL_IP, MCAST_UNBLOCK_SOURCE);
	SETSOCKOPT("MCAST_MSFILTER (IPv4)", SOL_IP, MCAST_MSFILTER);
	SETSOCKOPT("IPV6_JOIN_GROUP", SOL_IPV6, IPV6_JOIN_GROUP);
	SETSOCKOPT("IPV6_JOIN_GROUP with high bits", 0x100000000UL | SOL_IPV6,
		   0x100000000UL | IPV6_JOIN_GROUP);
	SETSOCKOPT("IPV6_JOIN_ANYCAST", SOL_IPV6, IPV6_JOIN_ANYCAST);
	SETSOCKOPT("MCAST_JOIN_GROUP (IPv6)", SOL_IPV6, MCAST_JOIN_GROUP);
	SETSOCKOPT("MCAST_JOIN_SOURCE_GROUP (IPv6)", SOL_IPV6, MCAST_JOIN_SOURCE_GROUP);
	SETSOCKOPT("MCAST_BLOCK_SOURCE (IPv6)", SOL_IPV6, MCAST_BLOCK_SOURCE);
	SETSOCKOPT("MCAST_UNBLOCK_SOURCE (IPv6)", SOL_IPV6, MCAST_UNBLOCK_SOURCE);
	SETSOCKOPT("MCAST_MSFILTER (IPv6)", SOL_IPV6, MCAST_MSFILTER);
#undef SETSOCKOPT
	/* TCP Fast Open, on a bad descriptor: without the filter, EBADF. */
	CALL("setsockopt TCP_FASTOPEN_CONNECT", EPERM,
	     syscall(SYS_setsockopt, -1, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, NULL, 0));
	CALL("setsockopt TCP_FASTOPEN_CONNECT with high bits", EPERM,
	     syscall(SYS_setsockopt, -1, 0x100000000UL | IPPROTO_TCP,
		     0x100000000UL | TCP_FASTOPEN_CONNECT, NULL, 0));
	CALL("sendto MSG_FASTOPEN", EPERM, syscall(SYS_sendto, -1, NULL, 0, MSG_FASTOPEN, NULL, 0));
	CALL("sendto MSG_FASTOPEN|MSG_NOSIGNAL", EPERM,
	     syscall(SYS_sendto, -1, NULL, 0, MSG_FASTOPEN | MSG_NOSIGNAL, NULL, 0));
	CALL("sendmsg MSG_FASTOPEN", EPERM, syscall(SYS_sendmsg, -1, NULL, MSG_FASTOPEN));
	CALL("sendmmsg MSG_FASTOPEN", EPERM, syscall(SYS_sendmmsg, -1, NULL, 0, MSG_FASTOPEN));
	/* Attaching to pid -1: ESRCH without the filter. */
	CALL("ptrace PTRACE_ATTACH", EPERM, syscall(SYS_ptrace, PTRACE_ATTACH, -1, NULL, NULL));
	CALL("ptrace PTRACE_SEIZE", EPERM, syscall(SYS_ptrace, PTRACE_SEIZE, -1, NULL, NULL));
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	CALL("process_vm_writev", EPERM, syscall(SYS_process_vm_writev, -1, &iov, 1, &iov, 1, 0));
	CALL("pidfd_getfd", EPERM, syscall(SYS_pidfd_getfd, -1, 0, 0));
	/* Allowed, for contrast. */
	CALL("socket AF_INET (allowed)", 0, syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0));
	CALL("socket AF_UNIX (allowed)", 0, syscall(SYS_socket, AF_UNIX, SOCK_DGRAM, 0));
	int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ttl = 1;
	CALL("setsockopt IP_MULTICAST_TTL (allowed)", 0,
	     syscall(SYS_setsockopt, udp, SOL_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)));
	if (udp >= 0)
		close(udp);
	if (devnull >= 0)
		close(devnull);
	return n;
}

/* A call through the 32-bit ABI from 64-bit code: int 0x80, arguments in
 * ebx, ecx, edx, esi, edi (all zero here). Returns -errno or the result. */
static long int80(long nr)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(0), "c"(0), "d"(0), "S"(0), "D"(0)
			 : "memory");
	return ret;
}

size_t exercise_i386(struct call_result *out, size_t max)
{
	size_t n = 0;
	for (unsigned long i = 0; i < i386_calls_len && n < max; i++) {
		long r = int80(i386_calls[i].nr);
		out[n].name = i386_calls[i].name;
		out[n].ret = r < 0 && r > -4096 ? -1 : r;
		out[n].err = r < 0 && r > -4096 ? (int)-r : 0;
		out[n].want = EPERM;
		n++;
	}
	return n;
}
