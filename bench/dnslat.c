/* dnslat: a closed-loop DNS client that times every query.
 *
 *   dnslat SERVER PORT NAMES SECONDS OUTSTANDING
 *
 * Keeps OUTSTANDING UDP queries (type A, RD set) in flight to SERVER:PORT,
 * cycling through the names in the file NAMES (one a line), for SECONDS
 * (after a warm-up of 0.5 s that is not counted), and prints one line:
 *
 *   queries N lost L qps Q mean_us M p50_us A p90_us B p99_us C p999_us D max_us E
 *
 * With OUTSTANDING 1 it measures the latency of an unloaded resolver; with
 * more, the latency under load. A query unanswered after 1 s is counted as
 * lost and replaced. Answers are matched by ID and question. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXQ 512
#define MAXNAMES 65536

struct query {
	uint8_t msg[300];
	size_t len;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int encode(const char *name, struct query *q)
{
	uint8_t *p = q->msg;
	memset(p, 0, 12);
	p[2] = 0x01; /* RD */
	p[5] = 1;    /* one question */
	size_t o = 12;
	const char *s = name;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		if (l == 0 || l > 63 || o + l + 6 > sizeof(q->msg))
			return -1;
		p[o++] = (uint8_t)l;
		memcpy(p + o, s, l);
		o += l;
		s += l;
		if (*s == '.')
			s++;
	}
	p[o++] = 0;
	p[o++] = 0;
	p[o++] = 1; /* A */
	p[o++] = 0;
	p[o++] = 1; /* IN */
	q->len = o;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: dnslat SERVER PORT NAMES SECONDS OUTSTANDING\n");
		return 2;
	}
	double secs = atof(argv[4]);
	int outstanding = atoi(argv[5]);
	if (outstanding < 1 || outstanding > MAXQ || secs <= 0)
		return 2;
	FILE *f = fopen(argv[3], "r");
	if (!f) {
		perror(argv[3]);
		return 1;
	}
	static struct query names[MAXNAMES];
	size_t nnames = 0;
	char line[512];
	while (nnames < MAXNAMES && fgets(line, sizeof(line), f)) {
		line[strcspn(line, " \t\r\n")] = '\0';
		if (line[0] && encode(line, &names[nnames]) == 0)
			nnames++;
	}
	fclose(f);
	if (!nnames) {
		fprintf(stderr, "dnslat: no names\n");
		return 1;
	}

	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
		return 2;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("socket");
		return 1;
	}

	/* The slot of a query is its ID modulo MAXQ; IDs advance by MAXQ so a
	 * late answer to a replaced query is not taken for its successor. */
	struct slot {
		int busy;
		uint16_t id;
		size_t name;
		uint64_t sent;
	} slots[MAXQ];
	memset(slots, 0, sizeof(slots));
	size_t cap = 1 << 20, nlat = 0;
	uint64_t *lat = malloc(cap * sizeof(*lat));
	if (!lat)
		return 1;
	uint64_t start = now_ns(), warm = start + 500000000u;
	uint64_t end = warm + (uint64_t)(secs * 1e9);
	size_t next = 0;
	unsigned long lost = 0, rounds = 0;
	uint8_t buf[4096];

	for (int i = 0; i < outstanding; i++) {
		slots[i].busy = 1;
		slots[i].id = (uint16_t)i;
		slots[i].name = next++ % nnames;
		struct query *q = &names[slots[i].name];
		q->msg[0] = (uint8_t)(slots[i].id >> 8);
		q->msg[1] = (uint8_t)slots[i].id;
		slots[i].sent = now_ns();
		send(fd, q->msg, q->len, 0);
	}
	for (;;) {
		uint64_t t = now_ns();
		if (t >= end)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, 50);
		if (r < 0 && errno != EINTR)
			return 1;
		t = now_ns();
		int resend[MAXQ], nres = 0;
		if (r > 0) {
			ssize_t n;
			while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 12) {
				uint16_t id = (uint16_t)(buf[0] << 8 | buf[1]);
				int s = id % MAXQ;
				if (s >= outstanding || !slots[s].busy || slots[s].id != id)
					continue;
				struct query *q = &names[slots[s].name];
				if ((size_t)n < q->len || memcmp(buf + 12, q->msg + 12, q->len - 12))
					continue;
				uint64_t now = now_ns();
				if (slots[s].sent >= warm) {
					if (nlat == cap) {
						cap *= 2;
						lat = realloc(lat, cap * sizeof(*lat));
						if (!lat)
							return 1;
					}
					lat[nlat++] = now - slots[s].sent;
				}
				slots[s].busy = 0;
				resend[nres++] = s;
			}
		}
		for (int s = 0; s < outstanding; s++)
			if (slots[s].busy && t - slots[s].sent > 1000000000u) {
				if (slots[s].sent >= warm)
					lost++;
				slots[s].busy = 0;
				resend[nres++] = s;
			}
		for (int i = 0; i < nres; i++) {
			int s = resend[i];
			slots[s].busy = 1;
			slots[s].id = (uint16_t)(slots[s].id + MAXQ);
			slots[s].name = next++ % nnames;
			struct query *q = &names[slots[s].name];
			q->msg[0] = (uint8_t)(slots[s].id >> 8);
			q->msg[1] = (uint8_t)slots[s].id;
			slots[s].sent = now_ns();
			send(fd, q->msg, q->len, 0);
		}
		rounds++;
	}
	double elapsed = (double)(end - warm) / 1e9;
	if (!nlat) {
		printf("queries 0 lost %lu qps 0 mean_us 0 p50_us 0 p90_us 0 p99_us 0 p999_us 0 max_us 0\n",
		       lost);
		return 1;
	}
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	double sum = 0;
	for (size_t i = 0; i < nlat; i++)
		sum += (double)lat[i];
#define PCT(p) ((double)lat[(size_t)((double)(nlat - 1) * (p))] / 1000.0)
	printf("queries %zu lost %lu qps %.0f mean_us %.1f p50_us %.1f p90_us %.1f p99_us %.1f "
	       "p999_us %.1f max_us %.1f\n",
	       nlat, lost, (double)nlat / elapsed, sum / (double)nlat / 1000.0, PCT(0.50),
	       PCT(0.90), PCT(0.99), PCT(0.999), (double)lat[nlat - 1] / 1000.0);
	return 0;
}
