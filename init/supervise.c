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

/* Every signal but the two that cannot be caught goes through the
 * signalfd: SIGCHLD to reap, the rest to the command. glibc's sigfillset
 * leaves out the two real-time signals glibc keeps for itself (32 and 33),
 * which are not palisade's to forward. The faults (SIGSEGV, SIGBUS, ...)
 * are blocked too: one that PID 1 itself causes is forced on it by the
 * kernel whatever the mask, and one sent with kill(2), e.g.
 * `docker kill -s ABRT` for a core dump of the agent, is the command's. */
static void forward_set(sigset_t *set)
{
	sigfillset(set);
	sigdelset(set, SIGKILL);
	sigdelset(set, SIGSTOP);
}

/* Until the command runs, these end palisade at once: a `docker stop`
 * during a slow resolve or a long strip walk must not wait for setup to
 * finish and then reach a command that should never have started. */
static const int early_stop[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM };

static void early_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(early_stop) / sizeof(early_stop[0]); i++)
		sigaddset(set, early_stop[i]);
}

/* Async-signal-safe: a fixed line, then _exit with 128+N. */
static void on_early_stop(int sig)
{
	static const char head[] = "palisade: ";
	static const char tail[] = " before the command started: stopping; the command never ran\n";
	const char *name = sig == SIGHUP ? "SIGHUP" : sig == SIGINT ? "SIGINT" :
			   sig == SIGQUIT ? "SIGQUIT" : "SIGTERM";
	(void)!write(STDERR_FILENO, head, sizeof(head) - 1);
	(void)!write(STDERR_FILENO, name, strlen(name));
	(void)!write(STDERR_FILENO, tail, sizeof(tail) - 1);
	_exit(128 + sig);
}

/* Every disposition back to its default, whatever palisade inherited (a
 * CI runner or a shell that ignores SIGINT, a SIGCHLD ignored so that
 * children would be reaped behind PID 1's back). Returns -1 on an error
 * other than the EINVAL glibc gives for its own signals. */
static int reset_dispositions(void)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, &dfl, NULL) < 0 && errno != EINVAL)
			return -1;
	}
	return 0;
}

int supervise_init(struct supervisor *s, bool kill_group, struct perr *err)
{
	memset(s, 0, sizeof(*s));
	s->sigfd = -1;
	s->child = -1;
	s->kill_group = kill_group;

	if (reset_dispositions() < 0)
		return perr_sys(err, errno, "sigaction");
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_early_stop;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(early_stop) / sizeof(early_stop[0]); i++)
		if (sigaction(early_stop[i], &sa, NULL) < 0)
			return perr_sys(err, errno, "sigaction(%d)", early_stop[i]);

	/* The mask is set, not added to: what an inherited mask blocked would
	 * otherwise stay blocked. */
	sigset_t set, mask, early;
	forward_set(&set);
	early_set(&early);
	mask = set;
	for (size_t i = 0; i < sizeof(early_stop) / sizeof(early_stop[0]); i++)
		sigdelset(&mask, early_stop[i]);
	if (sigprocmask(SIG_SETMASK, &mask, NULL) < 0)
		return perr_sys(err, errno, "sigprocmask");
	s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sigfd < 0)
		return perr_sys(err, errno, "signalfd");
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
	struct perr e;
};

static _Noreturn void child_fail(int fd, int status, const struct perr *e)
{
	struct spawn_report r;
	memset(&r, 0, sizeof(r));
	r.status = status;
	r.e = *e;
	(void)write_full(fd, &r, sizeof(r)); /* PID 1 sees a short report as a failure */
	_exit(status);
}

static _Noreturn void run_child(int report_fd, int go_fd, char **argv, char **envp,
				child_setup_fn setup, void *ctx)
{
	struct perr e = PERR_INIT;

	/* Own process group, in the terminal's foreground when there is one,
	 * so that Ctrl-C and job control reach the command, not PID 1. Signals
	 * are still blocked, so tcsetpgrp from the background is not stopped. */
	if (setpgid(0, 0) < 0) {
		perr_sys(&e, errno, "setpgid");
		child_fail(report_fd, EXIT_SETUP, &e);
	}
	if (isatty(STDIN_FILENO) && tcsetpgrp(STDIN_FILENO, getpid()) < 0 &&
	    errno != ENOTTY && errno != ENXIO) {
		perr_sys(&e, errno, "cannot give the terminal to the command (tcsetpgrp)");
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

	/* The command starts with every disposition at its default and
	 * nothing blocked, whatever palisade inherited. */
	if (reset_dispositions() < 0) {
		perr_sys(&e, errno, "sigaction");
		child_fail(report_fd, EXIT_SETUP, &e);
	}
	sigset_t none;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) {
		perr_sys(&e, errno, "sigprocmask");
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
	perr_sys(&e, err, "%s: cannot execute", argv[0]);
	child_fail(report_fd, EXIT_CANNOT_RUN, &e);
}

int supervise_spawn(struct supervisor *s, char **argv, char **envp,
		    child_setup_fn child_setup, parent_setup_fn parent_setup, void *ctx,
		    int *status, struct perr *err)
{
	int report[2], go[2];
	*status = EXIT_SETUP;
	/* From here on a stop signal is the command's: it waits in the
	 * signalfd and is forwarded once the command runs. */
	sigset_t early;
	early_set(&early);
	if (sigprocmask(SIG_BLOCK, &early, NULL) < 0)
		return perr_sys(err, errno, "sigprocmask");
	if (pipe2(report, O_CLOEXEC) < 0)
		return perr_sys(err, errno, "pipe2");
	if (pipe2(go, O_CLOEXEC) < 0) {
		int e = errno;
		close(report[0]);
		close(report[1]);
		return perr_sys(err, e, "pipe2");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(report[0]);
		close(report[1]);
		close(go[0]);
		close(go[1]);
		return perr_sys(err, e, "fork");
	}
	if (pid == 0) {
		close(report[0]);
		close(go[1]);
		run_child(report[1], go[0], argv, envp, child_setup, ctx);
	}
	close(report[1]);
	close(go[0]);
	s->child = pid;
	/* The command keeps the directory it was started in; PID 1 holds no
	 * reference to it, so that a mount there can be unmounted while the
	 * command runs elsewhere. */
	if (chdir("/") < 0)
		log_warn("cannot leave the working directory for /: %s", strerror(errno));

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
	r.e.msg[sizeof(r.e.msg) - 1] = '\0';
	*status = r.status;
	return perr_code(err, r.e.err, "%s", r.e.msg);
}

static void forward(struct supervisor *s, const struct signalfd_siginfo *si)
{
	int sig = (int)si->ssi_signo;
	if (s->child <= 0)
		return;
	/* One that PID 1 brought on itself, not one sent to it: SIGPIPE or
	 * SIGXFSZ from its own write (the kernel names the writer as sender). */
	if (si->ssi_code == SI_USER && (pid_t)si->ssi_pid == getpid()) {
		log_debug("SIG%s from PID 1's own doing: not forwarded",
			  sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
		return;
	}
	pid_t target = s->kill_group ? -s->child : s->child;
	if (kill(target, sig) < 0 && errno != ESRCH) {
		log_warn("cannot forward signal %d (%s) to the command: %s", sig,
			 strsignal(sig), strerror(errno));
	} else {
		s->forwarded++;
		log_debug("forwarded signal %d (SIG%s) to %s %d", sig,
			  sigabbrev_np(sig) ? sigabbrev_np(sig) : "RT",
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
			forward(s, &si);
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
