/* Asks the emulator (qemu-user) whether it passes on to the kernel what a
 * test relies on, for tests/cross/qemu-arm64.sh. Prints "FEATURE: yes" and
 * exits 0, or "FEATURE: no: why" and exits 1.
 *
 *   statx-mnt-id  statx() gives each mount its own stx_mnt_id (/ and /proc
 *                 are different mounts)
 *   seccomp       a process can load a seccomp filter (one that allows
 *                 everything, for this process alone)
 *   netfilter     NETLINK_NETFILTER sockets (ipset, NFLOG) and the
 *                 iptables socket options (libiptc); run it in a network
 *                 namespace of its own: it reads the filter table's size
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
/* After netinet/in.h, which the netfilter headers expect first. */
#include <linux/filter.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>

static int no(const char *feature, const char *why, const char *what)
{
	if (what)
		printf("%s: no: %s: %s\n", feature, why, what);
	else
		printf("%s: no: %s\n", feature, why);
	return 1;
}

static int statx_mnt_id(void)
{
	static const char *const paths[] = { "/", "/proc" };
	struct statx sx[2];
	for (int i = 0; i < 2; i++) {
		memset(&sx[i], 0, sizeof(sx[i]));
		if (statx(AT_FDCWD, paths[i], AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx[i]) < 0)
			return no("statx-mnt-id", paths[i], strerror(errno));
		if (!(sx[i].stx_mask & STATX_MNT_ID))
			return no("statx-mnt-id", "statx leaves STATX_MNT_ID out of stx_mask", NULL);
	}
	if (sx[0].stx_dev_major == sx[1].stx_dev_major &&
	    sx[0].stx_dev_minor == sx[1].stx_dev_minor)
		return no("statx-mnt-id", "/ and /proc are one file system here: cannot tell", NULL);
	if (sx[0].stx_mnt_id == sx[1].stx_mnt_id) {
		printf("statx-mnt-id: no: statx sets STATX_MNT_ID in stx_mask but gives / and "
		       "/proc (two mounts) the same stx_mnt_id %llu\n",
		       (unsigned long long)sx[0].stx_mnt_id);
		return 1;
	}
	printf("statx-mnt-id: yes\n");
	return 0;
}

static int seccomp_filter(void)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = 1, .filter = &allow };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return no("seccomp", "prctl(PR_SET_NO_NEW_PRIVS)", strerror(errno));
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return no("seccomp", "seccomp(SECCOMP_SET_MODE_FILTER)", strerror(errno));
	printf("seccomp: yes\n");
	return 0;
}

static int netfilter(void)
{
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (s < 0)
		return no("netfilter", "socket(AF_NETLINK, NETLINK_NETFILTER)", strerror(errno));
	close(s);
	s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (s < 0)
		return no("netfilter", "socket(AF_INET, SOCK_RAW)", strerror(errno));
	struct ipt_getinfo info;
	memset(&info, 0, sizeof(info));
	strcpy(info.name, "filter");
	socklen_t len = sizeof(info);
	int rc = getsockopt(s, IPPROTO_IP, IPT_SO_GET_INFO, &info, &len);
	int e = errno;
	close(s);
	if (rc < 0)
		return no("netfilter", "getsockopt(IPT_SO_GET_INFO)", strerror(e));
	printf("netfilter: yes\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "statx-mnt-id") == 0)
		return statx_mnt_id();
	if (argc == 2 && strcmp(argv[1], "seccomp") == 0)
		return seccomp_filter();
	if (argc == 2 && strcmp(argv[1], "netfilter") == 0)
		return netfilter();
	fprintf(stderr, "usage: qemu-probe statx-mnt-id|seccomp|netfilter\n");
	return 2;
}
