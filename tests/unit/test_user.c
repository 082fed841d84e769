#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../caps/user.h"

#define PASSWD TEST_DATA "/passwd"
#define GROUP TEST_DATA "/group"

static void test_by_name(void **state)
{
	(void)state;
	struct agent_user u;
	struct perr e = PERR_INIT;
	assert_int_equal(user_resolve("node", PASSWD, GROUP, &u, &e), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 1000);
	assert_string_equal(u.name, "node");
	assert_string_equal(u.home, "/home/node");
	assert_true(u.in_passwd);
	/* primary group first, then docker and staff from /etc/group */
	assert_int_equal(u.ngroups, 3);
	assert_int_equal(u.groups[0], 1000);
	assert_int_equal(u.groups[1], 998);
	assert_int_equal(u.groups[2], 50);
	user_free(&u);
}

static void test_by_number_and_group(void **state)
{
	(void)state;
	struct agent_user u;
	struct perr e = PERR_INIT;
	assert_int_equal(user_resolve("1001", PASSWD, GROUP, &u, &e), 0);
	assert_string_equal(u.name, "dev");
	assert_int_equal(u.ngroups, 3); /* 1001, docker, video */
	user_free(&u);

	assert_int_equal(user_resolve("dev:video", PASSWD, GROUP, &u, &e), 0);
	assert_int_equal(u.gid, 44);
	assert_int_equal(u.groups[0], 44);
	user_free(&u);

	assert_int_equal(user_resolve("node:4242", PASSWD, GROUP, &u, &e), 0);
	assert_int_equal(u.gid, 4242);
	user_free(&u);

	/* A uid the image does not list still runs, in its own group. */
	assert_int_equal(user_resolve("2000", PASSWD, GROUP, &u, &e), 0);
	assert_int_equal(u.uid, 2000);
	assert_int_equal(u.gid, 2000);
	assert_string_equal(u.home, "/");
	assert_string_equal(u.name, "2000");
	assert_false(u.in_passwd);
	assert_int_equal(u.ngroups, 1);
	user_free(&u);

	assert_int_equal(user_resolve("nohome", PASSWD, GROUP, &u, &e), 0);
	assert_string_equal(u.home, "/");
	user_free(&u);
}

static void expect_error(const char *spec, const char *msg)
{
	struct agent_user u;
	struct perr e = PERR_INIT;
	assert_int_equal(user_resolve(spec, PASSWD, GROUP, &u, &e), -1);
	if (!strstr(e.msg, msg))
		fail_msg("%s: got \"%s\", wanted \"%s\"", spec, e.msg, msg);
}

static void test_refusals(void **state)
{
	(void)state;
	expect_error("root", "is uid 0: the agent never runs as root");
	expect_error("0", "is uid 0");
	expect_error("toor", "is uid 0");
	expect_error("0:1000", "is uid 0");
	expect_error("rootgroup", "has group 0 (root)");
	expect_error("node:0", "has group 0");
	expect_error("node:root", "has group 0");
	expect_error("wheelie", "member of group root (gid 0)");
	expect_error("nobody-here", "user \"nobody-here\" is not in " PASSWD);
	expect_error("node:nogroup", "group \"nogroup\" is not in " GROUP);
	expect_error("node:", "is not USER or USER:GROUP");
	expect_error(":node", "is not USER or USER:GROUP");
	expect_error("99999999999", "is not in");

	struct agent_user u;
	struct perr e = PERR_INIT;
	assert_int_equal(user_resolve("node", "/nonexistent/passwd", GROUP, &u, &e), -1);
	assert_non_null(strstr(e.msg, "cannot read /nonexistent/passwd"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_name),
		cmocka_unit_test(test_by_number_and_group),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
