#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_dir(const char *dir, const char *what, const char *file,
		     struct perr *err)
{
	struct stat st;
	if (lstat(dir, &st) < 0)
		return perr_sys(err, errno, "%s %s: cannot inspect directory %s", what, file, dir);
	if (st.st_uid != 0)
		return perr_set(err, "%s %s: refused: directory %s is owned by uid %u, not root, "
				"so the file could be replaced; move the file to a root-owned "
				"directory such as /etc/palisade", what, file, dir, (unsigned)st.st_uid);
	if (st.st_mode & S_IWOTH)
		return perr_set(err, "%s %s: refused: directory %s is writable by others, "
				"so the file could be replaced; run chmod o-w %s or move the file "
				"to /etc/palisade", what, file, dir, dir);
	if ((st.st_mode & S_IWGRP) && st.st_gid != 0)
		return perr_set(err, "%s %s: refused: directory %s is writable by group %u, "
				"so the file could be replaced; run chmod g-w %s or move the file "
				"to /etc/palisade", what, file, dir, (unsigned)st.st_gid, dir);
	return 0;
}

int safefile_open(const char *path, const char *what, struct perr *err)
{
	char real[PATH_MAX];
	if (!realpath(path, real))
		return perr_sys(err, errno, "%s %s: cannot read it", what, path);

	/* Every directory from / down to the file's own. */
	const char *last = strrchr(real, '/');
	if (!last)
		return perr_set(err, "%s %s: resolved to a relative path", what, path);
	for (size_t i = 0; i <= (size_t)(last - real); i++) {
		if (real[i] != '/')
			continue;
		char dir[PATH_MAX];
		size_t dl = i == 0 ? 1 : i;
		memcpy(dir, real, dl);
		dir[dl] = '\0';
		if (check_dir(dir, what, path, err) < 0)
			return -1;
	}

	int fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return perr_sys(err, errno, "%s %s: cannot read it", what, path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return perr_sys(err, e, "%s %s: cannot inspect it", what, path);
	}
	const char *bad = NULL;
	char fix[PATH_MAX + 64];
	if (!S_ISREG(st.st_mode)) {
		bad = "is not a regular file";
		snprintf(fix, sizeof(fix), "give a regular file");
	} else if (st.st_uid != 0) {
		bad = "is not owned by root, so the agent could change it";
		snprintf(fix, sizeof(fix), "run chown root %s", real);
	} else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		bad = "is writable by group or others, so the agent could change it";
		snprintf(fix, sizeof(fix), "run chmod go-w %s", real);
	}
	if (bad) {
		close(fd);
		return perr_set(err, "%s %s: refused: it %s; %s", what, path, bad, fix);
	}
	return fd;
}

int safefile_read_all(int fd, const char *path, size_t max, char **buf,
		      size_t *len, struct perr *err)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	if (!b)
		return perr_code(err, ENOMEM, "%s: out of memory", path);
	for (;;) {
		if (n == cap) {
			if (cap >= max + 1) {
				free(b);
				return perr_set(err, "%s: larger than %zu bytes; split it or trim it",
						path, max);
			}
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *nb = realloc(b, ncap);
			if (!nb) {
				free(b);
				return perr_code(err, ENOMEM, "%s: out of memory", path);
			}
			b = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(b);
			return perr_sys(err, e, "%s: read failed", path);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(b);
		return perr_set(err, "%s: larger than %zu bytes; split it or trim it", path, max);
	}
	*buf = b;
	*len = n;
	return 0;
}
