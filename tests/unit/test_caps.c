/* How palisade names the capabilities it lacks (lib/capmsg.c) and which
 * ones every start needs (caps/need.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/capability.h>
#include <string.h>

#include "../../caps/need.h"
#include "../../lib/capmsg.h"

#define BIT(c) (UINT64_C(1) << (c))
/* What Docker gives by default, and Podman (no NET_RAW, MKNOD, AUDIT_WRITE). */
#define DOCKER_DEFAULT                                                                \
	(BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER) |  \
	 BIT(CAP_MKNOD) | BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID) |       \
	 BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) | BIT(CAP_NET_BIND_SERVICE) |             \
	 BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE))
#define PODMAN_DEFAULT                                                                \
	(BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FOWNER) | BIT(CAP_FSETID) |  \
	 BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SETFCAP) |                \
	 BIT(CAP_SETGID) | BIT(CAP_SETPCAP) | BIT(CAP_SETUID) | BIT(CAP_SYS_CHROOT))

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(cap_name(CAP_NET_ADMIN), "NET_ADMIN");
	assert_string_equal(cap_name(CAP_DAC_READ_SEARCH), "DAC_READ_SEARCH");
	assert_string_equal(cap_name(CAP_SETFCAP), "SETFCAP");
	assert_string_equal(cap_name(CAP_CHECKPOINT_RESTORE), "CHECKPOINT_RESTORE");
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		assert_non_null(cap_name(c));
	assert_null(cap_name(-1));
	assert_null(cap_name(CAP_LAST_CAP + 1));
}

static void test_fix(void **state)
{
	(void)state;
	char buf[256];
	struct text t;
	text_init(&t, buf, sizeof(buf));
	int one = CAP_NET_ADMIN;
	cap_fix(&t, &one, 1);
	assert_string_equal(buf, "run the container with --cap-add NET_ADMIN (docker run, podman "
				 "run; Kubernetes: securityContext.capabilities.add: [\"NET_ADMIN\"])");
	text_init(&t, buf, sizeof(buf));
	int two[] = { CAP_SETPCAP, CAP_KILL };
	cap_fix(&t, two, 2);
	assert_string_equal(buf, "run the container with --cap-add SETPCAP --cap-add KILL (docker "
				 "run, podman run; Kubernetes: securityContext.capabilities.add: "
				 "[\"SETPCAP\", \"KILL\"])");
}

static void test_refused(void **state)
{
	(void)state;
	struct perr e = PERR_INIT;
	assert_int_equal(cap_refused(&e, CAP_FOWNER, 0, "removing the set-uid bits of /x"), -1);
	assert_int_equal(e.err, EPERM);
	assert_string_equal(e.msg, "removing the set-uid bits of /x: permission denied: palisade "
				   "lacks CAP_FOWNER; run the container with --cap-add FOWNER "
				   "(docker run, podman run; Kubernetes: "
				   "securityContext.capabilities.add: [\"FOWNER\"])");
	/* Held, and refused all the same: the flag would not help. */
	cap_refused(&e, CAP_NET_ADMIN, 1, "iptables: cannot read the filter table");
	assert_non_null(strstr(e.msg, "although palisade holds CAP_NET_ADMIN"));
	assert_null(strstr(e.msg, "--cap-add"));
	/* Unknown: the capability and the flag. */
	cap_refused(&e, CAP_NET_ADMIN, -1, "ipset");
	assert_non_null(strstr(e.msg, "CAP_NET_ADMIN is needed; run the container with "
				      "--cap-add NET_ADMIN"));
}

static void test_check(void **state)
{
	(void)state;
	struct perr e = PERR_INIT;
	/* Docker's default set and NET_ADMIN: all there. Podman's: the same;
	 * NET_RAW is not needed, and port 53 is privileged there. */
	assert_int_equal(caps_check(DOCKER_DEFAULT | BIT(CAP_NET_ADMIN), 0, "agent", &e), 0);
	assert_int_equal(caps_check(PODMAN_DEFAULT | BIT(CAP_NET_ADMIN), 1024, "agent", &e), 0);
	uint64_t needed = BIT(CAP_NET_ADMIN) | BIT(CAP_SETUID) | BIT(CAP_SETGID) |
			  BIT(CAP_SETPCAP) | BIT(CAP_KILL);
	assert_int_equal(caps_check(needed, 0, "agent", &e), 0);
	assert_int_equal(caps_check(needed, 53, "agent", &e), 0);

	/* Without NET_ADMIN, as docker run without --cap-add. */
	assert_int_equal(caps_check(DOCKER_DEFAULT, 0, "agent", &e), -1);
	assert_int_equal(e.err, EPERM);
	assert_string_equal(e.msg, "the container lacks CAP_NET_ADMIN (to install the fence); run "
				   "the container with --cap-add NET_ADMIN (docker run, podman run; "
				   "Kubernetes: securityContext.capabilities.add: [\"NET_ADMIN\"])");

	/* --cap-drop ALL --cap-add NET_ADMIN under Podman: every one named. */
	assert_int_equal(caps_check(BIT(CAP_NET_ADMIN), 1024, "node", &e), -1);
	assert_string_equal(e.msg,
			    "the container lacks CAP_NET_BIND_SERVICE (to serve DNS on port 53: "
			    "ports below 1024 need it here), CAP_SETGID (to run the agent as node), "
			    "CAP_SETUID (to run the agent as node), CAP_SETPCAP (to take every "
			    "capability from the agent and itself), CAP_KILL (to pass signals on to "
			    "the agent); run the container with --cap-add NET_BIND_SERVICE "
			    "--cap-add SETGID --cap-add SETUID --cap-add SETPCAP --cap-add KILL "
			    "(docker run, podman run; Kubernetes: securityContext.capabilities.add: "
			    "[\"NET_BIND_SERVICE\", \"SETGID\", \"SETUID\", \"SETPCAP\", \"KILL\"])");
	/* Where the sysctl cannot be read, the bind says it when it fails. */
	assert_int_equal(caps_check(needed, -1, "agent", &e), 0);
	assert_int_equal(caps_check(0, 54, "agent", &e), -1);
	assert_non_null(strstr(e.msg, "ports below 54 need it here"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_fix),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
