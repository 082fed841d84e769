#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../caps/seccomp.h"
#include "../lib/fdio.h"

static const char usage_text[] =
	"usage: palisade [OPTIONS] [--] COMMAND [ARG...]\n"
	"\n"
	"Fences a container in, then runs COMMAND as an unprivileged user while\n"
	"palisade stays PID 1. Used as a container's ENTRYPOINT.\n"
	"\n"
	"The agent's user:\n"
	"  -u, --user USER[:GROUP]    run COMMAND as USER (name or uid); also PALISADE_USER\n"
	"\n"
	"What the agent may reach:\n"
	"  -a, --allow ENTRY          allow a domain, address or CIDR, optionally with\n"
	"                             :PORT or :*; repeatable; also PALISADE_ALLOW\n"
	"                             (entries separated by commas or spaces)\n"
	"  -f, --allow-file FILE      read entries from a root-owned FILE, one a line;\n"
	"                             repeatable; " DEFAULT_ALLOW_FILE " is read when it exists\n"
	"  -p, --preset NAME          allow a built-in preset (same as -a @NAME)\n"
	"      --allow-private NAME   let the allowed NAME (or, written so, every name\n"
	"                             under *.NAME) resolve to private addresses (10/8,\n"
	"                             172.16/12, 192.168/16, 100.64/10, fc00::/7);\n"
	"                             repeatable; also PALISADE_ALLOW_PRIVATE. No name\n"
	"                             ever brings in loopback, link-local (cloud\n"
	"                             metadata), multicast, broadcast or the container's\n"
	"                             own addresses and gateways\n"
	"      --list-presets         print the presets and exit\n"
	"      --default-ports LIST   ports for entries without one (default " DEFAULT_PORTS ")\n"
	"      --expose PORT[/udp]    accept incoming connections on PORT; repeatable\n"
	"      --resolve-timeout SEC  total time for resolving names (default 5)\n"
	"      --strict               fail when a name does not resolve\n"
	"      --dns-grace SEC        how long an address the DNS filter let through\n"
	"                             stays allowed after its TTL (default 600)\n"
	"      --dns-cache-size N     answers the DNS filter keeps, to answer again\n"
	"                             without asking upstream (default 1024, at most\n"
	"                             16384, about 600 bytes each; 0: no cache)\n"
	"\n"
	"Seeing what the agent does:\n"
	"      --log-format FORMAT    text (default) or json: refused connections and\n"
	"                             queries as JSON lines\n"
	"      --audit                refuse nothing: log every name and destination\n"
	"                             the allowlist would refuse\n"
	"      --audit-report FILE    with --audit: on exit, write an allowlist that\n"
	"                             would have allowed the run\n"
	"      --no-name-check        do not read the TLS server name or HTTP Host of\n"
	"                             connections to names' addresses (ports 80, 443\n"
	"                             and NAME:PORT/tls entries' ports); off, an\n"
	"                             allowed CDN address serves every name it hosts\n"
	"\n"
	"Privileges:\n"
	"      --seccomp-allow NAME   let the agent use system call NAME; repeatable\n"
	"      --allow-ptrace         let the agent attach to any process of its user\n"
	"                             (gdb -p, strace -p) and write its memory; off by\n"
	"                             default, since that takes over docker exec\n"
	"                             sessions that palisade exec did not start\n"
	"      --no-seccomp           no system call filter (not recommended)\n"
	"      --backend NAME         how the fence is installed: nft (nf_tables), legacy\n"
	"                             (iptables and ipset), or auto (default: nft when\n"
	"                             the kernel offers it); also PALISADE_BACKEND\n"
	"\n"
	"Running:\n"
	"      status                 (palisade status, with docker exec) print what is\n"
	"                             allowed now and what was refused\n"
	"      exec [--] CMD [ARG...] (palisade exec, with docker exec) run CMD as the\n"
	"                             agent runs: its user, no privileges, its filter\n"
	"      --check                print the plan and exit; changes nothing\n"
	"  -g                         send signals to COMMAND's whole process group\n"
	"  -v, --verbose              say each step\n"
	"  -q, --quiet                only errors and warnings\n"
	"      --version              print the version and exit\n"
	"  -h, --help                 print this help and exit\n"
	"\n"
	"Exit status: COMMAND's own; 128+N when it died of signal N; 125 when\n"
	"palisade's setup failed (COMMAND never ran); 126 when COMMAND cannot be\n"
	"executed; 127 when it is not found.\n";

void config_usage(int fd)
{
	(void)write_full(fd, usage_text, sizeof(usage_text) - 1);
}

enum {
	OPT_CHECK = 256,
	OPT_LIST_PRESETS,
	OPT_VERSION,
	OPT_STRICT,
	OPT_RESOLVE_TIMEOUT,
	OPT_DEFAULT_PORTS,
	OPT_EXPOSE,
	OPT_SECCOMP_ALLOW,
	OPT_NO_SECCOMP,
	OPT_DNS_GRACE,
	OPT_DNS_CACHE_SIZE,
	OPT_LOG_FORMAT,
	OPT_AUDIT,
	OPT_AUDIT_REPORT,
	OPT_ALLOW_PRIVATE,
	OPT_ALLOW_PTRACE,
	OPT_BACKEND,
	OPT_NO_NAME_CHECK,
};

static const struct option long_options[] = {
	{ "user", required_argument, NULL, 'u' },
	{ "allow", required_argument, NULL, 'a' },
	{ "allow-file", required_argument, NULL, 'f' },
	{ "preset", required_argument, NULL, 'p' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "list-presets", no_argument, NULL, OPT_LIST_PRESETS },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "resolve-timeout", required_argument, NULL, OPT_RESOLVE_TIMEOUT },
	{ "default-ports", required_argument, NULL, OPT_DEFAULT_PORTS },
	{ "expose", required_argument, NULL, OPT_EXPOSE },
	{ "seccomp-allow", required_argument, NULL, OPT_SECCOMP_ALLOW },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "dns-grace", required_argument, NULL, OPT_DNS_GRACE },
	{ "dns-cache-size", required_argument, NULL, OPT_DNS_CACHE_SIZE },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "audit", no_argument, NULL, OPT_AUDIT },
	{ "audit-report", required_argument, NULL, OPT_AUDIT_REPORT },
	{ "allow-private", required_argument, NULL, OPT_ALLOW_PRIVATE },
	{ "allow-ptrace", no_argument, NULL, OPT_ALLOW_PTRACE },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "no-name-check", no_argument, NULL, OPT_NO_NAME_CHECK },
	{ NULL, 0, NULL, 0 },
};

/* "5", "2.5", "0.25": seconds with up to three decimals, 0.1 to 300. */
static int parse_seconds(const char *s, unsigned *ms)
{
	unsigned whole = 0, frac = 0, scale = 1000;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (unsigned)(*p - '0');
		if (whole > 300)
			return -1;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (scale == 1)
				return -1;
			scale /= 10;
			frac += (unsigned)(*p - '0') * scale;
		}
	}
	if (*p != '\0')
		return -1;
	unsigned total = whole * 1000 + frac;
	if (total < 100 || total > 300000)
		return -1;
	*ms = total;
	return 0;
}

static const char *getenv_from(char **envp, const char *name)
{
	size_t n = strlen(name);
	for (char **e = envp; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* --seccomp-allow NAME, once each. */
static int add_seccomp_allow(struct config *c, const char *name)
{
	for (size_t i = 0; i < c->n_seccomp_allow; i++)
		if (strcmp(c->seccomp_allow[i], name) == 0)
			return 0;
	const char **n = realloc(c->seccomp_allow, (c->n_seccomp_allow + 1) * sizeof(*n));
	if (!n)
		return -1;
	c->seccomp_allow = n;
	c->seccomp_allow[c->n_seccomp_allow++] = name;
	return 0;
}

/* The item text of an option, for messages: "--allow", "-a" as typed. */
static const char *opt_name(int opt)
{
	for (const struct option *o = long_options; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

/* A whole number from 0 to max, digits only. Returns 0, or -1. */
static int whole_number(const char *s, unsigned long max, unsigned *v)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || n > max)
		return -1;
	*v = (unsigned)n;
	return 0;
}

/* The TCP ports whose connections the name check reads: 80, 443, and the
 * port of each NAME:PORT/tls entry. */
static int checked_ports(struct config *c, struct perr *err)
{
	memset(&c->checked_ports, 0, sizeof(c->checked_ports));
	if (c->no_name_check)
		return 0;
	int rc = port_list_add(&c->checked_ports, PROTO_TCP, 80);
	rc |= port_list_add(&c->checked_ports, PROTO_TCP, 443);
	for (size_t i = 0; i < c->allow.n && rc == 0; i++) {
		const struct entry *e = &c->allow.v[i];
		if (e->tls && port_list_add(&c->checked_ports, PROTO_TCP, e->port) < 0)
			return perr_set(err, "%s: more than %d ports are checked by name (80, 443 and "
					"NAME:PORT/tls entries); mark fewer ports TLS", e->origin,
					PORT_LIST_MAX);
	}
	if (rc < 0)
		return perr_set(err, "internal: checked ports");
	return 0;
}

int config_parse(struct config *c, int argc, char **argv, char **envp,
		 const char *allow_file, struct perr *err)
{
	memset(c, 0, sizeof(*c));
	allowlist_init(&c->allow);
	c->verbosity = LOG_NORMAL;
	c->resolve_timeout_ms = DEFAULT_RESOLVE_TIMEOUT_MS;
	c->dns_grace = DEFAULT_DNS_GRACE;
	c->dns_cache_size = DEFAULT_DNS_CACHE_SIZE;
	c->allow_file = allow_file;
	struct perr why = PERR_INIT;
	if (port_list_parse(DEFAULT_PORTS, &c->default_ports, &why) < 0)
		return perr_set(err, "internal: default ports: %s", why.msg);

	const char *backend = NULL, *backend_origin = NULL;
	opterr = 0;
	optind = 1;
	int opt;
	/* '+': stop at the first non-option, so "palisade sh -c x" runs sh -c x. */
	while ((opt = getopt_long(argc, argv, "+:u:a:f:p:gvqh", long_options, NULL)) != -1) {
		char origin[64];
		snprintf(origin, sizeof(origin), "--%s", opt_name(opt));
		switch (opt) {
		case 'u':
			c->user = optarg;
			break;
		case 'a':
			if (allowlist_add(&c->allow, optarg, origin, err) < 0)
				return -1;
			break;
		case 'p': {
			char item[ALLOW_LINE_MAX + 2];
			snprintf(item, sizeof(item), "@%s", optarg[0] == '@' ? optarg + 1 : optarg);
			if (allowlist_add(&c->allow, item, origin, err) < 0)
				return -1;
			break;
		}
		case 'f':
			if (allowlist_read_file(&c->allow, optarg, err) < 0)
				return -1;
			break;
		case 'g':
			c->kill_group = true;
			break;
		case 'v':
			c->verbosity = LOG_VERBOSE;
			break;
		case 'q':
			c->verbosity = LOG_QUIET;
			break;
		case 'h':
			c->help = true;
			break;
		case OPT_CHECK:
			c->check = true;
			break;
		case OPT_LIST_PRESETS:
			c->list_presets = true;
			break;
		case OPT_VERSION:
			c->version = true;
			break;
		case OPT_STRICT:
			c->strict = true;
			break;
		case OPT_RESOLVE_TIMEOUT:
			if (parse_seconds(optarg, &c->resolve_timeout_ms) < 0)
				return perr_set(err, "--resolve-timeout \"%s\": give seconds from 0.1 "
						"to 300, such as 5 or 2.5", optarg);
			break;
		case OPT_DEFAULT_PORTS:
			if (port_list_parse(optarg, &c->default_ports, &why) < 0)
				return perr_set(err, "--default-ports \"%s\": %s; write a list such as %s",
						optarg, why.msg, DEFAULT_PORTS);
			break;
		case OPT_EXPOSE: {
			struct port_list one;
			if (port_list_parse(optarg, &one, NULL) < 0 || one.n != 1)
				return perr_set(err, "--expose \"%s\": give one port, such as 3000 or "
						"5353/udp", optarg);
			if (port_list_add(&c->expose, one.v[0].proto, one.v[0].port) < 0)
				return perr_set(err, "--expose \"%s\": more than %d ports for one protocol",
						optarg, PORT_LIST_MAX);
			break;
		}
		case OPT_SECCOMP_ALLOW:
			if (add_seccomp_allow(c, optarg) < 0)
				return perr_code(err, ENOMEM, "out of memory");
			break;
		case OPT_ALLOW_PTRACE:
			c->allow_ptrace = true;
			for (size_t i = 0; i < sc_ptrace_ncalls; i++)
				if (add_seccomp_allow(c, sc_ptrace_calls[i]) < 0)
					return perr_code(err, ENOMEM, "out of memory");
			break;
		case OPT_NO_SECCOMP:
			c->no_seccomp = true;
			break;
		case OPT_DNS_GRACE:
			if (whole_number(optarg, 86400, &c->dns_grace) < 0)
				return perr_set(err, "--dns-grace \"%s\": give whole seconds from 0 to "
						"86400, such as 600", optarg);
			break;
		case OPT_DNS_CACHE_SIZE:
			if (whole_number(optarg, DNS_CACHE_SIZE_MAX, &c->dns_cache_size) < 0)
				return perr_set(err, "--dns-cache-size \"%s\": give a number of answers "
						"from 0 (no cache) to %u, such as 1024", optarg,
						DNS_CACHE_SIZE_MAX);
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "text") == 0)
				c->log_json = false;
			else if (strcmp(optarg, "json") == 0)
				c->log_json = true;
			else
				return perr_set(err, "--log-format \"%s\": give text or json", optarg);
			break;
		case OPT_AUDIT:
			c->audit = true;
			break;
		case OPT_AUDIT_REPORT:
			c->audit_report = optarg;
			break;
		case OPT_ALLOW_PRIVATE:
			if (allowlist_add_private(&c->allow, optarg, origin, err) < 0)
				return -1;
			break;
		case OPT_NO_NAME_CHECK:
			c->no_name_check = true;
			break;
		case OPT_BACKEND:
			backend = optarg;
			backend_origin = "--backend";
			break;
		case ':':
			return perr_set(err, "option \"%s\" needs a value; palisade --help lists the options",
					argv[optind - 1]);
		default:
			if (optopt && optopt < 256)
				return perr_set(err, "unknown option \"-%c\"; palisade --help lists the "
						"options", optopt);
			return perr_set(err, "unknown option \"%s\"; palisade --help lists the options",
					argv[optind - 1]);
		}
	}

	if (c->help || c->version || c->list_presets)
		return 0;
	if (c->audit_report && !c->audit)
		return perr_set(err, "--audit-report \"%s\" needs --audit: the report lists what "
				"an audit run would have refused", c->audit_report);

	const char *env_allow = getenv_from(envp, "PALISADE_ALLOW");
	if (env_allow && allowlist_add_list(&c->allow, env_allow, "PALISADE_ALLOW", err) < 0)
		return -1;
	const char *env_private = getenv_from(envp, "PALISADE_ALLOW_PRIVATE");
	if (env_private && allowlist_add_private_list(&c->allow, env_private,
						      "PALISADE_ALLOW_PRIVATE", err) < 0)
		return -1;

	struct stat st;
	if (lstat(c->allow_file, &st) == 0) {
		if (allowlist_read_file(&c->allow, c->allow_file, err) < 0)
			return -1;
	} else if (errno != ENOENT && errno != ENOTDIR) {
		return perr_sys(err, errno, "allowlist file %s: cannot inspect it", c->allow_file);
	}

	if (allowlist_check_private(&c->allow, err) < 0)
		return -1;
	if (checked_ports(c, err) < 0)
		return -1;

	if (!backend) {
		backend = getenv_from(envp, "PALISADE_BACKEND");
		backend_origin = "PALISADE_BACKEND";
	}
	if (backend && fence_backend_parse(backend, &c->backend) < 0)
		return perr_set(err, "%s \"%s\": give auto, nft or legacy", backend_origin, backend);

	if (!c->user)
		c->user = getenv_from(envp, "PALISADE_USER");
	if (!c->user || !c->user[0])
		return perr_set(err, "no user for the agent: give --user USER or set PALISADE_USER "
				"(the agent never runs as root)");

	if (optind < argc)
		c->command = argv + optind;
	else if (!c->check)
		return perr_set(err, "no command to run: palisade [OPTIONS] [--] COMMAND [ARG...]");
	return 0;
}

void config_free(struct config *c)
{
	allowlist_free(&c->allow);
	free(c->seccomp_allow);
	memset(c, 0, sizeof(*c));
}

char **child_env(char *const *envp, const char *home, const char *user)
{
	size_t n = 0;
	for (char *const *e = envp; e && *e; e++)
		n++;
	size_t extra = strlen(home) + 2 * strlen(user) + sizeof("HOME=USER=LOGNAME=") + 3;
	/* The array, then the three new strings in one block after it. */
	char **env = malloc((n + 4) * sizeof(char *) + extra);
	if (!env)
		return NULL;
	char *strings = (char *)(env + n + 4);
	size_t k = 0;
	for (char *const *e = envp; e && *e; e++) {
		if (strncmp(*e, "PALISADE_", 9) == 0 || strncmp(*e, "HOME=", 5) == 0 ||
		    strncmp(*e, "USER=", 5) == 0 || strncmp(*e, "LOGNAME=", 8) == 0)
			continue;
		env[k++] = *e;
	}
	int w = sprintf(strings, "HOME=%s", home);
	env[k++] = strings;
	strings += w + 1;
	w = sprintf(strings, "USER=%s", user);
	env[k++] = strings;
	strings += w + 1;
	sprintf(strings, "LOGNAME=%s", user);
	env[k++] = strings;
	env[k] = NULL;
	return env;
}

void child_env_free(char **env)
{
	free(env);
}
