/* init/rundir.c: a failed write says which step failed by its errno, the
 * code PID 1 tells a read-only root (EROFS) from a real failure by. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../init/rundir.h"

static void test_write_and_fail(void **state)
{
	(void)state;
	char dir[] = "/tmp/palisade-rundir-XXXXXX";
	assert_non_null(mkdtemp(dir));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);

	struct perr e = PERR_INIT;
	assert_int_equal(rundir_write(fd, "status", "x\n", 2, &e), 0);
	assert_int_equal(e.err, 0);
	char path[64], buf[8] = "";
	snprintf(path, sizeof(path), "%s/status", dir);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(f >= 0);
	assert_int_equal(read(f, buf, sizeof(buf)), 2);
	close(f);
	assert_string_equal(buf, "x\n");

	/* The temporary name taken by a directory with something in it:
	 * removing it fails, and the perr carries that step's errno. */
	char sub[96];
	snprintf(sub, sizeof(sub), "%s/ready.new", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/ready.new/k", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	errno = 0;
	assert_int_equal(rundir_write(fd, "ready", "y", 1, &e), -1);
	assert_int_equal(e.err, EISDIR);
	assert_string_equal(e.msg, "/run/palisade/ready.new: Is a directory");

	/* No directory at all. */
	struct perr b = PERR_INIT;
	assert_int_equal(rundir_write(-1, "status", "x", 1, &b), -1);
	assert_int_equal(b.err, EBADF);
	assert_non_null(strstr(b.msg, "Bad file descriptor"));

	rmdir(path);
	rmdir(sub);
	snprintf(path, sizeof(path), "%s/status", dir);
	unlink(path);
	close(fd);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_and_fail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
