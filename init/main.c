/* palisade: PID 1 of an AI coding agent's container. It reads the
 * allowlist, fences the container in, gives up every privilege, runs the
 * agent as an unprivileged user, and supervises it like an init. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../caps/seccomp.h"
#include "../caps/user.h"
#include "../lib/log.h"
#include "config.h"
#include "launch.h"
#include "pid1.h"
#include "plan.h"
#include "policy.h"
#include "session.h"
#include "status.h"

#ifndef PALISADE_VERSION
#define PALISADE_VERSION "unknown"
#endif

static int fail(const struct perr *err)
{
	log_error("%s", err->msg);
	return EXIT_SETUP;
}

/* --check: the plan, with names resolved, and nothing changed. */
static int check(const struct config *cfg, const struct agent_user *user)
{
	struct perr err = PERR_INIT;
	printf("palisade %s plan (--check: nothing is changed)\n", PALISADE_VERSION);
	plan_print_config(stdout, cfg, user);
	fflush(stdout);
	/* The backend as a start would choose it: the probe only reads. */
	char why[128];
	int nft_errno;
	enum fence_backend backend = fence_backend_choose(cfg->backend, &nft_errno, why, sizeof(why));
	printf("fence backend: %s (%s)\n", fence_backend_name(backend), why);
	struct policy pol;
	int rc = policy_build(&pol, cfg, fence_kernel_has_v6(), &err);
	pol.plan.backend = backend;
	if (rc == 0)
		policy_print(&pol, stdout);
	policy_free(&pol);
	if (rc < 0)
		return fail(&err);
	return 0;
}

/* Everything after configuration, one step after another; each step that
 * fails stops palisade before the next one runs. Only reached as PID 1 and
 * root. Returns palisade's exit status. */
static int run_as_pid1(struct config *cfg, const struct agent_user *user, char **envp)
{
	struct perr err = PERR_INIT;
	struct pid1 p;
	int status = EXIT_SETUP;
	pid1_init(&p, cfg, user);

	/* The agent must not read PID 1's memory or environment. */
	if (pid1_undumpable(&err) < 0)
		goto fail;
	/* Signals: forwarded once the command runs, until then they stop palisade. */
	if (supervise_init(&p.sup, cfg->kill_group, &err) < 0)
		goto fail;
	/* 0. Every capability every start needs, before any change. */
	if (pid1_preflight(&p, &err) < 0)
		goto fail;
	/* 1. The fence up, read back, and the DNS filter listening. */
	if (pid1_fence(&p, &err) < 0)
		goto fail;
	/* 2. Set-uid, set-gid and file capabilities on the root mount; sudo. */
	if (pid1_strip(&p, &err) < 0)
		goto fail;
	/* The fence holds for docker exec sessions too: mark it ready. */
	pid1_mark_ready(&p);
	/* 3. The agent: its user, no privileges, its filter; PID 1 drops its own. */
	if (pid1_start_agent(&p, envp, &status, &err) < 0)
		goto fail;
	/* 4. Supervise until the command exits; serve DNS and log refusals. */
	if (pid1_serve(&p, &err) < 0)
		goto fail;
	/* 5. The audit report, when asked for. */
	pid1_write_report(&p);
	status = p.sup.exit_status;
	goto out;
fail:
	log_error("%s", err.msg);
out:
	pid1_free(&p);
	return status;
}

int main(int argc, char **argv, char **envp)
{
	struct config cfg;
	struct agent_user user = { 0 };
	struct perr err = PERR_INIT;
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
		struct launch_facts how;
		char why[2048];
		launch_read(&how);
		launch_refusal(&how, getpid(), why, sizeof(why));
		log_error("%s", why);
		goto out;
	}
	if (geteuid() != 0) {
		log_error("palisade must start as root to fence the container (it runs the "
			  "command as %s itself); remove --user from docker run or USER from the "
			  "Dockerfile, and set PALISADE_USER instead%s", cfg.user,
			  launch_in_user_namespace()
				  ? "; in a user namespace, as rootless Podman's --userns=keep-id "
				    "makes (it starts the container as your own uid), add --user 0: "
				    "root of the container's user namespace only"
				  : "");
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
