/* libFuzzer target for the TLS ClientHello parser (fw/tlshello.c): every
 * input is read whole and at each of its prefixes, as the fence reads a
 * connection in pieces, with the bytes past each prefix poisoned. The
 * answers must go MORE... then DONE or BAD for good, a DONE must give the
 * same hello at every longer prefix and come within tlshello_max_bytes(),
 * and a name must be one that the fence can compare. A failed check
 * aborts, so that libFuzzer keeps the input. */
#include <stdlib.h>
#include <string.h>

#include "../../fw/tlshello.h"
#include "peek-fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool zeroed(const struct tls_hello *h)
{
	static const struct tls_hello zero;
	return memcmp(h, &zero, sizeof(zero)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = input_copy(data, size);

	struct prefix_walk walk = { PEEK_MORE, false };
	struct tls_hello first = { 0 };
	for (size_t len = 0; len <= size; len = prefix_next(len, size)) {
		prefix_only(copy, len, size);
		struct tls_hello h;
		memset(&h, 0x5a, sizeof(h));
		struct perr err = PERR_INIT;
		enum peek_status st = tlshello_parse(copy, len, &h, &err);
		check_err(st, &err);
		if (walk_step(&walk, st)) {
			check(len <= tlshello_max_bytes());
			first = h;
		}
		if (st != PEEK_DONE) {
			check(zeroed(&h));
			continue;
		}
		check(memcmp(&h, &first, sizeof(h)) == 0);
		if (h.has_name)
			check_host_name(h.name);
		else
			check(h.name[0] == '\0');
	}
	prefix_only(copy, size, size);
	free(copy);
	return 0;
}
