/* The status file (init/status.c): what PID 1 writes is what `palisade
 * status` reads back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../init/status.h"

static void test_format_and_parse(void **state)
{
	(void)state;
	struct allowlist l;
	allowlist_init(&l);
	struct perr e = PERR_INIT;
	assert_int_equal(allowlist_add_list(&l, "api.example.com 10.0.0.0/8 *.example.org:* "
					       "2001:db8::1", "test", &e), 0);
	struct status s = { .audit = true, .backend = FENCE_BACKEND_NFT };
	s.count[STATUS_QUERIES_ALLOWED] = 12;
	s.count[STATUS_QUERIES_REFUSED] = 1;
	s.count[STATUS_QUERIES_FAILED] = 2;
	s.count[STATUS_CONNECTIONS_REFUSED] = 3;
	s.count[STATUS_AUDITED] = 18446744073709551615ull;
	s.count[STATUS_CACHE_HITS] = 7;
	s.count[STATUS_NAMES_CHECKED] = 40;
	s.count[STATUS_NAMES_REFUSED] = 2;
	char buf[STATUS_MAX];
	ssize_t n = status_format(&l, &s, buf, sizeof(buf));
	assert_true(n > 0);
	assert_string_equal(buf, "names api.example.com *.example.org\n"
				 "queries-allowed 12\nqueries-refused 1\nqueries-failed 2\n"
				 "connections-refused 3\naudit on\naudited 18446744073709551615\n"
				 "backend nft\n"
				 "cache-hits 7\nnames-checked 40\nnames-refused 2\n");
	assert_int_equal((size_t)n, strlen(buf));

	struct status r;
	const char *names;
	int nlen;
	status_parse(buf, &r, &names, &nlen);
	assert_memory_equal(r.count, s.count, sizeof(s.count));
	assert_true(r.audit);
	assert_int_equal(r.backend, FENCE_BACKEND_NFT);
	assert_int_equal(nlen, strlen(" api.example.com *.example.org"));
	assert_memory_equal(names, " api.example.com *.example.org", (size_t)nlen);

	/* Too small a buffer: nothing to write. */
	assert_int_equal(status_format(&l, &s, buf, 100), -1);
	allowlist_free(&l);
}

/* A long allowlist is cut, and the counts still fit. */
static void test_long_list(void **state)
{
	(void)state;
	struct allowlist l;
	allowlist_init(&l);
	struct perr e = PERR_INIT;
	for (int i = 0; i < 400; i++) {
		char name[64];
		snprintf(name, sizeof(name), "host-%03d.a-rather-long-domain.example", i);
		assert_int_equal(allowlist_add(&l, name, "test", &e), 0);
	}
	struct status s = { 0 };
	s.count[STATUS_CONNECTIONS_REFUSED] = 7;
	char buf[STATUS_MAX];
	ssize_t n = status_format(&l, &s, buf, sizeof(buf));
	assert_true(n > 0 && n < STATUS_MAX);
	assert_non_null(strstr(buf, " ...\nqueries-allowed 0\n"));
	struct status r;
	const char *names;
	int nlen;
	status_parse(buf, &r, &names, &nlen);
	assert_int_equal(r.count[STATUS_CONNECTIONS_REFUSED], 7);
	assert_false(r.audit);
	allowlist_free(&l);
}

/* Whatever is missing reads as none. */
static void test_parse_partial(void **state)
{
	(void)state;
	struct status r;
	const char *names;
	int nlen;
	status_parse("", &r, &names, &nlen);
	assert_int_equal(nlen, 0);
	assert_int_equal(r.count[STATUS_QUERIES_ALLOWED], 0);
	assert_false(r.audit);
	/* A file without the backend is from a PID 1 that had only legacy. */
	assert_int_equal(r.backend, FENCE_BACKEND_LEGACY);
	status_parse("names\nbackend legacy\n", &r, &names, &nlen);
	assert_int_equal(r.backend, FENCE_BACKEND_LEGACY);
	status_parse("names\nbackend bogus\n", &r, &names, &nlen);
	assert_int_equal(r.backend, FENCE_BACKEND_LEGACY);
	status_parse("names\nqueries-refused 4\naudit off\n", &r, &names, &nlen);
	assert_int_equal(nlen, 0);
	assert_int_equal(r.count[STATUS_QUERIES_REFUSED], 4);
	assert_int_equal(r.count[STATUS_AUDITED], 0);
	assert_false(r.audit);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_and_parse),
		cmocka_unit_test(test_long_list),
		cmocka_unit_test(test_parse_partial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
