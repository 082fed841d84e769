/* palisade: PID 1 of an AI coding agent's container. It reads the
 * allowlist, fences the container in, gives up every privilege, runs the
 * agent as an unprivileged user, and supervises it like an init. */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <linux/openat2.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../caps/need.h"
#include "../caps/privs.h"
#include "../caps/seccomp.h"
#include "../caps/strip.h"
#include "../caps/user.h"
#include "../dns/dnsproxy.h"
#include "../fw/conntrack.h"
#include "../fw/pktlog.h"
#include "../lib/capmsg.h"
#include "../lib/log.h"
#include "../lib/text.h"
#include "config.h"
#include "dnsfilter.h"
#include "../lib/loop.h"
#include "plan.h"
#include "policy.h"
#include "rundir.h"
#include "session.h"
#include "status.h"
#include "supervise.h"

#ifndef PALISADE_VERSION
#define PALISADE_VERSION "unknown"
#endif


/* The only capabilities PID 1 keeps once the agent runs: the agent is
 * another user, and forwarding signals to it needs CAP_KILL; the DNS filter
 * adds the addresses of allowed names to the sets, which needs
 * CAP_NET_ADMIN. */
static const int pid1_caps[] = { CAP_KILL, CAP_NET_ADMIN };
#define PID1_NCAPS (sizeof(pid1_caps) / sizeof(pid1_caps[0]))

/* The longest command or user name the startup line shows whole. */
#define SUMMARY_NAME_MAX 200

struct spawn_ctx {
	const struct agent_user *user;
	const struct config *cfg;
};

/* In the child, between fork and exec: the agent's user, no capabilities,
 * no_new_privs, ptrace confined to its own processes (unless
 * --allow-ptrace), then the system call filter, loaded last, and a check
 * of all of it in /proc/self/status. */
static int child_setup(void *arg, struct perr *err)
{
	const struct spawn_ctx *c = arg;
	if (privs_become_user(c->user, err) < 0)
		return -1;
	if (!sc_allows_ptrace(c->cfg->seccomp_allow, c->cfg->n_seccomp_allow) &&
	    privs_scope_ptrace(err) < 0)
		return -1;
	if (!c->cfg->no_seccomp &&
	    sc_load(SC_AGENT, c->cfg->seccomp_allow, c->cfg->n_seccomp_allow, err) < 0)
		return -1;
	return privs_verify(c->user, !c->cfg->no_seccomp, err);
}

/* In PID 1, while the child waits: PID 1 keeps only pid1_caps. */
static int parent_setup(void *arg, struct perr *err)
{
	const struct spawn_ctx *c = arg;
	if (privs_restrict_pid1(pid1_caps, PID1_NCAPS, c->cfg->no_seccomp, err) < 0)
		return -1;
	return privs_verify_pid1(pid1_caps, PID1_NCAPS, !c->cfg->no_seccomp, err);
}

static int fail(const struct perr *err)
{
	log_error("%s", err->msg);
	return EXIT_SETUP;
}

/* --check: the plan, with names resolved, and nothing changed. */
static int check(const struct config *cfg, const struct agent_user *user)
{
	struct perr err;
	printf("palisade %s plan (--check: nothing is changed)\n", PALISADE_VERSION);
	plan_print_config(stdout, cfg, user);
	fflush(stdout);
	struct policy pol;
	int rc = policy_build(&pol, cfg, fence_kernel_has_v6(), &err);
	if (rc == 0)
		policy_print(&pol, stdout);
	policy_free(&pol);
	if (rc < 0)
		return fail(&err);
	return 0;
}

/* One file in RUN_DIR; a failure is a warning, except on a read-only root,
 * where nothing waits on it. */
static bool run_write(int rundir, const char *name, const char *data, size_t len,
		      const char *consequence)
{
	struct perr err;
	if (rundir_write(rundir, name, data, len, &err) == 0)
		return true;
	if (errno == EROFS)
		log_debug("%s", err.msg);
	else
		log_warn("%s%s", err.msg, consequence);
	return false;
}

/* What PID 1 leaves in RUN_DIR once the fence is up and the root
 * filesystem stripped, for whoever comes next to it: the agent's terms for
 * palisade exec, the status, and last the ready marker (the startup line).
 * The directory was checked and emptied of an earlier run's files at
 * start. */
static void ready_mark(int rundir, const struct config *cfg, struct dnsfilter *filter,
		       const char *summary)
{
	if (rundir < 0)
		return;
	struct perr err;
	char terms[4096];
	long tl = session_terms_format(cfg, terms, sizeof(terms), &err);
	if (tl < 0)
		log_warn("%s: palisade exec will refuse to run", err.msg);
	else
		run_write(rundir, RUN_AGENT, terms, (size_t)tl, ": palisade exec will refuse to run");
	dnsfilter_set_status_dir(filter, rundir);
	char line[2048];
	int n = snprintf(line, sizeof(line), "%s\n", summary);
	if (n < 0 || (size_t)n >= sizeof(line))
		log_warn("the startup line is too long for %s/%s", RUN_DIR, RUN_READY);
	else
		run_write(rundir, RUN_READY, line, (size_t)n, "");
}

static void strip_summary(const struct strip_stats *st, struct text *t)
{
	if (st->readonly) {
		textf(t, "; the root filesystem is read-only: nothing stripped (no_new_privs "
			 "still holds)");
		return;
	}
	textf(t, "; stripped %zu set-uid, %zu set-gid and %zu file-capability bits of %zu files",
	      st->setuid, st->setgid, st->filecaps, st->files);
	if (st->removed)
		textf(t, "; removed %zu sudo, doas and pkexec files", st->removed);
}

/* What PID 1 runs besides the supervisor once the fence is up: the DNS
 * filter, the log of refused packets, and the audit report's file. */
struct live {
	struct policy pol;
	bool have_pol;
	struct dnsproxy *proxy;
	struct dnsfilter *filter;
	struct pktlog *nflog;
	int report_fd;
	int rundir;             /* RUN_DIR, checked, or -1 */
	struct loop *loop;
};

static void live_free(struct live *lv)
{
	dnsproxy_close(lv->proxy);
	dnsfilter_free(lv->filter);
	pktlog_close(lv->nflog);
	if (lv->report_fd >= 0)
		close(lv->report_fd);
	if (lv->rundir >= 0)
		close(lv->rundir);
	if (lv->have_pol)
		policy_free(&lv->pol);
}

/* The audit report's file, opened while PID 1 may still create it
 * anywhere: no symbolic link on the way (the path may be in a workspace the
 * agent wrote to in an earlier run of the container). */
static int open_report(const char *path, struct perr *err)
{
	struct open_how how = {
		.flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		.mode = 0644,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0 && errno == EACCES) { /* in a directory of another user's */
		char what[PATH_MAX + 64];
		snprintf(what, sizeof(what), "--audit-report %s: cannot create it", path);
		return cap_refused(err, CAP_DAC_OVERRIDE, cap_held(CAP_DAC_OVERRIDE), what);
	}
	if (fd < 0)
		return perr_set(err, "--audit-report %s: cannot create it: %s%s", path,
				strerror(errno), errno == ELOOP ? " (a symbolic link is on its path)"
								: "");
	return fd;
}

/* The DNS filter: listening, resolv.conf pointed at it, and the log of
 * refused packets. Before privileges are dropped: port 53, netlink. */
static int live_start(struct live *lv, const struct config *cfg, bool no_v6,
		      struct perr *err)
{
	struct resolvers *rs = &lv->pol.resolvers;
	lv->proxy = dnsproxy_open(rs->v, rs->n, !no_v6, err);
	if (!lv->proxy)
		return -1;
	if (rs->n == 0)
		log_debug("%s names no resolver: the DNS filter has nowhere to forward allowed "
			 "names, and answers SERVFAIL", RESOLV_CONF);
	char text[RESOLVCONF_MAX], out[RESOLVCONF_MAX + 512];
	int tl = resolvconf_load(RESOLV_CONF, text, sizeof(text));
	if (tl < 0)
		return perr_set(err, "cannot read %s: %s", RESOLV_CONF, strerror(errno));
	ssize_t ol = resolvconf_filtered(text, rs, dnsproxy_has_v6(lv->proxy), out, sizeof(out));
	if (ol < 0)
		return perr_set(err, "%s is too long to rewrite", RESOLV_CONF);
	if (resolvconf_write(RESOLV_CONF, out, (size_t)ol) < 0) {
		if (errno == EACCES) /* a file of another user's */
			return cap_refused(err, CAP_DAC_OVERRIDE, cap_held(CAP_DAC_OVERRIDE),
					   "cannot point " RESOLV_CONF " at palisade's DNS filter");
		if (errno != EROFS)
			return perr_set(err, "cannot point %s at palisade's DNS filter: %s",
					RESOLV_CONF, strerror(errno));
		/* Fail closed: the resolvers the file names refuse the agent. */
		log_warn("%s is read-only: the agent's DNS queries go to the resolvers it "
			 "names, which the fence refuses, so the agent resolves no names; "
			 "mount a writable %s to let it use palisade's DNS filter",
			 RESOLV_CONF, RESOLV_CONF);
	}
	log_debug("%s points at 127.0.0.1%s; upstreams: %zu", RESOLV_CONF,
		  dnsproxy_has_v6(lv->proxy) ? " and ::1" : "", rs->n);
	lv->filter = dnsfilter_new(cfg, &lv->pol, err);
	if (!lv->filter)
		return -1;
	lv->nflog = pktlog_open(NFLOG_GROUP, err);
	if (!lv->nflog)
		return -1;
	return 0;
}

static void on_nflog(void *arg, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	struct live *lv = arg;
	struct perr err;
	size_t dropped = 0;
	if (pktlog_read(lv->nflog, dnsfilter_on_nflog, lv->filter, &dropped, &err) < 0)
		log_warn("reading refused packets: %s", err.msg);
	if (dropped)
		log_warn("%zu refused packets were not logged (too many at once)", dropped);
}

static void live_tick(void *arg)
{
	struct live *lv = arg;
	dnsproxy_tick(lv->proxy);
	dnsfilter_tick(lv->filter);
}

static int live_attach(struct live *lv, struct loop *l, struct perr *err)
{
	lv->loop = l;
	if (dnsproxy_attach(lv->proxy, l, &dnsfilter_ops, lv->filter, err) < 0)
		return -1;
	return loop_add(l, pktlog_fd(lv->nflog), EPOLLIN, on_nflog, lv, err);
}

static int run_fenced(struct config *cfg, const struct agent_user *user, char **envp,
		      struct supervisor *supp, struct live *lv);

/* Everything after configuration: fence, strip, drop, run, supervise. Only
 * reached as PID 1 and root. Returns palisade's exit status. */
static int run_as_pid1(struct config *cfg, const struct agent_user *user,
		       char **envp)
{
	struct perr err;

	/* The agent must not read PID 1's memory or environment. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		perr_set(&err, "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
		return fail(&err);
	}

	struct supervisor sup;
	if (supervise_init(&sup, cfg->kill_group, &err) < 0)
		return fail(&err);
	struct live lv = { .report_fd = -1, .rundir = -1 };
	int rc = run_fenced(cfg, user, envp, &sup, &lv);
	live_free(&lv);
	return rc;
}

static int run_fenced(struct config *cfg, const struct agent_user *user, char **envp,
		      struct supervisor *supp, struct live *lv)
{
	struct perr err;
	struct supervisor sup = *supp;
	/* 0. Every capability that every start needs, before any change. */
	if (caps_preflight(user->name, &err) < 0)
		return fail(&err);
	if (cfg->audit_report && (lv->report_fd = open_report(cfg->audit_report, &err)) < 0)
		return fail(&err);

	/* RUN_DIR: checked, and emptied of what an earlier run of the
	 * container left (a restarted container keeps its files). */
	lv->rundir = rundir_open(true, &err);
	if (lv->rundir < 0) {
		/* A read-only root: nothing waits on the files there. */
		if (errno == EROFS)
			log_debug("%s: no ready marker, status or palisade exec", err.msg);
		else
			log_warn("%s: no %s/%s, palisade status or palisade exec", err.msg, RUN_DIR,
				 RUN_READY);
	}

	/* 1. The fence: checked first, so that a kernel or container without
	 * what it needs fails before anything is changed. */
	bool no_v6;
	enum fence_backend backend;
	char why[128];
	log_debug("checking the kernel: nf_tables, or filter tables and ip_set; NET_ADMIN");
	if (fence_probe(cfg->backend, &no_v6, &backend, why, sizeof(why), &err) < 0)
		return fail(&err);
	log_debug("fence backend: %s (%s)", fence_backend_name(backend), why);
	if (no_v6)
		log_info("this container has no IPv6: only IPv4 needs a fence");
	struct policy *pol = &lv->pol;
	log_debug("resolving the allowlist's names (at most %u ms)", cfg->resolve_timeout_ms);
	lv->have_pol = true;
	if (policy_build(pol, cfg, !no_v6, &err) < 0)
		return fail(&err);
	pol->plan.backend = backend;
	log_debug("resolved %zu names; installing 6 sets and %zu + %zu rules", pol->nnames,
		  pol->plan.rules[0].n, pol->plan.rules[1].n);
	for (size_t i = 0; i < pol->nnames; i++)
		if (pol->resolved[i].status != 0)
			log_warn("%s did not resolve (%s): left out of the allowlist",
				 pol->names[i], pol->resolved[i].why);
	policy_log_refused(pol, cfg->audit);
	if (fence_install(&pol->plan, &err) < 0 || fence_verify(&pol->plan, &err) < 0)
		return fail(&err);
	log_debug("fence installed and read back: it matches the plan");
	if (conntrack_flush(!no_v6, &err) < 0)
		return fail(&err);
	if (live_start(lv, cfg, no_v6, &err) < 0)
		return fail(&err);
	/* One line, under the log's 2048 bytes: the command's and the user's
	 * names are shortened so that what the fence is stays in it. */
	char summary[2000];
	struct text t;
	text_init(&t, summary, sizeof(summary));
	textf(&t, "started ");
	text_short(&t, cfg->command[0], SUMMARY_NAME_MAX);
	textf(&t, " as ");
	text_short(&t, user->name, SUMMARY_NAME_MAX);
	textf(&t, " (uid %u); ", (unsigned)user->uid);
	policy_summary(pol, &t);
	textf(&t, "; DNS filter on 127.0.0.1%s%s", dnsproxy_has_v6(lv->proxy) ? " and ::1" : "",
	      cfg->audit ? "; AUDIT MODE: nothing is refused" : "");

	/* 2. Set-uid, set-gid and file capabilities on the root mount; sudo. */
	struct strip_stats st = { 0 };
	log_debug("stripping set-uid, set-gid and file capabilities on the root mount");
	if (strip_setid("/", &st, &err) < 0 || strip_sudo("/", &st, &err) < 0)
		return fail(&err);
	log_debug("walked %zu directories and %zu files, left %zu other mounts alone%s",
		  st.dirs, st.files, st.mounts,
		  st.no_mnt_id ? " (mounts found through /proc/self/mountinfo)" : "");
	if (st.too_deep)
		log_warn("%zu directories nested deeper than palisade walks were not stripped "
			 "(no_new_privs still holds)", st.too_deep);
	strip_summary(&st, &t);
	if (cfg->no_seccomp) {
		log_warn("--no-seccomp: the agent runs without a system call filter");
		textf(&t, "; no system call filter");
	} else {
		textf(&t, "; system call filter on");
	}

	/* The fence and the stripping hold for every process of the container
	 * from here on, docker exec sessions included: say so for whoever waits
	 * (a devcontainer's postStartCommand, a test). */
	ready_mark(lv->rundir, cfg, lv->filter, summary);

	/* 3. The agent's process: its user, no privileges, the filter; PID 1
	 * drops its own before the agent may exec. */
	char **env = child_env(envp, user->home, user->name);
	if (!env) {
		perr_set(&err, "out of memory");
		return fail(&err);
	}
	if (!sc_allows_ptrace(cfg->seccomp_allow, cfg->n_seccomp_allow) &&
	    privs_landlock_abi(&err) == 0)
		log_warn("%s: the agent cannot attach to other processes with ptrace, but can "
			 "still write the memory of those of its user through /proc/PID/mem; run "
			 "docker exec sessions through palisade exec", err.msg);
	struct spawn_ctx sctx = { .user = user, .cfg = cfg };
	int status;
	log_debug("starting %s: user %s, no capabilities, no_new_privs, %s; PID 1 keeps "
		  "CAP_KILL and CAP_NET_ADMIN only", cfg->command[0], user->name,
		  cfg->no_seccomp ? "no filter" : "system call filter");
	int rc = supervise_spawn(&sup, cfg->command, env, child_setup, parent_setup, &sctx,
				 &status, &err);
	child_env_free(env);
	if (rc < 0) {
		log_error("%s", err.msg);
		return status;
	}
	log_info("%s", summary);
	log_debug("the command runs as pid %d", (int)sup.child);

	/* The fence holds the addresses and networks now: PID 1 keeps only
	 * the names, for the DNS filter (all of it in audit mode, for the
	 * report). The policy's pointers into the list are not used again. */
	if (!cfg->audit)
		allowlist_keep_names(&cfg->allow);

	/* 4. Supervise until the command exits; serve DNS and log refusals
	 * meanwhile. */
	struct loop loop;
	if (loop_init(&loop, &err) < 0 || supervise_attach(&sup, &loop, &err) < 0 ||
	    live_attach(lv, &loop, &err) < 0 ||
	    loop_run(&loop, 200, live_tick, lv, &err) < 0) {
		log_error("%s", err.msg);
		return EXIT_SETUP;
	}
	loop_close(&loop);
	if (lv->report_fd >= 0) {
		int fd = lv->report_fd;
		lv->report_fd = -1; /* closed by dnsfilter_write_report */
		if (dnsfilter_write_report(lv->filter, fd, &err) < 0)
			log_error("--audit-report %s: %s", cfg->audit_report, err.msg);
		else
			log_info("audit report written to %s", cfg->audit_report);
	}
	return sup.exit_status;
}

int main(int argc, char **argv, char **envp)
{
	struct config cfg;
	struct agent_user user = { 0 };
	struct perr err;
	int status = EXIT_SETUP;

	/* `palisade status`, run with docker exec next to PID 1. As PID 1,
	 * "status" is a command like any other. */
	if (argc == 2 && strcmp(argv[1], "status") == 0 && getpid() != 1)
		return status_print(stdout);
	/* `palisade exec -- CMD`, run with docker exec: CMD as the agent runs. */
	if (argc >= 2 && strcmp(argv[1], "exec") == 0 && getpid() != 1)
		return session_exec(argc - 1, argv + 1, envp);

	if (config_parse(&cfg, argc, argv, envp, DEFAULT_ALLOW_FILE, &err) < 0) {
		fail(&err);
		goto out;
	}
	log_set_level(cfg.verbosity);
	if (cfg.help) {
		config_usage(STDOUT_FILENO);
		status = 0;
		goto out;
	}
	if (cfg.version) {
		printf("palisade %s\n", PALISADE_VERSION);
		status = 0;
		goto out;
	}
	if (cfg.list_presets) {
		plan_print_presets(stdout);
		status = 0;
		goto out;
	}

	if (sc_check_allow(cfg.seccomp_allow, cfg.n_seccomp_allow, &err) < 0 ||
	    user_resolve(cfg.user, PASSWD_FILE, GROUP_FILE, &user, &err) < 0) {
		fail(&err);
		goto out;
	}

	if (cfg.check) {
		status = check(&cfg, &user);
		goto out;
	}

	/* Only a container's first process acts, so that palisade run by hand
	 * on a workstation can never fence or strip the host. */
	if (getpid() != 1) {
		log_error("refusing to run: palisade is pid %d, not PID 1, and changes nothing "
			  "outside a container; use it as the container's ENTRYPOINT, or run "
			  "palisade --check to see the plan", (int)getpid());
		goto out;
	}
	if (geteuid() != 0) {
		log_error("palisade must start as root to fence the container (it runs the "
			  "command as %s itself); remove --user from docker run or USER from the "
			  "Dockerfile, and set PALISADE_USER instead", cfg.user);
		goto out;
	}
	status = run_as_pid1(&cfg, &user, envp);
out:
	user_free(&user);
	config_free(&cfg);
	if (fflush(stdout) != 0 && status == 0)
		status = EXIT_SETUP;
	return status;
}
