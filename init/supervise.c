#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../lib/fdio.h"
#include "../lib/log.h"
#include "config.h"

/* Signals that report a fault of PID 1 itself stay unblocked, as do those
 * that cannot be caught. */
static bool forwardable(int sig)
{
	switch (sig) {
	case SIGKILL: case SIGSTOP:
	case SIGFPE: case SIGILL: case SIGSEGV: case SIGBUS:
	case SIGABRT: case SIGTRAP: case SIGSYS:
	case SIGPIPE: case SIGTTIN: case SIGTTOU:
		return false;
	default:
		return true;
	}
}

static void forward_set(sigset_t *set)
{
	sigemptyset(set);
	for (int sig = 1; sig < NSIG; sig++)
		if (forwardable(sig))
			sigaddset(set, sig); /* fails harmlessly for glibc's own */
}

int supervise_init(struct supervisor *s, bool kill_group, struct perr *err)
{
	memset(s, 0, sizeof(*s));
	s->sigfd = -1;
	s->child = -1;
	s->kill_group = kill_group;

	static const int ignored[] = { SIGPIPE, SIGTTIN, SIGTTOU };
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (signal(ignored[i], SIG_IGN) == SIG_ERR)
			return perr_set(err, "signal(%d): %s", ignored[i], strerror(errno));

	sigset_t set;
	forward_set(&set);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return perr_set(err, "sigprocmask: %s", strerror(errno));
	s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sigfd < 0)
		return perr_set(err, "signalfd: %s", strerror(errno));
	return 0;
}

int supervise_exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return EXIT_SETUP;
}

/* What the child sends back when it cannot exec. */
struct spawn_report {
	int status;
	char msg[sizeof(((struct perr *)0)->msg)];
};

static _Noreturn void child_fail(int fd, int status, const struct perr *e)
{
	struct spawn_report r;
	memset(&r, 0, sizeof(r));
	r.status = status;
	snprintf(r.msg, sizeof(r.msg), "%s", e->msg);
	(void)write_full(fd, &r, sizeof(r)); /* PID 1 sees a short report as a failure */
	_exit(status);
}

static _Noreturn void run_child(int report_fd, int go_fd, char **argv, char **envp,
				child_setup_fn setup, void *ctx)
{
	struct perr e;

	/* Own process group, in the terminal's foreground when there is one,
	 * so that Ctrl-C and job control reach the command, not PID 1. Signals
	 * are still blocked, so tcsetpgrp from the background is not stopped. */
	if (setpgid(0, 0) < 0) {
		perr_set(&e, "setpgid: %s", strerror(errno));
		child_fail(report_fd, EXIT_SETUP, &e);
	}
	if (isatty(STDIN_FILENO) && tcsetpgrp(STDIN_FILENO, getpid()) < 0 &&
	    errno != ENOTTY && errno != ENXIO) {
		perr_set(&e, "cannot give the terminal to the command (tcsetpgrp): %s",
			 strerror(errno));
		child_fail(report_fd, EXIT_SETUP, &e);
	}

	if (setup && setup(ctx, &e) < 0)
		child_fail(report_fd, EXIT_SETUP, &e);

	/* Wait until PID 1 has given up its own privileges. */
	char go;
	ssize_t n;
	while ((n = read(go_fd, &go, 1)) < 0 && errno == EINTR)
		;
	if (n != 1)
		_exit(EXIT_SETUP); /* PID 1 failed and says why */
	close(go_fd);

	/* The command starts with default signal handling and nothing blocked. */
	static const int ignored[] = { SIGPIPE, SIGTTIN, SIGTTOU };
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) {
		perr_set(&e, "sigprocmask: %s", strerror(errno));
		child_fail(report_fd, EXIT_SETUP, &e);
	}

	/* execvp searches the PATH of environ, so the command's own. */
	extern char **environ;
	environ = envp;
	execvp(argv[0], argv);
	int err = errno;
	if (err == ENOENT || err == ENOTDIR) {
		perr_set(&e, "%s: command not found (check the image's PATH and the name)",
			 argv[0]);
		child_fail(report_fd, EXIT_NOT_FOUND, &e);
	}
	perr_set(&e, "%s: cannot execute: %s", argv[0], strerror(err));
	child_fail(report_fd, EXIT_CANNOT_RUN, &e);
}

int supervise_spawn(struct supervisor *s, char **argv, char **envp,
		    child_setup_fn child_setup, parent_setup_fn parent_setup, void *ctx,
		    int *status, struct perr *err)
{
	int report[2], go[2];
	*status = EXIT_SETUP;
	if (pipe2(report, O_CLOEXEC) < 0)
		return perr_set(err, "pipe2: %s", strerror(errno));
	if (pipe2(go, O_CLOEXEC) < 0) {
		int e = errno;
		close(report[0]);
		close(report[1]);
		return perr_set(err, "pipe2: %s", strerror(e));
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(report[0]);
		close(report[1]);
		close(go[0]);
		close(go[1]);
		return perr_set(err, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		close(report[0]);
		close(go[1]);
		run_child(report[1], go[0], argv, envp, child_setup, ctx);
	}
	close(report[1]);
	close(go[0]);
	s->child = pid;

	int ws;
	if (parent_setup && parent_setup(ctx, err) < 0) {
		close(go[1]);
		close(report[0]);
		kill(pid, SIGKILL);
		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
		s->child = -1;
		return -1;
	}
	/* The child may have failed already: then nobody reads this. */
	ssize_t w;
	while ((w = write(go[1], "g", 1)) < 0 && errno == EINTR)
		;
	close(go[1]);

	/* The pipe closes at exec (O_CLOEXEC): EOF without a report means the
	 * command runs. */
	struct spawn_report r;
	size_t got = 0;
	while (got < sizeof(r)) {
		ssize_t n = read(report[0], (char *)&r + got, sizeof(r) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(report[0]);
	if (got == 0 && w == 1)
		return 0;

	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	s->child = -1;
	if (got < sizeof(r)) {
		*status = EXIT_SETUP;
		return perr_set(err, "the command's process failed before exec (status %d)",
				supervise_exit_status(ws));
	}
	r.msg[sizeof(r.msg) - 1] = '\0';
	*status = r.status;
	return perr_set(err, "%s", r.msg);
}

static void forward(struct supervisor *s, int sig)
{
	if (s->child <= 0)
		return;
	pid_t target = s->kill_group ? -s->child : s->child;
	if (kill(target, sig) < 0 && errno != ESRCH) {
		log_warn("cannot forward signal %d (%s) to the command: %s", sig,
			 strsignal(sig), strerror(errno));
	} else {
		s->forwarded++;
		log_debug("forwarded SIG%s to %s %d", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
			  s->kill_group ? "process group" : "pid", (int)s->child);
	}
}

static void reap(struct supervisor *s)
{
	for (;;) {
		int ws;
		pid_t pid = waitpid(-1, &ws, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return; /* nothing left to reap now (0) or no children (ECHILD) */
		if (pid == s->child) {
			s->child_exited = true;
			s->exit_status = supervise_exit_status(ws);
			log_debug("the command exited: status %d", s->exit_status);
			s->child = -1;
			if (s->loop)
				loop_stop(s->loop);
		}
	}
}

static void on_signal(void *ctx, int fd, uint32_t events)
{
	(void)events;
	struct supervisor *s = ctx;
	struct signalfd_siginfo si;
	for (;;) {
		ssize_t n = read(fd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			break;
		if ((int)si.ssi_signo == SIGCHLD)
			reap(s);
		else
			forward(s, (int)si.ssi_signo);
	}
}

int supervise_attach(struct supervisor *s, struct loop *l, struct perr *err)
{
	s->loop = l;
	if (loop_add(l, s->sigfd, EPOLLIN, on_signal, s, err) < 0)
		return -1;
	/* The command may have exited before the signalfd was watched. */
	reap(s);
	return 0;
}
