/* Stripping speed: files per second for strip_setid (caps/strip.c), the
 * set-uid / set-gid / file-capability walk palisade makes over the
 * container's root mount, over a tree of FILES regular files (default
 * 100,000) in 10 x 10 x 10 directories, one file in 500 set-uid and one in
 * 500 set-gid.
 *
 *   strip [--files N] [--runs N] [--fs tmpfs|disk] [--dir DIR] [--label TEXT]
 *         [--no-getxattrat | --both]
 *
 * --fs tmpfs (default): the tree is on a fresh tmpfs, mounted in a private
 * mount namespace of this process, so that it is a mount of its own and
 * disappears with the process. --fs disk: the tree is in a fresh directory
 * under DIR (default /tmp), on whatever file system holds it, and is removed
 * at the end; the walk starts at that directory and stays on its mount.
 * The dentry and inode caches are warm (the tree was just made, and one
 * untimed walk runs first). Each timed run strips the same bits again: they
 * are put back, untimed, between runs. Each walk runs in a child of its own.
 * --no-getxattrat: a seccomp filter answers getxattrat and removexattrat
 * ENOSYS, as a kernel before 6.13 would, so the walk takes its way through
 * /proc/self/fd. --both: the walks with and without getxattrat take turns,
 * run by run, and the first row's last column is the per-run speed-up
 * (median, then p25..p75, of each pair's time without over time with).
 *
 * Prints a markdown table row for each way (LABEL defaults to the --fs value):
 *   | LABEL | files | dirs | set-id bits | median ms | files/s | min..max ms | speed-up |
 * Built and run by bench/strip.sh. Needs root (mount, chmod of set-uid). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "caps/strip.h"

static void die(const char *what)
{
	fprintf(stderr, "strip: %s: %s\n", what, strerror(errno));
	exit(1);
}

#define NR_GETXATTRAT 464 /* x86_64 and arm64 alike */
#define NR_REMOVEXATTRAT 466

#ifdef NO_CAP_CHECK
/* A reference build (bench/strip.sh links it with -Wl,--wrap=lgetxattr
 * -Wl,--wrap=syscall): the same walk with the file-capability lookup
 * answered "none" at once, to show what that lookup costs. */
ssize_t __wrap_lgetxattr(const char *path, const char *name, void *value, size_t size);
ssize_t __wrap_lgetxattr(const char *path, const char *name, void *value, size_t size)
{
	(void)path;
	(void)name;
	(void)value;
	(void)size;
	errno = ENODATA;
	return -1;
}

long __real_syscall(long nr, ...);
long __wrap_syscall(long nr, ...);
long __wrap_syscall(long nr, ...)
{
	if (nr == NR_GETXATTRAT) {
		errno = ENODATA;
		return -1;
	}
	long a[6];
	va_list ap;
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	return __real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
#endif

/* getxattrat and removexattrat answer ENOSYS from now on. */
static void deny_xattrat(void)
{
#if defined(__x86_64__)
	const unsigned arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
	const unsigned arch = AUDIT_ARCH_AARCH64;
#endif
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_GETXATTRAT, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_REMOVEXATTRAT, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		die("installing the seccomp filter");
}

#define FANOUT 10 /* directories per level, three levels */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The i-th file's path and the mode it is made with. */
static void file_path(char *buf, size_t len, const char *root, long i, long per_dir)
{
	long d = i / per_dir;
	snprintf(buf, len, "%s/d%ld/d%ld/d%ld/f%ld", root, d / (FANOUT * FANOUT) % FANOUT,
		 d / FANOUT % FANOUT, d % FANOUT, i);
}

static mode_t file_mode(long i)
{
	if (i % 500 == 0)
		return 04755; /* set-uid */
	if (i % 500 == 250)
		return 02755; /* set-gid */
	return i % 3 ? 0644 : 0755;
}

static void make_tree(const char *root, long files, long per_dir)
{
	char p[4096];
	for (int a = 0; a < FANOUT; a++)
		for (int b = 0; b < FANOUT; b++)
			for (int c = 0; c < FANOUT; c++) {
				snprintf(p, sizeof(p), "%s/d%d", root, a);
				if (mkdir(p, 0755) < 0 && errno != EEXIST)
					die(p);
				snprintf(p, sizeof(p), "%s/d%d/d%d", root, a, b);
				if (mkdir(p, 0755) < 0 && errno != EEXIST)
					die(p);
				snprintf(p, sizeof(p), "%s/d%d/d%d/d%d", root, a, b, c);
				if (mkdir(p, 0755) < 0 && errno != EEXIST)
					die(p);
			}
	for (long i = 0; i < files; i++) {
		file_path(p, sizeof(p), root, i, per_dir);
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			die(p);
		if (fchmod(fd, file_mode(i)) < 0)
			die(p);
		close(fd);
	}
}

/* Puts the set-uid and set-gid bits back, as make_tree made them. */
static void reset_bits(const char *root, long files, long per_dir)
{
	char p[4096];
	for (long i = 0; i < files; i++) {
		mode_t m = file_mode(i);
		if (!(m & (S_ISUID | S_ISGID)))
			continue;
		file_path(p, sizeof(p), root, i, per_dir);
		if (chmod(p, m) < 0)
			die(p);
	}
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

/* The q-quantile of the n sorted values v, interpolated between ranks. */
static double quantile(const double *v, long n, double q)
{
	double h = (double)(n - 1) * q;
	long i = (long)h;
	return i + 1 < n ? v[i] + (h - (double)i) * (v[i + 1] - v[i]) : v[n - 1];
}

/* One walk's time and what it did, from the child that made it. */
struct walked {
	double ms;
	struct strip_stats st;
	int ok;
	char msg[512];
};

/* Times strip_setid over root in a child: one without getxattrat (mode 1)
 * gets the seccomp filter first, which the next runs must not inherit. */
static int timed_walk(const char *root, int mode, struct walked *wk)
{
	int p[2];
	if (pipe(p) < 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		struct walked c;
		struct perr err = PERR_INIT;
		memset(&c, 0, sizeof(c));
		if (mode == 1)
			deny_xattrat();
		double t0 = now_ms();
		c.ok = strip_setid(root, &c.st, &err) == 0;
		c.ms = now_ms() - t0;
		if (!c.ok)
			snprintf(c.msg, sizeof(c.msg), "%s", err.msg);
		_exit(write(p[1], &c, sizeof(c)) == (ssize_t)sizeof(c) ? 0 : 1);
	}
	close(p[1]);
	ssize_t n = read(p[0], wk, sizeof(*wk));
	close(p[0]);
	int ws;
	if (waitpid(pid, &ws, 0) < 0 || n != (ssize_t)sizeof(*wk) || !WIFEXITED(ws) ||
	    WEXITSTATUS(ws) != 0) {
		fprintf(stderr, "strip: the walk's child failed\n");
		return 1;
	}
	return 0;
}

/* Whether the walk did what the tree asks for, the way it was meant to. */
static int check_walk(const struct walked *wk, int mode, long files)
{
	if (!wk->ok) {
		fprintf(stderr, "strip: strip_setid: %s\n", wk->msg);
		return 1;
	}
	size_t bits = wk->st.setuid + wk->st.setgid;
	if (wk->st.files != (size_t)files || bits != (size_t)((files + 249) / 250)) {
		fprintf(stderr, "strip: walked %zu files and stripped %zu bits; expected %ld and %ld\n",
			wk->st.files, bits, files, (files + 249) / 250);
		return 1;
	}
	if (mode == 1 && !wk->st.xattr_proc) {
		fprintf(stderr, "strip: the walk used getxattrat despite the filter\n");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long files = 100000, runs = 9;
	const char *fs = "tmpfs", *dir = "/tmp", *label = NULL;
	bool no_xattrat = false, both = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--files") && i + 1 < argc)
			files = atol(argv[++i]);
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = atol(argv[++i]);
		else if (!strcmp(argv[i], "--fs") && i + 1 < argc)
			fs = argv[++i];
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--label") && i + 1 < argc)
			label = argv[++i];
		else if (!strcmp(argv[i], "--no-getxattrat"))
			no_xattrat = true;
		else if (!strcmp(argv[i], "--both"))
			both = true;
		else {
			fprintf(stderr, "usage: strip [--files N] [--runs N] [--fs tmpfs|disk] "
					"[--dir DIR] [--label TEXT] [--no-getxattrat | --both]\n");
			return 2;
		}
	}
	bool tmpfs = !strcmp(fs, "tmpfs");
	if ((!tmpfs && strcmp(fs, "disk")) || files < 1 || runs < 1) {
		fprintf(stderr, "strip: bad --fs, --files or --runs\n");
		return 2;
	}
	long ndirs = FANOUT * FANOUT * FANOUT;
	long per_dir = (files + ndirs - 1) / ndirs;

	char root[4096];
	snprintf(root, sizeof(root), "%s/palisade-strip-XXXXXX", dir);
	if (!mkdtemp(root))
		die(root);
	if (tmpfs) {
		if (unshare(CLONE_NEWNS) < 0)
			die("unshare(CLONE_NEWNS)");
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			die("making / private");
		if (mount("palisade-strip", root, "tmpfs", 0, "mode=0755,nr_inodes=0") < 0)
			die("mounting a tmpfs");
	}
	if (chmod(root, 0755) < 0)
		die(root);

	make_tree(root, files, per_dir);

	/* The ways to walk, interleaved run by run: 0 with getxattrat where
	 * the kernel has it, 1 without (refused by a seccomp filter). */
	int modes[2], nmodes = 0;
	if (!no_xattrat)
		modes[nmodes++] = 0;
	if (no_xattrat || both)
		modes[nmodes++] = 1;
	double *t[2];
	for (int m = 0; m < nmodes; m++)
		if (!(t[m] = calloc((size_t)runs, sizeof(*t[m]))))
			die("calloc");
	struct walked wk[2];
	int rc = 0;
	for (long r = -1; r < runs && rc == 0; r++) { /* run -1: the untimed warm-up */
		for (int k = 0; k < nmodes && rc == 0; k++) {
			int m = r % 2 ? nmodes - 1 - k : k; /* the order turned round every other run */
			reset_bits(root, files, per_dir);
			rc = timed_walk(root, modes[m], &wk[m]);
			if (rc == 0)
				rc = check_walk(&wk[m], modes[m], files);
			if (rc == 0 && r >= 0)
				t[m][r] = wk[m].ms;
		}
	}
	for (int m = 0; m < nmodes && rc == 0; m++) {
		/* The per-run speed-up over the walk without getxattrat. */
		char vs[64] = "—";
		if (nmodes == 2 && m == 0) {
			double *q = calloc((size_t)runs, sizeof(*q));
			if (!q)
				die("calloc");
			for (long r = 0; r < runs; r++)
				q[r] = t[1][r] / t[0][r];
			qsort(q, (size_t)runs, sizeof(*q), cmp_double);
			snprintf(vs, sizeof(vs), "%.2fx (%.2f..%.2f)", quantile(q, runs, 0.5),
				 quantile(q, runs, 0.25), quantile(q, runs, 0.75));
			free(q);
		} else if (nmodes == 2) {
			snprintf(vs, sizeof(vs), "1.00");
		}
		qsort(t[m], (size_t)runs, sizeof(*t[m]), cmp_double);
		double med = quantile(t[m], runs, 0.5);
		const struct strip_stats *st = &wk[m].st;
		printf("| %s%s%s | %ld | %zu | %zu | %.1f | %.0f | %.1f..%.1f | %s |\n",
		       label ? label : fs, modes[m] ? ", without getxattrat" : "",
		       st->xattr_proc && !modes[m] ? " (this kernel has no getxattrat)" : "", files,
		       st->dirs, st->setuid + st->setgid, med, (double)files / (med / 1e3), t[m][0],
		       t[m][runs - 1], vs);
	}
	for (int m = 0; m < nmodes; m++)
		free(t[m]);

	if (tmpfs) {
		if (umount2(root, MNT_DETACH) < 0)
			die("unmounting the tmpfs");
	} else if (nftw(root, rm_entry, 64, FTW_DEPTH | FTW_PHYS) < 0) {
		die("removing the tree");
	}
	rmdir(root);
	return rc;
}
