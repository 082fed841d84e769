/* How palisade was started (init/launch.c): what /proc says, read as a
 * kind of start, and the refusal that tells the user what to do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../init/launch.h"

static struct launch_facts facts(const char *pid1, pid_t ppid, const char *parent)
{
	struct launch_facts f = { .ppid = ppid };
	snprintf(f.pid1, sizeof(f.pid1), "%s", pid1);
	snprintf(f.self, sizeof(f.self), "palisade");
	snprintf(f.parent, sizeof(f.parent), "%s", parent);
	return f;
}

static void test_comm(void **state)
{
	(void)state;
	char out[LAUNCH_COMM_MAX];
	launch_comm("docker-init\n", 12, out);
	assert_string_equal(out, "docker-init");
	launch_comm("tail", 4, out);
	assert_string_equal(out, "tail");
	launch_comm("", 0, out);
	assert_string_equal(out, "");
	/* Bytes a message must not carry as they are: control bytes, quotes,
	 * spaces, bytes above ASCII. */
	launch_comm("a\x1b[2J\"b c\xff\n", 11, out);
	assert_string_equal(out, "a?[2J?b?c?");
	/* Longer than /proc ever says: cut. */
	launch_comm("0123456789abcdefghij\n", 21, out);
	assert_string_equal(out, "0123456789abcde");
}

static void test_classify(void **state)
{
	(void)state;
	struct launch_facts f;
	/* docker run --init: docker-init (tini) is PID 1 and palisade its child. */
	f = facts("docker-init", 1, "docker-init");
	assert_int_equal(launch_classify(&f), LAUNCH_INIT_IN_FRONT);
	f = facts("tini", 1, "tini");
	assert_int_equal(launch_classify(&f), LAUNCH_INIT_IN_FRONT);
	f = facts("catatonit", 1, "catatonit");
	assert_int_equal(launch_classify(&f), LAUNCH_INIT_IN_FRONT);
	/* ... with a shell between them. */
	f = facts("docker-init", 7, "sh");
	assert_int_equal(launch_classify(&f), LAUNCH_INIT_IN_FRONT);
	/* Kubernetes shareProcessNamespace: the pod's pause process, and
	 * palisade's parent outside the namespace. */
	f = facts("pause", 0, "");
	assert_int_equal(launch_classify(&f), LAUNCH_SHARED_POD);
	/* --pid=host: the runtime that started the container is seen. */
	f = facts("systemd", 2345, "containerd-shim");
	assert_int_equal(launch_classify(&f), LAUNCH_SHARED_HOST);
	f = facts("systemd", 2345, "conmon");
	assert_int_equal(launch_classify(&f), LAUNCH_SHARED_HOST);
	/* A CI job's container: PID 1 is another program, palisade came with
	 * docker exec (its parent outside the namespace). */
	f = facts("tail", 0, "");
	assert_int_equal(launch_classify(&f), LAUNCH_BYPASSED);
	f = facts("node", 0, "");
	assert_int_equal(launch_classify(&f), LAUNCH_BYPASSED);
	/* An entrypoint script that starts palisade without exec. */
	f = facts("sh", 1, "sh");
	assert_int_equal(launch_classify(&f), LAUNCH_UNDER_PID1);
	/* docker exec next to palisade. */
	f = facts("palisade", 0, "");
	assert_int_equal(launch_classify(&f), LAUNCH_NEXT_TO_PALISADE);
	/* ... installed under another name: PID 1 has palisade's own. */
	f = facts("fence", 0, "");
	snprintf(f.self, sizeof(f.self), "fence");
	assert_int_equal(launch_classify(&f), LAUNCH_NEXT_TO_PALISADE);
	/* By hand on a workstation: a shell's child, systemd is PID 1. */
	f = facts("systemd", 4242, "bash");
	assert_int_equal(launch_classify(&f), LAUNCH_BY_HAND);
	/* /proc could not tell: nothing is claimed. */
	f = facts("", 0, "");
	assert_int_equal(launch_classify(&f), LAUNCH_BY_HAND);
	/* An init that is not palisade's parent, seen from outside the
	 * namespace (a pod's infra process in Podman): not --init. */
	f = facts("catatonit", 0, "");
	assert_int_equal(launch_classify(&f), LAUNCH_BYPASSED);
}

static const char prefix[] = "refusing to run: palisade is pid 7, not PID 1, and changes "
			     "nothing outside a container; ";

static void refusal(const struct launch_facts *f, char *buf, size_t size)
{
	launch_refusal(f, 7, buf, size);
	assert_memory_equal(buf, prefix, strlen(prefix));
	const char *end = ", or run palisade --check to see the plan";
	assert_true(strlen(buf) > strlen(end));
	assert_string_equal(buf + strlen(buf) - strlen(end), end);
}

static void test_refusal(void **state)
{
	(void)state;
	/* Each kind of start, and what its refusal must say. */
	static const struct {
		const char *pid1;
		pid_t ppid;
		const char *parent;
		const char *says[2];
	} cases[] = {
		{ "docker-init", 1, "docker-init",
		  { "PID 1 is \"docker-init\", an init that docker run --init",
		    "remove --init: palisade is an init itself" } },
		{ "pause", 0, "",
		  { "shareProcessNamespace", "must be the first process of its own PID namespace" } },
		{ "systemd", 99, "containerd-shim",
		  { "started by \"containerd-shim\", a container runtime, and PID 1 is \"systemd\"",
		    "--pid=host" } },
		{ "tail", 0, "",
		  { "PID 1 is \"tail\", not palisade", "entrypoint was bypassed" } },
		{ "node", 0, "", { "run the image with docker run", "its own PID namespace" } },
		{ "sh", 1, "sh", { "PID 1 is \"sh\", which started palisade", "exec palisade" } },
		{ "palisade", 0, "",
		  { "already this container's PID 1", "palisade exec -- COMMAND" } },
	};
	char buf[2048];
	struct launch_facts f = facts("systemd", 4242, "bash");
	refusal(&f, buf, sizeof(buf));
	assert_string_equal(buf + strlen(prefix), "use it as the container's ENTRYPOINT, or run "
						  "palisade --check to see the plan");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f = facts(cases[i].pid1, cases[i].ppid, cases[i].parent);
		refusal(&f, buf, sizeof(buf));
		for (size_t k = 0; k < 2; k++)
			if (!strstr(buf, cases[i].says[k]))
				fail_msg("PID 1 %s: [%s] does not say [%s]", cases[i].pid1, buf,
					 cases[i].says[k]);
	}
	/* A small buffer: cut, still a string. */
	f = facts("tail", 0, "");
	launch_refusal(&f, 7, buf, 40);
	assert_int_equal(strlen(buf), 39);
}

static void test_uid_map(void **state)
{
	(void)state;
	/* The initial user namespace, as the kernel writes it. */
	assert_true(launch_uid_map_is_identity("         0          0 4294967295\n"));
	/* Rootless Podman, --userns=keep-id: the user's uid is its own, the
	 * rest comes from subuids. */
	assert_false(launch_uid_map_is_identity("         0          1          1000\n"
						"      1000       1000          1\n"
						"      1001       1001      64536\n"));
	/* One uid mapped (unshare --map-user). */
	assert_false(launch_uid_map_is_identity("      1000          0          1\n"));
	/* Whole but shifted (userns-remap). */
	assert_false(launch_uid_map_is_identity("         0     100000      65536\n"));
	/* Nothing, or not a map. */
	assert_false(launch_uid_map_is_identity(""));
	assert_false(launch_uid_map_is_identity("0 0"));
	assert_false(launch_uid_map_is_identity("0 0 4294967295 x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comm),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_refusal),
		cmocka_unit_test(test_uid_map),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
