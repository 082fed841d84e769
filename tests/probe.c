/* palisade-probe: the test suite's stand-in for an agent and for the hosts
 * around it. Static, so it runs inside the tests' minimal root trees.
 *
 *   probe tcp ADDR PORT [TIMEOUT_MS]   connect; prints open|refused|timeout|error
 *   probe udp ADDR PORT [TIMEOUT_MS]   send, wait for the echo; prints reply|...
 *   probe serve ADDR PORT...           TCP and UDP echo on each ADDR:PORT
 *   probe status                       capability, NoNewPrivs, Seccomp lines
 *   probe orphans N                    leaves N short-lived orphans to PID 1
 *   probe zombies                      counts zombie processes in /proc
 *   probe signals [--fork]             prints each signal it gets; exits on TERM
 *   probe pty TEXT_WAIT KEYS CMD...    runs CMD on a new terminal, types KEYS
 *                                      once TEXT_WAIT appears, copies output
 *   probe exit N                       exits with status N
 *   probe hold ADDR PORT MS            keeps a TCP connection busy until it breaks
 *   probe flood ADDR PORT MS           UDP to ADDR:PORT for MS ms; counts replies
 *   probe dns NAME SERVER [tcp] [TYPE]  one query; prints the rcode and answers
 *   probe syscalls | syscalls32        each call the filter denies: "name: EPERM"
 *   probe privesc                      setuid(0), setgid(0), setgroups
 *   probe pid1                         signal, ptrace, read PID 1
 *   probe vsock                        AF_VSOCK directly and through io_uring
 *   probe fence-change                 tries to flush iptables and change ipsets
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

#include "../fw/ipset.h"
#include "../fw/iptc.h"
#include "syscalls.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
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
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
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
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD)
			sigaction(s, &sa, NULL);
	const char *fg = isatty(0) ? (tcgetpgrp(0) == getpgrp() ? "yes" : "no") : "none";
	printf("%s ready pid=%d pgrp=%d foreground=%s\n", role, (int)getpid(), (int)getpgrp(), fg);
	fflush(stdout);
	for (;;) {
		pause();
		int s = last_sig;
		last_sig = 0;
		if (!s)
			continue;
		printf("%s got %s\n", role, sigabbrev_np(s) ? sigabbrev_np(s) : "?");
		fflush(stdout);
		if (s == SIGTERM)
			return 0;
	}
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
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror("exec");
		_exit(127);
	}
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
	int ws;
	waitpid(pid, &ws, 0);
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
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

/* DNS: one question, answers printed as "A 1.2.3.4" lines. */
static int cmd_dns(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *name = argv[0];
	int tcp = argc > 2 && !strcmp(argv[2], "tcp");
	uint16_t qtype = 1;
	if (argc > 3)
		qtype = !strcmp(argv[3], "AAAA") ? 28 : !strcmp(argv[3], "TXT") ? 16 : (uint16_t)atoi(argv[3]);
	unsigned char q[600];
	size_t n = 0;
	uint16_t id = (uint16_t)(getpid() ^ now_ms());
	unsigned char hdr[12] = { id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
	memcpy(q, hdr, 12);
	n = 12;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || n + l + 6 > sizeof(q)) {
			fprintf(stderr, "probe dns: bad name\n");
			return 2;
		}
		q[n++] = (unsigned char)l;
		memcpy(q + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	q[n++] = 0;
	q[n++] = qtype >> 8;
	q[n++] = qtype & 0xff;
	q[n++] = 0;
	q[n++] = 1;

	struct sockaddr_storage ss;
	socklen_t len;
	int af = make_addr(argv[1], "53", &ss, &len);
	int fd = socket(af, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	struct timeval tv = { .tv_sec = 3 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	long t0 = now_ms();
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
		int e = errno;
		printf("%s ms=%ld (%s)\n", errname(e), now_ms() - t0, strerror(e));
		return 1;
	}
	unsigned char r[4096];
	ssize_t got;
	if (tcp) {
		unsigned char pre[2] = { n >> 8, n & 0xff };
		if (write(fd, pre, 2) != 2 || write(fd, q, n) != (ssize_t)n) {
			printf("%s (%s)\n", errname(errno), strerror(errno));
			return 1;
		}
		unsigned char lp[2];
		if (recv(fd, lp, 2, MSG_WAITALL) != 2) {
			printf("%s ms=%ld (%s)\n", errno ? errname(errno) : "closed", now_ms() - t0,
			       strerror(errno));
			return 1;
		}
		size_t want = (size_t)(lp[0] << 8 | lp[1]);
		if (want > sizeof(r))
			want = sizeof(r);
		got = recv(fd, r, want, MSG_WAITALL);
	} else {
		if (send(fd, q, n, 0) < 0) {
			int e = errno;
			printf("%s ms=%ld (%s)\n", errname(e), now_ms() - t0, strerror(e));
			return 1;
		}
		got = recv(fd, r, sizeof(r), 0);
	}
	if (got < 12) {
		int e = errno;
		printf("%s ms=%ld (%s)\n", got < 0 ? errname(e) : "short", now_ms() - t0,
		       got < 0 ? strerror(e) : "short answer");
		return 1;
	}
	static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					      "NOTIMP", "REFUSED" };
	int rcode = r[3] & 0xf;
	printf("%s%s ms=%ld\n", rcode < 6 ? rcodes[rcode] : "RCODE?", r[2] & 2 ? " TC" : "",
	       now_ms() - t0);
	/* Walk the answers: skip the question, then print A/AAAA/CNAME. */
	size_t off = 12;
	int qd = r[4] << 8 | r[5], an = r[6] << 8 | r[7];
	for (int i = 0; i < qd && off < (size_t)got; i++) {
		while (off < (size_t)got && r[off] && (r[off] & 0xc0) != 0xc0)
			off += r[off] + 1u;
		off += off < (size_t)got && (r[off] & 0xc0) == 0xc0 ? 2 : 1;
		off += 4;
	}
	for (int i = 0; i < an && off + 10 <= (size_t)got; i++) {
		while (off < (size_t)got && r[off] && (r[off] & 0xc0) != 0xc0)
			off += r[off] + 1u;
		off += off < (size_t)got && (r[off] & 0xc0) == 0xc0 ? 2 : 1;
		if (off + 10 > (size_t)got)
			break;
		int type = r[off] << 8 | r[off + 1];
		unsigned ttl = (unsigned)r[off + 4] << 24 | r[off + 5] << 16 | r[off + 6] << 8 | r[off + 7];
		size_t rdlen = (size_t)(r[off + 8] << 8 | r[off + 9]);
		off += 10;
		if (off + rdlen > (size_t)got)
			break;
		char a[INET6_ADDRSTRLEN];
		if (type == 1 && rdlen == 4)
			printf("A %s ttl=%u\n", inet_ntop(AF_INET, r + off, a, sizeof(a)), ttl);
		else if (type == 28 && rdlen == 16)
			printf("AAAA %s ttl=%u\n", inet_ntop(AF_INET6, r + off, a, sizeof(a)), ttl);
		else if (type == 5)
			printf("CNAME ttl=%u\n", ttl);
		else
			printf("TYPE%d ttl=%u\n", type, ttl);
		off += rdlen;
	}
	return rcode == 0 ? 0 : 3;
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
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	int i = 0;
	for (; i < argc && strcmp(argv[i], "--"); i++) {
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
						      a2 >= 0 ? 5 : 3);
		f[n++] = (struct sock_filter)LD_ARG(i1);
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)a1, 0,
						      a2 >= 0 ? 3 : 1);
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
	struct perr err;
	bool absent;
	struct iptc_table *t = iptc_table_open(NET_V4, &absent, &err);
	if (!t) {
		printf("iptables: refused: %s\n", err.msg);
	} else {
		struct ruleset empty = { .family = NET_V4 };
		printf("iptables: %s\n", iptc_table_install(t, &empty, &err) == 0 ? "CHANGED" :
		       "refused at commit");
		iptc_table_close(t);
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
	if (!strcmp(cmd, "pty"))
		return cmd_pty(argc, argv);
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
	if (!strcmp(cmd, "inject"))
		return cmd_inject(argc, argv);
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
