#include "pid1.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../caps/need.h"
#include "../caps/privs.h"
#include "../caps/seccomp.h"
#include "../caps/strip.h"
#include "../dns/dnsproxy.h"
#include "../fw/conntrack.h"
#include "../fw/pktlog.h"
#include "../lib/capmsg.h"
#include "../lib/log.h"
#include "../lib/loop.h"
#include "dnsfilter.h"
#include "namequeue.h"
#include "rundir.h"
#include "session.h"

/* The only capabilities PID 1 keeps once the agent runs: the agent is
 * another user, and forwarding signals to it needs CAP_KILL; the DNS filter
 * adds the addresses of allowed names to the sets, which needs
 * CAP_NET_ADMIN. */
static const int pid1_caps[] = { CAP_KILL, CAP_NET_ADMIN };
#define PID1_NCAPS (sizeof(pid1_caps) / sizeof(pid1_caps[0]))

/* The longest command or user name the startup line shows whole. */
#define SUMMARY_NAME_MAX 200

void pid1_init(struct pid1 *p, struct config *cfg, const struct agent_user *user)
{
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->user = user;
	p->sup.sigfd = -1;
	p->report_fd = -1;
	p->rundir = -1;
	text_init(&p->line, p->summary, sizeof(p->summary));
}

void pid1_free(struct pid1 *p)
{
	dnsproxy_close(p->proxy);
	dnsfilter_free(p->filter);
	pktlog_close(p->nflog);
	namequeue_close(p->names);
	if (p->report_fd >= 0)
		close(p->report_fd);
	if (p->rundir >= 0)
		close(p->rundir);
	if (p->have_pol)
		policy_free(&p->pol);
}

int pid1_undumpable(struct perr *err)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return perr_sys(err, errno, "prctl(PR_SET_DUMPABLE)");
	return 0;
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
	if (fd < 0) {
		int e = errno;
		return perr_code(err, e, "--audit-report %s: cannot create it: %s%s", path,
				 strerror(e), e == ELOOP ? " (a symbolic link is on its path)" : "");
	}
	return fd;
}

int pid1_preflight(struct pid1 *p, struct perr *err)
{
	if (caps_preflight(p->user->name, err) < 0)
		return -1;
	if (p->cfg->audit_report && (p->report_fd = open_report(p->cfg->audit_report, err)) < 0)
		return -1;

	/* RUN_DIR: checked, and emptied of what an earlier run of the
	 * container left (a restarted container keeps its files). */
	p->rundir = rundir_open(true, err);
	if (p->rundir < 0) {
		/* A read-only root: nothing waits on the files there. */
		if (err->err == EROFS)
			log_debug("%s: no ready marker, status or palisade exec", err->msg);
		else
			log_warn("%s: no %s/%s, palisade status or palisade exec", err->msg, RUN_DIR,
				 RUN_READY);
	}
	return 0;
}

/* The DNS filter: listening, resolv.conf pointed at it, and the log of
 * refused packets. Before privileges are dropped: port 53, netlink. */
static int dns_filter_start(struct pid1 *p, struct perr *err)
{
	struct resolvers *rs = &p->pol.resolvers;
	p->proxy = dnsproxy_open(rs->v, rs->n, !p->no_v6, p->cfg->dns_cache_size, err);
	if (!p->proxy)
		return -1;
	if (rs->n == 0)
		log_debug("%s names no resolver: the DNS filter has nowhere to forward allowed "
			 "names, and answers SERVFAIL", RESOLV_CONF);
	char text[RESOLVCONF_MAX], out[RESOLVCONF_MAX + 512];
	if (resolvconf_load(RESOLV_CONF, text, sizeof(text), err) < 0)
		return -1;
	ssize_t ol = resolvconf_filtered(text, rs, dnsproxy_has_v6(p->proxy), out, sizeof(out));
	if (ol < 0)
		return perr_set(err, "%s is too long to rewrite", RESOLV_CONF);
	struct perr werr = PERR_INIT;
	if (resolvconf_write(RESOLV_CONF, out, (size_t)ol, &werr) < 0) {
		if (werr.err == EACCES) /* a file of another user's */
			return cap_refused(err, CAP_DAC_OVERRIDE, cap_held(CAP_DAC_OVERRIDE),
					   "cannot point " RESOLV_CONF " at palisade's DNS filter");
		if (werr.err != EROFS)
			return perr_sys(err, werr.err, "cannot point %s at palisade's DNS filter",
					RESOLV_CONF);
		/* Fail closed: the resolvers the file names refuse the agent. */
		log_warn("%s is read-only: the agent's DNS queries go to the resolvers it "
			 "names, which the fence refuses, so the agent resolves no names; "
			 "mount a writable %s to let it use palisade's DNS filter",
			 RESOLV_CONF, RESOLV_CONF);
	}
	log_debug("%s points at 127.0.0.1%s; upstreams: %zu", RESOLV_CONF,
		  dnsproxy_has_v6(p->proxy) ? " and ::1" : "", rs->n);
	p->filter = dnsfilter_new(p->cfg, &p->pol, err);
	if (!p->filter)
		return -1;
	p->nflog = pktlog_open(NFLOG_GROUP, err);
	if (!p->nflog)
		return -1;
	if (!p->cfg->no_name_check && !(p->names = namequeue_open(p->filter, p->cfg->audit, err)))
		return -1;
	return 0;
}

/* The startup line's start: the command, its user and the fence. The
 * command's and the user's names are shortened so that what the fence is
 * stays in the line. */
static void summary_fence(struct pid1 *p)
{
	struct text *t = &p->line;
	textf(t, "started ");
	text_short(t, p->cfg->command[0], SUMMARY_NAME_MAX);
	textf(t, " as ");
	text_short(t, p->user->name, SUMMARY_NAME_MAX);
	textf(t, " (uid %u); ", (unsigned)p->user->uid);
	policy_summary(&p->pol, t);
	textf(t, "; DNS filter on 127.0.0.1%s", dnsproxy_has_v6(p->proxy) ? " and ::1" : "");
	if (p->names) {
		char ports[128];
		port_list_format(&p->cfg->checked_ports, ports, sizeof(ports));
		textf(t, "; server names checked on %s", ports);
	} else {
		textf(t, "; no server name check");
	}
	textf(t, "%s", p->cfg->audit ? "; AUDIT MODE: nothing is refused" : "");
}

int pid1_fence(struct pid1 *p, struct perr *err)
{
	const struct config *cfg = p->cfg;
	/* Checked first, so that a kernel or container without what the fence
	 * needs fails before anything is changed. */
	enum fence_backend backend;
	char why[128];
	log_debug("checking the kernel: nf_tables, or filter tables and ip_set; NET_ADMIN");
	if (fence_probe(cfg->backend, &p->no_v6, &backend, why, sizeof(why), err) < 0)
		return -1;
	log_debug("fence backend: %s (%s)", fence_backend_name(backend), why);
	if (p->no_v6)
		log_info("this container has no IPv6: only IPv4 needs a fence");
	struct policy *pol = &p->pol;
	log_debug("resolving the allowlist's names (at most %u ms)", cfg->resolve_timeout_ms);
	p->have_pol = true;
	if (policy_build(pol, cfg, !p->no_v6, err) < 0)
		return -1;
	pol->plan.backend = backend;
	log_debug("resolved %zu names; installing 6 sets and %zu + %zu rules", pol->nnames,
		  pol->plan.rules[0].n, pol->plan.rules[1].n);
	for (size_t i = 0; i < pol->nnames; i++)
		if (pol->resolved[i].status != 0)
			log_warn("%s did not resolve (%s): left out of the allowlist",
				 pol->names[i], pol->resolved[i].why);
	policy_log_refused(pol, cfg->audit);
	if (fence_install(&pol->plan, err) < 0 || fence_verify(&pol->plan, err) < 0)
		return -1;
	log_debug("fence installed and read back: it matches the plan");
	if (conntrack_flush(!p->no_v6, err) < 0)
		return -1;
	if (dns_filter_start(p, err) < 0)
		return -1;
	summary_fence(p);
	return 0;
}

static void summary_strip(const struct strip_stats *st, struct text *t)
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

int pid1_strip(struct pid1 *p, struct perr *err)
{
	struct strip_stats st = { 0 };
	log_debug("stripping set-uid, set-gid and file capabilities on the root mount");
	if (strip_setid("/", &st, err) < 0 || strip_sudo("/", &st, err) < 0)
		return -1;
	log_debug("walked %zu directories and %zu files, left %zu other mounts alone%s",
		  st.dirs, st.files, st.mounts,
		  st.no_mnt_id ? " (mounts found through /proc/self/mountinfo)" : "");
	if (st.too_deep)
		log_warn("%zu directories nested deeper than palisade walks were not stripped "
			 "(no_new_privs still holds)", st.too_deep);
	summary_strip(&st, &p->line);
	if (p->cfg->no_seccomp) {
		log_warn("--no-seccomp: the agent runs without a system call filter");
		textf(&p->line, "; no system call filter");
	} else {
		textf(&p->line, "; system call filter on");
	}
	return 0;
}

/* One file in RUN_DIR; a failure is a warning, except on a read-only root,
 * where nothing waits on it. */
static bool run_write(int rundir, const char *name, const char *data, size_t len,
		      const char *consequence)
{
	struct perr err = PERR_INIT;
	if (rundir_write(rundir, name, data, len, &err) == 0)
		return true;
	if (err.err == EROFS)
		log_debug("%s", err.msg);
	else
		log_warn("%s%s", err.msg, consequence);
	return false;
}

/* The fence and the stripping hold for every process of the container from
 * here on, docker exec sessions included: say so for whoever waits (a
 * devcontainer's postStartCommand, a test). The directory was checked and
 * emptied of an earlier run's files at start. */
void pid1_mark_ready(struct pid1 *p)
{
	if (p->rundir < 0)
		return;
	struct perr err = PERR_INIT;
	char terms[4096];
	long tl = session_terms_format(p->cfg, terms, sizeof(terms), &err);
	if (tl < 0)
		log_warn("%s: palisade exec will refuse to run", err.msg);
	else
		run_write(p->rundir, RUN_AGENT, terms, (size_t)tl,
			  ": palisade exec will refuse to run");
	dnsfilter_set_status_dir(p->filter, p->rundir);
	char line[2048];
	int n = snprintf(line, sizeof(line), "%s\n", p->summary);
	if (n < 0 || (size_t)n >= sizeof(line))
		log_warn("the startup line is too long for %s/%s", RUN_DIR, RUN_READY);
	else
		run_write(p->rundir, RUN_READY, line, (size_t)n, "");
}

/* In the child, between fork and exec: the agent's user, no capabilities,
 * no_new_privs, ptrace confined to its own processes (unless
 * --allow-ptrace), then the system call filter, loaded last, and a check
 * of all of it in /proc/self/status. */
static int child_setup(void *arg, struct perr *err)
{
	const struct pid1 *p = arg;
	const struct config *cfg = p->cfg;
	if (privs_become_user(p->user, err) < 0)
		return -1;
	if (!sc_allows_ptrace(cfg->seccomp_allow, cfg->n_seccomp_allow) &&
	    privs_scope_ptrace(err) < 0)
		return -1;
	if (!cfg->no_seccomp && sc_load(SC_AGENT, cfg->seccomp_allow, cfg->n_seccomp_allow, err) < 0)
		return -1;
	return privs_verify(p->user, !cfg->no_seccomp, err);
}

/* In PID 1, while the child waits: PID 1 keeps only pid1_caps. */
static int parent_setup(void *arg, struct perr *err)
{
	const struct pid1 *p = arg;
	if (privs_restrict_pid1(pid1_caps, PID1_NCAPS, p->cfg->no_seccomp, err) < 0)
		return -1;
	return privs_verify_pid1(pid1_caps, PID1_NCAPS, !p->cfg->no_seccomp, err);
}

int pid1_start_agent(struct pid1 *p, char **envp, int *status, struct perr *err)
{
	struct config *cfg = p->cfg;
	*status = EXIT_SETUP;
	char **env = child_env(envp, p->user->home, p->user->name);
	if (!env)
		return perr_code(err, ENOMEM, "out of memory");
	if (!sc_allows_ptrace(cfg->seccomp_allow, cfg->n_seccomp_allow) &&
	    privs_landlock_abi(err) == 0)
		log_warn("%s: the agent cannot attach to other processes with ptrace, but can "
			 "still write the memory of those of its user through /proc/PID/mem; run "
			 "docker exec sessions through palisade exec", err->msg);
	log_debug("starting %s: user %s, no capabilities, no_new_privs, %s; PID 1 keeps "
		  "CAP_KILL and CAP_NET_ADMIN only", cfg->command[0], p->user->name,
		  cfg->no_seccomp ? "no filter" : "system call filter");
	int failed_status;
	int rc = supervise_spawn(&p->sup, cfg->command, env, child_setup, parent_setup, p,
				 &failed_status, err);
	child_env_free(env);
	if (rc < 0) {
		*status = failed_status;
		return -1;
	}
	log_info("%s", p->summary);
	log_debug("the command runs as pid %d", (int)p->sup.child);

	/* The fence holds the addresses and networks now: PID 1 keeps only
	 * the names, for the DNS filter (all of it in audit mode, for the
	 * report). The policy's pointers into the list are not used again. */
	if (!cfg->audit)
		allowlist_keep_names(&cfg->allow);
	return 0;
}

static void on_nflog(void *arg, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	struct pid1 *p = arg;
	struct perr err = PERR_INIT;
	size_t dropped = 0;
	if (pktlog_read(p->nflog, dnsfilter_on_nflog, p->filter, &dropped, &err) < 0)
		log_warn("reading refused packets: %s", err.msg);
	if (dropped)
		log_warn("%zu refused packets were not logged (too many at once)", dropped);
}

static void on_tick(void *arg)
{
	struct pid1 *p = arg;
	dnsproxy_tick(p->proxy);
	if (p->names)
		namequeue_tick(p->names);
	dnsfilter_tick(p->filter);
}

int pid1_serve(struct pid1 *p, struct perr *err)
{
	struct loop loop;
	if (loop_init(&loop, err) < 0 || supervise_attach(&p->sup, &loop, err) < 0 ||
	    dnsproxy_attach(p->proxy, &loop, &dnsfilter_ops, p->filter, err) < 0 ||
	    loop_add(&loop, pktlog_fd(p->nflog), EPOLLIN, on_nflog, p, err) < 0 ||
	    (p->names && namequeue_attach(p->names, &loop, err) < 0) ||
	    loop_run(&loop, 200, on_tick, p, err) < 0)
		return -1;
	loop_close(&loop);
	dnsfilter_flush(p->filter);
	return 0;
}

void pid1_write_report(struct pid1 *p)
{
	if (p->report_fd < 0)
		return;
	struct perr err = PERR_INIT;
	int fd = p->report_fd;
	p->report_fd = -1; /* closed by dnsfilter_write_report */
	if (dnsfilter_write_report(p->filter, fd, &err) < 0)
		log_error("--audit-report %s: %s", p->cfg->audit_report, err.msg);
	else
		log_info("audit report written to %s", p->cfg->audit_report);
}
