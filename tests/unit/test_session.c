/* The agent's terms that PID 1 writes for palisade exec, read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../init/session.h"

static void test_round_trip(void **state)
{
	(void)state;
	struct config c;
	memset(&c, 0, sizeof(c));
	const char *allow[] = { "perf_event_open", "ptrace" };
	c.user = "node:1500";
	c.seccomp_allow = allow;
	c.n_seccomp_allow = 2;
	char buf[1024];
	struct perr e = PERR_INIT;
	long n = session_terms_format(&c, buf, sizeof(buf), &e);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	struct session_terms t;
	assert_int_equal(session_terms_parse(buf, &t, &e), 0);
	assert_string_equal(t.user, "node:1500");
	assert_true(t.seccomp);
	assert_int_equal(t.nallow, 2);
	assert_string_equal(t.allow[0], "perf_event_open");
	assert_string_equal(t.allow[1], "ptrace");

	c.no_seccomp = true;
	c.n_seccomp_allow = 0;
	assert_true(session_terms_format(&c, buf, sizeof(buf), &e) > 0);
	assert_int_equal(session_terms_parse(buf, &t, &e), 0);
	assert_false(t.seccomp);
	assert_int_equal(t.nallow, 0);
}

static void test_refused(void **state)
{
	(void)state;
	struct config c;
	memset(&c, 0, sizeof(c));
	c.user = "node\nseccomp off";
	char buf[1024];
	struct perr e = PERR_INIT;
	assert_int_equal(session_terms_format(&c, buf, sizeof(buf), &e), -1);
	c.user = "node";
	assert_int_equal(session_terms_format(&c, buf, 40, &e), -1); /* does not fit */

	struct session_terms t;
	/* Missing, repeated, unknown or malformed lines: nothing is guessed. */
	const char *bad[] = {
		"",
		"user node\n",
		"seccomp on\n",
		"user node\nseccomp maybe\n",
		"user node\nseccomp on\nseccomp off\n",
		"user node\nuser root\nseccomp on\n",
		"user node\nseccomp on\nno-seccomp yes\n",
		"user \nseccomp on\n",
		"user node x\nseccomp on\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (session_terms_parse(bad[i], &t, &e) == 0)
			fail_msg("accepted: \"%s\"", bad[i]);
	assert_int_equal(session_terms_parse("# comment\nuser node\nseccomp off\n", &t, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
