/* palisade exec: a session that docker exec starts next to PID 1 (an
 * editor's terminal, a command) put under the agent's own terms: its user,
 * no capabilities, no_new_privs, its system call filter, and its ptrace
 * confinement. PID 1 writes the terms in RUN_DIR/agent once the fence
 * holds; palisade exec reads them back, applies them to itself and
 * executes the command, or fails without running it. */
#ifndef PALISADE_SESSION_H
#define PALISADE_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/err.h"
#include "config.h"

#define SESSION_ALLOW_MAX 64
#define SESSION_NAME_MAX 64
#define SESSION_USER_MAX 512

struct session_terms {
	char user[SESSION_USER_MAX];   /* USER[:GROUP], as PID 1 was given it */
	bool seccomp;                  /* the agent has a filter (no --no-seccomp) */
	char allow[SESSION_ALLOW_MAX][SESSION_NAME_MAX]; /* --seccomp-allow */
	size_t nallow;
};

/* PID 1: the terms cfg gives the agent, as text for RUN_DIR/agent. Returns
 * its length, or -1 with err. */
long session_terms_format(const struct config *cfg, char *buf, size_t size, struct perr *err);

/* Parses what session_terms_format wrote; anything else is an error. */
int session_terms_parse(const char *text, struct session_terms *t, struct perr *err);

/* `palisade exec [--] CMD [ARG...]`; argv[0] is "exec". Executes CMD, or
 * fails with palisade's exit status: 125 when the terms could not be read
 * or applied, 126 when CMD cannot be executed, 127 when it is not found.
 * Returns only before it changed anything; later failures _exit. */
int session_exec(int argc, char **argv, char **envp);

#endif
