/* The filter, loaded for real in child processes. Run as root, a call the
 * filter denies would otherwise get some other answer (see syscalls.c), so
 * every EPERM below is the filter's doing; the control run without the
 * filter proves it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../caps/privs.h"
#include "../../caps/seccomp.h"
#include "../syscalls.h"

static void test_table(void **state)
{
	(void)state;
	assert_true(sc_table_len > 40);
	for (size_t i = 0; i < sc_table_len; i++) {
		const struct sc_entry *e = &sc_table[i];
		assert_non_null(e->why);
		assert_true(strlen(e->why) > 10);
		assert_null(strchr(e->why, '\n'));
		assert_true(e->err == EPERM || e->err == ENOSYS);
		for (size_t k = i + 1; k < sc_table_len; k++)
			assert_string_not_equal(e->name, sc_table[k].name);
		/* Every name is one this libseccomp knows, here on x86_64. */
		if (seccomp_syscall_resolve_name(e->name) == __NR_SCMP_ERROR)
			fail_msg("libseccomp does not know %s", e->name);
	}
	const char *required[] = { "mount", "umount2", "pivot_root", "chroot", "move_mount",
				   "unshare", "clone", "clone3", "setns", "kexec_load",
				   "kexec_file_load", "init_module", "finit_module", "delete_module",
				   "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key",
				   "request_key", "io_uring_setup", "io_uring_enter",
				   "io_uring_register", "open_by_handle_at", "name_to_handle_at",
				   "ioctl", "acct", "swapon", "swapoff", "reboot", "settimeofday",
				   "clock_settime", "adjtimex", "syslog", "quotactl", "iopl",
				   "ioperm", "socket", "socketpair", "ptrace", "process_vm_writev",
				   "pidfd_getfd" };
	for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++) {
		bool found = false;
		for (size_t i = 0; i < sc_table_len && !found; i++)
			found = strcmp(sc_table[i].name, required[r]) == 0 && !sc_table[i].pid1_only;
		if (!found)
			fail_msg("the table does not deny %s", required[r]);
	}
	for (size_t i = 0; i < sc_table_len; i++)
		if (strcmp(sc_table[i].name, "clone3") == 0)
			assert_int_equal(sc_table[i].err, ENOSYS);
}

static void test_allow_names(void **state)
{
	(void)state;
	struct perr e;
	const char *ok[] = { "perf_event_open", "bpf" };
	assert_int_equal(sc_check_allow(ok, 2, &e), 0);
	const char *bad[] = { "read" };
	assert_int_equal(sc_check_allow(bad, 1, &e), -1);
	assert_non_null(strstr(e.msg, "--seccomp-allow \"read\": palisade does not deny"));
	const char *pid1[] = { "execve" };
	assert_int_equal(sc_check_allow(pid1, 1, &e), -1);
}

enum mode { NONE, AGENT, AGENT_ALLOW_PERF, PID1 };

/* Runs the exerciser in a child, with or without a filter, and returns
 * the results through a pipe. */
static size_t run(enum mode mode, bool i386, struct call_result *out, size_t max)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		struct perr e;
		const char *allow[] = { "perf_event_open" };
		if (mode != NONE) {
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
				_exit(2);
			if (sc_load(mode == PID1 ? SC_PID1 : SC_AGENT, allow,
				    mode == AGENT_ALLOW_PERF ? 1 : 0, &e) < 0) {
				fprintf(stderr, "%s\n", e.msg);
				_exit(3);
			}
		}
		struct call_result r[132];
		size_t n = i386 ? exercise_i386(r, 128) : exercise_native(r, 128);
		if (mode == PID1) {
			char *argv[] = { "/bin/true", NULL };
			errno = 0;
			r[n].name = "execve";
			r[n].ret = execve("/bin/true", argv, argv + 1);
			r[n].err = errno;
			r[n++].want = EPERM;
		}
		/* x32: the native arch with bit 30 set. */
		errno = 0;
		r[n].name = "x32 getpid";
		r[n].ret = syscall(0x40000000 | SYS_getpid);
		r[n].err = errno;
		r[n++].want = EPERM;
		if (write(p[1], r, n * sizeof(r[0])) < 0)
			_exit(4);
		_exit(0);
	}
	close(p[1]);
	size_t got = 0;
	ssize_t k;
	while ((k = read(p[0], (char *)out + got, max * sizeof(*out) - got)) > 0)
		got += (size_t)k;
	close(p[0]);
	int ws;
	waitpid(pid, &ws, 0);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	return got / sizeof(*out);
}

static void test_agent_filter(void **state)
{
	(void)state;
	struct call_result r[132];
	size_t n = run(AGENT, false, r, 132);
	assert_true(n > 50);
	for (size_t i = 0; i < n; i++) {
		if (r[i].want == 0) {
			if (r[i].ret < 0)
				fail_msg("%s: refused (%s), should be allowed", r[i].name, strerror(r[i].err));
			continue;
		}
		if (r[i].ret >= 0 || r[i].err != r[i].want)
			fail_msg("%s: got %ld/%s, want %s", r[i].name, r[i].ret,
				 strerror(r[i].err), strerror(r[i].want));
	}
}

static void test_control_without_filter(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip(); /* unprivileged, many calls fail with EPERM anyway */
		return;
	}
	struct call_result r[132];
	size_t n = run(NONE, false, r, 132);
	for (size_t i = 0; i < n; i++) {
		if (r[i].want == 0)
			continue;
		if (r[i].ret < 0 && r[i].err == r[i].want)
			fail_msg("%s: %s without the filter too: the test could not tell",
				 r[i].name, strerror(r[i].err));
	}
}

static void test_other_abis(void **state)
{
	(void)state;
	struct call_result r[64];
	size_t n = run(AGENT, true, r, 64);
	assert_true(n > 20);
	for (size_t i = 0; i < n; i++)
		if (r[i].ret >= 0 || r[i].err != EPERM)
			fail_msg("32-bit %s: got %ld/%s, want EPERM", r[i].name, r[i].ret,
				 strerror(r[i].err));
	/* Without the filter, 32-bit getpid works: the refusal is the filter's. */
	n = run(NONE, true, r, 64);
	assert_string_equal(r[0].name, "getpid");
	assert_true(r[0].ret > 0);
}

static void test_allow_and_pid1(void **state)
{
	(void)state;
	struct call_result r[132];
	size_t n = run(AGENT_ALLOW_PERF, false, r, 132);
	bool seen = false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(r[i].name, "perf_event_open") != 0)
			continue;
		seen = true;
		assert_false(r[i].ret < 0 && r[i].err == EPERM && geteuid() == 0);
	}
	assert_true(seen);

	n = run(PID1, false, r, 132);
	assert_string_equal(r[n - 2].name, "execve");
	assert_int_equal(r[n - 2].err, EPERM);
}

/* strace (when installed) under the agent's filter and ptrace
 * confinement: it runs a program it starts (PTRACE_TRACEME when
 * PTRACE_SEIZE is refused), and cannot attach to another process. */
static int under_agent(const char *const argv[])
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct perr e;
		int null = open("/dev/null", O_WRONLY);
		if (null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(2);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || privs_scope_ptrace(&e) < 0 ||
		    sc_load(SC_AGENT, NULL, 0, &e) < 0)
			_exit(3);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	return WEXITSTATUS(ws);
}

static void test_debuggers(void **state)
{
	(void)state;
	const char *const start[] = { "strace", "-f", "-o", "/dev/null", "true", NULL };
	int rc = under_agent(start);
	if (rc == 127) {
		skip(); /* no strace here */
		return;
	}
	assert_int_equal(rc, 0);
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)getppid());
	const char *const attach[] = { "strace", "-o", "/dev/null", "-p", pid, NULL };
	assert_int_not_equal(under_agent(attach), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_allow_names),
		cmocka_unit_test(test_agent_filter),
		cmocka_unit_test(test_control_without_filter),
		cmocka_unit_test(test_other_abis),
		cmocka_unit_test(test_allow_and_pid1),
		cmocka_unit_test(test_debuggers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
