/* libFuzzer target for the HTTP request head parser (fw/httphost.c):
 * every input is read whole and at each of its prefixes, as the fence
 * reads a connection in pieces, with the bytes past each prefix poisoned.
 * The answers must go MORE... then DONE or BAD for good, a DONE must come
 * within HTTPHOST_MAX bytes and give the same host at every longer prefix,
 * a host that is a name or an IPv6 address, refused when the buffer for it
 * is one byte short. A failed check aborts, so that libFuzzer keeps the
 * input. */
#include <stdlib.h>
#include <string.h>

#include "../../fw/httphost.h"
#include "../../fw/net.h"
#include "peek-fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_host(const char *host)
{
	if (!strchr(host, ':')) {
		check_host_name(host);
		return;
	}
	struct net_addr a;
	check(net_parse(host, false, &a, NULL) == 0 && a.family == NET_V6);
	for (const char *p = host; *p; p++)
		check(!(*p >= 'A' && *p <= 'Z'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = input_copy(data, size);

	struct prefix_walk walk = { PEEK_MORE, false };
	char first[PEEK_NAME_MAX] = "";
	for (size_t len = 0; len <= size; len = prefix_next(len, size)) {
		prefix_only(copy, len, size);
		char host[PEEK_NAME_MAX];
		memset(host, 0x5a, sizeof(host));
		struct perr err = PERR_INIT;
		enum peek_status st = httphost_parse(copy, len, host, sizeof(host), &err);
		check_err(st, &err);
		if (walk_step(&walk, st)) {
			check(len <= HTTPHOST_MAX);
			check_host(host);
			memcpy(first, host, sizeof(first));

			/* The host in a buffer of its size, and of one byte less. */
			size_t n = strlen(host);
			char *exact = malloc(n + 1);
			check(exact != NULL);
			struct perr e2 = PERR_INIT;
			check(httphost_parse(copy, len, exact, n + 1, &e2) == PEEK_DONE);
			check(strcmp(exact, host) == 0);
			check(httphost_parse(copy, len, exact, n, &e2) == PEEK_BAD);
			check(n == 0 || exact[0] == '\0');
			free(exact);
		}
		if (st == PEEK_DONE)
			check(strcmp(host, first) == 0);
		else
			check(host[0] == '\0');
	}
	prefix_only(copy, size, size);
	free(copy);
	return 0;
}
