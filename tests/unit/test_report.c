/* The audit report's file: written and closed, and a failure named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../init/config.h"
#include "../../init/dnsfilter.h"
#include "../../init/policy.h"

static struct dnsfilter *filter(struct config *cfg, struct policy *plan)
{
	memset(cfg, 0, sizeof(*cfg));
	allowlist_init(&cfg->allow);
	struct perr e;
	assert_int_equal(allowlist_add(&cfg->allow, "allowed.example", "--allow", &e), 0);
	memset(plan, 0, sizeof(*plan));
	struct dnsfilter *f = dnsfilter_new(cfg, plan, &e);
	if (!f)
		fail_msg("dnsfilter_new: %s", e.msg);
	return f;
}

static void test_written_and_closed(void **state)
{
	(void)state;
	struct config cfg;
	struct policy plan;
	struct dnsfilter *f = filter(&cfg, &plan);
	char path[] = "/tmp/palisade-report-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	struct perr e;
	assert_int_equal(dnsfilter_write_report(f, fd, &e), 0);
	assert_int_equal(fcntl(fd, F_GETFD), -1); /* closed */
	assert_int_equal(errno, EBADF);
	char buf[512] = { 0 };
	int rfd = open(path, O_RDONLY);
	assert_true(rfd >= 0);
	assert_true(read(rfd, buf, sizeof(buf) - 1) > 0);
	close(rfd);
	unlink(path);
	assert_non_null(strstr(buf, "\nallowed.example\n"));
	dnsfilter_free(f);
	config_free(&cfg);
}

/* A write that fails (a full disk): the error says so, and the descriptor
 * is closed all the same. */
static void test_failed_write_closes(void **state)
{
	(void)state;
	struct config cfg;
	struct policy plan;
	struct dnsfilter *f = filter(&cfg, &plan);
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		skip();
		return;
	}
	struct perr e;
	assert_int_equal(dnsfilter_write_report(f, fd, &e), -1);
	assert_string_equal(e.msg, "writing the audit report: No space left on device");
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	dnsfilter_free(f);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_written_and_closed),
		cmocka_unit_test(test_failed_write_closes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
