#include "strip.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../lib/capmsg.h"

#define CAP_XATTR "security.capability"

struct walk {
	uint64_t root_mnt;       /* the root mount's id */
	dev_t root_dev;
	bool use_mnt_id;
	char **mountpoints;      /* without STATX_MNT_ID: paths to skip */
	size_t nmountpoints;
	unsigned max_depth;
	char path[PATH_MAX];     /* of the directory being walked, for messages */
	size_t pathlen;
	struct strip_stats *st;
	struct perr *err;
	/* getdents64's buffer, one for the whole walk: a directory is read
	 * to its end before the walk goes down into its subdirectories, so
	 * that a deep tree costs little stack (the agent may have left one in
	 * a root file system that outlives the container). */
	char buf[32768] __attribute__((aligned(8)));
};

/* The subdirectories of one directory, names one after another, each
 * ending in '\0'. */
struct subdirs {
	char *names;
	size_t len, cap;
};

static int subdirs_add(struct subdirs *sd, const char *name, struct perr *err)
{
	size_t n = strlen(name) + 1;
	if (sd->len + n > sd->cap) {
		size_t cap = sd->cap ? sd->cap * 2 : 256;
		while (cap < sd->len + n)
			cap *= 2;
		char *p = realloc(sd->names, cap);
		if (!p)
			return perr_code(err, ENOMEM, "out of memory");
		sd->names = p;
		sd->cap = cap;
	}
	memcpy(sd->names + sd->len, name, n);
	sd->len += n;
	return 0;
}

/* What failed, with errno e: when the kernel refused (EACCES, EPERM), the
 * capability that lets root do it (cap, or none when -1) is named, with the
 * flag that gives it; otherwise the error. Returns -1. */
static int failed(struct perr *err, int e, int cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int failed(struct perr *err, int e, int cap, const char *fmt, ...)
{
	char what[PATH_MAX + 128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if ((e == EACCES || e == EPERM) && cap >= 0)
		return cap_refused(err, cap, cap_held(cap), what);
	return perr_sys(err, e, "%s", what);
}

/* Whether the entry is on the root mount. */
static bool same_mount(struct walk *w, const struct statx *sx, const char *name)
{
	if (w->use_mnt_id)
		return sx->stx_mnt_id == w->root_mnt;
	if (makedev(sx->stx_dev_major, sx->stx_dev_minor) != w->root_dev)
		return false;
	/* Same device, maybe a bind mount of it: compare with mountinfo. */
	char full[PATH_MAX];
	int n = snprintf(full, sizeof(full), "%s/%s", w->pathlen > 1 ? w->path : "", name);
	if (n < 0 || (size_t)n >= sizeof(full))
		return true; /* longer than any mount point */
	for (size_t i = 0; i < w->nmountpoints; i++)
		if (strcmp(w->mountpoints[i], full) == 0)
			return false;
	return true;
}

/* getxattrat and removexattrat (Linux 6.13) have the same numbers on
 * x86_64 and on arm64; glibc 2.36 has no wrapper. Elsewhere, and where the
 * kernel or a seccomp profile refuses them, the file-capability lookup goes
 * through /proc/self/fd/N/NAME, a path lookup through a magic link. */
#if defined(SYS_getxattrat) && defined(SYS_removexattrat)
#define NR_GETXATTRAT SYS_getxattrat
#define NR_REMOVEXATTRAT SYS_removexattrat
#elif defined(__x86_64__) || defined(__aarch64__)
#define NR_GETXATTRAT 464
#define NR_REMOVEXATTRAT 466
#endif

#ifdef NR_GETXATTRAT
struct xattr_args_v0 { /* struct xattr_args in <linux/xattr.h> of Linux 6.13 */
	uint64_t value __attribute__((aligned(8)));
	uint32_t size;
	uint32_t flags;
};
#endif

/* The path of dirfd's entry name through /proc, short whatever the depth. */
static void proc_path(char *buf, size_t len, int dirfd, const char *name)
{
	snprintf(buf, len, "/proc/self/fd/%d/%s", dirfd, name);
}

/* Whether dirfd's entry name (never followed if a symlink) has file
 * capabilities: 1 yes, 0 no (or the file system has no attributes),
 * -1 error with errno. */
static int has_filecaps(struct walk *w, int dirfd, const char *name)
{
	ssize_t n = -1;
	bool answered = false;
#ifdef NR_GETXATTRAT
	if (!w->st->xattr_proc) {
		struct xattr_args_v0 args = { 0 };
		n = syscall(NR_GETXATTRAT, dirfd, name, AT_SYMLINK_NOFOLLOW, CAP_XATTR, &args,
			    sizeof(args));
		/* ENOSYS: a kernel before 6.13; EPERM: a seccomp profile that
		 * does not know the call (Docker's). Reading this attribute is
		 * otherwise never refused with EPERM. */
		answered = n >= 0 || (errno != ENOSYS && errno != EPERM);
		w->st->xattr_proc = !answered;
	}
#endif
	if (!answered) {
		char p[64 + NAME_MAX];
		proc_path(p, sizeof(p), dirfd, name);
		n = lgetxattr(p, CAP_XATTR, NULL, 0);
	}
	if (n >= 0)
		return 1;
	return errno == ENODATA || errno == ENOTSUP || errno == EOPNOTSUPP ? 0 : -1;
}

/* Removes the file capabilities of dirfd's entry name; -1 with errno. */
static int remove_filecaps(int dirfd, const char *name)
{
#ifdef NR_REMOVEXATTRAT
	if (syscall(NR_REMOVEXATTRAT, dirfd, name, AT_SYMLINK_NOFOLLOW, CAP_XATTR) == 0)
		return 0;
	/* Refused as a call, or without CAP_SETFCAP: the second way says. */
	if (errno != ENOSYS && errno != EPERM)
		return -1;
#endif
	char p[64 + NAME_MAX];
	proc_path(p, sizeof(p), dirfd, name);
	return lremovexattr(p, CAP_XATTR);
}

static int strip_file(struct walk *w, int dirfd, const char *name, const struct statx *sx)
{
	w->st->files++;
	mode_t mode = sx->stx_mode;
	if (mode & (S_ISUID | S_ISGID)) {
		/* Another user's file: only CAP_FOWNER lets root change its mode
		 * (root's own may be immutable: no capability of palisade's helps). */
		if (fchmodat(dirfd, name, mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID), 0) < 0)
			return failed(w->err, errno, sx->stx_uid ? CAP_FOWNER : -1,
				      "removing the set-uid/set-gid bits of %s/%s (owned by uid %u)",
				      w->path, name, (unsigned)sx->stx_uid);
		if (mode & S_ISUID)
			w->st->setuid++;
		if (mode & S_ISGID)
			w->st->setgid++;
	}
	/* File capabilities act only at execve. A file of root's that nobody
	 * may execute cannot be made executable by the agent, who owns it not
	 * and has no capability: the lookup, most of the walk's time, is
	 * skipped for it. */
	if (sx->stx_uid == 0 && !(mode & 0111))
		return 0;
	int has = has_filecaps(w, dirfd, name);
	if (has > 0) {
		if (remove_filecaps(dirfd, name) < 0)
			return failed(w->err, errno, CAP_SETFCAP,
				      "removing the file capabilities of %s/%s", w->path, name);
		w->st->filecaps++;
	} else if (has < 0 && errno == EACCES) {
		return failed(w->err, errno, CAP_DAC_READ_SEARCH,
			      "reading the file capabilities of %s/%s", w->path, name);
	} else if (has < 0) {
		int e = errno;
		return perr_code(w->err, e, "reading the file capabilities of %s/%s: %s%s", w->path,
				 name, strerror(e), w->st->xattr_proc ? " (is /proc mounted?)" : "");
	}
	return 0;
}

static int walk_dir(struct walk *w, int dirfd, unsigned depth);

/* Strips the entry name of dirfd, or, for a directory on the root mount,
 * adds it to sub, to be walked once dirfd has been read. */
static int visit(struct walk *w, int dirfd, const char *name, unsigned char type,
		 unsigned depth, struct subdirs *sub)
{
	if (type != DT_DIR && type != DT_REG && type != DT_UNKNOWN)
		return 0; /* symlinks, devices, sockets, fifos carry no privilege */
	struct statx sx;
	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
		  STATX_TYPE | STATX_MODE | STATX_UID | STATX_MNT_ID, &sx) < 0) {
		if (errno == ENOENT)
			return 0;
		/* A directory of another user's that root may not search. */
		return failed(w->err, errno, CAP_DAC_READ_SEARCH, "inspecting %s/%s", w->path,
			      name);
	}
	if (!same_mount(w, &sx, name)) {
		w->st->mounts++;
		return 0;
	}
	if (S_ISREG(sx.stx_mode))
		return strip_file(w, dirfd, name, &sx);
	if (!S_ISDIR(sx.stx_mode))
		return 0;
	if (depth >= w->max_depth) {
		w->st->too_deep++;
		return 0;
	}
	return subdirs_add(sub, name, w->err);
}

/* Walks the subdirectory name of dirfd. */
static int descend(struct walk *w, int dirfd, const char *name, unsigned depth)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) { /* another user's, that root may not read */
		if (errno == ENOENT)
			return 0;
		return failed(w->err, errno, CAP_DAC_READ_SEARCH, "opening %s/%s", w->path, name);
	}
	size_t saved = w->pathlen;
	int n = snprintf(w->path + saved, sizeof(w->path) - saved, "%s%s",
			 saved > 1 ? "/" : "", name);
	if (n < 0 || saved + (size_t)n >= sizeof(w->path))
		w->pathlen = sizeof(w->path) - 1; /* messages get a cut path */
	else
		w->pathlen = saved + (size_t)n;
	int rc = walk_dir(w, fd, depth + 1);
	w->path[saved] = '\0';
	w->pathlen = saved;
	close(fd);
	return rc;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int walk_dir(struct walk *w, int dirfd, unsigned depth)
{
	w->st->dirs++;
	struct subdirs sub = { 0 };
	int rc = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, dirfd, w->buf, sizeof(w->buf));
		if (n < 0) {
			rc = failed(w->err, errno, CAP_DAC_READ_SEARCH, "reading directory %s",
				    w->path);
			goto out;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(w->buf + off);
			off += d->d_reclen;
			const char *name = d->d_name;
			if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
				continue;
			if (visit(w, dirfd, name, d->d_type, depth, &sub) < 0) {
				rc = -1;
				goto out;
			}
		}
	}
	for (size_t off = 0; off < sub.len && rc == 0; off += strlen(sub.names + off) + 1)
		rc = descend(w, dirfd, sub.names + off, depth);
out:
	free(sub.names);
	return rc;
}

/* Mount points from /proc/self/mountinfo (field 5), unescaped. */
static int read_mountpoints(struct walk *w)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return perr_code(w->err, errno, "reading /proc/self/mountinfo: %s (is /proc mounted?)",
				 strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		for (int i = 1; tok && i < 5; i++)
			tok = strtok_r(NULL, " ", &save);
		if (!tok || strcmp(tok, "/") == 0)
			continue;
		/* "\040" and friends stand for spaces and tabs. */
		char *o = tok;
		for (char *s = tok; *s; s++) {
			if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] && s[3]) {
				*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
				s += 3;
			} else {
				*o++ = *s;
			}
		}
		*o = '\0';
		char **v = realloc(w->mountpoints, (w->nmountpoints + 1) * sizeof(*v));
		if (!v || !(v[w->nmountpoints] = strdup(tok))) {
			free(v ? v : w->mountpoints);
			w->mountpoints = NULL;
			free(line);
			fclose(f);
			return perr_code(w->err, ENOMEM, "out of memory");
		}
		w->mountpoints = v;
		w->nmountpoints++;
	}
	free(line);
	fclose(f);
	return 0;
}

int strip_setid(const char *root, struct strip_stats *stats, struct perr *err)
{
	struct walk w;
	memset(&w, 0, sizeof(w));
	w.st = stats;
	w.err = err;
	snprintf(w.path, sizeof(w.path), "%s", root);
	w.pathlen = strlen(w.path);

	struct statvfs vfs;
	if (statvfs(root, &vfs) < 0)
		return perr_sys(err, errno, "inspecting %s", root);
	if (vfs.f_flag & ST_RDONLY) {
		stats->readonly = true;
		return 0;
	}
	struct statx sx;
	if (statx(AT_FDCWD, root, 0, STATX_MNT_ID, &sx) < 0)
		return perr_sys(err, errno, "inspecting %s", root);
	w.use_mnt_id = sx.stx_mask & STATX_MNT_ID;
#ifndef NR_GETXATTRAT
	stats->xattr_proc = true;
#endif
	w.root_mnt = sx.stx_mnt_id;
	w.root_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	if (!w.use_mnt_id) {
		stats->no_mnt_id = true;
		if (read_mountpoints(&w) < 0)
			return -1;
	}
	/* One open directory per level: stay well inside the fd limit. */
	struct rlimit rl;
	w.max_depth = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < w.max_depth + 64)
		w.max_depth = rl.rlim_cur > 128 ? (unsigned)rl.rlim_cur - 64 : 64;

	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = -1;
	if (fd < 0)
		perr_sys(err, errno, "opening %s", root);
	else
		rc = walk_dir(&w, fd, 0);
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < w.nmountpoints; i++)
		free(w.mountpoints[i]);
	free(w.mountpoints);
	return rc;
}

/* The root mount, as remove_tree recognises it: by mount id, or, on
 * kernels without STATX_MNT_ID (before 5.8), by device. */
struct root_mount {
	bool use_mnt_id;
	uint64_t mnt_id;
	unsigned dev_major, dev_minor;
};

static bool on_root_mount(const struct root_mount *rm, const struct statx *sx)
{
	if (rm->use_mnt_id)
		return sx->stx_mnt_id == rm->mnt_id;
	return sx->stx_dev_major == rm->dev_major && sx->stx_dev_minor == rm->dev_minor;
}

/* Removes path and, for a directory, everything in it, without following
 * symlinks. Only on the root mount. Returns 1 removed, 0 absent, -1 error. */
static int remove_tree(int parent, const char *name, const struct root_mount *rm,
		       const char *shown, struct perr *err)
{
	struct statx sx;
	if (statx(parent, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MNT_ID, &sx) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0
			: perr_sys(err, errno, "inspecting %s", shown);
	if (!on_root_mount(rm, &sx))
		return 0; /* a mount of the host's: not ours to remove */
	if (S_ISDIR(sx.stx_mode)) {
		int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return failed(err, errno, CAP_DAC_READ_SEARCH, "opening %s", shown);
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			return perr_sys(err, errno, "opening %s", shown);
		}
		struct dirent *de;
		int rc = 0;
		while (rc >= 0 && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			rc = remove_tree(dirfd(d), de->d_name, rm, shown, err);
		}
		closedir(d);
		if (rc < 0)
			return -1;
		if (unlinkat(parent, name, AT_REMOVEDIR) < 0)
			return failed(err, errno, CAP_DAC_OVERRIDE, "removing %s", shown);
		return 1;
	}
	/* From a directory of another user's, root needs CAP_DAC_OVERRIDE. */
	if (unlinkat(parent, name, 0) < 0)
		return failed(err, errno, CAP_DAC_OVERRIDE, "removing %s", shown);
	return 1;
}

int strip_sudo(const char *root, struct strip_stats *stats, struct perr *err)
{
	static const char *const dirs[] = { "usr/local/sbin", "usr/local/bin", "usr/sbin",
					    "usr/bin", "sbin", "bin" };
	static const char *const tools[] = { "sudo", "sudoedit", "sudoreplay", "visudo",
					     "doas", "pkexec" };
	static const char *const configs[] = { "etc/sudoers", "etc/sudoers.d", "etc/doas.conf",
					       "usr/local/etc/doas.conf" };
	struct statvfs vfs;
	if (statvfs(root, &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) {
		stats->readonly = true;
		return 0;
	}
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return perr_sys(err, errno, "opening %s", root);
	/* Without knowing the root's mount, sudo in a host directory mounted
	 * over /usr/bin would be removed: fail instead. */
	struct statx sx;
	if (statx(rootfd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0) {
		int e = errno;
		close(rootfd);
		return perr_sys(err, e, "inspecting %s", root);
	}
	struct root_mount rm = {
		.use_mnt_id = sx.stx_mask & STATX_MNT_ID,
		.mnt_id = sx.stx_mnt_id,
		.dev_major = sx.stx_dev_major,
		.dev_minor = sx.stx_dev_minor,
	};
	int rc = 0;
	char rel[PATH_MAX], shown[PATH_MAX + 2];
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]) && rc >= 0; d++) {
		for (size_t t = 0; t < sizeof(tools) / sizeof(tools[0]) && rc >= 0; t++) {
			snprintf(rel, sizeof(rel), "%s/%s", dirs[d], tools[t]);
			snprintf(shown, sizeof(shown), "/%s", rel);
			rc = remove_tree(rootfd, rel, &rm, shown, err);
			if (rc > 0)
				stats->removed++;
		}
	}
	for (size_t c = 0; c < sizeof(configs) / sizeof(configs[0]) && rc >= 0; c++) {
		snprintf(shown, sizeof(shown), "/%s", configs[c]);
		rc = remove_tree(rootfd, configs[c], &rm, shown, err);
		if (rc > 0)
			stats->removed++;
	}
	close(rootfd);
	return rc < 0 ? -1 : 0;
}
