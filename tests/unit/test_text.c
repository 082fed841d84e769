/* lib/text: appending to a fixed buffer never writes past it, whatever is
 * appended and however often. lib/array: growing never overflows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/array.h"
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

static void test_array_grow(void **state)
{
	(void)state;
	size_t cap = 0;
	int *v = array_grow(NULL, &cap, sizeof(*v), 4);
	assert_non_null(v);
	assert_int_equal(cap, 4);
	for (int i = 0; i < 4; i++)
		v[i] = i;
	int *w = array_grow(v, &cap, sizeof(*v), 4);
	assert_non_null(w);
	assert_int_equal(cap, 8);
	assert_int_equal(w[3], 3);
	w[7] = 7;
	/* A size that would overflow: refused, the array and its capacity
	 * as they were. */
	size_t big = SIZE_MAX / sizeof(*w) / 2 + 1;
	assert_null(array_grow(w, &big, sizeof(*w), 4));
	assert_int_equal(big, SIZE_MAX / sizeof(*w) / 2 + 1);
	size_t huge = SIZE_MAX / 2 + 1;
	assert_null(array_grow(w, &huge, 1, 4));
	assert_int_equal(w[7], 7);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut_and_stays_cut),
		cmocka_unit_test(test_short),
		cmocka_unit_test(test_array_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
