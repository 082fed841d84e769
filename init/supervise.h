/* PID 1's job once the fence is up: start the command, forward signals to
 * it, reap every zombie of the namespace, and exit with its status. */
#ifndef PALISADE_SUPERVISE_H
#define PALISADE_SUPERVISE_H

#include <stdbool.h>
#include <sys/types.h>

#include "../lib/err.h"
#include "../lib/loop.h"

struct supervisor {
	int sigfd;
	pid_t child;
	bool kill_group;     /* forward to the command's process group */
	bool child_exited;
	int exit_status;     /* palisade's exit status once child_exited */
	unsigned forwarded;  /* signals forwarded, for logs */
	struct loop *loop;   /* stopped when the command exits */
};

/* Resets every inherited disposition and mask, blocks every signal but
 * SIGKILL and SIGSTOP and opens a signalfd for them (SIGCHLD reaps, the rest
 * go to the command). Until supervise_spawn, SIGHUP, SIGINT, SIGQUIT and
 * SIGTERM instead end palisade at once with 128+N and a line saying the
 * command never ran. Call before anything else can fork. */
int supervise_init(struct supervisor *s, bool kill_group, struct perr *err);

/* Runs in the child between fork and exec, after the child has its own
 * process group and the terminal: drops privileges. Returns 0 or -1 with
 * err; the child then exits 125. */
typedef int (*child_setup_fn)(void *ctx, struct perr *err);

/* Runs in PID 1 after the fork, while the child waits before exec: PID 1
 * gives up its own privileges. If it fails, the child is killed unrun. */
typedef int (*parent_setup_fn)(void *ctx, struct perr *err);

/* Forks the command and waits until it has exec'd or failed; PID 1 then
 * leaves the working directory for /, which the command keeps. The child
 * runs child_setup, then waits for PID 1's parent_setup to succeed, then
 * execs. On failure, returns -1 with err (the failed step's errno, the
 * child's included: ENOENT from execve for a command not found) and
 * *status set to 125 (setup), 126 (cannot execute) or 127 (not found);
 * the child has been reaped. */
int supervise_spawn(struct supervisor *s, char **argv, char **envp,
		    child_setup_fn child_setup, parent_setup_fn parent_setup, void *ctx,
		    int *status, struct perr *err);

/* Adds the signalfd to the loop: forwards signals, reaps children, and
 * stops the loop when the command has exited. */
int supervise_attach(struct supervisor *s, struct loop *l, struct perr *err);

/* Exit status for a wait status: the code, or 128+N for signal N. */
int supervise_exit_status(int wstatus);

#endif
