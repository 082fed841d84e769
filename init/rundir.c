#include "rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/fdio.h"

static const char *const run_files[] = { RUN_READY, RUN_STATUS, RUN_AGENT };

/* A directory above RUN_DIR: root's; writable by others only when sticky,
 * so that nobody but root can rename what root made in it. */
static int check_parent(int fd, const char *path, struct perr *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return perr_sys(err, errno, "cannot inspect %s", path);
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))) {
		errno = EPERM;
		return perr_code(err, EPERM, "%s is not a root-owned directory that only root "
				 "can change (uid %u, mode %04o): palisade does not use %s", path,
				 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), RUN_DIR);
	}
	return 0;
}

static int check_dir(int fd, struct perr *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return perr_sys(err, errno, "cannot inspect %s", RUN_DIR);
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		errno = EPERM;
		return perr_code(err, EPERM, "%s is not a root-owned directory that only root "
				 "can write (uid %u, mode %04o): remove it from the image, or chown "
				 "root and chmod 0755 it", RUN_DIR, (unsigned)st.st_uid,
				 (unsigned)(st.st_mode & 07777));
	}
	return 0;
}

/* What an earlier run left, also in a directory that fails the checks:
 * unlinkat follows no link, and the files are palisade's names. */
static void clear_stale(int dirfd)
{
	for (size_t i = 0; i < sizeof(run_files) / sizeof(run_files[0]); i++) {
		char tmp[64];
		snprintf(tmp, sizeof(tmp), "%s.new", run_files[i]);
		(void)unlinkat(dirfd, run_files[i], 0);
		(void)unlinkat(dirfd, tmp, 0);
	}
}

int rundir_open(bool create, struct perr *err)
{
	int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return perr_sys(err, errno, "cannot open /");
	int rc = check_parent(root, "/", err);
	int run = -1, dir = -1;
	bool made_run = false;
	if (rc == 0 && create) {
		if (mkdirat(root, "run", 0755) == 0)
			made_run = true;
		else if (errno != EEXIST)
			rc = perr_sys(err, errno, "cannot make /run");
	}
	if (rc == 0) {
		run = openat(root, "run", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (run < 0)
			rc = perr_code(err, errno, "cannot open /run: %s%s", strerror(errno),
				       errno == ELOOP || errno == ENOTDIR ? " (not a directory)" : "");
	}
	if (rc == 0)
		rc = check_parent(run, "/run", err);
	if (rc == 0 && made_run && fchmod(run, 0755) < 0)
		rc = perr_sys(err, errno, "cannot chmod /run");
	if (rc == 0 && create && mkdirat(run, "palisade", 0755) < 0 && errno != EEXIST)
		rc = perr_sys(err, errno, "cannot make %s", RUN_DIR);
	if (rc == 0) {
		dir = openat(run, "palisade", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dir < 0 && (errno == ELOOP || errno == ENOTDIR)) {
			errno = EPERM;
			rc = perr_code(err, EPERM, "%s is not a root-owned directory that only "
				       "root can write (a symbolic link or another file): remove "
				       "it from the image", RUN_DIR);
		} else if (dir < 0) {
			rc = perr_sys(err, errno, "cannot open %s", RUN_DIR);
		}
	}
	if (dir >= 0 && create)
		clear_stale(dir);
	if (rc == 0)
		rc = check_dir(dir, err);
	int e = errno;
	if (run >= 0)
		close(run);
	close(root);
	if (rc < 0) {
		if (dir >= 0)
			close(dir);
		errno = e;
		return -1;
	}
	/* A umask must not hide the files from the agent's user (made 0700,
	 * say); a mode that is already right is left alone (a read-only
	 * root refuses even that). */
	struct stat st;
	if (create && (fstat(dir, &st) < 0 ||
		       ((st.st_mode & 07777) != 0755 && fchmod(dir, 0755) < 0))) {
		e = errno;
		close(dir);
		errno = e;
		return perr_sys(err, e, "cannot chmod %s", RUN_DIR);
	}
	return dir;
}

int rundir_write(int dirfd, const char *name, const char *data, size_t len, struct perr *err)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "%s.new", name);
	if (unlinkat(dirfd, tmp, 0) < 0 && errno != ENOENT)
		return perr_sys(err, errno, "%s/%s", RUN_DIR, tmp);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return perr_sys(err, errno, "cannot write %s/%s", RUN_DIR, name);
	int rc = 0;
	if (fchmod(fd, 0644) < 0 || write_full(fd, data, len) < 0)
		rc = perr_sys(err, errno, "cannot write %s/%s", RUN_DIR, name);
	if (close(fd) < 0 && rc == 0)
		rc = perr_sys(err, errno, "cannot write %s/%s", RUN_DIR, name);
	if (rc == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		rc = perr_sys(err, errno, "cannot write %s/%s", RUN_DIR, name);
	if (rc < 0) {
		int e = errno;
		(void)unlinkat(dirfd, tmp, 0);
		errno = e;
	}
	return rc;
}

long rundir_read(const char *name, char *buf, size_t size, struct perr *err)
{
	int dir = rundir_open(false, err);
	if (dir < 0)
		return -1;
	int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	int e = errno;
	close(dir);
	if (fd < 0) {
		errno = e;
		return perr_sys(err, e, "cannot read %s/%s", RUN_DIR, name);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return perr_sys(err, e, "cannot inspect %s/%s", RUN_DIR, name);
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		close(fd);
		errno = EPERM;
		return perr_code(err, EPERM, "%s/%s is not a regular file that only root can "
				 "write (uid %u, mode %04o): palisade did not write it", RUN_DIR,
				 name, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	}
	size_t got = 0;
	for (;;) {
		char extra;
		ssize_t n = got + 1 < size ? read(fd, buf + got, size - 1 - got) : read(fd, &extra, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			close(fd);
			errno = e;
			return perr_sys(err, e, "cannot read %s/%s", RUN_DIR, name);
		}
		if (n == 0)
			break;
		if (got + 1 >= size) {
			close(fd);
			errno = EFBIG;
			return perr_code(err, EFBIG, "%s/%s is larger than %zu bytes: palisade did not "
					 "write it", RUN_DIR, name, size - 1);
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return (long)got;
}
