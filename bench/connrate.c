/* connrate: new TCP connections per second, and one stream's throughput.
 *
 *   connrate serve ADDR PORT              accept and close, forever
 *   connrate client ADDR PORT SECONDS     connect and close in a tight loop
 *   connrate sink ADDR PORT               accept, read to the end, forever
 *   connrate bulk ADDR PORT MIB           send MIB MiB over one connection
 *   connrate hello ADDR PORT              accept, read a TLS record, answer
 *                                         one byte, close, forever
 *   connrate tls ADDR PORT SECONDS NAME PORTFILE
 *                                         connect, send a ClientHello naming
 *                                         NAME, wait for the first byte, close
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
 * tls is client's loop with a first segment: once connected it sends a
 * TLS 1.3 ClientHello of its own making (one record of 254 bytes with
 * api.bench.test: the server_name NAME, a key share, the extensions a
 * client sends; what a name check reads), waits for the server's first
 * byte, then closes with a reset. It takes its source ports in turn from
 * 20000..60999 (bind_next), from where its last run (the file PORTFILE)
 * left off, so that the same addresses and ports come back only after
 * 41,000 connections, runs or no runs. Each connection's time to first
 * byte is taken from just before the send to the read's return. It
 * prints one line,
 *
 *   connections N seconds S rate R failed F attempts T ttfb_p50 A ttfb_p25 B
 *   ttfb_p75 C ttfb_p90 D ttfb_p99 E
 *
 * the percentiles over the connections counted, in µs; a connection
 * refused, reset or closed before the first byte is failed; T counts every
 * connection made, the warm-up's too. hello, its server, reads one whole
 * TLS record (its header and length), sends one byte and closes.
 *
 * Built static, so that it runs in a root tree without a C library. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
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

enum serve_mode { SERVE_CLOSE, SERVE_DRAIN, SERVE_HELLO };

/* hello's answer: reads one TLS record (its header and length), sends one
 * byte. Reading the record to its end lets the close send a FIN, not a
 * reset for unread bytes. */
static void answer_hello(int c, uint8_t *buf, size_t cap)
{
	int one = 1;
	/* A connection whose first data never comes (refused on the way)
	 * must not hold up the others. */
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	size_t got = 0, want = 5;
	while (got < want && got < cap) {
		ssize_t r = read(c, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got >= 5)
			want = 5 + ((size_t)buf[3] << 8 | buf[4]);
	}
	if (got >= want && write(c, "\x16", 1) < 0) {
		/* the client went away: nothing to answer */
	}
}

/* serve: accept and close (serve mode), or read each connection to its
 * end first (sink mode), or answer its first TLS record (hello mode),
 * forever. */
static int serve(struct sockaddr_in *sa, enum serve_mode mode)
{
	static const char *const names[] = { "connrate serve", "connrate sink", "connrate hello" };
	static uint8_t buf[1 << 18];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(fd, 4096) < 0) {
		perror(names[mode]);
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
		while (mode == SERVE_DRAIN &&
		       ((r = read(c, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR)))
			;
		if (mode == SERVE_HELLO)
			answer_hello(c, buf, sizeof(buf));
		close(c);
	}
}

/* A bounded byte builder for the ClientHello. */
struct out {
	uint8_t *b;
	size_t len, cap;
	int over;
};

static void put(struct out *o, const void *p, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = 1;
		return;
	}
	memcpy(o->b + o->len, p, n);
	o->len += n;
}

static void put8(struct out *o, unsigned v)
{
	uint8_t b = (uint8_t)v;
	put(o, &b, 1);
}

static void put16(struct out *o, unsigned v)
{
	put8(o, v >> 8);
	put8(o, v);
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* An extension made of one list of n 16-bit values. */
static void put_ext_list16(struct out *o, unsigned type, const unsigned *v, size_t n)
{
	put16(o, type);
	put16(o, (unsigned)(2 + 2 * n));
	put16(o, (unsigned)(2 * n));
	for (size_t i = 0; i < n; i++)
		put16(o, v[i]);
}

/* Opens a length of n bytes (2 or 3) to be filled by close_len. */
static size_t open_len(struct out *o, size_t n)
{
	size_t at = o->len;
	while (n--)
		put8(o, 0);
	return at;
}

static void close_len(struct out *o, size_t at, size_t n)
{
	if (o->over)
		return;
	size_t v = o->len - at - n;
	for (size_t i = 0; i < n; i++)
		o->b[at + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* A TLS 1.3 ClientHello naming name, in one handshake record (RFC 8446
 * 4.1.2; server_name RFC 6066 3), with what a client such as curl over
 * OpenSSL sends besides: the random, a session id, nine cipher suites,
 * supported groups, point formats, signature algorithms, ALPN h2 and
 * http/1.1, supported versions, PSK modes and an X25519 key share. The
 * random parts are fixed: nobody completes the handshake. Returns its
 * length, or 0 when it does not fit cap. */
static size_t client_hello(uint8_t *buf, size_t cap, const char *name)
{
	static const unsigned suites[] = { 0x1302, 0x1303, 0x1301, 0xc02c, 0xc030,
					   0xcca9, 0xcca8, 0xc02b, 0xc02f };
	static const unsigned groups[] = { 0x001d, 0x0017, 0x0018, 0x0019 };
	static const unsigned sigs[] = { 0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804,
					 0x0805, 0x0806, 0x0401, 0x0501, 0x0601 };
	struct out o = { buf, 0, cap, 0 };
	size_t nlen = strlen(name), rec, hs, l, l2, ext;
	if (nlen == 0 || nlen > 253)
		return 0;
	put8(&o, 22); /* handshake record */
	put16(&o, 0x0301);
	rec = open_len(&o, 2);
	put8(&o, 1); /* ClientHello */
	hs = open_len(&o, 3);
	put16(&o, 0x0303);
	for (unsigned i = 0; i < 32; i++)
		put8(&o, 0x5a ^ (i * 7));
	put8(&o, 32); /* a legacy session id, as TLS 1.3 clients send */
	for (unsigned i = 0; i < 32; i++)
		put8(&o, 0xa5 ^ (i * 13));
	put16(&o, 2 * COUNT(suites));
	for (size_t i = 0; i < COUNT(suites); i++)
		put16(&o, suites[i]);
	put8(&o, 1); /* compression: null */
	put8(&o, 0);
	ext = open_len(&o, 2);

	put16(&o, 0x0000); /* server_name */
	l = open_len(&o, 2);
	l2 = open_len(&o, 2);
	put8(&o, 0); /* host_name */
	put16(&o, (unsigned)nlen);
	put(&o, name, nlen);
	close_len(&o, l2, 2);
	close_len(&o, l, 2);

	put16(&o, 0x000b); /* ec_point_formats: uncompressed */
	put16(&o, 2);
	put8(&o, 1);
	put8(&o, 0);

	put_ext_list16(&o, 0x000a, groups, COUNT(groups)); /* supported_groups */

	put16(&o, 0x0010); /* ALPN */
	l = open_len(&o, 2);
	l2 = open_len(&o, 2);
	put8(&o, 2);
	put(&o, "h2", 2);
	put8(&o, 8);
	put(&o, "http/1.1", 8);
	close_len(&o, l2, 2);
	close_len(&o, l, 2);

	put16(&o, 0x0016); /* encrypt_then_mac */
	put16(&o, 0);
	put16(&o, 0x0017); /* extended_master_secret */
	put16(&o, 0);

	put_ext_list16(&o, 0x000d, sigs, COUNT(sigs)); /* signature_algorithms */

	put16(&o, 0x002b); /* supported_versions: 1.3, 1.2 */
	put16(&o, 5);
	put8(&o, 4);
	put16(&o, 0x0304);
	put16(&o, 0x0303);

	put16(&o, 0x002d); /* psk_key_exchange_modes: psk_dhe_ke */
	put16(&o, 2);
	put8(&o, 1);
	put8(&o, 1);

	put16(&o, 0x0033); /* key_share: X25519 */
	put16(&o, 2 + 2 + 2 + 32);
	put16(&o, 2 + 2 + 32);
	put16(&o, 0x001d);
	put16(&o, 32);
	for (unsigned i = 0; i < 32; i++)
		put8(&o, 0x09 + i * 3);

	close_len(&o, ext, 2);
	close_len(&o, hs, 3);
	close_len(&o, rec, 2);
	return o.over ? 0 : o.len;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The p-quantile of the n sorted values (linear between ranks). */
static double quantile(const double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	double h = (double)(n - 1) * p;
	size_t i = (size_t)h;
	return i + 1 < n ? v[i] + (h - (double)i) * (v[i + 1] - v[i]) : v[n - 1];
}

/* The source ports tls takes in turn. */
#define PORT_FIRST 20000
#define PORT_LAST 60999

static unsigned next_port = PORT_FIRST;

/* Binds fd to the next free source port of PORT_FIRST..PORT_LAST, in
 * turn, so that a connection's addresses and ports come back only after
 * 41,000 others (the kernel's own choice soon gives a port closed with a
 * reset again). */
static int bind_next(int fd)
{
	unsigned port = next_port;
	struct sockaddr_in me = { .sin_family = AF_INET };
	for (unsigned tries = 0; tries <= PORT_LAST - PORT_FIRST; tries++) {
		me.sin_port = htons((uint16_t)port);
		port = port == PORT_LAST ? PORT_FIRST : port + 1;
		if (bind(fd, (struct sockaddr *)&me, sizeof(me)) == 0) {
			next_port = port;
			return 0;
		}
		if (errno != EADDRINUSE)
			return -1;
	}
	return -1;
}

/* tls: client's loop with a ClientHello as the first segment and the
 * server's first byte timed. */
/* The next source port, kept in the file path between runs (none yet:
 * PORT_FIRST). */
static void port_load(const char *path)
{
	FILE *f = fopen(path, "r");
	unsigned p;
	if (f && fscanf(f, "%u", &p) == 1 && p >= PORT_FIRST && p <= PORT_LAST)
		next_port = p;
	if (f)
		fclose(f);
}

static int port_save(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f || fprintf(f, "%u\n", next_port) < 0 || fclose(f) != 0) {
		fprintf(stderr, "connrate: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* tls mode's part of client: the ClientHello, the file of source ports,
 * and each connection's time to first byte (µs). */
struct tls {
	uint8_t hello[1024];
	size_t hlen;
	const char *ports;
	double *ttfb;
	size_t n, cap;
	unsigned long attempts;
};

/* One connection of tls mode on fd: bound to the next source port,
 * connected, the ClientHello sent, the first byte read; its time to
 * first byte in *us. Returns 1 when the byte came, 0 when not, -1 when no
 * source port is free. */
static int tls_once(int fd, struct sockaddr_in *sa, struct tls *tls, double *us)
{
	int one = 1;
	char c;
	ssize_t r;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	tls->attempts++;
	if (bind_next(fd) < 0) {
		fprintf(stderr, "connrate: no source port free in %d..%d\n", PORT_FIRST, PORT_LAST);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0)
		return 0;
	double t0 = now_s();
	if (send(fd, tls->hello, tls->hlen, MSG_NOSIGNAL) != (ssize_t)tls->hlen)
		return 0;
	while ((r = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	*us = (now_s() - t0) * 1e6;
	return r == 1;
}

/* Keeps one time to first byte; -1 when out of memory. */
static int tls_keep(struct tls *tls, double us)
{
	if (tls->n == tls->cap) {
		size_t cap = tls->cap ? 2 * tls->cap : 1 << 16;
		double *more = realloc(tls->ttfb, cap * sizeof(*more));
		if (!more) {
			perror("connrate");
			return -1;
		}
		tls->ttfb = more;
		tls->cap = cap;
	}
	tls->ttfb[tls->n++] = us;
	return 0;
}

/* client and tls modes (tls NULL: connect and close only). */
static int client(struct sockaddr_in *sa, double secs, struct tls *tls)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	double start = now_s(), warm = start + 0.5, end = warm + secs;
	unsigned long n = 0, failed = 0;
	double t = start;
	int counting = 0, err = 0;
	while (t < end) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0) {
			perror("socket");
			return 1;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		double us = 0;
		int ok = tls ? tls_once(fd, sa, tls, &us)
			     : connect(fd, (struct sockaddr *)sa, sizeof(*sa)) == 0;
		if (ok < 0)
			return 1;
		if (!ok)
			err = errno;
		close(fd);
		t = now_s();
		if (!counting && t >= warm) {
			counting = 1;
			n = failed = 0;
			if (tls)
				tls->n = 0;
			warm = t;
		}
		if (!ok) {
			failed++;
		} else {
			n++;
			if (tls && tls_keep(tls, us) < 0)
				return 1;
		}
		if (failed > 1000 && n == 0) {
			fprintf(stderr, "connrate: %s: %s\n",
				tls ? "no first byte from the server" : "cannot connect",
				err ? strerror(err) : "closed before it");
			return 1;
		}
	}
	printf("connections %lu seconds %.3f rate %.0f failed %lu", n, t - warm,
	       (double)n / (t - warm), failed);
	if (!tls) {
		printf("\n");
		return 0;
	}
	qsort(tls->ttfb, tls->n, sizeof(*tls->ttfb), cmp_double);
	printf(" attempts %lu ttfb_p50 %.1f ttfb_p25 %.1f ttfb_p75 %.1f ttfb_p90 %.1f "
	       "ttfb_p99 %.1f\n",
	       tls->attempts, quantile(tls->ttfb, tls->n, 0.5), quantile(tls->ttfb, tls->n, 0.25),
	       quantile(tls->ttfb, tls->n, 0.75), quantile(tls->ttfb, tls->n, 0.9),
	       quantile(tls->ttfb, tls->n, 0.99));
	return port_save(tls->ports) < 0;
}

/* tls mode: client with a ClientHello naming name. */
static int tls_client(struct sockaddr_in *sa, double secs, const char *name, const char *ports)
{
	static struct tls tls;
	tls.hlen = client_hello(tls.hello, sizeof(tls.hello), name);
	if (tls.hlen == 0) {
		fprintf(stderr, "connrate: no ClientHello for the name %s (1 to 253 bytes)\n", name);
		return 2;
	}
	tls.ports = ports;
	port_load(ports);
	int rc = client(sa, secs, &tls);
	free(tls.ttfb);
	return rc;
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
		return serve(&sa, SERVE_CLOSE);
	if (argc == 5 && !strcmp(argv[1], "client") && addr(argv[2], argv[3], &sa) == 0)
		return client(&sa, atof(argv[4]), NULL);
	if (argc == 4 && !strcmp(argv[1], "sink") && addr(argv[2], argv[3], &sa) == 0)
		return serve(&sa, SERVE_DRAIN);
	if (argc == 5 && !strcmp(argv[1], "bulk") && addr(argv[2], argv[3], &sa) == 0 &&
	    strtoul(argv[4], NULL, 10) > 0)
		return bulk(&sa, strtoul(argv[4], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "hello") && addr(argv[2], argv[3], &sa) == 0)
		return serve(&sa, SERVE_HELLO);
	if (argc == 7 && !strcmp(argv[1], "tls") && addr(argv[2], argv[3], &sa) == 0)
		return tls_client(&sa, atof(argv[4]), argv[5], argv[6]);
	if (argc == 3 && !strcmp(argv[1], "hello-bytes")) {
		/* The ClientHello tls sends, for checking it with other tools. */
		uint8_t h[1024];
		size_t n = client_hello(h, sizeof(h), argv[2]);
		return n && fwrite(h, 1, n, stdout) == n ? 0 : 1;
	}
	fprintf(stderr, "usage: connrate serve|sink ADDR PORT | connrate client ADDR PORT SECONDS\n"
			"       connrate bulk ADDR PORT MIB | connrate hello ADDR PORT\n"
			"       connrate tls ADDR PORT SECONDS NAME PORTFILE | connrate hello-bytes NAME\n");
	return 2;
}
