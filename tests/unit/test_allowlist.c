#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../init/allowlist.h"
#include "../../init/presets.h"

static void parse_ok(const char *in, enum entry_kind kind, enum port_scope ports,
		     uint16_t port, const char *canonical)
{
	struct entry e;
	struct perr why = PERR_INIT;
	char out[300];
	int rc = entry_parse(in, &e, &why);
	if (rc != 0)
		fail_msg("%s: %s", in, why.msg);
	assert_int_equal(e.kind, kind);
	assert_int_equal(e.ports, ports);
	assert_int_equal(e.port, port);
	entry_format(&e, out, sizeof(out));
	assert_string_equal(out, canonical);
}

static void parse_bad(const char *in, const char *reason)
{
	struct entry e;
	struct perr why = PERR_INIT;
	assert_int_equal(entry_parse(in, &e, &why), -1);
	assert_int_equal(why.err, EINVAL);
	if (!strstr(why.msg, reason))
		fail_msg("%s: got \"%s\", wanted \"%s\"", in, why.msg, reason);
}

/* PID 1 keeps only the names once the fence holds the rest; the list can
 * still take entries afterwards, duplicates still dropped. */
static void test_keep_names(void **state)
{
	(void)state;
	struct allowlist l;
	allowlist_init(&l);
	struct perr e = PERR_INIT;
	assert_int_equal(allowlist_add_list(&l, "10.0.0.0/8 a.example *.b.example 192.0.2.1:22 "
					    "a.example:443", "test", &e), 0);
	allowlist_keep_names(&l);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].name, "a.example");
	assert_int_equal(l.v[1].kind, ENTRY_WILDCARD);
	assert_string_equal(l.v[1].name, "b.example");
	assert_int_equal(l.v[2].port, 443);
	assert_int_equal(allowlist_add(&l, "a.example", "test", &e), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(allowlist_add(&l, "c.example", "test", &e), 0);
	assert_int_equal(l.n, 4);
	allowlist_free(&l);

	allowlist_init(&l);
	assert_int_equal(allowlist_add(&l, "192.0.2.1", "test", &e), 0);
	allowlist_keep_names(&l);
	assert_int_equal(l.n, 0);
	allowlist_free(&l);
}

static void test_entry_forms(void **state)
{
	(void)state;
	parse_ok("api.anthropic.com", ENTRY_DOMAIN, PORTS_DEFAULT, 0, "api.anthropic.com");
	parse_ok("API.Anthropic.COM.", ENTRY_DOMAIN, PORTS_DEFAULT, 0, "api.anthropic.com");
	parse_ok("example.com:443", ENTRY_DOMAIN, PORTS_ONE, 443, "example.com:443");
	parse_ok("example.com:*", ENTRY_DOMAIN, PORTS_ALL, 0, "example.com:*");
	parse_ok("allowed", ENTRY_DOMAIN, PORTS_DEFAULT, 0, "allowed");
	parse_ok("_acme.example.com", ENTRY_DOMAIN, PORTS_DEFAULT, 0, "_acme.example.com");
	parse_ok("192.0.2.1", ENTRY_NET, PORTS_DEFAULT, 0, "192.0.2.1");
	parse_ok("192.0.2.1:22", ENTRY_NET, PORTS_ONE, 22, "192.0.2.1:22");
	parse_ok("140.82.112.0/20", ENTRY_NET, PORTS_DEFAULT, 0, "140.82.112.0/20");
	parse_ok("140.82.112.0/20:443", ENTRY_NET, PORTS_ONE, 443, "140.82.112.0/20:443");
	parse_ok("2001:db8::1", ENTRY_NET, PORTS_DEFAULT, 0, "2001:db8::1");
	parse_ok("2606:50c0::/32", ENTRY_NET, PORTS_DEFAULT, 0, "2606:50c0::/32");
	parse_ok("[2001:db8::1]:22", ENTRY_NET, PORTS_ONE, 22, "[2001:db8::1]:22");
	parse_ok("[2001:db8::1]", ENTRY_NET, PORTS_DEFAULT, 0, "2001:db8::1");
	parse_ok("[2001:db8::/32]:*", ENTRY_NET, PORTS_ALL, 0, "[2001:db8::/32]:*");
	parse_ok("*.example.com", ENTRY_WILDCARD, PORTS_DEFAULT, 0, "*.example.com");
	parse_ok("*.githubusercontent.com:443", ENTRY_WILDCARD, PORTS_ONE, 443,
		 "*.githubusercontent.com:443");
	/* A name's port marked TLS, for the name check. */
	parse_ok("example.com:8443/tls", ENTRY_DOMAIN, PORTS_ONE, 8443, "example.com:8443/tls");
	parse_ok("*.example.com:8443/tls", ENTRY_WILDCARD, PORTS_ONE, 8443,
		 "*.example.com:8443/tls");
	struct entry e;
	struct perr err = PERR_INIT;
	assert_int_equal(entry_parse("example.com:8443/tls", &e, &err), 0);
	assert_true(e.tls);
	assert_int_equal(entry_parse("example.com:8443", &e, &err), 0);
	assert_false(e.tls);
}

static void test_entry_errors(void **state)
{
	(void)state;
	parse_bad("exa mple.com", "\"exa mple.com\" is not a domain, address or CIDR");
	parse_bad("999.1.1.1", "is not a domain, address or CIDR");
	parse_bad("1.2.3", "is not a domain, address or CIDR");
	parse_bad("example..com", "is not a domain");
	parse_bad("-example.com", "is not a domain");
	parse_bad("example-.com", "is not a domain");
	parse_bad("exa_mple.com:0", "port that is not 1-65535 or *");
	parse_bad("example.com:65536", "port that is not 1-65535 or *");
	parse_bad("example.com:http", "port that is not 1-65535 or *");
	parse_bad("example.com:", "port that is not 1-65535 or *");
	parse_bad(":443", "has no host");
	parse_bad("10.0.0.5/8", "did you mean 10.0.0.0/8?");
	parse_bad("0.0.0.0/0", "no fence");
	parse_bad("::/0", "no fence");
	parse_bad("2001:db8::1:22:", "is not an IPv6 address");
	parse_bad("[2001:db8::1", "without closing it");
	parse_bad("[192.0.2.1]:22", "no IPv6 address");
	parse_bad("[2001:db8::1]x", "not :PORT");
	parse_bad("ex*ample.com", "is not a wildcard");
	parse_bad("*.", "is not a wildcard");
	parse_bad("*example.com", "is not a wildcard");
	parse_bad("", "is empty");
	parse_bad("192.0.2.1:443/tls", "marks an address as TLS; only names are checked");
	parse_bad("example.com:*/tls", "port that is not 1-65535 or *");
	parse_bad("example.com:/tls", "port that is not 1-65535 or *");
	parse_bad("example.com:123456/tls", "port that is not 1-65535 or *");
	parse_bad("example.com:443/udp", "port that is not 1-65535 or *");
	char label[80];
	memset(label, 'a', 64);
	strcpy(label + 64, ".com");
	parse_bad(label, "is not a domain");
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (size_t i = 50; i < sizeof(big) - 1; i += 50)
		big[i] = '.';
	parse_bad(big, "is not a domain");
}

static void test_duplicates_and_presets(void **state)
{
	(void)state;
	struct allowlist l;
	struct perr e = PERR_INIT;
	allowlist_init(&l);
	assert_int_equal(allowlist_add(&l, "example.com", "--allow", &e), 0);
	assert_int_equal(allowlist_add(&l, "EXAMPLE.com.", "--allow", &e), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(allowlist_add(&l, "example.com:443", "--allow", &e), 0);
	assert_int_equal(l.n, 2); /* another port is another entry */
	assert_int_equal(allowlist_add(&l, "@npm", "--preset", &e), 0);
	assert_int_equal(allowlist_add(&l, "@npm", "--preset", &e), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[2].name, "registry.npmjs.org");
	assert_string_equal(l.v[2].origin, "@npm");

	assert_int_equal(allowlist_add(&l, "@nope", "--allow", &e), -1);
	assert_string_equal(e.msg, "--allow: unknown preset \"@nope\" (palisade --list-presets lists them)");

	/* Many entries: the duplicate index keeps working as it grows. */
	char buf[64];
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "10.%d.%d.1", i / 256, i % 256);
		assert_int_equal(allowlist_add(&l, buf, "--allow", &e), 0);
		assert_int_equal(allowlist_add(&l, buf, "--allow", &e), 0);
	}
	assert_int_equal(l.n, 5003);
	allowlist_free(&l);
}

static void test_every_preset_parses(void **state)
{
	(void)state;
	const char *required[] = { "anthropic", "npm", "pypi", "github", "debian" };
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		assert_non_null(preset_find(required[i]));
	for (size_t i = 0; i < presets_count; i++) {
		struct allowlist l;
		struct perr e = PERR_INIT;
		char item[64];
		allowlist_init(&l);
		snprintf(item, sizeof(item), "@%s", presets[i].name);
		if (allowlist_add(&l, item, "test", &e) != 0)
			fail_msg("preset %s: %s", presets[i].name, e.msg);
		size_t n = 0;
		while (presets[i].entries[n])
			n++;
		assert_int_equal(l.n, n); /* no duplicates inside a preset */
		allowlist_free(&l);
	}
}

static void test_list_separators(void **state)
{
	(void)state;
	struct allowlist l;
	struct perr e = PERR_INIT;
	allowlist_init(&l);
	assert_int_equal(allowlist_add_list(&l, " a.example, b.example  c.example,,\td.example\n",
					    "PALISADE_ALLOW", &e), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[3].origin, "PALISADE_ALLOW entry 4");
	assert_int_equal(allowlist_add_list(&l, "ok.example,bad_one!", "PALISADE_ALLOW", &e), -1);
	assert_string_equal(e.msg, "PALISADE_ALLOW entry 2: \"bad_one!\" is not a domain, address or CIDR");
	allowlist_free(&l);
}

static void test_text_lines(void **state)
{
	(void)state;
	struct allowlist l;
	struct perr e = PERR_INIT;
	allowlist_init(&l);
	const char text[] = "# the agent's list\n"
			    "\n"
			    "api.anthropic.com   # the API\n"
			    "  140.82.112.0/20\r\n"
			    "@pypi\n"
			    "[2001:db8::1]:22";
	assert_int_equal(allowlist_add_text(&l, text, sizeof(text) - 1, "allow", &e), 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.v[0].origin, "allow line 3");
	assert_string_equal(l.v[4].origin, "allow line 6");

	const char bad[] = "a.example\n\n# x\n\n\n\nexa mple.com\n";
	assert_int_equal(allowlist_add_text(&l, bad, sizeof(bad) - 1, "allowlist", &e), -1);
	assert_string_equal(e.msg, "allowlist line 7: \"exa mple.com\" is not a domain, address or CIDR");

	const char nul[] = "a.example\nb.ex\0ample\n";
	assert_int_equal(allowlist_add_text(&l, nul, sizeof(nul) - 1, "f", &e), -1);
	assert_string_equal(e.msg, "f line 2: the line holds a NUL byte: this is not a text file of entries");

	size_t big = 100 * 1024;
	char *huge = malloc(big + 20);
	assert_non_null(huge);
	memcpy(huge, "ok.example\n", 11);
	memset(huge + 11, 'a', big);
	assert_int_equal(allowlist_add_text(&l, huge, big + 11, "f", &e), -1);
	assert_non_null(strstr(e.msg, "f line 2: the line is 102400 bytes long, more than 1024"));
	free(huge);
	allowlist_free(&l);
}

/* File checks need root to make root-owned files and others' files. */
static void test_file_ownership(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	/* A directory only root can write to: not /tmp, where the build may be. */
	char dir[64] = "";
	const char *bases[] = { "/run", "/var/lib", "/root" };
	for (size_t i = 0; i < 3 && !dir[0]; i++) {
		struct stat st;
		if (stat(bases[i], &st) == 0 && st.st_uid == 0 && !(st.st_mode & 022)) {
			snprintf(dir, sizeof(dir), "%s/palisade-test-XXXXXX", bases[i]);
			assert_non_null(mkdtemp(dir));
		}
	}
	if (!dir[0]) {
		skip();
		return;
	}
	assert_int_equal(chmod(dir, 0755), 0);
	char path[128];
	snprintf(path, sizeof(path), "%s/allow", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("example.com\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0644), 0);

	struct allowlist l;
	struct perr e = PERR_INIT;
	allowlist_init(&l);
	int rc = allowlist_read_file(&l, path, &e);
	if (rc != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(l.n, 1);

	assert_int_equal(chmod(path, 0664), 0);
	assert_int_equal(allowlist_read_file(&l, path, &e), -1);
	assert_non_null(strstr(e.msg, "writable by group or others"));
	assert_non_null(strstr(e.msg, "chmod go-w"));

	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(chown(path, 1000, 1000), 0);
	assert_int_equal(allowlist_read_file(&l, path, &e), -1);
	assert_non_null(strstr(e.msg, "not owned by root"));

	assert_int_equal(chown(path, 0, 0), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(allowlist_read_file(&l, path, &e), -1);
	assert_non_null(strstr(e.msg, "writable by others"));
	assert_int_equal(chmod(dir, 0755), 0);

	/* A symlink to an agent-writable place is judged by where it leads. */
	char sub[128], link[128];
	snprintf(sub, sizeof(sub), "%s/agent", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(chown(sub, 1000, 1000), 0);
	char target[160];
	snprintf(target, sizeof(target), "%s/allow2", sub);
	f = fopen(target, "w");
	fclose(f);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(allowlist_read_file(&l, link, &e), -1);
	assert_non_null(strstr(e.msg, "is owned by uid 1000"));

	assert_int_equal(allowlist_read_file(&l, "/nonexistent/allow", &e), -1);
	assert_non_null(strstr(e.msg, "No such file"));

	assert_int_equal(allowlist_read_file(&l, dir, &e), -1);
	assert_non_null(strstr(e.msg, "not a regular file"));

	unlink(link);
	unlink(target);
	rmdir(sub);
	unlink(path);
	rmdir(dir);
	allowlist_free(&l);
}

/* Names opted in to private addresses: from the command line, a list, or
 * a "private NAME" line; matched exactly or, for *.suffix, strictly under
 * it; and each one must be a name an entry allows. */
static void test_private_names(void **state)
{
	(void)state;
	struct allowlist l;
	struct perr e = PERR_INIT;
	allowlist_init(&l);
	const char text[] = "db.corp.example\n"
			    "private db.corp.example   # the database\n"
			    "*.svc.example:5432\n"
			    "private\t*.svc.example\n"
			    "private DB.CORP.EXAMPLE.\n"
			    "privateer.example\n";
	assert_int_equal(allowlist_add_text(&l, text, sizeof(text) - 1, "allow", &e), 0);
	assert_int_equal(l.n, 3); /* the private lines are no entries */
	assert_int_equal(l.npriv, 2); /* the third is the first again */
	assert_int_equal(l.priv[0].kind, ENTRY_DOMAIN);
	assert_string_equal(l.priv[0].name, "db.corp.example");
	assert_string_equal(l.priv[0].origin, "allow line 2");
	assert_int_equal(l.priv[1].kind, ENTRY_WILDCARD);
	assert_string_equal(l.priv[1].name, "svc.example");
	assert_true(allowlist_private_ok(&l, "db.corp.example"));
	assert_false(allowlist_private_ok(&l, "a.db.corp.example"));
	assert_false(allowlist_private_ok(&l, "corp.example"));
	assert_true(allowlist_private_ok(&l, "a.svc.example"));
	assert_true(allowlist_private_ok(&l, "b.a.svc.example"));
	assert_false(allowlist_private_ok(&l, "svc.example"));
	assert_false(allowlist_private_ok(&l, "badsvc.example"));
	assert_false(allowlist_private_ok(&l, "privateer.example"));
	assert_int_equal(allowlist_check_private(&l, &e), 0);

	/* Kept with the names once PID 1 drops the rest. */
	allowlist_keep_names(&l);
	assert_true(allowlist_private_ok(&l, "db.corp.example"));

	assert_int_equal(allowlist_add_private_list(&l, "x.example, *.y.example", "ENV", &e), 0);
	assert_int_equal(l.npriv, 4);
	assert_string_equal(l.priv[3].origin, "ENV entry 2");
	/* Neither is allowed by an entry: a typo would go unnoticed. */
	assert_int_equal(allowlist_check_private(&l, &e), -1);
	assert_string_equal(e.msg, "ENV entry 1: \"x.example\" may resolve to private addresses, "
			    "but no entry allows it; allow it too (-a 'x.example')");
	allowlist_free(&l);

	/* What allows an opted-in name: the name itself or a wildcard over it;
	 * for an opted-in wildcard, a wildcard over it or under it, or a name
	 * under it. */
	static const struct {
		const char *entry, *opt;
		int rc;
	} cases[] = {
		{ "a.example", "a.example", 0 },
		{ "*.example", "a.example", 0 },
		{ "*.a.example", "a.example", -1 },
		{ "b.a.example", "a.example", -1 },
		{ "*.example", "*.a.example", 0 },
		{ "*.a.example", "*.a.example", 0 },
		{ "*.b.a.example", "*.a.example", 0 },
		{ "b.a.example", "*.a.example", 0 },
		{ "a.example", "*.a.example", -1 },
		{ "*.other.example", "*.a.example", -1 },
		{ "10.0.0.0/8", "a.example", -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		allowlist_init(&l);
		assert_int_equal(allowlist_add(&l, cases[i].entry, "-a", &e), 0);
		assert_int_equal(allowlist_add_private(&l, cases[i].opt, "--allow-private", &e), 0);
		if (allowlist_check_private(&l, &e) != cases[i].rc)
			fail_msg("entry %s, opt-in %s: expected %d", cases[i].entry, cases[i].opt,
				 cases[i].rc);
		allowlist_free(&l);
	}

	/* Only names: addresses and networks mean what they say already. */
	allowlist_init(&l);
	assert_int_equal(allowlist_add_private(&l, "10.0.0.0/8", "--allow-private", &e), -1);
	assert_string_equal(e.msg, "--allow-private: \"10.0.0.0/8\" is an address or network, "
			    "which the allowlist allows as written (-a 10.0.0.0/8); opt in a name "
			    "to let it resolve to private addresses");
	assert_int_equal(allowlist_add_private(&l, "fd00::1", "--allow-private", &e), -1);
	assert_int_equal(allowlist_add_private(&l, "db.example:5432", "--allow-private", &e), -1);
	assert_string_equal(e.msg, "--allow-private: \"db.example:5432\" has a port: opt in the "
			    "name alone (the entries that allow it say which ports)");
	assert_int_equal(allowlist_add_private(&l, "exa mple", "--allow-private", &e), -1);
	assert_string_equal(e.msg, "--allow-private: \"exa mple\" is not a domain, address or CIDR");
	assert_int_equal(allowlist_add_private(&l, "@npm", "--allow-private", &e), -1);
	const char two[] = "private a.example b.example\n";
	assert_int_equal(allowlist_add_text(&l, two, sizeof(two) - 1, "f", &e), -1);
	assert_string_equal(e.msg, "f line 1: \"private a.example b.example\": write one name "
			    "after \"private\"");
	const char bare[] = "private\n";
	/* "private" alone is the single-label name it always was. */
	assert_int_equal(allowlist_add_text(&l, bare, sizeof(bare) - 1, "f", &e), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.npriv, 0);
	assert_int_equal(allowlist_private_ok(&l, "private"), false);
	allowlist_free(&l);
}

static bool matches(const char *entry, const char *name)
{
	struct entry e;
	struct perr why = PERR_INIT;
	if (entry_parse(entry, &e, &why) < 0)
		fail_msg("%s: %s", entry, why.msg);
	return entry_matches(&e, name);
}

/* Which names an entry lets the agent resolve. */
static void test_entry_matches(void **state)
{
	(void)state;
	assert_true(matches("example.com", "example.com"));
	assert_true(matches("Example.COM:443", "example.com"));
	assert_false(matches("example.com", "www.example.com"));
	assert_false(matches("example.com", "example.co"));
	assert_false(matches("example.com", "example.com.evil"));
	assert_false(matches("example.com", ""));
	assert_true(matches("*.example.com", "a.example.com"));
	assert_true(matches("*.example.com:*", "a.b.example.com"));
	assert_false(matches("*.example.com", "example.com"));
	assert_false(matches("*.example.com", "badexample.com"));
	assert_false(matches("*.example.com", ".example.com"));
	assert_false(matches("*.example.com", "a.example.com.evil"));
	assert_false(matches("*.example.com", "xample.com"));
	assert_false(matches("*.example.com", ""));
	/* Addresses and networks are not names. */
	assert_false(matches("192.0.2.1", "192.0.2.1"));
	assert_false(matches("10.0.0.0/8", "10.0.0.1"));
	assert_false(matches("2001:db8::1", "2001:db8::1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_forms),
		cmocka_unit_test(test_entry_errors),
		cmocka_unit_test(test_duplicates_and_presets),
		cmocka_unit_test(test_every_preset_parses),
		cmocka_unit_test(test_list_separators),
		cmocka_unit_test(test_text_lines),
		cmocka_unit_test(test_file_ownership),
		cmocka_unit_test(test_keep_names),
		cmocka_unit_test(test_private_names),
		cmocka_unit_test(test_entry_matches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
