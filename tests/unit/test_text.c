/* lib/text: appending to a fixed buffer never writes past it, whatever is
 * appended and however often. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../lib/text.h"

static void test_cut_and_stays_cut(void **state)
{
	(void)state;
	char buf[16 + 8];
	memset(buf, 'Z', sizeof(buf));
	struct text t;
	text_init(&t, buf, 16);
	textf(&t, "%s", "0123456789");
	textf(&t, "%s", "abcdefghij");
	assert_string_equal(buf, "0123456789abcde");
	/* Full: later calls append nothing, and never past the end. */
	textf(&t, "%s", "more");
	text_short(&t, "more", 2);
	assert_string_equal(buf, "0123456789abcde");
	for (size_t i = 16; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 'Z');
}

static void test_short(void **state)
{
	(void)state;
	char buf[64];
	struct text t;
	text_init(&t, buf, sizeof(buf));
	text_short(&t, "abc", 3);
	textf(&t, " ");
	text_short(&t, "abcdef", 3);
	assert_string_equal(buf, "abc abc...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut_and_stays_cut),
		cmocka_unit_test(test_short),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
