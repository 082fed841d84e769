#include "need.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/capmsg.h"
#include "../lib/text.h"

#define PORT_START_SYSCTL "/proc/sys/net/ipv4/ip_unprivileged_port_start"
#define DNS_PORT 53

int caps_check(uint64_t have, int port_start, const char *user, struct perr *err)
{
	/* In the order palisade uses them. KILL and NET_ADMIN are what PID 1
	 * keeps (init/pid1.c), SETPCAP empties the bounding sets. */
	char bind_why[96], user_why[96];
	snprintf(bind_why, sizeof(bind_why),
		 "to serve DNS on port %d: ports below %d need it here", DNS_PORT, port_start);
	snprintf(user_why, sizeof(user_why), "to run the agent as %s", user);
	const struct {
		int cap;
		const char *why;
		bool needed;
	} need[] = {
		{ CAP_NET_ADMIN, "to install the fence", true },
		{ CAP_NET_BIND_SERVICE, bind_why, port_start > DNS_PORT },
		{ CAP_SETGID, user_why, true },
		{ CAP_SETUID, user_why, true },
		{ CAP_SETPCAP, "to take every capability from the agent and itself", true },
		{ CAP_KILL, "to pass signals on to the agent", true },
	};
	int missing[sizeof(need) / sizeof(need[0])];
	size_t n = 0;
	char msg[sizeof(err->msg)];
	struct text t;
	text_init(&t, msg, sizeof(msg));
	textf(&t, "the container lacks ");
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!need[i].needed || (have & (UINT64_C(1) << need[i].cap)))
			continue;
		textf(&t, "%sCAP_%s (%s)", n ? ", " : "", cap_name(need[i].cap), need[i].why);
		missing[n++] = need[i].cap;
	}
	if (n == 0)
		return 0;
	textf(&t, "; ");
	cap_fix(&t, missing, n);
	return perr_code(err, EPERM, "%s", msg);
}

/* The sysctl, or -1: kernels before 4.11 have none (every port below 1024
 * is privileged there), and an unreadable /proc says nothing. */
static int port_start(void)
{
	int fd = open(PORT_START_SYSCTL, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 1024 : -1;
	char buf[32];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *end;
	long v = strtol(buf, &end, 10);
	if (end == buf || v < 0 || v > 65535)
		return -1;
	return (int)v;
}

int caps_preflight(const char *user, struct perr *err)
{
	uint64_t have;
	if (cap_effective(&have) < 0)
		return perr_sys(err, errno, "cannot read palisade's capabilities (capget)");
	return caps_check(have, port_start(), user, err);
}
