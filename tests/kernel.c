#include "kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "an unknown error";
}

/* The contents of a /proc/sys file, one line, or "" when it cannot be read. */
static void sysctl_read(const char *path, char *buf, size_t len)
{
	buf[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0) {
		buf[0] = '\0';
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static int probe_ia32(char *why, size_t len)
{
	long ret;
	/* getpid (20) through the 32-bit ABI. */
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	if (ret == getpid())
		return 0;
	snprintf(why, len, "int 0x80 getpid answered %ld", ret);
	return -1;
}

static int probe_x32(char *why, size_t len)
{
	long ret = syscall(0x40000000 | SYS_getpid);
	if (ret == getpid())
		return 0;
	snprintf(why, len, "this kernel has no x32 ABI (x32 getpid: %s)", errname(errno));
	return -1;
}

static int probe_io_uring(char *why, size_t len)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	long fd = syscall(SYS_io_uring_setup, 1, &p);
	if (fd >= 0) {
		close((int)fd);
		return 0;
	}
	int e = errno;
	char v[32];
	sysctl_read("/proc/sys/kernel/io_uring_disabled", v, sizeof(v));
	if (e == ENOSYS)
		snprintf(why, len, "this kernel is built without io_uring (ENOSYS)");
	else if (v[0] && strcmp(v, "0") != 0)
		snprintf(why, len, "disabled by kernel.io_uring_disabled=%s (%s)", v, errname(e));
	else
		snprintf(why, len, "io_uring_setup fails with %s", errname(e));
	return -1;
}

static int probe_perf(char *why, size_t len)
{
	/* No attributes: a kernel with perf events says EFAULT. */
	long ret = syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
	if (ret < 0 && errno == EFAULT)
		return 0;
	if (ret >= 0) {
		close((int)ret);
		return 0;
	}
	int e = errno;
	char v[32];
	sysctl_read("/proc/sys/kernel/perf_event_paranoid", v, sizeof(v));
	if (e == ENOSYS)
		snprintf(why, len, "this kernel is built without perf events (ENOSYS)");
	else
		snprintf(why, len, "perf_event_open fails with %s%s%s", errname(e),
			 v[0] ? ", kernel.perf_event_paranoid=" : "", v);
	return -1;
}

static int probe_vsock(char *why, size_t len)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	snprintf(why, len, "socket(AF_VSOCK) fails with %s (no vsock transport)", errname(errno));
	return -1;
}

static int probe_userns(char *why, size_t len)
{
	if (unshare(CLONE_NEWUSER) == 0)
		return 0;
	int e = errno;
	char v[32];
	sysctl_read("/proc/sys/user/max_user_namespaces", v, sizeof(v));
	snprintf(why, len, "unshare(CLONE_NEWUSER) fails with %s%s%s", errname(e),
		 v[0] ? ", user.max_user_namespaces=" : "", v);
	return -1;
}

static int probe_ipv6(char *why, size_t len)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	snprintf(why, len, "socket(AF_INET6) fails with %s", errname(errno));
	return -1;
}

const struct kernel_feature kernel_features[] = {
	{ "ia32", "32-bit system calls", probe_ia32 },
	{ "x32", "x32 system calls", probe_x32 },
	{ "io_uring", "io_uring", probe_io_uring },
	{ "perf", "perf events", probe_perf },
	{ "vsock", "AF_VSOCK sockets", probe_vsock },
	{ "userns", "user namespaces", probe_userns },
	{ "ipv6", "IPv6", probe_ipv6 },
};
const size_t kernel_features_len = sizeof(kernel_features) / sizeof(kernel_features[0]);

const struct kernel_feature *kernel_feature(const char *name)
{
	for (size_t i = 0; i < kernel_features_len; i++)
		if (strcmp(kernel_features[i].name, name) == 0)
			return &kernel_features[i];
	return NULL;
}

bool kernel_offers(const struct kernel_feature *f, char *why, size_t len)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(why, len, "cannot ask the kernel: pipe: %s", strerror(errno));
		return false;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, len, "cannot ask the kernel: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return false;
	}
	if (pid == 0) {
		/* Whatever handlers the caller (a test framework) installed, a
		 * crash here must end this child and nothing else. */
		static const int crash[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGTRAP, SIGABRT };
		for (size_t i = 0; i < sizeof(crash) / sizeof(crash[0]); i++)
			signal(crash[i], SIG_DFL);
		close(p[0]);
		char buf[256] = "";
		int rc = f->probe(buf, sizeof(buf));
		if (rc != 0 && write(p[1], buf, strlen(buf)) < 0)
			_exit(3);
		_exit(rc == 0 ? 0 : 1);
	}
	close(p[1]);
	char buf[256];
	size_t got = 0;
	ssize_t k;
	while (got < sizeof(buf) - 1 && (k = read(p[0], buf + got, sizeof(buf) - 1 - got)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)k;
	}
	buf[got] = '\0';
	close(p[0]);
	int ws;
	while (waitpid(pid, &ws, 0) < 0) {
		if (errno != EINTR) {
			snprintf(why, len, "cannot ask the kernel: waitpid: %s", strerror(errno));
			return false;
		}
	}
	if (WIFSIGNALED(ws)) {
		int sig = WTERMSIG(ws);
		if (strcmp(f->name, "ia32") == 0)
			snprintf(why, len, "this kernel cannot make them (int 0x80 faults without any filter: SIG%s)",
				 sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
		else
			snprintf(why, len, "asking the kernel kills the process (SIG%s)",
				 sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
		return false;
	}
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
		return true;
	snprintf(why, len, "%s", got ? buf : "the probe failed");
	return false;
}
