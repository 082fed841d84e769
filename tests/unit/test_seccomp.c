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
#include <signal.h>
#include <unistd.h>

#include "../../caps/privs.h"
#include "../../caps/seccomp.h"
#include "../kernel.h"
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
				   "ioperm", "socket", "socketpair", "setsockopt", "ptrace",
				   "process_vm_writev", "pidfd_getfd" };
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
	struct perr e = PERR_INIT;
	const char *ok[] = { "perf_event_open", "bpf" };
	assert_int_equal(sc_check_allow(ok, 2, &e), 0);
	const char *bad[] = { "read" };
	assert_int_equal(sc_check_allow(bad, 1, &e), -1);
	assert_non_null(strstr(e.msg, "--seccomp-allow \"read\": palisade does not deny"));
	const char *pid1[] = { "execve" };
	assert_int_equal(sc_check_allow(pid1, 1, &e), -1);
}

enum mode { NONE, AGENT, AGENT_ALLOW_PERF, PID1 };
enum abi { NATIVE, I386, X32 };

#define RESULTS_MAX 132

/* Runs the exerciser in a child of its own, with or without a filter, and
 * returns the results through a pipe. The child exits right after: a call
 * that crashes it (int 0x80 on a kernel without 32-bit support) ends that
 * child alone, with the filter it loaded, and is reported, never survived
 * inside the test framework's handlers. */
static size_t run(enum mode mode, enum abi abi, struct call_result *out, size_t max)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static const int crash[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGTRAP, SIGABRT };
		for (size_t i = 0; i < sizeof(crash) / sizeof(crash[0]); i++)
			signal(crash[i], SIG_DFL);
		close(p[0]);
		struct perr e = PERR_INIT;
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
		struct call_result r[RESULTS_MAX];
		size_t n = 0;
		if (abi == I386) {
			n = exercise_i386(r, RESULTS_MAX);
		} else if (abi == X32) {
			/* x32: the native arch with bit 30 set. */
			errno = 0;
			r[n].name = "x32 getpid";
			r[n].ret = syscall(0x40000000 | SYS_getpid);
			r[n].err = errno;
			r[n++].want = EPERM;
		} else {
			n = exercise_native(r, RESULTS_MAX - 1);
			if (mode == PID1) {
				char *argv[] = { "/bin/true", NULL };
				errno = 0;
				r[n].name = "execve";
				r[n].ret = execve("/bin/true", argv, argv + 1);
				r[n].err = errno;
				r[n++].want = EPERM;
			}
		}
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
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	if (WIFSIGNALED(ws))
		fail_msg("the exerciser was killed by SIG%s", sigabbrev_np(WTERMSIG(ws)));
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	return got / sizeof(*out);
}

/* What the kernel offers, asked once without any filter. */
static struct {
	bool ia32, x32;
	char ia32_why[256], x32_why[256];
} kernel;

/* Each denied call is a check of its own: the call under the agent's
 * filter, and the same call without any filter as the control. */
static struct call_result filtered[RESULTS_MAX], control[RESULTS_MAX];
static size_t nfiltered, ncontrol;

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "?";
}

static void test_denied_call(void **state)
{
	const struct call_result *r = *state;
	const struct call_result *c = NULL;
	for (size_t i = 0; i < ncontrol && !c; i++)
		if (strcmp(control[i].name, r->name) == 0)
			c = &control[i];
	if (r->want == 0) {
		if (r->ret < 0)
			fail_msg("%s: refused (%s), should be allowed", r->name, strerror(r->err));
		return;
	}
	/* Run as root, the control gets some other answer (see syscalls.c);
	 * when the kernel itself gives the filter's answer, this check cannot
	 * tell the filter's doing from the kernel's. */
	if (geteuid() == 0 && c && c->ret < 0 && c->err == r->want) {
		/* Name the kernel feature behind it where there is one. */
		static const struct { const char *prefix, *feature; } features[] = {
			{ "io_uring", "io_uring" }, { "perf_event", "perf" },
		};
		char why[256] = "";
		for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
			if (strncmp(r->name, features[i].prefix, strlen(features[i].prefix)) != 0)
				continue;
			char w[200];
			if (!kernel_offers(kernel_feature(features[i].feature), w, sizeof(w)))
				snprintf(why, sizeof(why), ": %s", w);
		}
		print_message("skip - %s: this kernel refuses it without any filter too (%s%s), "
			      "so the filter's refusal cannot be told apart\n",
			      r->name, errname(c->err), why);
		skip();
		return;
	}
	if (r->ret >= 0 || r->err != r->want)
		fail_msg("%s: got %ld/%s, want %s", r->name, r->ret, errname(r->err), errname(r->want));
}

static void test_i386_call(void **state)
{
	const struct call_result *r = *state;
	if (r->ret >= 0 || r->err != EPERM)
		fail_msg("32-bit %s: got %ld/%s, want EPERM", r->name, r->ret, errname(r->err));
}

static void test_i386_control(void **state)
{
	(void)state;
	struct call_result r[64];
	/* Without the filter, 32-bit getpid works: the refusals are the filter's. */
	size_t n = run(NONE, I386, r, 64);
	assert_true(n > 0);
	assert_string_equal(r[0].name, "getpid");
	assert_true(r[0].ret > 0);
}

static void test_i386_skipped(void **state)
{
	(void)state;
	print_message("skip - 32-bit system calls: %s\n", kernel.ia32_why);
	skip();
}

static void test_x32(void **state)
{
	(void)state;
	struct call_result r[4];
	/* The filter answers before the kernel looks at the ABI, so its EPERM
	 * shows whether or not the kernel has x32. */
	size_t n = run(AGENT, X32, r, 4);
	assert_int_equal(n, 1);
	if (r[0].ret >= 0 || r[0].err != EPERM)
		fail_msg("x32 getpid: got %ld/%s, want EPERM", r[0].ret, errname(r[0].err));
	n = run(NONE, X32, r, 4);
	assert_int_equal(n, 1);
	if (kernel.x32)
		assert_true(r[0].ret > 0);
	else
		assert_true(r[0].ret < 0 && r[0].err != EPERM);
}

static void test_allow_and_pid1(void **state)
{
	(void)state;
	struct call_result r[RESULTS_MAX];
	size_t n = run(AGENT_ALLOW_PERF, NATIVE, r, RESULTS_MAX);
	bool seen = false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(r[i].name, "perf_event_open") != 0)
			continue;
		seen = true;
		/* Let through: whatever the kernel answers, it is not the
		 * filter's EPERM (as root, the kernel's own is EFAULT, or
		 * ENOSYS without perf events). */
		assert_false(r[i].ret < 0 && r[i].err == EPERM && geteuid() == 0);
	}
	assert_true(seen);

	n = run(PID1, NATIVE, r, RESULTS_MAX);
	assert_string_equal(r[n - 1].name, "execve");
	assert_int_equal(r[n - 1].err, EPERM);
}

/* strace (when installed) under the agent's filter and ptrace
 * confinement: it runs a program it starts (PTRACE_TRACEME when
 * PTRACE_SEIZE is refused), and cannot attach to another process. */
static int under_agent(const char *const argv[])
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct perr e = PERR_INIT;
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
		print_message("skip - strace under the agent's filter: strace is not installed\n");
		skip();
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
	const struct kernel_feature *ia32 = kernel_feature("ia32"), *x32 = kernel_feature("x32");
	kernel.ia32 = kernel_offers(ia32, kernel.ia32_why, sizeof(kernel.ia32_why));
	kernel.x32 = kernel_offers(x32, kernel.x32_why, sizeof(kernel.x32_why));
	if (!kernel.x32)
		print_message("# x32 system calls: %s; the filter's answer is checked all the same\n",
			      kernel.x32_why);

	/* Collected before cmocka runs: each result becomes a test. */
	nfiltered = run(AGENT, NATIVE, filtered, RESULTS_MAX);
	ncontrol = run(NONE, NATIVE, control, RESULTS_MAX);
	static struct call_result i386[64];
	size_t ni386 = kernel.ia32 ? run(AGENT, I386, i386, 64) : 0;

	static struct CMUnitTest tests[RESULTS_MAX + 64 + 8];
	static char names[RESULTS_MAX + 64][96];
	size_t n = 0, k = 0;
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_table);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_allow_names);
	if (nfiltered < 50 || ncontrol != nfiltered) {
		fprintf(stderr, "only %zu calls were tried under the filter (%zu without)\n",
			nfiltered, ncontrol);
		return 1;
	}
	for (size_t i = 0; i < nfiltered; i++, k++) {
		snprintf(names[k], sizeof(names[k]), "agent filter: %s", filtered[i].name);
		tests[n++] = (struct CMUnitTest){ names[k], test_denied_call, NULL, NULL, &filtered[i] };
	}
	if (kernel.ia32) {
		if (ni386 < 20) {
			fprintf(stderr, "only %zu 32-bit calls were tried\n", ni386);
			return 1;
		}
		for (size_t i = 0; i < ni386; i++, k++) {
			snprintf(names[k], sizeof(names[k]), "agent filter: 32-bit %s", i386[i].name);
			tests[n++] = (struct CMUnitTest){ names[k], test_i386_call, NULL, NULL, &i386[i] };
		}
		tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_i386_control);
	} else {
		tests[n++] = (struct CMUnitTest){ "32-bit system calls", test_i386_skipped, NULL, NULL, NULL };
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_x32);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_allow_and_pid1);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_debuggers);
	return _cmocka_run_group_tests("seccomp", tests, n, NULL, NULL);
}
