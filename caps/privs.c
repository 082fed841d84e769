#include "privs.h"

#include "seccomp.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/landlock.h>
#include <linux/securebits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Securebits the agent gets, each locked: uid 0 gains no capabilities
 * (NOROOT), changing uids never grants or keeps them implicitly
 * (NO_SETUID_FIXUP), and no ambient capability can be raised. KEEP_CAPS is
 * not locked: capng_change_id toggles it, and it is cleared at execve. */
#define AGENT_SECUREBITS                                                       \
	(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |       \
	 SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |         \
	 SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

int privs_become_user(const struct agent_user *u, struct perr *err)
{
	/* capng_change_id's CAPNG_INIT_SUPP_GRP would call initgroups (NSS)
	 * and CAPNG_DROP_SUPP_GRP would empty the list again: set the groups
	 * here and pass neither flag. */
	if (setgroups(u->ngroups, u->groups) < 0)
		return perr_sys(err, errno, "setgroups for user %s", u->name);
	if (prctl(PR_SET_SECUREBITS, AGENT_SECUREBITS, 0, 0, 0) < 0)
		return perr_code(err, errno, "locking the securebits: %s (is palisade root with "
				 "CAP_SETPCAP?)", strerror(errno));

	capng_clear(CAPNG_SELECT_ALL);
	int rc = capng_change_id((int)u->uid, (int)u->gid,
				 CAPNG_CLEAR_BOUNDING | CAPNG_CLEAR_AMBIENT);
	if (rc < 0)
		return perr_code(err, errno, "switching to user %s (uid %u, gid %u) failed: "
				 "capng_change_id returned %d (%s)", u->name, (unsigned)u->uid,
				 (unsigned)u->gid, rc, strerror(errno));

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return perr_sys(err, errno, "setting no_new_privs");

	/* Verify instead of trusting. */
	if (setuid(0) == 0 || seteuid(0) == 0)
		return perr_set(err, "setuid(0) still succeeds after the switch to %s: refusing "
				"to start the agent", u->name);
	if (setgid(0) == 0)
		return perr_set(err, "setgid(0) still succeeds after the switch to %s: refusing "
				"to start the agent", u->name);
	return 0;
}

int privs_drop_unprivileged(struct perr *err)
{
	if (capng_get_caps_process() < 0)
		return perr_sys(err, errno, "reading this process's capabilities");
	bool bounding = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	capng_clear(bounding ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS);
	if (capng_apply(bounding ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS) < 0)
		return perr_sys(err, errno, "dropping capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return perr_sys(err, errno, "clearing the ambient capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return perr_sys(err, errno, "setting no_new_privs");
	return 0;
}

int privs_landlock_abi(struct perr *err)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		int e = errno;
		if (e == ENOSYS)
			perr_code(err, e, "no Landlock here (the kernel has none)");
		else if (e == EOPNOTSUPP)
			perr_code(err, e, "no Landlock here (the kernel has it, but not enabled: "
				  "add landlock to its lsm= boot option)");
		else if (e == EPERM)
			perr_code(err, e, "no Landlock here (the container's seccomp profile "
				  "refuses it, as Docker's did before version 23)");
		else
			perr_code(err, e, "no Landlock here (%s)", strerror(e));
		return 0;
	}
	if (abi < 2) {
		perr_set(err, "no usable Landlock here (version 1 would also refuse every rename "
			 "between directories)");
		return 0;
	}
	return (int)abi;
}

int privs_scope_ptrace(struct perr *err)
{
	if (privs_landlock_abi(err) == 0)
		return 0;
	/* A domain must handle some file access: it handles only REFER
	 * (renames and links between directories), which any domain denies
	 * anyway, and grants it under /, so no file access changes. */
	struct landlock_ruleset_attr attr = { .handled_access_fs = LANDLOCK_ACCESS_FS_REFER };
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0)
		return perr_sys(err, errno, "Landlock: creating a ruleset");
	int root = open("/", O_PATH | O_CLOEXEC);
	if (root < 0) {
		int e = errno;
		close(rs);
		return perr_sys(err, e, "Landlock: opening /");
	}
	struct landlock_path_beneath_attr beneath = {
		.allowed_access = LANDLOCK_ACCESS_FS_REFER,
		.parent_fd = root,
	};
	long rc = syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0);
	int e = errno;
	close(root);
	if (rc == 0) {
		rc = syscall(SYS_landlock_restrict_self, rs, 0);
		e = errno;
	}
	close(rs);
	if (rc < 0)
		return perr_sys(err, e, "Landlock: confining ptrace to the agent's own processes");
	return 1;
}

int privs_restrict_pid1(const int *keep, size_t nkeep, bool no_seccomp, struct perr *err)
{
	/* uid 0 stays uid 0, so exec must not restore capabilities: NOROOT. */
	if (prctl(PR_SET_SECUREBITS, AGENT_SECUREBITS | SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0) < 0)
		return perr_sys(err, errno, "PID 1: locking the securebits");
	capng_clear(CAPNG_SELECT_ALL);
	for (size_t i = 0; i < nkeep; i++)
		if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
				 (unsigned)keep[i]) < 0)
			return perr_set(err, "PID 1: keeping capability %d failed", keep[i]);
	/* The bounding set is applied first, while CAP_SETPCAP is still held. */
	if (capng_apply(CAPNG_SELECT_ALL) < 0)
		return perr_sys(err, errno, "PID 1: dropping capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return perr_sys(err, errno, "PID 1: setting no_new_privs");
	if (!no_seccomp && sc_load(SC_PID1, NULL, 0, err) < 0)
		return perr_prefix(err, "PID 1");
	return 0;
}

static int parse_hex(const char *s, unsigned long long *out)
{
	char *end;
	errno = 0;
	*out = strtoull(s, &end, 16);
	return errno || end == s ? -1 : 0;
}

int proc_status_parse(const char *text, struct proc_status *st)
{
	memset(st, 0, sizeof(*st));
	st->no_new_privs = -1;
	st->seccomp = -1;
	int caps = 0, ids = 0;
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		char buf[256];
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		memcpy(buf, line, n);
		buf[n] = '\0';
		line = nl ? nl + 1 : NULL;

		char *colon = strchr(buf, ':');
		if (!colon)
			continue;
		*colon = '\0';
		const char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		struct { const char *key; unsigned long long *dst; } capf[] = {
			{ "CapInh", &st->cap_inh }, { "CapPrm", &st->cap_prm },
			{ "CapEff", &st->cap_eff }, { "CapBnd", &st->cap_bnd },
			{ "CapAmb", &st->cap_amb },
		};
		for (size_t i = 0; i < 5; i++)
			if (strcmp(buf, capf[i].key) == 0 && parse_hex(v, capf[i].dst) == 0)
				caps++;
		if (strcmp(buf, "NoNewPrivs") == 0) {
			st->no_new_privs = atoi(v);
			st->have_nnp = true;
		} else if (strcmp(buf, "Seccomp") == 0) {
			st->seccomp = atoi(v);
			st->have_seccomp = true;
		} else if (strcmp(buf, "Uid") == 0) {
			if (sscanf(v, "%u %u %u %u", &st->uid[0], &st->uid[1], &st->uid[2],
				   &st->uid[3]) == 4)
				ids |= 1;
		} else if (strcmp(buf, "Gid") == 0) {
			if (sscanf(v, "%u %u %u %u", &st->gid[0], &st->gid[1], &st->gid[2],
				   &st->gid[3]) == 4)
				ids |= 2;
		}
	}
	st->have_ids = ids == 3;
	st->have_caps = caps == 5;
	return st->have_caps && st->have_nnp && st->have_seccomp && st->have_ids ? 0 : -1;
}

int proc_status_read(const char *path, struct proc_status *st, struct perr *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return perr_code(err, errno, "cannot read %s to verify privileges: %s (is /proc "
				 "mounted?)", path, strerror(errno));
	char buf[8192];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[got] = '\0';
	if (proc_status_parse(buf, st) < 0)
		return perr_set(err, "%s lacks the capability, NoNewPrivs, Seccomp or Uid lines "
				"palisade checks", path);
	return 0;
}

int privs_verify(const struct agent_user *u, bool want_seccomp, struct perr *err)
{
	struct proc_status st;
	if (proc_status_read("/proc/self/status", &st, err) < 0)
		return -1;
	struct { const char *name; unsigned long long v; } caps[] = {
		{ "CapInh", st.cap_inh }, { "CapPrm", st.cap_prm }, { "CapEff", st.cap_eff },
		{ "CapBnd", st.cap_bnd }, { "CapAmb", st.cap_amb },
	};
	for (size_t i = 0; i < 5; i++)
		if (caps[i].v != 0)
			return perr_set(err, "verification failed: %s is %016llx, not 0, just before "
					"exec", caps[i].name, caps[i].v);
	for (int i = 0; i < 4; i++) {
		if (st.uid[i] != (unsigned)u->uid)
			return perr_set(err, "verification failed: uid %u is not %u just before exec",
					st.uid[i], (unsigned)u->uid);
		if (st.gid[i] != (unsigned)u->gid)
			return perr_set(err, "verification failed: gid %u is not %u just before exec",
					st.gid[i], (unsigned)u->gid);
	}
	if (st.no_new_privs != 1)
		return perr_set(err, "verification failed: NoNewPrivs is %d, not 1", st.no_new_privs);
	if (want_seccomp && st.seccomp != 2)
		return perr_set(err, "verification failed: Seccomp is %d, not 2 (filter)", st.seccomp);
	return 0;
}

int privs_verify_unprivileged(bool want_seccomp, struct perr *err)
{
	struct proc_status st;
	if (proc_status_read("/proc/self/status", &st, err) < 0)
		return -1;
	struct { const char *name; unsigned long long v; } caps[] = {
		{ "CapInh", st.cap_inh }, { "CapPrm", st.cap_prm }, { "CapEff", st.cap_eff },
		{ "CapAmb", st.cap_amb },
	};
	for (size_t i = 0; i < 4; i++)
		if (caps[i].v != 0)
			return perr_set(err, "verification failed: %s is %016llx, not 0, just before "
					"exec", caps[i].name, caps[i].v);
	for (int i = 0; i < 4; i++)
		if (st.uid[i] == 0)
			return perr_set(err, "verification failed: one of the uids is 0 (real %u, "
					"effective %u, saved %u, file system %u)", st.uid[0], st.uid[1],
					st.uid[2], st.uid[3]);
	if (st.no_new_privs != 1)
		return perr_set(err, "verification failed: NoNewPrivs is %d, not 1", st.no_new_privs);
	if (want_seccomp && st.seccomp != 2)
		return perr_set(err, "verification failed: Seccomp is %d, not 2 (filter)", st.seccomp);
	return 0;
}

int privs_verify_pid1(const int *keep, size_t nkeep, bool want_seccomp, struct perr *err)
{
	struct proc_status st;
	if (proc_status_read("/proc/self/status", &st, err) < 0)
		return -1;
	unsigned long long want = 0;
	for (size_t i = 0; i < nkeep; i++)
		want |= 1ULL << keep[i];
	if (st.cap_eff != want || st.cap_prm != want || st.cap_bnd != want || st.cap_inh ||
	    st.cap_amb)
		return perr_set(err, "PID 1 verification failed: capabilities eff %llx prm %llx bnd "
				"%llx inh %llx amb %llx, expected %llx", st.cap_eff, st.cap_prm,
				st.cap_bnd, st.cap_inh, st.cap_amb, want);
	if (st.no_new_privs != 1)
		return perr_set(err, "PID 1 verification failed: NoNewPrivs is %d", st.no_new_privs);
	if (want_seccomp && st.seccomp != 2)
		return perr_set(err, "PID 1 verification failed: Seccomp is %d", st.seccomp);
	return 0;
}
