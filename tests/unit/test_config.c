#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../init/config.h"

#define NO_FILE "/nonexistent/palisade/allow"

static int parse(struct config *c, char **argv, char **envp, struct perr *e)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	return config_parse(c, argc, argv, envp, NO_FILE, e);
}

static void test_stops_at_first_non_option(void **state)
{
	(void)state;
	struct config c;
	struct perr e = PERR_INIT;
	char *argv[] = { "palisade", "-u", "node", "sh", "-c", "echo -v", NULL };
	char *envp[] = { NULL };
	assert_int_equal(parse(&c, argv, envp, &e), 0);
	assert_string_equal(c.user, "node");
	assert_string_equal(c.command[0], "sh");
	assert_string_equal(c.command[1], "-c");
	assert_string_equal(c.command[2], "echo -v");
	assert_null(c.command[3]);
	assert_int_equal(c.verbosity, LOG_NORMAL);
	config_free(&c);

	char *argv2[] = { "palisade", "--user=node", "-v", "--", "-weird-cmd", "-u", NULL };
	assert_int_equal(parse(&c, argv2, envp, &e), 0);
	assert_string_equal(c.command[0], "-weird-cmd");
	assert_string_equal(c.command[1], "-u");
	assert_int_equal(c.verbosity, LOG_VERBOSE);
	config_free(&c);
}

static void test_environment(void **state)
{
	(void)state;
	struct config c;
	struct perr e = PERR_INIT;
	char *argv[] = { "palisade", "-a", "one.example", "true", NULL };
	char *envp[] = { "PATH=/bin", "PALISADE_USER=dev:video",
			 "PALISADE_ALLOW=two.example, three.example  @npm", NULL };
	assert_int_equal(parse(&c, argv, envp, &e), 0);
	assert_string_equal(c.user, "dev:video");
	assert_int_equal(c.allow.n, 4);
	assert_string_equal(c.allow.v[0].origin, "--allow");
	assert_string_equal(c.allow.v[1].origin, "PALISADE_ALLOW entry 1");
	assert_string_equal(c.allow.v[3].origin, "@npm");
	config_free(&c);

	char *argv2[] = { "palisade", "-u", "node", "true", NULL };
	assert_int_equal(parse(&c, argv2, envp, &e), 0);
	assert_string_equal(c.user, "node"); /* the command line wins */
	assert_int_equal(c.backend, FENCE_BACKEND_AUTO);
	config_free(&c);

	char *env_nft[] = { "PALISADE_BACKEND=nft", NULL };
	assert_int_equal(parse(&c, argv2, env_nft, &e), 0);
	assert_int_equal(c.backend, FENCE_BACKEND_NFT);
	config_free(&c);
	char *argv3[] = { "palisade", "--backend", "legacy", "-u", "node", "true", NULL };
	assert_int_equal(parse(&c, argv3, env_nft, &e), 0);
	assert_int_equal(c.backend, FENCE_BACKEND_LEGACY); /* the command line wins */
	config_free(&c);
}

static void expect_error(char **argv, char **envp, const char *msg)
{
	struct config c;
	struct perr e = PERR_INIT;
	assert_int_equal(parse(&c, argv, envp, &e), -1);
	if (!strstr(e.msg, msg))
		fail_msg("got \"%s\", wanted \"%s\"", e.msg, msg);
	config_free(&c);
}

static void test_errors(void **state)
{
	(void)state;
	char *none[] = { NULL };
	char *a1[] = { "palisade", "true", NULL };
	expect_error(a1, none, "no user for the agent: give --user USER or set PALISADE_USER");
	char *a2[] = { "palisade", "-u", "node", NULL };
	expect_error(a2, none, "no command to run");
	char *a3[] = { "palisade", "--frobnicate", "-u", "node", "true", NULL };
	expect_error(a3, none, "unknown option \"--frobnicate\"; palisade --help lists the options");
	char *a4[] = { "palisade", "-x", "true", NULL };
	expect_error(a4, none, "unknown option \"-x\"");
	char *a5[] = { "palisade", "-u", "node", "-a", "exa mple.com", "true", NULL };
	expect_error(a5, none, "--allow: \"exa mple.com\" is not a domain, address or CIDR");
	char *a6[] = { "palisade", "-u", "node", "-p", "nosuch", "true", NULL };
	expect_error(a6, none, "--preset: unknown preset \"@nosuch\"");
	char *a7[] = { "palisade", "-u", "node", "--resolve-timeout", "0", "true", NULL };
	expect_error(a7, none, "--resolve-timeout \"0\"");
	char *a8[] = { "palisade", "-u", "node", "--default-ports", "80,http", "true", NULL };
	expect_error(a8, none, "--default-ports \"80,http\": \"http\" is not a port");
	char *a9[] = { "palisade", "-u", "node", "-f", "/nonexistent/list", "true", NULL };
	expect_error(a9, none, "allowlist file /nonexistent/list: cannot read it");
	char *a_backend[] = { "palisade", "-u", "node", "--backend", "iptables", "true", NULL };
	expect_error(a_backend, none, "--backend \"iptables\": give auto, nft or legacy");
	char *env_backend[] = { "PALISADE_BACKEND=xt", NULL };
	expect_error(a2, env_backend, "PALISADE_BACKEND \"xt\": give auto, nft or legacy");
	char *a10[] = { "palisade", "-u", NULL };
	expect_error(a10, none, "option \"-u\" needs a value");
	char *a11[] = { "palisade", "-u", "node", "--expose", "3000,3001", "true", NULL };
	expect_error(a11, none, "--expose \"3000,3001\": give one port");
	char *a13[] = { "palisade", "-u", "node", "--log-format", "xml", "true", NULL };
	expect_error(a13, none, "--log-format \"xml\": give text or json");
	char *a14[] = { "palisade", "-u", "node", "--dns-grace", "-1", "true", NULL };
	expect_error(a14, none, "--dns-grace \"-1\": give whole seconds from 0 to 86400");
	char *a15[] = { "palisade", "-u", "node", "--audit-report", "/tmp/r", "true", NULL };
	expect_error(a15, none, "--audit-report \"/tmp/r\" needs --audit");
	char *env[] = { "PALISADE_ALLOW=ok.example,no pe!", NULL };
	char *a12[] = { "palisade", "-u", "node", "true", NULL };
	expect_error(a12, env, "PALISADE_ALLOW entry 3: \"pe!\" is not a domain");
}

static void test_options(void **state)
{
	(void)state;
	struct config c;
	struct perr e = PERR_INIT;
	char *none[] = { NULL };
	char *argv[] = { "palisade", "--check", "-u", "node", "--strict", "-g", "-q",
			 "--resolve-timeout", "2.5", "--default-ports", "443", "--expose", "3000",
			 "--expose", "5353/udp", "--seccomp-allow", "perf_event_open", "--no-seccomp",
			 "--dns-grace", "30", "--log-format", "json", "--audit", "--audit-report",
			 "/work/allow", NULL };
	assert_int_equal(parse(&c, argv, none, &e), 0);
	assert_true(c.check);
	assert_null(c.command); /* --check needs no command */
	assert_true(c.strict);
	assert_true(c.kill_group);
	assert_true(c.no_seccomp);
	assert_int_equal(c.verbosity, LOG_QUIET);
	assert_int_equal(c.resolve_timeout_ms, 2500);
	assert_int_equal(c.default_ports.n, 1);
	assert_int_equal(c.expose.n, 2);
	assert_int_equal(c.expose.v[1].proto, PROTO_UDP);
	assert_int_equal(c.n_seccomp_allow, 1);
	assert_int_equal(c.dns_grace, 30);
	assert_true(c.log_json);
	assert_true(c.audit);
	assert_string_equal(c.audit_report, "/work/allow");
	config_free(&c);

	/* --allow-ptrace: the calls that act on other processes, once each. */
	char *pt[] = { "palisade", "-u", "node", "--seccomp-allow", "ptrace", "--allow-ptrace",
		       "--seccomp-allow", "pidfd_getfd", "true", NULL };
	assert_int_equal(parse(&c, pt, none, &e), 0);
	assert_true(c.allow_ptrace);
	assert_int_equal(c.n_seccomp_allow, 3);
	assert_string_equal(c.seccomp_allow[0], "ptrace");
	assert_string_equal(c.seccomp_allow[1], "process_vm_writev");
	assert_string_equal(c.seccomp_allow[2], "pidfd_getfd");
	config_free(&c);

	char *h[] = { "palisade", "--help", NULL };
	assert_int_equal(parse(&c, h, none, &e), 0); /* help needs no user */
	assert_true(c.help);
	config_free(&c);
}

static void test_allow_private(void **state)
{
	(void)state;
	struct config c;
	struct perr e = PERR_INIT;
	char *argv[] = { "palisade", "-u", "node", "-a", "db.corp.example", "-a", "*.svc.example",
			 "--allow-private", "db.corp.example", "true", NULL };
	char *envp[] = { "PALISADE_ALLOW_PRIVATE=*.svc.example x.svc.example", NULL };
	assert_int_equal(parse(&c, argv, envp, &e), 0);
	assert_int_equal(c.allow.n, 2);
	assert_int_equal(c.allow.npriv, 3);
	assert_string_equal(c.allow.priv[0].origin, "--allow-private");
	assert_string_equal(c.allow.priv[1].origin, "PALISADE_ALLOW_PRIVATE entry 1");
	assert_true(allowlist_private_ok(&c.allow, "db.corp.example"));
	assert_true(allowlist_private_ok(&c.allow, "a.svc.example"));
	config_free(&c);

	/* A wildcard is opted in only when written as one. */
	char *w[] = { "palisade", "-u", "node", "-a", "*.svc.example", "--allow-private",
		      "a.svc.example", "true", NULL };
	char *none[] = { NULL };
	assert_int_equal(parse(&c, w, none, &e), 0);
	assert_true(allowlist_private_ok(&c.allow, "a.svc.example"));
	assert_false(allowlist_private_ok(&c.allow, "b.svc.example"));
	config_free(&c);

	char *a1[] = { "palisade", "-u", "node", "--allow-private", "db.example", "true", NULL };
	expect_error(a1, none, "--allow-private: \"db.example\" may resolve to private addresses, "
		     "but no entry allows it; allow it too (-a 'db.example')");
	char *a2[] = { "palisade", "-u", "node", "--allow-private", "10.1.0.0/16", "true", NULL };
	expect_error(a2, none, "--allow-private: \"10.1.0.0/16\" is an address or network");
	char *a3[] = { "palisade", "-u", "node", "--allow-private", NULL };
	expect_error(a3, none, "option \"--allow-private\" needs a value");
	char *env[] = { "PALISADE_ALLOW_PRIVATE=ok.example,bad:1", "PALISADE_ALLOW=ok.example", NULL };
	char *a4[] = { "palisade", "-u", "node", "true", NULL };
	expect_error(a4, env, "PALISADE_ALLOW_PRIVATE entry 2: \"bad:1\" has a port");
}

static void test_child_env(void **state)
{
	(void)state;
	char *envp[] = { "PATH=/usr/bin", "PALISADE_USER=node", "PALISADE_ALLOW=x",
			 "HOME=/root", "TERM=xterm", "USER=root", "LOGNAME=root",
			 "PALISADEX=kept", NULL };
	char **env = child_env(envp, "/home/node", "node");
	assert_non_null(env);
	const char *want[] = { "PATH=/usr/bin", "TERM=xterm", "PALISADEX=kept",
			       "HOME=/home/node", "USER=node", "LOGNAME=node" };
	size_t n = 0;
	for (; env[n]; n++) {
		assert_true(n < 6);
		assert_string_equal(env[n], want[n]);
	}
	assert_int_equal(n, 6);
	child_env_free(env);
}

/* The name check: on by default for TCP 80 and 443, and the ports of
 * NAME:PORT/tls entries; --no-name-check turns it off. */
static void test_name_check(void **state)
{
	(void)state;
	struct config c;
	struct perr e = PERR_INIT;
	char *envp[] = { "PALISADE_ALLOW=b.example:9443/tls", NULL };
	char *argv[] = { "palisade", "-u", "node", "-a", "a.example:8443/tls", "-a",
			 "c.example:22", "true", NULL };
	assert_int_equal(parse(&c, argv, envp, &e), 0);
	assert_false(c.no_name_check);
	char buf[128];
	port_list_format(&c.checked_ports, buf, sizeof(buf));
	assert_string_equal(buf, "tcp 80,443,8443,9443");
	config_free(&c);

	char *off[] = { "palisade", "-u", "node", "--no-name-check", "-a", "a.example:8443/tls",
			"true", NULL };
	char *none[] = { NULL };
	assert_int_equal(parse(&c, off, none, &e), 0);
	assert_true(c.no_name_check);
	assert_int_equal(c.checked_ports.n, 0);
	config_free(&c);

	/* More ports than one multiport match holds. */
	char *many[40] = { "palisade", "-u", "node" };
	char text[20][40];
	int n = 3;
	for (int i = 0; i < 14; i++) {
		snprintf(text[i], sizeof(text[i]), "p%d.example:%d/tls", i, 9000 + i);
		many[n++] = "-a";
		many[n++] = text[i];
	}
	many[n++] = "true";
	many[n] = NULL;
	assert_int_equal(parse(&c, many, none, &e), -1);
	assert_non_null(strstr(e.msg, "mark fewer ports TLS"));
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stops_at_first_non_option),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_allow_private),
		cmocka_unit_test(test_child_env),
		cmocka_unit_test(test_name_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
