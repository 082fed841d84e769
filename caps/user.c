#include "user.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_id(const char *s, unsigned long *out)
{
	if (*s < '0' || *s > '9')
		return false;
	unsigned long v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 0x7fffffffUL) /* uid_t values at or above 2^31 are not portable */
			return false;
	}
	*out = v;
	return true;
}

static int set_str(char **dst, const char *src, struct perr *err)
{
	free(*dst);
	*dst = strdup(src);
	if (!*dst)
		return perr_code(err, ENOMEM, "out of memory");
	return 0;
}

/* Finds the passwd entry by name (byname) or uid. Returns 1 found, 0 not. */
static int find_passwd(const char *path, const char *name, uid_t uid, bool byname,
		       struct agent_user *u, struct perr *err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return perr_sys(err, errno, "cannot read %s to find the agent's user", path);
	int found = 0;
	struct passwd *pw;
	errno = 0;
	while ((pw = fgetpwent(f)) != NULL) {
		if (byname ? strcmp(pw->pw_name, name) == 0 : pw->pw_uid == uid) {
			u->uid = pw->pw_uid;
			u->gid = pw->pw_gid;
			if (set_str(&u->name, pw->pw_name, err) < 0 ||
			    set_str(&u->home, pw->pw_dir && pw->pw_dir[0] ? pw->pw_dir : "/", err) < 0) {
				fclose(f);
				return -1;
			}
			found = 1;
			break;
		}
		errno = 0;
	}
	int e = errno;
	fclose(f);
	if (!found && e != 0 && e != ENOENT)
		return perr_sys(err, e, "cannot read %s", path);
	return found;
}

/* Finds a group's gid by name. Returns 1 found, 0 not. */
static int find_group(const char *path, const char *name, gid_t *gid, struct perr *err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return perr_sys(err, errno, "cannot read %s to find group \"%s\"", path, name);
	struct group *gr;
	int found = 0;
	while ((gr = fgetgrent(f)) != NULL) {
		if (strcmp(gr->gr_name, name) == 0) {
			*gid = gr->gr_gid;
			found = 1;
			break;
		}
	}
	fclose(f);
	return found;
}

static int add_group(struct agent_user *u, gid_t g, struct perr *err)
{
	for (size_t i = 0; i < u->ngroups; i++)
		if (u->groups[i] == g)
			return 0;
	gid_t *n = realloc(u->groups, (u->ngroups + 1) * sizeof(*n));
	if (!n)
		return perr_code(err, ENOMEM, "out of memory");
	u->groups = n;
	u->groups[u->ngroups++] = g;
	return 0;
}

/* Supplementary groups: every group of group_path listing the user. A
 * missing group file means no supplementary groups. */
static int collect_groups(const char *path, struct agent_user *u, struct perr *err)
{
	if (add_group(u, u->gid, err) < 0)
		return -1;
	if (!u->in_passwd)
		return 0;
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return perr_sys(err, errno, "cannot read %s for the agent's groups", path);
	}
	struct group *gr;
	while ((gr = fgetgrent(f)) != NULL) {
		for (char **m = gr->gr_mem; m && *m; m++) {
			if (strcmp(*m, u->name) != 0)
				continue;
			if (gr->gr_gid == 0) {
				fclose(f);
				return perr_set(err, "user \"%s\" is a member of group %s (gid 0) in %s: "
						"the agent never runs with root's group; remove it from "
						"that group in the image", u->name, gr->gr_name, path);
			}
			if (add_group(u, gr->gr_gid, err) < 0) {
				fclose(f);
				return -1;
			}
			break;
		}
	}
	fclose(f);
	return 0;
}

int user_resolve(const char *spec, const char *passwd_path,
		 const char *group_path, struct agent_user *u, struct perr *err)
{
	memset(u, 0, sizeof(*u));
	char buf[512];
	if (strlen(spec) >= sizeof(buf))
		return perr_set(err, "user \"%.40s...\" is too long", spec);
	memcpy(buf, spec, strlen(spec) + 1);
	char *group = strchr(buf, ':');
	if (group)
		*group++ = '\0';
	if (buf[0] == '\0' || (group && group[0] == '\0'))
		return perr_set(err, "user \"%s\" is not USER or USER:GROUP", spec);

	unsigned long id = 0;
	bool numeric = parse_id(buf, &id);
	int found = find_passwd(passwd_path, buf, (uid_t)id, !numeric, u, err);
	if (found < 0)
		goto fail;
	if (!found) {
		if (!numeric) {
			perr_set(err, "user \"%s\" is not in %s; create it in the image (useradd) "
				 "or give a numeric uid", buf, passwd_path);
			goto fail;
		}
		u->uid = (uid_t)id;
		u->gid = (gid_t)id;
		if (set_str(&u->name, buf, err) < 0 || set_str(&u->home, "/", err) < 0)
			goto fail;
	} else {
		u->in_passwd = true;
	}

	if (group) {
		unsigned long gid;
		if (parse_id(group, &gid)) {
			u->gid = (gid_t)gid;
		} else {
			gid_t g = 0;
			int r = find_group(group_path, group, &g, err);
			if (r < 0)
				goto fail;
			if (r == 0) {
				perr_set(err, "group \"%s\" is not in %s; create it in the image "
					 "(groupadd) or give a numeric gid", group, group_path);
				goto fail;
			}
			u->gid = g;
		}
	}

	if (u->uid == 0) {
		perr_set(err, "user \"%s\" is uid 0: the agent never runs as root; choose an "
			 "unprivileged user, such as node or 1000", spec);
		goto fail;
	}
	if (u->gid == 0) {
		perr_set(err, "user \"%s\" has group 0 (root): the agent never runs with root's "
			 "group; give another group, such as %s:%u", spec, buf, (unsigned)u->uid);
		goto fail;
	}
	if (collect_groups(group_path, u, err) < 0)
		goto fail;
	return 0;
fail:
	user_free(u);
	return -1;
}

void user_free(struct agent_user *u)
{
	free(u->name);
	free(u->home);
	free(u->groups);
	memset(u, 0, sizeof(*u));
}
