/* Configuration: the command line and PALISADE_* environment, merged with
 * the allowlist files and presets. Parsing changes nothing on the system. */
#ifndef PALISADE_CONFIG_H
#define PALISADE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "../fw/fence.h"
#include "../fw/net.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "allowlist.h"

/* Exit statuses of palisade itself; otherwise it exits with the command's. */
enum {
	EXIT_SETUP = 125,     /* palisade's own setup failed; the command never ran */
	EXIT_CANNOT_RUN = 126, /* the command exists but cannot be executed */
	EXIT_NOT_FOUND = 127, /* the command was not found */
};

#define DEFAULT_ALLOW_FILE "/etc/palisade/allow"
#define PASSWD_FILE "/etc/passwd"
#define GROUP_FILE "/etc/group"
#define DEFAULT_PORTS "80,443,443/udp"
#define DEFAULT_RESOLVE_TIMEOUT_MS 5000u
#define DEFAULT_DNS_GRACE 600u
#define DEFAULT_DNS_CACHE_SIZE 1024u
#define DNS_CACHE_SIZE_MAX 16384u

struct config {
	const char *user;        /* USER[:GROUP], from --user or PALISADE_USER */
	struct allowlist allow;
	char **command;          /* NULL-terminated, or NULL with --check */
	bool check;
	bool list_presets;
	bool version;
	bool help;
	bool strict;             /* a name that does not resolve is fatal */
	bool kill_group;         /* -g: signals go to the command's process group */
	bool no_seccomp;
	bool allow_ptrace;       /* ptrace attach and the rest of sc_ptrace_calls allowed */
	enum log_level verbosity;
	unsigned resolve_timeout_ms;
	struct port_list default_ports;
	struct port_list expose;
	const char **seccomp_allow; /* --seccomp-allow, and sc_ptrace_calls with --allow-ptrace */
	size_t n_seccomp_allow;
	const char *allow_file;  /* the default file, read when it exists */
	unsigned dns_grace;      /* seconds an address from DNS outlives its TTL */
	unsigned dns_cache_size; /* answers the DNS filter caches; 0: none */
	bool log_json;           /* --log-format json */
	bool audit;              /* log what would be refused, refuse nothing */
	const char *audit_report; /* with audit: the allowlist written at exit */
	enum fence_backend backend; /* --backend or PALISADE_BACKEND; default auto */
	bool no_name_check;      /* --no-name-check */
	struct port_list checked_ports; /* TCP 80, 443 and NAME:PORT/tls entries' ports */
};

/* Parses argv and envp (not the process environment, so tests can pass
 * their own); allow_file is read when it exists (DEFAULT_ALLOW_FILE). On
 * error, err says what was wrong and where; the caller exits EXIT_SETUP. */
int config_parse(struct config *c, int argc, char **argv, char **envp,
		 const char *allow_file, struct perr *err);
void config_free(struct config *c);

/* The environment the command gets: envp without PALISADE_* variables, with
 * HOME, USER and LOGNAME set. Returns a NULL-terminated array whose strings
 * point into envp or into one allocation; free with child_env_free. */
char **child_env(char *const *envp, const char *home, const char *user);
void child_env_free(char **env);

void config_usage(int fd);

#endif
