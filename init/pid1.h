/* PID 1's steps once the configuration is read, one function each, in the
 * order init/main.c runs them: the fence up, the root filesystem stripped,
 * the ready marker, the agent started, the loop served, the audit report
 * written. Each step that can fail stops palisade before the next one runs
 * (fail closed: no agent without its fence). What the steps open lives in
 * struct pid1 until pid1_free. */
#ifndef PALISADE_PID1_H
#define PALISADE_PID1_H

#include <stdbool.h>

#include "../caps/user.h"
#include "../lib/err.h"
#include "../lib/text.h"
#include "config.h"
#include "policy.h"
#include "supervise.h"

struct dnsproxy;
struct dnsfilter;
struct pktlog;
struct namequeue;

struct pid1 {
	struct config *cfg;
	const struct agent_user *user;
	struct supervisor sup;  /* its loop and signalfd point back at it: never copied */
	struct policy pol;
	bool have_pol;
	bool no_v6;             /* the container has no IPv6 */
	struct dnsproxy *proxy;
	struct dnsfilter *filter;
	struct pktlog *nflog;
	struct namequeue *names; /* the name check, unless --no-name-check */
	int report_fd;          /* --audit-report's file, or -1 */
	int rundir;             /* RUN_DIR, checked, or -1 */
	char summary[2000];     /* the startup line, under the log's 2048 bytes */
	struct text line;       /* writes summary */
};

/* Sets p up empty: nothing opened yet. cfg and user must outlive p. */
void pid1_init(struct pid1 *p, struct config *cfg, const struct agent_user *user);

/* The process is made undumpable: the agent must not read PID 1's memory
 * or environment. */
int pid1_undumpable(struct perr *err);

/* Every capability that every start needs, before any change; the audit
 * report's file; RUN_DIR, emptied of an earlier run's files. */
int pid1_preflight(struct pid1 *p, struct perr *err);

/* The fence: the kernel probed, the policy built, the ruleset installed
 * and read back, conntrack flushed, then the DNS filter listening with
 * resolv.conf pointed at it, and the log of refused packets. */
int pid1_fence(struct pid1 *p, struct perr *err);

/* Set-uid, set-gid and file capabilities on the root mount; sudo. */
int pid1_strip(struct pid1 *p, struct perr *err);

/* Leaves in RUN_DIR what comes next to PID 1 with docker exec reads: the
 * agent's terms, the status, and last the ready marker. Failures are
 * warnings. */
void pid1_mark_ready(struct pid1 *p);

/* Starts the command as the agent, and PID 1 drops to what it keeps. On
 * failure, returns -1 with err and sets *status to the exit status (125,
 * 126 or 127); on success *status is left alone. */
int pid1_start_agent(struct pid1 *p, char **envp, int *status, struct perr *err);

/* Supervises until the command exits, serving DNS and logging refusals
 * meanwhile. */
int pid1_serve(struct pid1 *p, struct perr *err);

/* Writes --audit-report's file, if asked for. */
void pid1_write_report(struct pid1 *p);

void pid1_free(struct pid1 *p);

#endif
