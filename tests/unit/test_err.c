/* lib/err: a failure always carries a positive errno beside its message;
 * the message is cut to its buffer, never past it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../lib/err.h"

static void test_init_is_no_failure(void **state)
{
	(void)state;
	struct perr e = PERR_INIT;
	assert_int_equal(e.err, 0);
	assert_string_equal(e.msg, "");
}

static void test_set_is_invalid_input(void **state)
{
	(void)state;
	struct perr e = PERR_INIT;
	assert_int_equal(perr_set(&e, "line %d: \"%s\" is not a port", 7, "x"), -1);
	assert_int_equal(e.err, EINVAL);
	assert_string_equal(e.msg, "line 7: \"x\" is not a port");
	/* No perr: the failure is still said by the result. */
	assert_int_equal(perr_set(NULL, "x"), -1);
	assert_int_equal(perr_sys(NULL, EIO, "x"), -1);
	assert_int_equal(perr_code(NULL, EIO, "x"), -1);
	assert_int_equal(perr_prefix(NULL, "x"), -1);
}

static void test_sys_says_strerror(void **state)
{
	(void)state;
	struct perr e = PERR_INIT;
	errno = 0;
	assert_int_equal(perr_sys(&e, EROFS, "cannot write %s", "/run/x"), -1);
	assert_int_equal(e.err, EROFS);
	assert_string_equal(e.msg, "cannot write /run/x: Read-only file system");
	/* A code that is no errno is still a failure. */
	perr_sys(&e, 0, "odd");
	assert_int_equal(e.err, EIO);
	assert_string_equal(e.msg, "odd: Input/output error");
}

static void test_code_keeps_text(void **state)
{
	(void)state;
	struct perr e = PERR_INIT;
	perr_code(&e, ENOSPC, "the set is full (%d entries)", 3);
	assert_int_equal(e.err, ENOSPC);
	assert_string_equal(e.msg, "the set is full (3 entries)");
	perr_code(&e, -4, "negative");
	assert_int_equal(e.err, EIO);
}

static void test_prefix_keeps_err(void **state)
{
	(void)state;
	struct perr e = PERR_INIT;
	perr_sys(&e, ENOENT, "cannot read %s", "f");
	assert_int_equal(perr_prefix(&e, "allowlist %d", 2), -1);
	assert_int_equal(e.err, ENOENT);
	assert_string_equal(e.msg, "allowlist 2: cannot read f: No such file or directory");
}

static void test_cut_to_fit(void **state)
{
	(void)state;
	struct perr e = PERR_INIT;
	char big[2 * sizeof(e.msg)];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	perr_sys(&e, EACCES, "%s", big);
	assert_int_equal(e.err, EACCES);
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
	perr_prefix(&e, "%s", big);
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
	assert_int_equal(e.err, EACCES);
	/* The system's text fits when the message leaves room for it. */
	memset(big, 'b', sizeof(e.msg) - 40);
	big[sizeof(e.msg) - 40] = '\0';
	perr_sys(&e, EACCES, "%s", big);
	assert_non_null(strstr(e.msg, ": Permission denied"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_is_no_failure),
		cmocka_unit_test(test_set_is_invalid_input),
		cmocka_unit_test(test_sys_says_strerror),
		cmocka_unit_test(test_code_keeps_text),
		cmocka_unit_test(test_prefix_keeps_err),
		cmocka_unit_test(test_cut_to_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
