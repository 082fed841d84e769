#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../caps/privs.h"

static void test_status_parse(void **state)
{
	(void)state;
	const char text[] =
		"Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\n"
		"Uid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1001\t1000\t1000\n"
		"CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n"
		"CapEff:\t0000000000000020\nCapBnd:\t000001ffffffffff\n"
		"CapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n"
		"Seccomp_filters:\t1\n";
	struct proc_status st;
	assert_int_equal(proc_status_parse(text, &st), 0);
	assert_int_equal(st.uid[0], 1000);
	assert_int_equal(st.gid[1], 1001);
	assert_true(st.cap_eff == 0x20);
	assert_true(st.cap_bnd == 0x1ffffffffffULL);
	assert_int_equal(st.no_new_privs, 1);
	assert_int_equal(st.seccomp, 2);

	/* Missing lines are an error, never a silent zero. */
	const char partial[] = "Uid:\t1000\t1000\t1000\t1000\nCapEff:\t0\n";
	assert_int_equal(proc_status_parse(partial, &st), -1);
	assert_int_equal(proc_status_parse("", &st), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
