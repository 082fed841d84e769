#include "session.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../caps/privs.h"
#include "../caps/seccomp.h"
#include "../caps/user.h"
#include "../lib/log.h"
#include "../lib/text.h"
#include "launch.h"
#include "rundir.h"

static bool printable_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

long session_terms_format(const struct config *cfg, char *buf, size_t size, struct perr *err)
{
	if (!printable_word(cfg->user) || strlen(cfg->user) >= SESSION_USER_MAX)
		return perr_set(err, "the agent's user \"%.40s\" cannot be written for palisade exec",
				cfg->user);
	if (cfg->n_seccomp_allow > SESSION_ALLOW_MAX)
		return perr_set(err, "more than %d --seccomp-allow names", SESSION_ALLOW_MAX);
	struct text t;
	text_init(&t, buf, size);
	textf(&t, "# palisade exec applies these to itself: the agent's user and filter\n");
	textf(&t, "user %s\nseccomp %s\n", cfg->user, cfg->no_seccomp ? "off" : "on");
	for (size_t i = 0; i < cfg->n_seccomp_allow; i++) {
		const char *n = cfg->seccomp_allow[i];
		if (!printable_word(n) || strlen(n) >= SESSION_NAME_MAX)
			return perr_set(err, "--seccomp-allow \"%.40s\" cannot be written for palisade "
					"exec", n);
		textf(&t, "allow %s\n", n);
	}
	if (t.used >= size)
		return perr_set(err, "the terms for palisade exec do not fit in %zu bytes", size);
	return (long)t.used;
}

int session_terms_parse(const char *text, struct session_terms *t, struct perr *err)
{
	memset(t, 0, sizeof(*t));
	bool have_user = false, have_seccomp = false;
	unsigned lineno = 0;
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		lineno++;
		char l[SESSION_USER_MAX + 16];
		if (len >= sizeof(l))
			return perr_set(err, "%s/%s line %u is too long", RUN_DIR, RUN_AGENT, lineno);
		memcpy(l, line, len);
		l[len] = '\0';
		line = nl ? nl + 1 : line + len;
		if (l[0] == '\0' || l[0] == '#')
			continue;
		char *sp = strchr(l, ' ');
		const char *value = sp ? sp + 1 : "";
		if (sp)
			*sp = '\0';
		if (!printable_word(value))
			return perr_set(err, "%s/%s line %u: \"%s\" has no value", RUN_DIR, RUN_AGENT,
					lineno, l);
		if (strcmp(l, "user") == 0 && !have_user) {
			if (strlen(value) >= sizeof(t->user))
				return perr_set(err, "%s/%s line %u: the user is too long", RUN_DIR,
						RUN_AGENT, lineno);
			strcpy(t->user, value);
			have_user = true;
		} else if (strcmp(l, "seccomp") == 0 && !have_seccomp &&
			   (strcmp(value, "on") == 0 || strcmp(value, "off") == 0)) {
			t->seccomp = strcmp(value, "on") == 0;
			have_seccomp = true;
		} else if (strcmp(l, "allow") == 0 && t->nallow < SESSION_ALLOW_MAX &&
			   strlen(value) < SESSION_NAME_MAX) {
			strcpy(t->allow[t->nallow++], value);
		} else {
			return perr_set(err, "%s/%s line %u: \"%s %s\" is not what palisade writes "
					"there", RUN_DIR, RUN_AGENT, lineno, l, value);
		}
	}
	if (!have_user || !have_seccomp)
		return perr_set(err, "%s/%s names no %s", RUN_DIR, RUN_AGENT,
				have_user ? "seccomp setting" : "user");
	return 0;
}

/* A process that is not root keeps the groups docker exec gave it: root's
 * group among them is refused, as it is for the agent. */
static int check_groups(struct perr *err)
{
	if (getgid() == 0 || getegid() == 0)
		return perr_set(err, "this session's group is root (gid 0): run docker exec -u "
				"UID:GID with the agent's group");
	gid_t groups[256];
	int n = getgroups(256, groups);
	if (n < 0)
		return perr_sys(err, errno, "getgroups");
	for (int i = 0; i < n; i++)
		if (groups[i] == 0)
			return perr_set(err, "this session is a member of root's group (gid 0): run "
					"docker exec -u UID:GID with the agent's groups");
	return 0;
}

static int exec_fail(const struct perr *err)
{
	log_error("exec: %s", err->msg);
	return EXIT_SETUP;
}

int session_exec(int argc, char **argv, char **envp)
{
	struct perr err = PERR_INIT;
	int i = 1;
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	else if (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		perr_set(&err, "unknown option \"%s\": palisade exec [--] COMMAND [ARG...] takes "
			 "the agent's terms from PID 1, and no options", argv[i]);
		return exec_fail(&err);
	}
	if (i >= argc) {
		perr_set(&err, "no command: palisade exec [--] COMMAND [ARG...]");
		return exec_fail(&err);
	}
	char **cmd = argv + i;

	/* Where PID 1 is another program, nothing fences the container, and
	 * files in RUN_DIR (from an image that kept them) say nothing. */
	if (launch_check_fenced(&err) < 0)
		return exec_fail(&err);
	/* The terms PID 1 wrote; without them, nothing runs. */
	char text[8192];
	if (rundir_read(RUN_AGENT, text, sizeof(text), &err) < 0) {
		if (err.err == ENOENT)
			perr_prefix(&err, "palisade is not this container's PID 1, or its fence is "
				    "not up yet (%s/%s appears then)", RUN_DIR, RUN_READY);
		return exec_fail(&err);
	}
	struct session_terms t;
	if (session_terms_parse(text, &t, &err) < 0)
		return exec_fail(&err);
	const char *allow[SESSION_ALLOW_MAX];
	for (size_t k = 0; k < t.nallow; k++)
		allow[k] = t.allow[k];

	/* Root (docker exec without -u) becomes the agent, as PID 1 makes
	 * it, with an empty bounding set; another user (docker exec -u) stays
	 * itself and gives up only what it holds. */
	struct agent_user user = { 0 };
	bool root = geteuid() == 0;
	char **env = envp;
	if (root) {
		if (user_resolve(t.user, PASSWD_FILE, GROUP_FILE, &user, &err) < 0)
			return exec_fail(&err);
		if (!(env = child_env(envp, user.home, user.name))) {
			user_free(&user);
			perr_code(&err, ENOMEM, "out of memory");
			return exec_fail(&err);
		}
	}

	/* From here on the process is changed: a failure ends it at once
	 * (_exit, so nothing runs at exit in a half-dropped process). */
	int rc = root ? privs_become_user(&user, &err)
		      : (check_groups(&err) < 0 ? -1 : privs_drop_unprivileged(&err));
	if (rc == 0 && !sc_allows_ptrace(allow, t.nallow) && privs_scope_ptrace(&err) < 0)
		rc = -1;
	if (rc == 0 && t.seccomp && sc_load(SC_AGENT, allow, t.nallow, &err) < 0)
		rc = -1;
	if (rc == 0)
		rc = root ? privs_verify(&user, t.seccomp, &err)
			  : privs_verify_unprivileged(t.seccomp, &err);
	if (rc < 0)
		_exit(exec_fail(&err));

	/* execvp searches the PATH of environ, so the command's own. */
	extern char **environ;
	environ = env;
	execvp(cmd[0], cmd);
	int e = errno;
	if (e == ENOENT || e == ENOTDIR) {
		perr_set(&err, "%s: command not found (check the PATH and the name)", cmd[0]);
		exec_fail(&err);
		_exit(EXIT_NOT_FOUND);
	}
	perr_sys(&err, e, "%s: cannot execute", cmd[0]);
	exec_fail(&err);
	_exit(EXIT_CANNOT_RUN);
}
