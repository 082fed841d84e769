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
 */
#include <arpa/inet.h>
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
	struct pollfd fds[64];
	int types[64];
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
			types[n++] = type;
		}
	}
	printf("serving\n");
	fflush(stdout);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		if (poll(fds, (nfds_t)n, -1) < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			if (!(fds[i].revents & POLLIN))
				continue;
			if (types[i] == SOCK_STREAM) {
				int c = accept(fds[i].fd, NULL, NULL);
				if (c >= 0) {
					if (write(c, "hello\n", 6) < 0) {
						/* the client may be gone already */
					}
					close(c);
				}
			} else {
				char buf[512];
				struct sockaddr_storage from;
				socklen_t fl = sizeof(from);
				ssize_t r = recvfrom(fds[i].fd, buf, sizeof(buf), 0,
						     (struct sockaddr *)&from, &fl);
				if (r > 0)
					sendto(fds[i].fd, buf, (size_t)r, 0, (struct sockaddr *)&from, fl);
			}
		}
	}
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
	if (!strcmp(cmd, "exit"))
		return argc > 0 ? atoi(argv[0]) : 0;
	fprintf(stderr, "probe: unknown command %s\n", cmd);
	return 2;
}
