/* palisade-probe: the test suite's stand-in for an agent and for the hosts
 * around it. Static, so it runs inside the tests' minimal root trees.
 *
 *   probe tcp ADDR PORT [TIMEOUT_MS]   connect; prints open|refused|timeout|error
 *   probe udp ADDR PORT [TIMEOUT_MS]   send, wait for the echo; prints reply|...
 *                                      (ADDR may be a broadcast address;
 *                                      fe80::1%IF names an interface)
 *   probe serve ADDR PORT...           TCP and UDP echo on each ADDR:PORT
 *   probe status                       capability, NoNewPrivs, Seccomp lines
 *   probe orphans N                    leaves N short-lived orphans to PID 1
 *   probe zombies                      counts zombie processes in /proc
 *   probe signals [--fork]             prints each signal it gets ("main got
 *                                      USR1 (10)"); exits on TERM
 *   probe sigstate                     its SigBlk and SigIgn lines
 *   probe sigdirty -- CMD...           runs CMD with signals ignored and blocked
 *   probe pty TEXT_WAIT KEYS CMD...    runs CMD on a new terminal, types KEYS
 *                                      once TEXT_WAIT appears, copies output
 *   probe exit N                       exits with status N
 *   probe hold ADDR PORT MS            keeps a TCP connection busy until it breaks
 *   probe flood ADDR PORT MS           UDP to ADDR:PORT for MS ms; counts replies
 *   probe dns NAME SERVER[#PORT] [udp|tcp] [TYPE] [CLASS]
 *                                      one query; prints the rcode and answers
 *   probe dns-smuggle NAME SERVER [tcp] a query carrying data in an extra
 *                                      record and an unknown EDNS option
 *   probe dns-serve ADDR PORT [delay=MS] [junk] [NAME=ADDR...]
 *                                      a DNS server that prints each query
 *   probe dns-spoof NAME FAKE UPSTREAM MS  forges the upstream's answers
 *   probe steal ADDR PORT MS           binds next to a server; counts what
 *                                      reaches it
 *   probe send [--dev IF] [--from ADDR PORT] [--tcp] [--wait MS] ADDR PORT TEXT
 *                                      sends TEXT as one datagram (or over TCP),
 *                                      from ADDR:PORT (IP(V6)_FREEBIND: any
 *                                      address) and bound to device IF; prints
 *                                      sent|reply|no-reply|open|refused|denied...
 *   probe sniff IF MS MARKER...        root: every frame on IF (AF_PACKET) for
 *                                      MS ms; prints "seen MARKER" for each frame
 *                                      that holds one (hex:... for raw bytes)
 *   probe mcast GROUP4 GROUP6          each way of joining a multicast group:
 *                                      "option: ok|EPERM|..."
 *   probe syscalls | syscalls32        each call the filter denies: "name: EPERM"
 *   probe privesc                      setuid(0), setgid(0), setgroups
 *   probe pid1                         signal, ptrace, read PID 1
 *   probe vsock                        AF_VSOCK directly and through io_uring
 *   probe fence-change                 tries to flush iptables, change ipsets and
 *                                      add to nft palisade's default_host set
 *   probe kernel FEATURE...            what the kernel offers, asked without
 *                                      palisade: "FEATURE: yes" or
 *                                      "FEATURE: no: REASON" (see kernel.h)
 *   probe idle                         sleeps in short naps forever: a process
 *                                      for others to attach to
 *   probe ptrace-inject PID            attaches to PID with ptrace and makes it
 *                                      call socket(AF_VSOCK), unshare(CLONE_NEWUSER)
 *                                      and io_uring_setup; prints each result
 *   probe mem-inject PID               writes code into PID through /proc/PID/mem
 *                                      (or, failing that, process_vm_writev) that
 *                                      calls socket(AF_VSOCK) and exits with its
 *                                      result's low byte (255: EPERM)
 *   probe steal-fd PID FD              pidfd_getfd: takes PID's descriptor FD
 *   probe debug-child                  as a debugger does: a child asks to be
 *                                      traced (PTRACE_TRACEME) and is read;
 *                                      then attaching to a child is tried
 *   probe inject FAULT... -- CMD...    runs CMD with system calls failing as a
 *                                      kernel without a feature would:
 *       no-ia32       any 32-bit system call kills the process (int 0x80
 *                     faults on kernels without 32-bit support)
 *       no-x32        x32 system calls -> ENOSYS
 *       no-io_uring   io_uring_setup -> EPERM (kernel.io_uring_disabled=2)
 *       no-perf       perf_event_open -> ENOSYS (no perf events)
 *       no-iptables   getsockopt(SOL_IP, IPT_SO_GET_INFO) -> ENOPROTOOPT
 *       no-ip6tables  getsockopt(SOL_IPV6, IP6T_SO_GET_INFO) -> ENOPROTOOPT
 *       no-nfnetlink  socket(AF_NETLINK, *, NETLINK_NETFILTER) -> EPROTONOSUPPORT
 *       no-ipv6       socket(AF_INET6, ...) -> EAFNOSUPPORT
 *       close-eio:N   close(N) -> EIO (the descriptor stays open)
 *       write-enospc:N  write(N, ...) -> ENOSPC
 *       no-fd-statx   statx(fd, "", AT_EMPTY_PATH, ...) -> EPERM
 *       no-landlock   landlock_create_ruleset(NULL, 0, VERSION) -> EPERM
 */
#include <arpa/inet.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sched.h>
#include <sys/user.h>
#include <grp.h>
#include <net/if.h>

#include "../fw/ipset.h"
#include "../fw/filtertable.h"
#include "../fw/nft.h"
#include "kernel.h"
#include "syscalls.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Under the agent's filter, a sanitizer build's leak check at exit cannot
 * attach to the probe's own threads (ptrace attach is denied): it is left
 * off there. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int make_addr(const char *host, const char *port, struct sockaddr_storage *ss,
		     socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	int p = atoi(port);
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*len = sizeof(*s4);
		return AF_INET;
	}
	/* A link-local address takes its interface: fe80::1%eth0. */
	char a6[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	snprintf(a6, sizeof(a6), "%s", host);
	char *scope = strchr(a6, '%');
	if (scope)
		*scope++ = '\0';
	if (inet_pton(AF_INET6, a6, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		if (scope && !(s6->sin6_scope_id = if_nametoindex(scope))) {
			fprintf(stderr, "probe: %s: no interface %s\n", host, scope);
			exit(2);
		}
		*len = sizeof(*s6);
		return AF_INET6;
	}
	fprintf(stderr, "probe: %s is not an address\n", host);
	exit(2);
}

static const char *errname(int e)
{
	switch (e) {
	case ECONNREFUSED: return "refused";
	case ETIMEDOUT: return "timeout";
	case EHOSTUNREACH: return "unreachable";
	case ENETUNREACH: return "unreachable";
	case EACCES: return "denied";
	case EPERM: return "denied";
	default: return "error";
	}
}

static int cmd_tcp(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int timeout = argc > 2 ? atoi(argv[2]) : 3000;
	struct sockaddr_storage ss;
	socklen_t len;
	int af = make_addr(argv[0], argv[1], &ss, &len);
	int fd = socket(af, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		printf("error socket %s\n", strerror(errno));
		return 1;
	}
	long t0 = now_ms();
	int rc = connect(fd, (struct sockaddr *)&ss, len);
	int e = rc == 0 ? 0 : errno;
	if (rc < 0 && e == EINPROGRESS) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int n = poll(&p, 1, timeout);
		if (n == 0) {
			printf("timeout ms=%ld\n", now_ms() - t0);
			return 1;
		}
		socklen_t el = sizeof(e);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
	}
	long ms = now_ms() - t0;
	if (e == 0) {
		printf("open ms=%ld\n", ms);
		return 0;
	}
	printf("%s ms=%ld (%s)\n", errname(e), ms, strerror(e));
	return 1;
}

static int cmd_udp(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int timeout = argc > 2 ? atoi(argv[2]) : 2000;
	struct sockaddr_storage ss;
	socklen_t len;
	int af = make_addr(argv[0], argv[1], &ss, &len);
	int fd = socket(af, SOCK_DGRAM, 0);
	/* A broadcast address is sent to as any other (SO_BROADCAST): whether
	 * it leaves is the fence's business. */
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    connect(fd, (struct sockaddr *)&ss, len) < 0) {
		printf("error %s\n", strerror(errno));
		return 1;
	}
	long t0 = now_ms();
	if (send(fd, "ping", 4, 0) < 0) {
		int e = errno;
		printf("%s ms=%ld (%s)\n", errname(e), now_ms() - t0, strerror(e));
		return 1;
	}
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, timeout);
	if (n == 0) {
		printf("timeout ms=%ld\n", now_ms() - t0);
		return 1;
	}
	char buf[64];
	ssize_t r = recv(fd, buf, sizeof(buf), 0);
	if (r < 0) {
		int e = errno;
		printf("%s ms=%ld (%s)\n", errname(e), now_ms() - t0, strerror(e));
		return 1;
	}
	printf("reply ms=%ld\n", now_ms() - t0);
	return 0;
}

static int cmd_serve(int argc, char **argv)
{
	if (argc < 2 || argc % 2)
		return 2;
	enum { MAXFDS = 256 };
	struct pollfd fds[MAXFDS];
	int kinds[MAXFDS]; /* 0 listening TCP, 1 UDP, 2 accepted TCP */
	int n = 0;
	for (int i = 0; i + 1 < argc && n + 2 <= 64; i += 2) {
		struct sockaddr_storage ss;
		socklen_t len;
		int af = make_addr(argv[i], argv[i + 1], &ss, &len);
		for (int t = 0; t < 2; t++) {
			int type = t ? SOCK_DGRAM : SOCK_STREAM;
			int fd = socket(af, type, 0);
			int one = 1;
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (af == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 ||
			    (type == SOCK_STREAM && listen(fd, 64) < 0)) {
				fprintf(stderr, "probe serve %s %s: %s\n", argv[i], argv[i + 1],
					strerror(errno));
				return 1;
			}
			fds[n].fd = fd;
			fds[n].events = POLLIN;
			kinds[n++] = t;
		}
	}
	printf("serving\n");
	fflush(stdout);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		if (poll(fds, (nfds_t)n, -1) < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (kinds[i] == 0) {
				/* Greet, then echo until the client goes. */
				int c = accept(fds[i].fd, NULL, NULL);
				if (c < 0)
					continue;
				if (write(c, "hello\n", 6) < 0 || n == MAXFDS) {
					close(c);
					continue;
				}
				fds[n].fd = c;
				fds[n].events = POLLIN;
				fds[n].revents = 0;
				kinds[n++] = 2;
			} else if (kinds[i] == 1) {
				char buf[512];
				struct sockaddr_storage from;
				socklen_t fl = sizeof(from);
				ssize_t r = recvfrom(fds[i].fd, buf, sizeof(buf), 0,
						     (struct sockaddr *)&from, &fl);
				if (r > 0)
					sendto(fds[i].fd, buf, (size_t)r, 0, (struct sockaddr *)&from, fl);
			} else {
				char buf[512];
				ssize_t r = read(fds[i].fd, buf, sizeof(buf));
				if (r <= 0 || write(fds[i].fd, buf, (size_t)r) < 0) {
					close(fds[i].fd);
					fds[i] = fds[n - 1];
					kinds[i] = kinds[n - 1];
					n--;
					i--;
				}
			}
		}
	}
}

/* Holds a TCP connection open, sending a byte and reading its echo every
 * 100 ms, until it breaks or ms pass. */
static int cmd_hold(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	struct sockaddr_storage ss;
	socklen_t len;
	int af = make_addr(argv[0], argv[1], &ss, &len);
	long end = now_ms() + atol(argv[2]);
	int fd = socket(af, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
		printf("not connected: %s\n", strerror(errno));
		return 1;
	}
	char hello[6];
	if (recv(fd, hello, sizeof(hello), MSG_WAITALL) != 6) {
		printf("no greeting\n");
		return 1;
	}
	printf("connected\n");
	fflush(stdout);
	unsigned long rounds = 0;
	while (now_ms() < end) {
		char c = 'x';
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (send(fd, &c, 1, MSG_NOSIGNAL) != 1 || poll(&p, 1, 1000) <= 0 ||
		    recv(fd, &c, 1, 0) != 1) {
			printf("held %lu rounds, then broken: %s\n", rounds,
			       errno ? strerror(errno) : "no echo");
			return 0;
		}
		rounds++;
		usleep(100000);
	}
	printf("held %lu rounds to the end\n", rounds);
	return 0;
}

static int cmd_status(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f) {
		perror("probe status");
		return 1;
	}
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10) ||
		    !strncmp(line, "Seccomp:", 8) || !strncmp(line, "Uid", 3) ||
		    !strncmp(line, "Gid", 3) || !strncmp(line, "Groups", 6))
			fputs(line, stdout);
	}
	fclose(f);
	return 0;
}

static int cmd_orphans(int argc, char **argv)
{
	int n = argc > 0 ? atoi(argv[0]) : 10;
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			if (fork() == 0) {
				usleep(50000);
				_exit(0);
			}
			_exit(0);
		}
		if (p > 0)
			waitpid(p, NULL, 0);
	}
	printf("left %d orphans\n", n);
	return 0;
}

static int cmd_zombies(void)
{
	DIR *d = opendir("/proc");
	if (!d) {
		perror("probe zombies");
		return 1;
	}
	int zombies = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		char path[300], buf[512];
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		char *paren = strrchr(buf, ')');
		if (paren && paren[1] == ' ' && paren[2] == 'Z')
			zombies++;
	}
	closedir(d);
	printf("zombies %d\n", zombies);
	return 0;
}

static volatile sig_atomic_t last_sig;

static void on_sig(int sig)
{
	last_sig = sig;
}

static int cmd_signals(int argc, char **argv)
{
	const char *role = "main";
	if (argc > 0 && strcmp(argv[0], "--fork") == 0) {
		pid_t p = fork();
		if (p < 0)
			return 1;
		if (p == 0)
			role = "forked";
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigfillset(&sa.sa_mask);
	/* Every signal it can catch, real-time ones included (glibc refuses
	 * its own two, 32 and 33). They are blocked but while it waits, so
	 * that none slips in between a check and the wait. */
	sigset_t all, orig;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &orig);
	sigdelset(&orig, SIGCHLD);
	for (int s = 1; s < NSIG; s++) {
		if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD) {
			sigaction(s, &sa, NULL);
			sigdelset(&orig, s);
		}
	}
	const char *fg = isatty(0) ? (tcgetpgrp(0) == getpgrp() ? "yes" : "no") : "none";
	printf("%s ready pid=%d pgrp=%d foreground=%s\n", role, (int)getpid(), (int)getpgrp(), fg);
	fflush(stdout);
	for (;;) {
		while (!last_sig)
			sigsuspend(&orig);
		int s = last_sig;
		last_sig = 0;
		printf("%s got %s (%d)\n", role, sigabbrev_np(s) ? sigabbrev_np(s) : "RT", s);
		fflush(stdout);
		if (s == SIGTERM)
			return 0;
	}
}

/* The signal state this process started with: its blocked mask and the
 * signals it ignores, as /proc/self/status says. */
static int cmd_sigstate(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (!f) {
		perror("probe sigstate: /proc/self/status");
		return 1;
	}
	char line[256];
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "SigBlk:", 7) || !strncmp(line, "SigIgn:", 7))
			fputs(line, stdout);
	fclose(f);
	return 0;
}

/* A parent that leaves a dirty signal state behind: SIGINT, SIGQUIT,
 * SIGSEGV, SIGCHLD and SIGUSR1 ignored, SIGTERM, SIGUSR2, SIGHUP, SIGALRM
 * and SIGRTMIN+3 blocked, then exec CMD. */
static int cmd_sigdirty(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[0], "--")) {
		fprintf(stderr, "probe sigdirty -- CMD...\n");
		return 2;
	}
	static const int ignore[] = { SIGINT, SIGQUIT, SIGSEGV, SIGCHLD, SIGUSR1 };
	for (size_t i = 0; i < sizeof(ignore) / sizeof(ignore[0]); i++) {
		if (signal(ignore[i], SIG_IGN) == SIG_ERR) {
			perror("probe sigdirty: signal");
			return 1;
		}
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGALRM);
	sigaddset(&set, SIGRTMIN + 3);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		perror("probe sigdirty: sigprocmask");
		return 1;
	}
	execvp(argv[1], argv + 1);
	perror("probe sigdirty: exec");
	return 127;
}

/* In a child: exec argv, or say why and exit 127. */
static _Noreturn void exec_child(char **argv, const char *who)
{
	execvp(argv[0], argv);
	perror(who);
	_exit(127);
}

/* Waits for child c: its exit status, or 128+N for signal N; -1. */
static int wait_child(pid_t c)
{
	int ws;
	while (waitpid(c, &ws, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* An init in front of CMD, as docker run --init puts one (installed under
 * the init's name, so that /proc shows it): fork, exec CMD in the child,
 * wait for it, exit with its status. */
static int cmd_init(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[0], "--")) {
		fprintf(stderr, "probe init -- CMD...\n");
		return 2;
	}
	pid_t c = fork();
	if (c < 0) {
		perror("probe init: fork");
		return 1;
	}
	if (c == 0)
		exec_child(argv + 1, "probe init: exec");
	int status = wait_child(c);
	if (status < 0)
		perror("probe init: waitpid");
	return status < 0 ? 1 : status;
}

static int cmd_pty(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	const char *wait_for = argv[0];
	const char *keys = argv[1];
	int master;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);
	if (pid < 0) {
		perror("forkpty");
		return 1;
	}
	if (pid == 0)
		exec_child(argv + 2, "exec");
	char out[65536];
	size_t len = 0;
	int typed = 0;
	long deadline = now_ms() + 20000;
	for (;;) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		int n = poll(&p, 1, 200);
		if (n > 0) {
			ssize_t r = read(master, out + len, sizeof(out) - 1 - len);
			if (r <= 0)
				break; /* EIO: the terminal's last holder is gone */
			fwrite(out + len, 1, (size_t)r, stdout);
			fflush(stdout);
			len += (size_t)r;
			out[len] = '\0';
			if (len >= sizeof(out) - 1)
				len = 0;
		}
		if (!typed && strstr(out, wait_for)) {
			typed = 1;
			usleep(100000);
			if (write(master, keys, strlen(keys)) < 0)
				perror("write");
		}
		if (now_ms() > deadline) {
			fprintf(stderr, "probe pty: timed out\n");
			kill(pid, SIGKILL);
			break;
		}
	}
	return wait_child(pid);
}

static int cmd_flood(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	struct sockaddr_storage ss;
	socklen_t len;
	int af = make_addr(argv[0], argv[1], &ss, &len);
	long end = now_ms() + atol(argv[2]);
	int fd = socket(af, SOCK_DGRAM, 0);
	if (fd < 0)
		return 1;
	unsigned long sent = 0, replies = 0;
	while (now_ms() < end) {
		sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len);
		sent++;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 1) > 0) {
			char b[16];
			if (recv(fd, b, sizeof(b), MSG_DONTWAIT) > 0)
				replies++;
		}
	}
	printf("sent %lu replies %lu\n", sent, replies);
	return 0;
}

/* ---- DNS ---- */

#define DNS_MSG_MAX 4096
#define FORGED_V4 "10.77.0.20" /* the address junk and forged answers name */

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Appends name ("a.b.c", its case kept) in wire form at *n. Returns -1 when
 * a label is empty or longer than 63 bytes, or when it does not fit. */
static int put_name(unsigned char *m, size_t *n, size_t cap, const char *name)
{
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || *n + l + 2 > cap)
			return -1;
		m[(*n)++] = (unsigned char)l;
		memcpy(m + *n, p, l);
		*n += l;
		p += l + (dot ? 1 : 0);
	}
	if (*n + 1 > cap)
		return -1;
	m[(*n)++] = 0;
	return 0;
}

static uint16_t qtype_arg(const char *s)
{
	return !strcmp(s, "AAAA") ? 28 : !strcmp(s, "TXT") ? 16 : !strcmp(s, "A") ? 1
									   : (uint16_t)atoi(s);
}

/* A query's header and question: RD set, one question, ar records in the
 * additional section (the caller writes them). Returns its length or -1. */
static ssize_t dns_query_head(unsigned char *q, size_t cap, uint16_t id, const char *name,
			      uint16_t qtype, unsigned ar)
{
	if (cap < 12)
		return -1;
	memset(q, 0, 12);
	put16(q, id);
	q[2] = 0x01;
	put16(q + 4, 1);
	put16(q + 10, ar);
	size_t n = 12;
	if (put_name(q, &n, cap, name) < 0 || n + 4 > cap)
		return -1;
	put16(q + n, qtype);
	put16(q + n + 2, 1);
	return (ssize_t)(n + 4);
}

/* Sends q to server port 53 over UDP or TCP and reads one answer into r.
 * Prints what went wrong and returns -1 when there is none. */
static ssize_t dns_exchange(const char *server, bool tcp, const unsigned char *q, size_t n,
			    unsigned char *r, size_t cap, long *ms)
{
	/* SERVER#PORT: a server on another port, such as the one Docker's
	 * resolver really listens on behind its DNAT. */
	char host[INET6_ADDRSTRLEN + 8];
	snprintf(host, sizeof(host), "%s", server);
	char *hash = strchr(host, '#');
	if (hash)
		*hash++ = '\0';
	struct sockaddr_storage ss;
	socklen_t len;
	int af = make_addr(host, hash ? hash : "53", &ss, &len);
	int fd = socket(af, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	struct timeval tv = { .tv_sec = 3 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	long t0 = now_ms();
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
		int e = errno;
		printf("%s ms=%ld (%s)\n", errname(e), now_ms() - t0, strerror(e));
		return -1;
	}
	ssize_t got;
	if (tcp) {
		unsigned char pre[2] = { n >> 8, n & 0xff };
		if (write(fd, pre, 2) != 2 || write(fd, q, n) != (ssize_t)n) {
			printf("%s (%s)\n", errname(errno), strerror(errno));
			close(fd);
			return -1;
		}
		unsigned char lp[2];
		if (recv(fd, lp, 2, MSG_WAITALL) != 2) {
			printf("%s ms=%ld (%s)\n", errno ? errname(errno) : "closed", now_ms() - t0,
			       strerror(errno));
			close(fd);
			return -1;
		}
		size_t want = get16(lp);
		if (want > cap)
			want = cap;
		got = recv(fd, r, want, MSG_WAITALL);
	} else {
		if (send(fd, q, n, 0) < 0) {
			int e = errno;
			printf("%s ms=%ld (%s)\n", errname(e), now_ms() - t0, strerror(e));
			close(fd);
			return -1;
		}
		got = recv(fd, r, cap, 0);
	}
	int e = errno;
	close(fd);
	*ms = now_ms() - t0;
	if (got < 12) {
		printf("%s ms=%ld (%s)\n", got < 0 ? errname(e) : "short", *ms,
		       got < 0 ? strerror(e) : "short answer");
		return -1;
	}
	return got;
}

/* Skips the name at *off (labels, then a pointer or the root). */
static void skip_name(const unsigned char *r, size_t got, size_t *off)
{
	while (*off < got && r[*off] && (r[*off] & 0xc0) != 0xc0)
		*off += r[*off] + 1u;
	*off += *off < got && (r[*off] & 0xc0) == 0xc0 ? 2 : 1;
}

/* Walks an answer's records. With print, prints "A 1.2.3.4 ttl=N" lines;
 * with addr (4 or 16 bytes), returns whether an A or AAAA record holds it. */
static bool dns_records(const unsigned char *r, size_t got, bool print,
			const unsigned char *addr, size_t alen)
{
	bool found = false;
	size_t off = 12;
	unsigned qd = get16(r + 4), an = get16(r + 6);
	for (unsigned i = 0; i < qd && off < got; i++) {
		skip_name(r, got, &off);
		off += 4;
	}
	for (unsigned i = 0; i < an && off + 10 <= got; i++) {
		skip_name(r, got, &off);
		if (off + 10 > got)
			break;
		unsigned type = get16(r + off);
		unsigned ttl = (unsigned)r[off + 4] << 24 | r[off + 5] << 16 | r[off + 6] << 8 |
			       r[off + 7];
		size_t rdlen = get16(r + off + 8);
		off += 10;
		if (off + rdlen > got)
			break;
		if (addr && rdlen == alen && (type == 1 || type == 28) &&
		    memcmp(r + off, addr, alen) == 0)
			found = true;
		char a[INET6_ADDRSTRLEN];
		if (!print)
			;
		else if (type == 1 && rdlen == 4)
			printf("A %s ttl=%u\n", inet_ntop(AF_INET, r + off, a, sizeof(a)), ttl);
		else if (type == 28 && rdlen == 16)
			printf("AAAA %s ttl=%u\n", inet_ntop(AF_INET6, r + off, a, sizeof(a)), ttl);
		else if (type == 5)
			printf("CNAME ttl=%u\n", ttl);
		else
			printf("TYPE%u ttl=%u\n", type, ttl);
		off += rdlen;
	}
	return found;
}

/* Prints an answer's rcode, then its records; returns the rcode. */
static int dns_print(const unsigned char *r, size_t got, long ms)
{
	static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					      "NOTIMP", "REFUSED" };
	int rcode = r[3] & 0xf;
	printf("%s%s ms=%ld\n", rcode < 6 ? rcodes[rcode] : "RCODE?", r[2] & 2 ? " TC" : "", ms);
	dns_records(r, got, true, NULL, 0);
	return rcode;
}

/* DNS: one question, answers printed as "A 1.2.3.4" lines. */
static int cmd_dns(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	bool tcp = argc > 2 && !strcmp(argv[2], "tcp");
	uint16_t qtype = argc > 3 ? qtype_arg(argv[3]) : 1;
	uint16_t qclass = argc > 4 ? (!strcmp(argv[4], "CH") ? 3 : (uint16_t)atoi(argv[4])) : 1;
	unsigned char q[600], r[DNS_MSG_MAX];
	ssize_t n = dns_query_head(q, sizeof(q), (uint16_t)(getpid() ^ now_ms()), argv[0], qtype, 0);
	if (n < 0) {
		fprintf(stderr, "probe dns: bad name\n");
		return 2;
	}
	put16(q + n - 2, qclass);
	long ms;
	ssize_t got = dns_exchange(argv[1], tcp, q, (size_t)n, r, sizeof(r), &ms);
	if (got < 0)
		return 1;
	return dns_print(r, (size_t)got, ms) == 0 ? 0 : 3;
}

/* Query smuggling: a query for NAME (its case kept) that also carries data
 * in a record of the additional section ("SMUGGLED-AR") and in an EDNS
 * option of no known code ("SMUGGLED-OPT"). Prints the answer as `probe
 * dns` does, then whether it kept the query's ID and question as sent. */
static int cmd_dns_smuggle(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	bool tcp = argc > 2 && !strcmp(argv[2], "tcp");
	static const char ar_text[] = "SMUGGLED-AR", opt_text[] = "SMUGGLED-OPT";
	const size_t al = sizeof(ar_text) - 1, ol = sizeof(opt_text) - 1;
	unsigned char q[600], r[DNS_MSG_MAX];
	uint16_t id = (uint16_t)(getpid() ^ now_ms());
	ssize_t head = dns_query_head(q, sizeof(q), id, argv[0], 1, 2);
	size_t n = (size_t)head;
	if (head < 0 || put_name(q, &n, sizeof(q), "smuggled.example") < 0 ||
	    n + 11 + al + 15 + ol > sizeof(q)) {
		fprintf(stderr, "probe dns-smuggle: bad name\n");
		return 2;
	}
	unsigned char *p = q + n; /* TXT, class IN, TTL 0 */
	put16(p, 16);
	put16(p + 2, 1);
	memset(p + 4, 0, 4);
	put16(p + 8, (unsigned)(1 + al));
	p[10] = (unsigned char)al;
	memcpy(p + 11, ar_text, al);
	n += 11 + al;
	p = q + n; /* OPT: the root, UDP size 1232, option 65001 */
	p[0] = 0;
	put16(p + 1, 41);
	put16(p + 3, 1232);
	memset(p + 5, 0, 4);
	put16(p + 9, (unsigned)(4 + ol));
	put16(p + 11, 65001);
	put16(p + 13, (unsigned)ol);
	memcpy(p + 15, opt_text, ol);
	n += 15 + ol;

	long ms;
	ssize_t got = dns_exchange(argv[1], tcp, q, n, r, sizeof(r), &ms);
	if (got < 0)
		return 1;
	int rcode = dns_print(r, (size_t)got, ms);
	printf("%s\n", get16(r) == id ? "id as sent" : "id changed");
	bool same = got >= head && get16(r + 4) == 1 &&
		    memcmp(r + 12, q + 12, (size_t)head - 12) == 0;
	printf("%s\n", same ? "question as sent" : "question changed");
	return rcode == 0 ? 0 : 3;
}

/* The attacker's packet: TEXT to ADDR:PORT as one datagram (or over TCP),
 * from an address that need not be the container's (IP_FREEBIND and
 * IPV6_FREEBIND need no privilege) and through a device chosen with
 * SO_BINDTODEVICE (no privilege either on a socket not yet bound). */
static int cmd_send(int argc, char **argv)
{
	const char *dev = NULL, *from = NULL, *from_port = "0";
	bool tcp = false;
	int wait_ms = 0, i = 0;
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--dev") && i + 1 < argc) {
			dev = argv[++i];
		} else if (!strcmp(argv[i], "--from") && i + 2 < argc) {
			from = argv[++i];
			from_port = argv[++i];
		} else if (!strcmp(argv[i], "--tcp")) {
			tcp = true;
		} else if (!strcmp(argv[i], "--wait") && i + 1 < argc) {
			wait_ms = atoi(argv[++i]);
		} else {
			fprintf(stderr, "probe send: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (argc - i < 3)
		return 2;
	struct sockaddr_storage to, src;
	socklen_t tolen, srclen;
	int af = make_addr(argv[i], argv[i + 1], &to, &tolen);
	const char *text = argv[i + 2];
	int fd = socket(af, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		printf("error socket %s\n", strerror(errno));
		return 1;
	}
	if (dev && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev)) < 0) {
		int e = errno;
		printf("%s SO_BINDTODEVICE %s (%s)\n", errname(e), dev, strerror(e));
		return 1;
	}
	if (from) {
		int one = 1;
		if (make_addr(from, from_port, &src, &srclen) != af) {
			fprintf(stderr, "probe send: %s and %s are not of one family\n", from, argv[i]);
			return 2;
		}
		int rc = af == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one))
					: setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
		if (rc < 0 || bind(fd, (struct sockaddr *)&src, srclen) < 0) {
			int e = errno;
			printf("%s bind %s %s (%s)\n", errname(e), from, from_port, strerror(e));
			return 1;
		}
	}
	long t0 = now_ms();
	int rc = connect(fd, (struct sockaddr *)&to, tolen);
	int e = rc == 0 ? 0 : errno;
	if (rc < 0 && e == EINPROGRESS) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, wait_ms ? wait_ms : 2000) == 0) {
			printf("timeout ms=%ld\n", now_ms() - t0);
			return 1;
		}
		socklen_t el = sizeof(e);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
	}
	if (e == 0 && send(fd, text, strlen(text), MSG_NOSIGNAL) < 0)
		e = errno;
	if (e) {
		printf("%s ms=%ld (%s)\n", errname(e), now_ms() - t0, strerror(e));
		return 1;
	}
	if (!wait_ms) {
		printf("%s ms=%ld\n", tcp ? "open" : "sent", now_ms() - t0);
		return 0;
	}
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, wait_ms) <= 0) {
		printf("no-reply ms=%ld\n", now_ms() - t0);
		return 1;
	}
	char buf[512];
	if (recv(fd, buf, sizeof(buf), 0) < 0) {
		e = errno;
		printf("%s ms=%ld (%s)\n", errname(e), now_ms() - t0, strerror(e));
		return 1;
	}
	printf("reply ms=%ld\n", now_ms() - t0);
	return 0;
}

static volatile sig_atomic_t sniff_stop;

static void on_sniff_stop(int sig)
{
	(void)sig;
	sniff_stop = 1;
}

/* What reaches a device, whatever its addresses: the test's eyes on a
 * link. Every frame, in or out, is searched for each marker. */
static int cmd_sniff(int argc, char **argv)
{
	enum { MARKS = 16, MARK_MAX = 64 };
	if (argc < 3 || argc - 2 > MARKS)
		return 2;
	unsigned ifindex = if_nametoindex(argv[0]);
	if (!ifindex) {
		fprintf(stderr, "probe sniff: no device %s\n", argv[0]);
		return 1;
	}
	long end = now_ms() + atol(argv[1]);
	unsigned char marks[MARKS][MARK_MAX];
	size_t lens[MARKS], n = (size_t)argc - 2;
	for (size_t k = 0; k < n; k++) {
		const char *m = argv[2 + k];
		size_t l = 0;
		if (!strncmp(m, "hex:", 4)) {
			for (m += 4; m[0] && m[1] && l < MARK_MAX; m += 2) {
				unsigned b;
				if (sscanf(m, "%2x", &b) != 1)
					return 2;
				marks[k][l++] = (unsigned char)b;
			}
		} else {
			l = strlen(m) < MARK_MAX ? strlen(m) : MARK_MAX;
			memcpy(marks[k], m, l);
		}
		if (l == 0)
			return 2;
		lens[k] = l;
	}
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)ifindex };
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("probe sniff: packet socket");
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sniff_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("sniffing %s\n", argv[0]);
	static unsigned char frame[65536];
	unsigned long frames = 0;
	while (!sniff_stop && now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t r = recv(fd, frame, sizeof(frame), MSG_DONTWAIT);
		if (r <= 0)
			continue;
		frames++;
		for (size_t k = 0; k < n; k++)
			if (memmem(frame, (size_t)r, marks[k], lens[k]))
				printf("seen %s len=%zd\n", argv[2 + k], r);
	}
	printf("done frames=%lu\n", frames);
	return 0;
}

/* Each way of joining a multicast group, each on a socket of its own so
 * that one join does not make the next one a duplicate. A join makes the
 * kernel announce the group (and its sources) to the link in IGMP or MLD
 * reports: addresses the agent chooses, a channel out. */
static void report(const char *what, long rc);

static int mcast_socket(int af)
{
	int fd = socket(af, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("probe mcast: socket");
		exit(1);
	}
	return fd;
}

static int cmd_mcast(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	struct in_addr g4, src4 = { .s_addr = htonl(0x0a4d0001) }; /* 10.77.0.1 */
	struct in6_addr g6, src6 = { .s6_addr = { 0xfd, 0x77, [15] = 1 } }; /* fd77::1 */
	if (inet_pton(AF_INET, argv[0], &g4) != 1 || inet_pton(AF_INET6, argv[1], &g6) != 1) {
		fprintf(stderr, "probe mcast: GROUP4 GROUP6\n");
		return 2;
	}
	struct ip_mreqn mr = { .imr_multiaddr = g4 };
	report("IP_ADD_MEMBERSHIP", setsockopt(mcast_socket(AF_INET), SOL_IP, IP_ADD_MEMBERSHIP,
					       &mr, sizeof(mr)));
	/* setsockopt's level and option are ints: bits above them are ignored. */
	report("IP_ADD_MEMBERSHIP with high bits",
	       syscall(SYS_setsockopt, mcast_socket(AF_INET), 0x100000000UL | SOL_IP,
		       0x100000000UL | IP_ADD_MEMBERSHIP, &mr, sizeof(mr)));
	report("IP_ADD_MEMBERSHIP on an IPv6 socket",
	       setsockopt(mcast_socket(AF_INET6), SOL_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)));
	struct ip_mreq_source ms = { .imr_multiaddr = g4, .imr_sourceaddr = src4 };
	report("IP_ADD_SOURCE_MEMBERSHIP", setsockopt(mcast_socket(AF_INET), SOL_IP,
						      IP_ADD_SOURCE_MEMBERSHIP, &ms, sizeof(ms)));
	struct group_req gr;
	struct group_source_req gsr;
	for (int v6 = 0; v6 < 2; v6++) {
		int af = v6 ? AF_INET6 : AF_INET, level = v6 ? SOL_IPV6 : SOL_IP;
		memset(&gr, 0, sizeof(gr));
		memset(&gsr, 0, sizeof(gsr));
		if (v6) {
			struct sockaddr_in6 *a = (void *)&gr.gr_group, *b = (void *)&gsr.gsr_group,
					    *c = (void *)&gsr.gsr_source;
			a->sin6_family = b->sin6_family = c->sin6_family = AF_INET6;
			a->sin6_addr = b->sin6_addr = g6;
			c->sin6_addr = src6;
		} else {
			struct sockaddr_in *a = (void *)&gr.gr_group, *b = (void *)&gsr.gsr_group,
					   *c = (void *)&gsr.gsr_source;
			a->sin_family = b->sin_family = c->sin_family = AF_INET;
			a->sin_addr = b->sin_addr = g4;
			c->sin_addr = src4;
		}
		report(v6 ? "MCAST_JOIN_GROUP (IPv6)" : "MCAST_JOIN_GROUP (IPv4)",
		       setsockopt(mcast_socket(af), level, MCAST_JOIN_GROUP, &gr, sizeof(gr)));
		report(v6 ? "MCAST_JOIN_SOURCE_GROUP (IPv6)" : "MCAST_JOIN_SOURCE_GROUP (IPv4)",
		       setsockopt(mcast_socket(af), level, MCAST_JOIN_SOURCE_GROUP, &gsr, sizeof(gsr)));
	}
	struct ipv6_mreq m6 = { .ipv6mr_multiaddr = g6 };
	report("IPV6_JOIN_GROUP", setsockopt(mcast_socket(AF_INET6), SOL_IPV6, IPV6_JOIN_GROUP,
					     &m6, sizeof(m6)));
	/* Hold the memberships while the kernel sends its reports. */
	usleep(500000);
	return 0;
}

/* ---- a DNS server ---- */

struct dns_rec {
	char name[256];
	int af;
	unsigned char addr[16];
};

/* The answer to the query q from the table: the header and question as
 * received (QR and RA set, RD kept, no additional records), the matching
 * A or AAAA records, NXDOMAIN for a name the table does not have. Sets
 * *qend to where the question ends. Returns its length, or -1 for a
 * message that is not a query with one question. */
static ssize_t serve_answer(const struct dns_rec *recs, int nrec, const unsigned char *q,
			    size_t qlen, unsigned char *r, size_t cap, size_t *qend)
{
	if (qlen < 12 || (q[2] & 0x80) || get16(q + 4) != 1)
		return -1;
	char name[256];
	size_t off = 12, nl = 0;
	while (off < qlen && q[off]) {
		size_t l = q[off];
		if (l > 63 || off + 1 + l >= qlen || nl + l + 2 > sizeof(name))
			return -1;
		if (nl)
			name[nl++] = '.';
		memcpy(name + nl, q + off + 1, l);
		nl += l;
		off += 1 + l;
	}
	if (off + 5 > qlen)
		return -1;
	name[nl] = '\0';
	unsigned qtype = get16(q + off + 1);
	off += 5;
	if (off + (size_t)nrec * 28 > cap)
		return -1;
	*qend = off;
	memcpy(r, q, off);
	r[2] = (unsigned char)(0x80 | (q[2] & 0x01));
	r[3] = 0x80;
	memset(r + 6, 0, 6);
	size_t n = off;
	unsigned an = 0;
	bool known = false;
	for (int i = 0; i < nrec; i++) {
		if (strcasecmp(recs[i].name, name) != 0)
			continue;
		known = true;
		size_t alen = recs[i].af == AF_INET ? 4 : 16;
		if (qtype != (alen == 4 ? 1u : 28u))
			continue;
		put16(r + n, 0xc00c);
		put16(r + n + 2, qtype);
		put16(r + n + 4, 1);
		put16(r + n + 6, 0);
		put16(r + n + 8, 60);
		put16(r + n + 10, (unsigned)alen);
		memcpy(r + n + 12, recs[i].addr, alen);
		n += 12 + alen;
		an++;
	}
	put16(r + 6, an);
	if (!known)
		r[3] |= 3;
	return (ssize_t)n;
}

#define JUNK_MAX 8
#define JUNK_LEN 600

/* Messages that are not the answer r (rn bytes, its question ending at
 * qend), as a confused or hostile server might send before it: a short
 * one, then answers naming FORGED_V4 with another ID, another type,
 * another name, QR clear, two questions, and an answer section cut short.
 * Returns how many. */
static int serve_junk(const unsigned char *r, size_t qend, unsigned char j[][JUNK_LEN],
		      size_t *jl)
{
	unsigned char f[JUNK_LEN];
	if (qend + 16 + 12 > sizeof(f) || qend < 17)
		return 0;
	memcpy(f, r, qend);
	put16(f + 6, 1);
	put16(f + 8, 0);
	put16(f + 10, 0);
	f[3] &= 0xf0;
	put16(f + qend, 0xc00c);
	put16(f + qend + 2, 1);
	put16(f + qend + 4, 1);
	put16(f + qend + 6, 0);
	put16(f + qend + 8, 300);
	put16(f + qend + 10, 4);
	inet_pton(AF_INET, FORGED_V4, f + qend + 12);
	size_t fl = qend + 16;
	int n = 0;
	const unsigned char shortmsg[] = { r[0], r[1], 0x81, 0x80, 0xde, 0xad, 0x00 };
	memcpy(j[n], shortmsg, sizeof(shortmsg));
	jl[n++] = sizeof(shortmsg);
	for (int k = 0; k < 6; k++) {
		memcpy(j[n], f, fl);
		jl[n] = fl;
		switch (k) {
		case 0: put16(j[n], get16(f) ^ 0x5555); break;                    /* ID */
		case 1: put16(j[n] + qend - 4, get16(f + qend - 4) == 16 ? 1 : 16); break;
		case 2: j[n][13] ^= 0x01; break;                                   /* name */
		case 3: j[n][2] &= 0x7f; break;                                    /* QR */
		case 4: put16(j[n] + 4, 2); break;                                 /* QDCOUNT */
		case 5:                                                            /* cut */
			put16(j[n] + 6, 2);
			memcpy(j[n] + fl, f + qend, 8);
			jl[n] = fl + 8;
			break;
		}
		n++;
	}
	return n;
}

static void hex_line(const char *what, const unsigned char *m, size_t n)
{
	printf("query %s ", what);
	for (size_t i = 0; i < n; i++)
		printf("%02x", m[i]);
	printf("\n");
}

struct delayed {
	long due;
	struct sockaddr_storage to;
	socklen_t tolen;
	size_t len, qend;
	unsigned char r[DNS_MSG_MAX];
};

static void serve_udp_send(int fd, const struct delayed *d, bool junk)
{
	unsigned char j[JUNK_MAX][JUNK_LEN];
	size_t jl[JUNK_MAX];
	int nj = junk ? serve_junk(d->r, d->qend, j, jl) : 0;
	for (int i = 0; i < nj; i++)
		sendto(fd, j[i], jl[i], 0, (const struct sockaddr *)&d->to, d->tolen);
	sendto(fd, d->r, d->len, 0, (const struct sockaddr *)&d->to, d->tolen);
}

/* One query on a new TCP connection, answered (after the junk, each with
 * its length prefix), then the connection is closed. */
static void serve_tcp(int c, const struct dns_rec *recs, int nrec, int delay, bool junk)
{
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	unsigned char lp[2], q[DNS_MSG_MAX], r[DNS_MSG_MAX + 2];
	if (recv(c, lp, 2, MSG_WAITALL) != 2)
		return;
	size_t len = get16(lp);
	if (len > sizeof(q) || recv(c, q, len, MSG_WAITALL) != (ssize_t)len)
		return;
	hex_line("tcp", q, len);
	size_t qend;
	ssize_t n = serve_answer(recs, nrec, q, len, r + 2, sizeof(r) - 2, &qend);
	if (n < 0)
		return;
	usleep((useconds_t)delay * 1000);
	unsigned char j[JUNK_MAX][JUNK_LEN];
	size_t jl[JUNK_MAX];
	int nj = junk ? serve_junk(r + 2, qend, j, jl) : 0;
	for (int i = 0; i < nj; i++) {
		unsigned char pre[2] = { (unsigned char)(jl[i] >> 8), (unsigned char)jl[i] };
		if (send(c, pre, 2, MSG_NOSIGNAL) != 2 || send(c, j[i], jl[i], MSG_NOSIGNAL) < 0)
			return;
	}
	put16(r, (unsigned)n);
	if (send(c, r, (size_t)n + 2, MSG_NOSIGNAL) < 0)
		return;
}

static int cmd_dns_serve(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	enum { RECS = 64, DELAYED = 128 };
	static struct dns_rec recs[RECS];
	static struct delayed dq[DELAYED];
	int nrec = 0, delay = 0;
	bool junk = false;
	for (int i = 2; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		if (!strncmp(argv[i], "delay=", 6)) {
			delay = atoi(argv[i] + 6);
		} else if (!strcmp(argv[i], "junk")) {
			junk = true;
		} else if (eq && nrec < RECS && (size_t)(eq - argv[i]) < sizeof(recs[0].name)) {
			struct dns_rec *d = &recs[nrec++];
			snprintf(d->name, sizeof(d->name), "%.*s", (int)(eq - argv[i]), argv[i]);
			d->af = strchr(eq, ':') ? AF_INET6 : AF_INET;
			if (inet_pton(d->af, eq + 1, d->addr) != 1) {
				fprintf(stderr, "probe dns-serve: %s is not an address\n", eq + 1);
				return 2;
			}
		} else {
			fprintf(stderr, "probe dns-serve: what is %s?\n", argv[i]);
			return 2;
		}
	}
	struct sockaddr_storage ss;
	socklen_t len;
	int af = make_addr(argv[0], argv[1], &ss, &len);
	int u = socket(af, SOCK_DGRAM, 0), t = socket(af, SOCK_STREAM, 0);
	int one = 1;
	if (u < 0 || t < 0 || setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(u, (struct sockaddr *)&ss, len) < 0 || bind(t, (struct sockaddr *)&ss, len) < 0 ||
	    listen(t, 64) < 0) {
		fprintf(stderr, "probe dns-serve %s %s: %s\n", argv[0], argv[1], strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	printf("serving\n");
	for (;;) {
		long now = now_ms(), next = -1;
		for (int i = 0; i < DELAYED; i++) {
			if (!dq[i].due)
				continue;
			if (dq[i].due <= now) {
				serve_udp_send(u, &dq[i], junk);
				dq[i].due = 0;
			} else if (next < 0 || dq[i].due < next) {
				next = dq[i].due;
			}
		}
		struct pollfd p[2] = { { .fd = u, .events = POLLIN }, { .fd = t, .events = POLLIN } };
		if (poll(p, 2, next < 0 ? -1 : (int)(next - now)) < 0 && errno != EINTR)
			return 1;
		if (p[0].revents & POLLIN) {
			unsigned char q[DNS_MSG_MAX];
			struct delayed d;
			d.tolen = sizeof(d.to);
			ssize_t n = recvfrom(u, q, sizeof(q), 0, (struct sockaddr *)&d.to, &d.tolen);
			if (n >= 12 && !(q[2] & 0x80)) {
				hex_line("udp", q, (size_t)n);
				ssize_t rn = serve_answer(recs, nrec, q, (size_t)n, d.r, sizeof(d.r),
							  &d.qend);
				int slot = -1;
				for (int i = 0; i < DELAYED && slot < 0 && delay; i++)
					if (!dq[i].due)
						slot = i;
				if (rn > 0) {
					d.len = (size_t)rn;
					d.due = now_ms() + delay;
					if (slot >= 0)
						dq[slot] = d;
					else
						serve_udp_send(u, &d, junk);
				}
			}
		}
		if (p[1].revents & POLLIN) {
			int c = accept(t, NULL, NULL);
			if (c >= 0) {
				serve_tcp(c, recs, nrec, delay, junk);
				close(c);
			}
		}
	}
}

/* ---- attacks on the DNS filter ---- */

/* A UDP socket of uid 0 that may be PID 1's upstream socket, from
 * /proc/net/udp or udp6: on a port other than 53, unconnected or
 * connected to the upstream's port 53. */
struct target {
	int af;
	unsigned char addr[16];
	uint16_t port;
	uint16_t next_id;
};

static void hex_addr(const char *hex, int af, unsigned char *out)
{
	/* Each 32-bit word as the kernel holds it, printed as a number. */
	for (int w = 0; w < (af == AF_INET ? 1 : 4); w++) {
		char word[9];
		memcpy(word, hex + 8 * w, 8);
		word[8] = '\0';
		uint32_t v = (uint32_t)strtoul(word, NULL, 16);
		memcpy(out + 4 * w, &v, 4);
	}
}

static int find_targets(int af, const unsigned char *up, const unsigned char *alt,
			struct target *t, int n, int max)
{
	FILE *f = fopen(af == AF_INET ? "/proc/net/udp" : "/proc/net/udp6", "r");
	if (!f)
		return n;
	size_t alen = af == AF_INET ? 4 : 16;
	char line[512];
	while (fgets(line, sizeof(line), f) && n < max) {
		char local[64], rem[64];
		unsigned uid, lport, rport;
		if (sscanf(line, " %*d: %40[0-9A-F]:%x %40[0-9A-F]:%x %*x %*x:%*x %*x:%*x %*x %u",
			   local, &lport, rem, &rport, &uid) != 5 || strlen(local) != alen * 2)
			continue;
		unsigned char la[16], ra[16];
		hex_addr(local, af, la);
		hex_addr(rem, af, ra);
		static const unsigned char zero[16];
		bool unconnected = rport == 0 && !memcmp(ra, zero, alen);
		bool to_up = rport == 53 && !memcmp(ra, up, alen);
		if (uid != 0 || lport == 53 || !(unconnected || to_up))
			continue;
		bool known = false;
		for (int i = 0; i < n; i++)
			known |= t[i].af == af && t[i].port == lport;
		if (known)
			continue;
		t[n].af = af;
		t[n].port = (uint16_t)lport;
		t[n].next_id = 0;
		memcpy(t[n].addr, memcmp(la, zero, alen) ? la : alt, alen);
		n++;
	}
	fclose(f);
	return n;
}

/* The forger of the upstream's answers: takes the upstream's address and
 * port 53 (with IP_FREEBIND or IPV6_FREEBIND when it is not local), keeps 64
 * queries for NAME in flight through palisade's DNS filter, finds PID 1's
 * upstream sockets in /proc/net/udp*, and sprays each with answers naming
 * FAKE under every ID. Prints "poisoned" when an answer of the filter
 * named FAKE, else "not-poisoned", with counts: datagrams tried, and sent
 * (the others refused by the kernel, whose last error is shown). */
static int cmd_dns_spoof(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	const char *name = argv[0];
	long end = now_ms() + atol(argv[3]);
	srandom((unsigned)(getpid() ^ now_ms()));
	unsigned char fake[16];
	int faf = strchr(argv[1], ':') ? AF_INET6 : AF_INET;
	size_t flen = faf == AF_INET ? 4 : 16;
	uint16_t qtype = faf == AF_INET ? 1 : 28;
	if (inet_pton(faf, argv[1], fake) != 1)
		return 2;
	struct sockaddr_storage us;
	socklen_t ul;
	int uaf = make_addr(argv[2], "53", &us, &ul);
	unsigned char up[16];
	memcpy(up, uaf == AF_INET ? (void *)&((struct sockaddr_in *)&us)->sin_addr
				  : (void *)&((struct sockaddr_in6 *)&us)->sin6_addr,
	       uaf == AF_INET ? 4 : 16);
	int fs = socket(uaf, SOCK_DGRAM, 0), one = 1;
	if (fs < 0 || (uaf == AF_INET ? setsockopt(fs, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one))
				      : setsockopt(fs, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one))) < 0 ||
	    bind(fs, (struct sockaddr *)&us, ul) < 0) {
		printf("error bind %s port 53: %s\n", argv[2], strerror(errno));
		return 1;
	}
	/* Where a socket bound to the unspecified address is reached without
	 * meeting the connection tracking entry of its own query (whose reply
	 * direction is the upstream to the address the query left from): a
	 * local address it does not send from. */
	unsigned char alt[16] = { 0 };
	if (uaf == AF_INET)
		inet_pton(AF_INET, "127.0.0.2", alt);
	else
		alt[15] = 1;
	/* The forged answer: ID first, filled in for each datagram. */
	unsigned char f[600];
	ssize_t head = dns_query_head(f, sizeof(f) - 40, 0, name, qtype, 0);
	if (head < 0)
		return 2;
	size_t fl = (size_t)head;
	f[2] = 0x81;
	f[3] = 0x80;
	put16(f + 6, 1);
	put16(f + fl, 0xc00c);
	put16(f + fl + 2, qtype);
	put16(f + fl + 4, 1);
	put16(f + fl + 6, 0);
	put16(f + fl + 8, 300);
	put16(f + fl + 10, (unsigned)flen);
	memcpy(f + fl + 12, fake, flen);
	fl += 12 + flen;

	struct sockaddr_storage ls;
	socklen_t ll;
	make_addr("127.0.0.1", "53", &ls, &ll);
	int qs = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (qs < 0 || connect(qs, (struct sockaddr *)&ls, ll) < 0) {
		printf("error query socket: %s\n", strerror(errno));
		return 1;
	}
	enum { TARGETS = 1024, CHUNK = 256, INFLIGHT = 64 };
	static struct target t[TARGETS];
	unsigned long queries = 0, answers = 0, tried = 0, forged = 0;
	int ports = 0, last_err = 0;
	bool poisoned = false;
	while (now_ms() < end && !poisoned) {
		while (queries - answers < INFLIGHT) {
			unsigned char q[600];
			ssize_t n = dns_query_head(q, sizeof(q), (uint16_t)random(), name, qtype, 0);
			if (n < 0 || send(qs, q, (size_t)n, 0) < 0)
				break;
			queries++;
		}
		unsigned char r[DNS_MSG_MAX];
		ssize_t got;
		while ((got = recv(qs, r, sizeof(r), 0)) >= 12) {
			answers++;
			if (dns_records(r, (size_t)got, false, fake, flen))
				poisoned = true;
		}
		int nt = find_targets(uaf, up, alt, t, 0, TARGETS);
		if (nt > ports)
			ports = nt;
		for (int i = 0; i < nt; i++) {
			struct sockaddr_storage to;
			socklen_t tl;
			char a[INET6_ADDRSTRLEN], port[8];
			inet_ntop(t[i].af, t[i].addr, a, sizeof(a));
			snprintf(port, sizeof(port), "%u", t[i].port);
			make_addr(a, port, &to, &tl);
			uint16_t id0 = (uint16_t)random();
			for (int k = 0; k < CHUNK; k++) {
				put16(f, (uint16_t)(id0 + k * 257));
				tried++;
				if (sendto(fs, f, fl, 0, (struct sockaddr *)&to, tl) > 0)
					forged++;
				else
					last_err = errno;
			}
		}
		if (nt == 0)
			usleep(1000);
	}
	printf("%s queries=%lu answers=%lu tried=%lu forged=%lu ports=%d%s%s\n",
	       poisoned ? "poisoned" : "not-poisoned", queries, answers, tried, forged, ports,
	       last_err ? " error=" : "", last_err ? strerrorname_np(last_err) : "");
	return poisoned ? 0 : 1;
}

/* Tries to bind ADDR PORT next to whoever serves there: UDP and TCP, each
 * with SO_REUSEADDR, SO_REUSEPORT and both; prints "udp reuseaddr: bound"
 * or the error of each. Then counts, for MS ms, the datagrams and
 * connections that reach the sockets it got: "received N". */
static int cmd_steal(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	static const char *const how[] = { "reuseaddr", "reuseport", "both" };
	struct pollfd fds[6];
	int kinds[6], n = 0;
	struct sockaddr_storage ss;
	socklen_t len;
	int af = make_addr(argv[0], argv[1], &ss, &len);
	for (int tcp = 0; tcp < 2; tcp++) {
		for (int o = 0; o < 3; o++) {
			int fd = socket(af, tcp ? SOCK_STREAM : SOCK_DGRAM, 0), one = 1;
			if (fd < 0 ||
			    (o != 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
			    (o != 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
			    bind(fd, (struct sockaddr *)&ss, len) < 0 || (tcp && listen(fd, 16) < 0)) {
				printf("%s %s: %s\n", tcp ? "tcp" : "udp", how[o],
				       strerrorname_np(errno) ? strerrorname_np(errno) : "?");
				if (fd >= 0)
					close(fd);
				continue;
			}
			printf("%s %s: bound\n", tcp ? "tcp" : "udp", how[o]);
			fds[n].fd = fd;
			fds[n].events = POLLIN;
			kinds[n++] = tcp;
		}
	}
	unsigned long got = 0;
	long end = now_ms() + atol(argv[2]);
	for (long now = now_ms(); now < end; now = now_ms()) {
		if (poll(fds, (nfds_t)n, (int)(end - now)) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (!(fds[i].revents & POLLIN))
				continue;
			char b[512];
			int c = kinds[i] ? accept(fds[i].fd, NULL, NULL) : -1;
			if (kinds[i] ? c >= 0 : recv(fds[i].fd, b, sizeof(b), MSG_DONTWAIT) >= 0)
				got++;
			if (c >= 0)
				close(c);
		}
	}
	printf("received %lu\n", got);
	return 0;
}

/* Seccomp fault injection: classic BPF, no library needed. */
#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LD_ARG(n) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[n]))
#define RET_ERRNO(e) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

static int cmd_inject(int argc, char **argv)
{
	struct sock_filter f[64];
	int n = 0;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	bool no_ia32 = false, no_x32 = false;
	for (int k = 0; k < argc && strcmp(argv[k], "--"); k++) {
		no_ia32 |= !strcmp(argv[k], "no-ia32");
		no_x32 |= !strcmp(argv[k], "no-x32");
	}
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      no_ia32 ? SECCOMP_RET_KILL_PROCESS : SECCOMP_RET_ALLOW);
	if (no_x32) {
		f[n++] = (struct sock_filter)LD_NR;
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x40000000, 0, 1);
		f[n++] = (struct sock_filter)RET_ERRNO(ENOSYS);
	}
	int i = 0;
	for (; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "no-ia32") || !strcmp(argv[i], "no-x32"))
			continue;
		if (n + 8 > (int)(sizeof(f) / sizeof(f[0]))) {
			fprintf(stderr, "probe inject: too many faults\n");
			return 2;
		}
		/* Each fault: nr == X && argA == V1 && argB == V2 -> errno. */
		long nr, a1 = -1, a2 = -1;
		int i1 = 0, i2 = 0, e;
		if (!strcmp(argv[i], "no-iptables")) {
			nr = SYS_getsockopt; i1 = 1; a1 = SOL_IP; i2 = 2; a2 = 64; e = ENOPROTOOPT;
		} else if (!strcmp(argv[i], "no-ip6tables")) {
			nr = SYS_getsockopt; i1 = 1; a1 = SOL_IPV6; i2 = 2; a2 = 64; e = ENOPROTOOPT;
		} else if (!strcmp(argv[i], "no-nfnetlink")) {
			nr = SYS_socket; i1 = 0; a1 = AF_NETLINK; i2 = 2; a2 = NETLINK_NETFILTER;
			e = EPROTONOSUPPORT;
		} else if (!strcmp(argv[i], "no-ipv6")) {
			nr = SYS_socket; i1 = 0; a1 = AF_INET6; e = EAFNOSUPPORT;
		} else if (!strcmp(argv[i], "no-io_uring")) {
			nr = SYS_io_uring_setup; i1 = -1; e = EPERM;
		} else if (!strcmp(argv[i], "no-perf")) {
			nr = SYS_perf_event_open; i1 = -1; e = ENOSYS;
		} else if (!strncmp(argv[i], "close-eio:", 10)) {
			nr = SYS_close; i1 = 0; a1 = atoi(argv[i] + 10); e = EIO;
		} else if (!strncmp(argv[i], "write-enospc:", 13)) {
			nr = SYS_write; i1 = 0; a1 = atoi(argv[i] + 13); e = ENOSPC;
		} else if (!strcmp(argv[i], "no-fd-statx")) {
			/* statx(fd, "", AT_EMPTY_PATH, ...): as under a seccomp
			 * profile that denies statx */
			nr = SYS_statx; i1 = 2; a1 = AT_EMPTY_PATH; e = EPERM;
		} else if (!strcmp(argv[i], "no-landlock")) {
			/* the ABI query, refused as by Docker's profile before 23 */
			nr = SYS_landlock_create_ruleset; i1 = 2; a1 = 1; e = EPERM;
		} else {
			fprintf(stderr, "probe inject: unknown fault %s\n", argv[i]);
			return 2;
		}
		f[n++] = (struct sock_filter)LD_NR;
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0,
						      i1 < 0 ? 1 : a2 >= 0 ? 5 : 3);
		if (i1 >= 0) {
			f[n++] = (struct sock_filter)LD_ARG(i1);
			f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)a1, 0,
							      a2 >= 0 ? 3 : 1);
		}
		if (a2 >= 0) {
			f[n++] = (struct sock_filter)LD_ARG(i2);
			f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)a2, 0, 1);
		}
		f[n++] = (struct sock_filter)RET_ERRNO(e);
	}
	if (i >= argc - 1) {
		fprintf(stderr, "probe inject: FAULT... -- CMD...\n");
		return 2;
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("probe inject: seccomp");
		return 1;
	}
	execvp(argv[i + 1], argv + i + 1);
	perror("probe inject: exec");
	return 127;
}

static int cmd_kernel(int argc, char **argv)
{
	if (argc < 1) {
		fprintf(stderr, "probe kernel FEATURE...\n");
		return 2;
	}
	int rc = 0;
	for (int i = 0; i < argc; i++) {
		const struct kernel_feature *f = kernel_feature(argv[i]);
		if (!f) {
			fprintf(stderr, "probe kernel: unknown feature %s\n", argv[i]);
			return 2;
		}
		char why[256];
		if (kernel_offers(f, why, sizeof(why))) {
			printf("%s: yes\n", f->name);
		} else {
			printf("%s: no: %s\n", f->name, why);
			rc = 1;
		}
	}
	return rc;
}

static int print_results(const struct call_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (r[i].ret >= 0)
			printf("%s: ok\n", r[i].name);
		else
			printf("%s: %s\n", r[i].name, strerrorname_np(r[i].err) ?
			       strerrorname_np(r[i].err) : "?");
	}
	return 0;
}

static int cmd_syscalls(bool i386)
{
	struct call_result r[128];
	size_t n = i386 ? exercise_i386(r, 128) : exercise_native(r, 128);
	return print_results(r, n);
}

static void report(const char *what, long rc)
{
	if (rc >= 0)
		printf("%s: ok\n", what);
	else
		printf("%s: %s\n", what, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
}

static int cmd_privesc(void)
{
	report("setuid(0)", setuid(0));
	report("setgid(0)", setgid(0));
	report("setgroups", setgroups(0, NULL));
	report("seteuid(0)", seteuid(0));
	return 0;
}

static int cmd_pid1(void)
{
	report("kill(1, SIGTERM)", kill(1, SIGTERM));
	report("kill(1, 0)", kill(1, 0));
	report("ptrace(ATTACH, 1)", ptrace(PTRACE_ATTACH, 1, NULL, NULL));
	const char *files[] = { "/proc/1/environ", "/proc/1/mem", "/proc/1/maps", "/proc/1/fd/0" };
	for (size_t i = 0; i < 4; i++) {
		char what[64];
		snprintf(what, sizeof(what), "open %s", files[i]);
		int fd = open(files[i], O_RDONLY);
		char b[16];
		long rc = fd;
		if (fd >= 0) {
			rc = read(fd, b, sizeof(b));
			close(fd);
		}
		report(what, rc);
	}
	return 0;
}

static int cmd_vsock(void)
{
	report("socket(AF_VSOCK)", socket(AF_VSOCK, SOCK_STREAM, 0));
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int ring = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (ring < 0) {
		report("io_uring_setup", -1);
		return 0;
	}
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_SQ_RING);
	char *cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
					 MAP_SHARED, ring, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
		report("io_uring mmap", -1);
		return 0;
	}
	unsigned *tail = (unsigned *)(sq + p.sq_off.tail);
	unsigned *array = (unsigned *)(sq + p.sq_off.array);
	unsigned idx = *tail & *(unsigned *)(sq + p.sq_off.ring_mask);
	memset(&sqes[idx], 0, sizeof(sqes[idx]));
	sqes[idx].opcode = IORING_OP_SOCKET;
	sqes[idx].fd = AF_VSOCK;
	sqes[idx].off = SOCK_STREAM;
	array[idx] = idx;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	long rc = syscall(SYS_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	if (rc < 0) {
		report("io_uring_enter", -1);
		return 0;
	}
	unsigned head = __atomic_load_n((unsigned *)(cq + p.cq_off.head), __ATOMIC_ACQUIRE);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	int res = cqes[head & *(unsigned *)(cq + p.cq_off.ring_mask)].res;
	if (res >= 0) {
		printf("io_uring socket(AF_VSOCK): ok\n");
	} else {
		errno = -res;
		report("io_uring socket(AF_VSOCK)", -1);
	}
	return 0;
}

static int cmd_fence_change(void)
{
	struct perr err = PERR_INIT;
	bool absent;
	struct filter_table *t = filter_table_open(NET_V4, &absent, &err);
	if (!t) {
		printf("iptables: refused: %s\n", err.msg);
	} else {
		struct ruleset empty = { .family = NET_V4 };
		printf("iptables: %s\n", filter_table_install(t, &empty, &err) == 0 ? "CHANGED" :
		       "refused at commit");
		filter_table_close(t);
	}
	struct ipset *is = ipset_open(&err);
	if (!is) {
		printf("ipset: refused: %s\n", err.msg);
	} else {
		struct set_elem e = { .net = { .family = NET_V4, .prefix = 32, .bytes = { 192, 0, 2, 99 } } };
		printf("ipset: %s\n", ipset_add(is, "palisade4", &e, 1, &err) == 0 ? "CHANGED" :
		       "refused at add");
		ipset_close(is);
	}
	struct nft *n = nft_open(&err);
	if (!n) {
		printf("nft: refused: %s\n", err.msg);
	} else {
		struct set_elem e = { .net = { .family = NET_V4, .prefix = 32, .bytes = { 192, 0, 2, 99 } } };
		if (nft_allow(n, NET_V4, SET_DEFAULT, &e, 1, &err) == 0)
			printf("nft: CHANGED\n");
		else
			printf("nft: refused at add: %s\n", err.msg);
		nft_close(n);
	}
	return 0;
}


/* ---- a same-user process, attacked ---- */

static _Noreturn void cmd_idle(void)
{
	printf("idle pid=%d\n", (int)getpid());
	for (;;) {
		struct timespec ts = { .tv_nsec = 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

static const char *errno_name(int e)
{
	return strerrorname_np(e) ? strerrorname_np(e) : "?";
}

#ifdef __x86_64__
/* Makes the stopped tracee run one system call at the syscall instruction
 * it is blocked behind (rip - 2), and restores its registers. Returns the
 * call's raw result (-errno on failure). */
static long remote_call(pid_t pid, const struct user_regs_struct *saved, long nr, long a0,
			long a1, long a2)
{
	struct user_regs_struct r = *saved;
	r.rip = saved->rip - 2;
	r.rax = (unsigned long long)nr;
	r.orig_rax = (unsigned long long)-1; /* no syscall restart on the way out */
	r.rdi = (unsigned long long)a0;
	r.rsi = (unsigned long long)a1;
	r.rdx = (unsigned long long)a2;
	if (ptrace(PTRACE_SETREGS, pid, NULL, &r) < 0 ||
	    ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) < 0)
		return -100000 - errno;
	int ws;
	if (waitpid(pid, &ws, __WALL) < 0 || !WIFSTOPPED(ws))
		return -100000;
	if (ptrace(PTRACE_GETREGS, pid, NULL, &r) < 0)
		return -100000 - errno;
	return (long)r.rax;
}

static void print_remote(const char *what, long rc)
{
	if (rc <= -100000)
		printf("injected %s: injection failed\n", what);
	else if (rc < 0)
		printf("injected %s: %s\n", what, errno_name((int)-rc));
	else
		printf("injected %s: ok\n", what);
}

static int cmd_ptrace_inject(int argc, char **argv)
{
	if (argc < 1)
		return 2;
	pid_t pid = (pid_t)atoi(argv[0]);
	long rc = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
	report("ptrace(ATTACH)", rc);
	if (rc < 0) {
		rc = ptrace(PTRACE_SEIZE, pid, NULL, NULL);
		report("ptrace(SEIZE)", rc);
		if (rc < 0)
			return 1;
		if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) < 0) {
			report("ptrace(INTERRUPT)", -1);
			return 1;
		}
	}
	int ws;
	if (waitpid(pid, &ws, __WALL) < 0 || !WIFSTOPPED(ws)) {
		printf("the tracee did not stop\n");
		return 1;
	}
	struct user_regs_struct saved;
	if (ptrace(PTRACE_GETREGS, pid, NULL, &saved) < 0) {
		report("ptrace(GETREGS)", -1);
		return 1;
	}
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)(saved.rip - 2), NULL);
	if (errno || (word & 0xffff) != 0x050f) {
		printf("the tracee is not stopped behind a syscall instruction\n");
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		return 1;
	}
	long fd = remote_call(pid, &saved, SYS_socket, AF_VSOCK, SOCK_STREAM, 0);
	print_remote("socket(AF_VSOCK)", fd);
	if (fd >= 0)
		remote_call(pid, &saved, SYS_close, fd, 0, 0);
	print_remote("unshare(CLONE_NEWUSER)",
		     remote_call(pid, &saved, SYS_unshare, CLONE_NEWUSER, 0, 0));
	/* Without a filter: EINVAL (no entries) or EFAULT; with it: EPERM. */
	print_remote("io_uring_setup", remote_call(pid, &saved, SYS_io_uring_setup, 0, 0, 0));
	if (ptrace(PTRACE_SETREGS, pid, NULL, &saved) < 0 ||
	    ptrace(PTRACE_DETACH, pid, NULL, NULL) < 0) {
		report("restoring the tracee", -1);
		return 1;
	}
	return 0;
}

/* socket(AF_VSOCK, SOCK_STREAM, 0), then exit_group with its result. */
static const unsigned char vsock_exit_code[] = {
	0xb8, 0x29, 0x00, 0x00, 0x00, /* mov eax, 41 (socket) */
	0xbf, 0x28, 0x00, 0x00, 0x00, /* mov edi, 40 (AF_VSOCK) */
	0xbe, 0x01, 0x00, 0x00, 0x00, /* mov esi, 1 (SOCK_STREAM) */
	0x31, 0xd2,                   /* xor edx, edx */
	0x0f, 0x05,                   /* syscall */
	0x89, 0xc7,                   /* mov edi, eax */
	0xb8, 0xe7, 0x00, 0x00, 0x00, /* mov eax, 231 (exit_group) */
	0x0f, 0x05,                   /* syscall */
};

/* The address the process returns to from the system call it sleeps in,
 * from /proc/PID/syscall ("NR args... sp pc"). */
static int sleeping_pc(pid_t pid, unsigned long *pc)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	for (int tries = 0; tries < 100; tries++) {
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			return -1;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		int e = errno;
		close(fd);
		if (n < 0) {
			errno = e;
			return -1;
		}
		buf[n] = '\0';
		char *last = strrchr(buf, ' ');
		if (strncmp(buf, "running", 7) != 0 && last) {
			*pc = strtoul(last + 1, NULL, 16);
			return 0;
		}
		usleep(5000);
	}
	errno = EAGAIN;
	return -1;
}

static int cmd_mem_inject(int argc, char **argv)
{
	if (argc < 1)
		return 2;
	pid_t pid = (pid_t)atoi(argv[0]);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	report("open /proc/PID/mem for writing", fd);
	unsigned long pc = 0;
	int have_pc = sleeping_pc(pid, &pc);
	report("read /proc/PID/syscall", have_pc);
	if (fd >= 0 && have_pc == 0) {
		ssize_t w = pwrite(fd, vsock_exit_code, sizeof(vsock_exit_code), (off_t)pc);
		report("write /proc/PID/mem", w == (ssize_t)sizeof(vsock_exit_code) ? 0 : -1);
		close(fd);
		return 0;
	}
	if (fd >= 0)
		close(fd);
	/* The other door: process_vm_writev, at the return address if known
	 * (EFAULT without any fence, when it is not). */
	struct iovec local = { .iov_base = (void *)vsock_exit_code,
			       .iov_len = sizeof(vsock_exit_code) };
	struct iovec remote = { .iov_base = (void *)(have_pc == 0 ? pc : 4096),
				.iov_len = sizeof(vsock_exit_code) };
	report("process_vm_writev", process_vm_writev(pid, &local, 1, &remote, 1, 0));
	return 0;
}
#endif

static int cmd_steal_fd(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int pidfd = (int)syscall(SYS_pidfd_open, atoi(argv[0]), 0);
	report("pidfd_open", pidfd);
	if (pidfd < 0)
		return 1;
	long fd = syscall(SYS_pidfd_getfd, pidfd, atoi(argv[1]), 0);
	report("pidfd_getfd", fd);
	return 0;
}

static int cmd_debug_child(void)
{
	pid_t c = fork();
	if (c < 0)
		return 1;
	if (c == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
			_exit(3);
		raise(SIGSTOP);
		_exit(7);
	}
	int ws;
	if (waitpid(c, &ws, 0) < 0 || !WIFSTOPPED(ws)) {
		printf("traced own child (PTRACE_TRACEME): %s\n",
		       WIFEXITED(ws) && WEXITSTATUS(ws) == 3 ? "refused" : "did not stop");
	} else {
		errno = 0;
		long v = ptrace(PTRACE_PEEKUSER, c, NULL, NULL);
		printf("traced own child (PTRACE_TRACEME): %s\n",
		       v == -1 && errno ? errno_name(errno) : "ok");
		ptrace(PTRACE_CONT, c, NULL, NULL);
		waitpid(c, &ws, 0);
	}
	c = fork();
	if (c < 0)
		return 1;
	if (c == 0) {
		pause();
		_exit(0);
	}
	long rc = ptrace(PTRACE_ATTACH, c, NULL, NULL);
	report("ptrace(ATTACH) own child", rc);
	kill(c, SIGKILL);
	waitpid(c, &ws, 0);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: probe tcp|udp|serve|status|orphans|zombies|signals|pty|exit ...\n");
		return 2;
	}
	const char *cmd = argv[1];
	argc -= 2;
	argv += 2;
	if (!strcmp(cmd, "tcp"))
		return cmd_tcp(argc, argv);
	if (!strcmp(cmd, "udp"))
		return cmd_udp(argc, argv);
	if (!strcmp(cmd, "serve"))
		return cmd_serve(argc, argv);
	if (!strcmp(cmd, "status"))
		return cmd_status();
	if (!strcmp(cmd, "orphans"))
		return cmd_orphans(argc, argv);
	if (!strcmp(cmd, "zombies"))
		return cmd_zombies();
	if (!strcmp(cmd, "signals"))
		return cmd_signals(argc, argv);
	if (!strcmp(cmd, "sigstate"))
		return cmd_sigstate();
	if (!strcmp(cmd, "sigdirty"))
		return cmd_sigdirty(argc, argv);
	if (!strcmp(cmd, "pty"))
		return cmd_pty(argc, argv);
	if (!strcmp(cmd, "init"))
		return cmd_init(argc, argv);
	if (!strcmp(cmd, "syscalls"))
		return cmd_syscalls(false);
	if (!strcmp(cmd, "syscalls32"))
		return cmd_syscalls(true);
	if (!strcmp(cmd, "privesc"))
		return cmd_privesc();
	if (!strcmp(cmd, "pid1"))
		return cmd_pid1();
	if (!strcmp(cmd, "vsock"))
		return cmd_vsock();
	if (!strcmp(cmd, "fence-change"))
		return cmd_fence_change();
	if (!strcmp(cmd, "flood"))
		return cmd_flood(argc, argv);
	if (!strcmp(cmd, "hold"))
		return cmd_hold(argc, argv);
	if (!strcmp(cmd, "dns"))
		return cmd_dns(argc, argv);
	if (!strcmp(cmd, "send"))
		return cmd_send(argc, argv);
	if (!strcmp(cmd, "sniff"))
		return cmd_sniff(argc, argv);
	if (!strcmp(cmd, "mcast"))
		return cmd_mcast(argc, argv);
	if (!strcmp(cmd, "dns-smuggle"))
		return cmd_dns_smuggle(argc, argv);
	if (!strcmp(cmd, "dns-serve"))
		return cmd_dns_serve(argc, argv);
	if (!strcmp(cmd, "dns-spoof"))
		return cmd_dns_spoof(argc, argv);
	if (!strcmp(cmd, "steal"))
		return cmd_steal(argc, argv);
	if (!strcmp(cmd, "inject"))
		return cmd_inject(argc, argv);
	if (!strcmp(cmd, "kernel"))
		return cmd_kernel(argc, argv);
	if (!strcmp(cmd, "idle"))
		cmd_idle();
#ifdef __x86_64__
	if (!strcmp(cmd, "ptrace-inject"))
		return cmd_ptrace_inject(argc, argv);
	if (!strcmp(cmd, "mem-inject"))
		return cmd_mem_inject(argc, argv);
#endif
	if (!strcmp(cmd, "debug-child"))
		return cmd_debug_child();
	if (!strcmp(cmd, "steal-fd"))
		return cmd_steal_fd(argc, argv);
	if (!strcmp(cmd, "exit"))
		return argc > 0 ? atoi(argv[0]) : 0;
	fprintf(stderr, "probe: unknown command %s\n", cmd);
	return 2;
}
