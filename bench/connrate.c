/* connrate: new TCP connections per second, and one stream's throughput.
 *
 *   connrate serve ADDR PORT              accept and close, forever
 *   connrate client ADDR PORT SECONDS     connect and close in a tight loop
 *   connrate sink ADDR PORT               accept, read to the end, forever
 *   connrate bulk ADDR PORT MIB           send MIB MiB over one connection
 *
 * The client opens a connection, waits for the handshake to complete
 * (connect returns), and closes it with SO_LINGER 0 (a reset, so that no
 * TIME_WAIT state uses up the ephemeral ports), for SECONDS after a warm-up
 * of 0.5 s, then prints one line:
 *
 *   connections N seconds S rate R failed F
 *
 *
 * bulk connects, writes MIB MiB from a 256 KiB buffer, shuts its side
 * down and waits for the sink to close (so that every byte has arrived),
 * then prints
 *
 *   bytes N seconds S gbits G
 *
 * with S from connect to the sink's close and G in Gbit/s (10^9 bits).
 *
 * Built static, so that it runs in a root tree without a C library. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int addr(const char *a, const char *p, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(p));
	return inet_pton(AF_INET, a, &sa->sin_addr) == 1 ? 0 : -1;
}

/* serve: accept and close (serve mode) or, with drain, read each
 * connection to its end first (sink mode), forever. */
static int serve(struct sockaddr_in *sa, int drain)
{
	static char buf[1 << 18];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(fd, 4096) < 0) {
		perror(drain ? "connrate sink" : "connrate serve");
		return 1;
	}
	printf("serving\n");
	fflush(stdout);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno != EINTR && errno != ECONNABORTED && errno != EMFILE)
				return 1;
			continue;
		}
		ssize_t r;
		while (drain && ((r = read(c, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR)))
			;
		close(c);
	}
}

static int client(struct sockaddr_in *sa, double secs)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	double start = now_s(), warm = start + 0.5, end = warm + secs;
	unsigned long n = 0, failed = 0;
	double t = start;
	int counting = 0;
	while (t < end) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0) {
			perror("socket");
			return 1;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		int r = connect(fd, (struct sockaddr *)sa, sizeof(*sa));
		close(fd);
		t = now_s();
		if (!counting && t >= warm) {
			counting = 1;
			n = failed = 0;
			warm = t;
		}
		if (r == 0)
			n++;
		else
			failed++;
		if (failed > 1000 && n == 0) {
			fprintf(stderr, "connrate: cannot connect: %s\n", strerror(errno));
			return 1;
		}
	}
	printf("connections %lu seconds %.3f rate %.0f failed %lu\n", n, t - warm,
	       (double)n / (t - warm), failed);
	return 0;
}

static int bulk(struct sockaddr_in *sa, unsigned long mib)
{
	static char buf[1 << 18];
	unsigned long long total = (unsigned long long)mib << 20, sent = 0;
	memset(buf, 'x', sizeof(buf));
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	double start = now_s();
	if (connect(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0) {
		fprintf(stderr, "connrate: cannot connect: %s\n", strerror(errno));
		return 1;
	}
	while (sent < total) {
		size_t want = total - sent < sizeof(buf) ? (size_t)(total - sent) : sizeof(buf);
		ssize_t w = write(fd, buf, want);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "connrate: write after %llu bytes: %s\n", sent,
				w < 0 ? strerror(errno) : "nothing written");
			return 1;
		}
		sent += (unsigned long long)w;
	}
	if (shutdown(fd, SHUT_WR) < 0) {
		perror("shutdown");
		return 1;
	}
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
		;
	if (r < 0) {
		perror("connrate: waiting for the sink to close");
		return 1;
	}
	double secs = now_s() - start;
	close(fd);
	printf("bytes %llu seconds %.3f gbits %.3f\n", sent, secs, (double)sent * 8 / secs / 1e9);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	if (argc == 4 && !strcmp(argv[1], "serve") && addr(argv[2], argv[3], &sa) == 0)
		return serve(&sa, 0);
	if (argc == 5 && !strcmp(argv[1], "client") && addr(argv[2], argv[3], &sa) == 0)
		return client(&sa, atof(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "sink") && addr(argv[2], argv[3], &sa) == 0)
		return serve(&sa, 1);
	if (argc == 5 && !strcmp(argv[1], "bulk") && addr(argv[2], argv[3], &sa) == 0 &&
	    strtoul(argv[4], NULL, 10) > 0)
		return bulk(&sa, strtoul(argv[4], NULL, 10));
	fprintf(stderr, "usage: connrate serve|sink ADDR PORT | connrate client ADDR PORT SECONDS\n"
			"       connrate bulk ADDR PORT MIB\n");
	return 2;
}
