/* The set-uid walk and sudo removal on trees of their own, and mounts
 * inside them (in a private mount namespace) that must be left alone.
 * Needs root: root-owned set-uid files, file capabilities, mounts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../../caps/strip.h"

static char root[128];

static void mkfile(const char *rel, mode_t mode)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	assert_int_equal(chmod(p, mode), 0);
}

static void mkdirs(const char *rel, mode_t mode)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(mkdir(p, mode), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static mode_t mode_of(const char *rel)
{
	char p[256];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (lstat(p, &st) < 0)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

static bool has_caps(const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return lgetxattr(p, "security.capability", NULL, 0) > 0;
}

static void setcaps(const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	struct vfs_cap_data d;
	memset(&d, 0, sizeof(d));
	d.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
	d.data[0].permitted = 1u << CAP_NET_RAW;
	assert_int_equal(setxattr(p, "security.capability", &d, XATTR_CAPS_SZ_2, 0), 0);
}

/* A fresh directory for the test's tree, in root; false (the test is
 * skipped) when not run as root. */
static bool new_root(void)
{
	if (geteuid() != 0) {
		skip();
		return false;
	}
	snprintf(root, sizeof(root), "/tmp/palisade-strip-XXXXXX");
	assert_non_null(mkdtemp(root));
	return true;
}

static void remove_root(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

/* A tree with what an image might hold. */
static void make_tree(void)
{
	mkdirs("usr", 0755);
	mkdirs("usr/bin", 0755);
	mkdirs("var", 0755);
	mkdirs("var/mail", 02775); /* a set-gid directory: left alone */
	mkdirs("etc", 0755);
	mkdirs("etc/sudoers.d", 0750);
	mkfile("usr/bin/passwd", 04755);
	mkfile("usr/bin/wall", 02755);
	mkfile("usr/bin/both", 06755);
	mkfile("usr/bin/plain", 0755);
	mkfile("usr/bin/ping", 0755);
	setcaps("usr/bin/ping");
	/* The agent's own file with capabilities, not executable yet: it could
	 * make it so, so it is stripped too. */
	mkfile("usr/bin/agent-owned", 0644);
	char own[512];
	snprintf(own, sizeof(own), "%s/usr/bin/agent-owned", root);
	assert_int_equal(chown(own, 1000, 1000), 0); /* before: chown clears capabilities */
	setcaps("usr/bin/agent-owned");
	mkfile("usr/bin/sudo", 04755);
	mkfile("usr/bin/pkexec", 04755);
	mkfile("etc/sudoers", 0440);
	mkfile("etc/sudoers.d/agent", 0440);
	mkfile("etc/doas.conf", 0400);
	char link[256];
	snprintf(link, sizeof(link), "%s/usr/bin/link", root);
	assert_int_equal(symlink("passwd", link), 0);
}

/* What strip_setid and strip_sudo must have done to make_tree's tree. */
static void check_tree(const struct strip_stats *st)
{
	/* passwd, both, sudo and pkexec set-uid; wall and both set-gid; ping. */
	assert_int_equal(st->setuid, 4);
	assert_int_equal(st->setgid, 2);
	assert_int_equal(st->filecaps, 2);
	assert_int_equal(st->mounts, 0);
	assert_int_equal(st->removed, 5);
	assert_true(st->files >= 9);
	assert_int_equal(mode_of("usr/bin/passwd"), 0755);
	assert_int_equal(mode_of("usr/bin/wall"), 0755);
	assert_int_equal(mode_of("usr/bin/both"), 0755);
	assert_int_equal(mode_of("usr/bin/plain"), 0755);
	assert_false(has_caps("usr/bin/ping"));
	assert_false(has_caps("usr/bin/agent-owned"));
	assert_int_equal(mode_of("var/mail"), 02775);
	assert_int_equal(mode_of("usr/bin/sudo"), (mode_t)-1);
	assert_int_equal(mode_of("usr/bin/pkexec"), (mode_t)-1);
	assert_int_equal(mode_of("etc/sudoers"), (mode_t)-1);
	assert_int_equal(mode_of("etc/sudoers.d"), (mode_t)-1);
	assert_int_equal(mode_of("etc/doas.conf"), (mode_t)-1);
	remove_root();
}

#define NR_GETXATTRAT 464 /* x86_64 and arm64 alike */
#define NR_REMOVEXATTRAT 466

/* Whether this kernel has getxattrat (Linux 6.13). */
static bool kernel_has_getxattrat(void)
{
	uint64_t args[2] = { 0, 0 };
	return syscall(NR_GETXATTRAT, AT_FDCWD, "/", 0, "security.capability", args,
		       sizeof(args)) >= 0 || errno != ENOSYS;
}

static void test_walk(void **state)
{
	(void)state;
	if (!new_root())
		return;
	make_tree();
	struct strip_stats st = { 0 };
	struct perr e = PERR_INIT;
	if (strip_setid(root, &st, &e) < 0 || strip_sudo(root, &st, &e) < 0)
		fail_msg("%s", e.msg);
	/* The lookup takes the direct way where the kernel has one. */
	assert_int_equal(st.xattr_proc, !kernel_has_getxattrat());
	check_tree(&st);
}

/* In a child: getxattrat and removexattrat answer err (ENOSYS as before
 * Linux 6.13, EPERM as under Docker's default profile), and the walk and
 * sudo removal run; their stats come back through a pipe. */
static void strip_refused_xattrat(int err, struct strip_stats *st)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
#if defined(__x86_64__)
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
#else
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_AARCH64, 1, 0),
#endif
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_GETXATTRAT, 1, 0),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_REMOVEXATTRAT, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
		struct strip_stats cst = { 0 };
		struct perr e = PERR_INIT;
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
			_exit(10);
		if (strip_setid(root, &cst, &e) < 0 || strip_sudo(root, &cst, &e) < 0) {
			fprintf(stderr, "%s\n", e.msg);
			_exit(11);
		}
		_exit(write(p[1], &cst, sizeof(cst)) == (ssize_t)sizeof(cst) ? 0 : 12);
	}
	close(p[1]);
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	assert_int_equal(read(p[0], st, sizeof(*st)), (ssize_t)sizeof(*st));
	close(p[0]);
}

/* Without getxattrat the same files are stripped, through /proc/self/fd. */
static void test_walk_without_getxattrat(void **state)
{
	(void)state;
	static const int errs[] = { ENOSYS, EPERM };
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		if (!new_root())
			return;
		make_tree();
		struct strip_stats st;
		strip_refused_xattrat(errs[i], &st);
		assert_true(st.xattr_proc);
		check_tree(&st);
	}
}

/* A tree 600 directories deep (the agent can leave one behind in a root
 * file system that outlives the container): walked to its bottom within
 * the usual 8 MiB stack, not a crash of PID 1. */
static void test_deep_tree(void **state)
{
	(void)state;
	if (!new_root())
		return;
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (int i = 0; i < 600; i++) {
		assert_int_equal(mkdirat(fd, "d", 0755), 0);
		int sub = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(sub >= 0);
		close(fd);
		fd = sub;
	}
	int f = openat(fd, "suid", O_CREAT | O_WRONLY | O_CLOEXEC, 0755);
	assert_true(f >= 0);
	assert_int_equal(fchmod(f, 04755), 0);
	close(f);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { 8 << 20, 8 << 20 };
		struct strip_stats st = { 0 };
		struct perr e = PERR_INIT;
		if (setrlimit(RLIMIT_STACK, &rl) < 0)
			_exit(10);
		if (strip_setid(root, &st, &e) < 0) {
			fprintf(stderr, "%s\n", e.msg);
			_exit(11);
		}
		_exit(st.setuid == 1 && st.dirs == 601 && st.too_deep == 0 ? 0 : 12);
	}
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	if (WIFSIGNALED(ws))
		fail_msg("the walk was killed by signal %d", WTERMSIG(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	struct stat sb;
	assert_int_equal(fstatat(fd, "suid", &sb, 0), 0);
	assert_int_equal(sb.st_mode & 07777, 0755);
	close(fd);
	remove_root();
}

/* A mount point inside the tree keeps its files, even on the same device. */
static void test_mount_left_alone(void **state)
{
	(void)state;
	if (!new_root())
		return;
	char outside[] = "/tmp/palisade-outside-XXXXXX";
	assert_non_null(mkdtemp(outside));
	char f[256];
	snprintf(f, sizeof(f), "%s/suid", outside);
	int fd = open(f, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(chmod(f, 04755), 0);
	mkdirs("work", 0755);
	mkfile("file-mount", 04755);
	char single[256];
	snprintf(single, sizeof(single), "%s/single", outside);
	fd = open(single, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(chmod(single, 04755), 0);

	pid_t pid = fork();
	if (pid == 0) {
		char dst[256], fdst[256];
		snprintf(dst, sizeof(dst), "%s/work", root);
		snprintf(fdst, sizeof(fdst), "%s/file-mount", root);
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount(outside, dst, NULL, MS_BIND, NULL) < 0 ||
		    mount(single, fdst, NULL, MS_BIND, NULL) < 0)
			_exit(10);
		struct strip_stats st = { 0 };
		struct perr e = PERR_INIT;
		if (strip_setid(root, &st, &e) < 0)
			_exit(11);
		_exit(st.setuid == 0 && st.mounts == 2 ? 0 : 12);
	}
	int ws;
	waitpid(pid, &ws, 0);
	assert_int_equal(WEXITSTATUS(ws), 0);
	struct stat sb;
	assert_int_equal(stat(f, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 04755); /* a directory mount */
	assert_int_equal(stat(single, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 04755); /* a single-file mount, like /etc/hosts */
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", root, outside);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_walk_without_getxattrat),
		cmocka_unit_test(test_mount_left_alone),
		cmocka_unit_test(test_deep_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
