/* The agent's user, read from the image's /etc/passwd and /etc/group with
 * fgetpwent/fgetgrent: a static binary has no NSS, so never getpwnam. */
#ifndef PALISADE_USER_H
#define PALISADE_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../lib/err.h"

struct agent_user {
	uid_t uid;
	gid_t gid;
	char *name;    /* passwd name, or the uid as text when not in passwd */
	char *home;    /* passwd home, or "/" */
	gid_t *groups; /* supplementary groups, the primary gid included */
	size_t ngroups;
	bool in_passwd;
};

/* Resolves "USER[:GROUP]", each a name or a number. A uid or gid of 0, or
 * membership of group 0, is refused: the agent never runs as root. A number
 * that passwd does not list is accepted (gid = uid unless a group is given,
 * home "/"); a name that it does not list is an error. */
int user_resolve(const char *spec, const char *passwd_path,
		 const char *group_path, struct agent_user *u, struct perr *err);

void user_free(struct agent_user *u);

#endif
