#include "launch.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/fdio.h"
#include "../lib/text.h"

void launch_comm(const char *raw, size_t len, char out[LAUNCH_COMM_MAX])
{
	if (len > 0 && raw[len - 1] == '\n')
		len--;
	if (len > LAUNCH_COMM_MAX - 1)
		len = LAUNCH_COMM_MAX - 1;
	for (size_t i = 0; i < len; i++)
		out[i] = raw[i] > ' ' && raw[i] < 0x7f && raw[i] != '"' ? raw[i] : '?';
	out[len] = '\0';
}

bool launch_pid1_is_palisade(const struct launch_facts *f)
{
	return strcmp(f->pid1, "palisade") == 0 || (f->self[0] && strcmp(f->pid1, f->self) == 0);
}

/* The inits that put themselves in front of an entrypoint: docker run
 * --init (tini, installed as docker-init), podman run --init (catatonit),
 * and those images install for the same purpose. */
static bool is_init(const char *comm)
{
	static const char *const inits[] = { "docker-init", "tini", "tini-static", "catatonit",
					     "dumb-init" };
	for (size_t i = 0; i < sizeof(inits) / sizeof(inits[0]); i++)
		if (strcmp(comm, inits[i]) == 0)
			return true;
	return false;
}

/* A container runtime's process, the parent of a container's first
 * process: seen from inside only when the container shares the host's PID
 * namespace. */
static bool is_runtime(const char *comm)
{
	return strncmp(comm, "containerd-shim", 15) == 0 || strcmp(comm, "conmon") == 0 ||
	       strcmp(comm, "runc") == 0 || strcmp(comm, "crun") == 0;
}

enum launch_kind launch_classify(const struct launch_facts *f)
{
	if (!f->pid1[0])
		return LAUNCH_BY_HAND;
	if (launch_pid1_is_palisade(f))
		return LAUNCH_NEXT_TO_PALISADE;
	if (is_init(f->pid1) && f->ppid != 0)
		return LAUNCH_INIT_IN_FRONT;
	if (strcmp(f->pid1, "pause") == 0)
		return LAUNCH_SHARED_POD;
	if (f->ppid > 1 && is_runtime(f->parent))
		return LAUNCH_SHARED_HOST;
	if (f->ppid == 1)
		return LAUNCH_UNDER_PID1;
	if (f->ppid == 0)
		return LAUNCH_BYPASSED;
	return LAUNCH_BY_HAND;
}

void launch_refusal(const struct launch_facts *f, pid_t pid, char *buf, size_t size)
{
	struct text t;
	text_init(&t, buf, size);
	textf(&t, "refusing to run: palisade is pid %d, not PID 1, and changes nothing outside a "
		  "container; ", (int)pid);
	switch (launch_classify(f)) {
	case LAUNCH_BY_HAND:
		textf(&t, "use it as the container's ENTRYPOINT");
		break;
	case LAUNCH_NEXT_TO_PALISADE:
		textf(&t, "palisade is already this container's PID 1: run a command next to the "
			  "agent, under its terms, with palisade exec -- COMMAND");
		break;
	case LAUNCH_INIT_IN_FRONT:
		textf(&t, "PID 1 is \"%s\", an init that docker run --init (or podman run --init) "
			  "puts in front of the entrypoint; remove --init: palisade is an init "
			  "itself", f->pid1);
		break;
	case LAUNCH_UNDER_PID1:
		textf(&t, "PID 1 is \"%s\", which started palisade; palisade must itself be the "
			  "container's first process: make it the ENTRYPOINT, or start it with exec "
			  "from the entrypoint's script (exec palisade ...)", f->pid1);
		break;
	case LAUNCH_SHARED_POD:
		textf(&t, "PID 1 is \"pause\": the pod's containers share one PID namespace "
			  "(Kubernetes shareProcessNamespace); palisade must be the first process "
			  "of its own PID namespace: remove shareProcessNamespace from the pod");
		break;
	case LAUNCH_SHARED_HOST:
		textf(&t, "palisade was started by \"%s\", a container runtime, and PID 1 is "
			  "\"%s\": the container shares the host's PID namespace (--pid=host); "
			  "palisade must be the first process of its own PID namespace: remove "
			  "--pid", f->parent, f->pid1);
		break;
	case LAUNCH_BYPASSED:
		textf(&t, "PID 1 is \"%s\", not palisade, and palisade was started from outside "
			  "this PID namespace: with docker exec in a container whose entrypoint was "
			  "bypassed (a CI job's container: or image: starts its own PID 1 and runs "
			  "steps with docker exec; nothing fences that container), or in a PID "
			  "namespace shared with another container (--pid=container:NAME, "
			  "Kubernetes shareProcessNamespace); palisade must be the first process of "
			  "its own PID namespace: run the image with docker run, palisade as its "
			  "ENTRYPOINT", f->pid1);
		break;
	}
	textf(&t, ", or run palisade --check to see the plan");
}

bool launch_uid_map_is_identity(const char *uid_map)
{
	unsigned long inside, outside, count;
	int used = 0;
	if (sscanf(uid_map, " %lu %lu %lu %n", &inside, &outside, &count, &used) != 3)
		return false;
	return inside == 0 && outside == 0 && count == 4294967295UL && uid_map[used] == '\0';
}

/* A command name in /proc into out; "" when it cannot be read. */
static void read_comm(const char *path, char out[LAUNCH_COMM_MAX])
{
	char raw[64];
	long n = read_text(path, raw, sizeof(raw));
	if (n < 0)
		n = 0;
	launch_comm(raw, (size_t)n, out);
}

void launch_read(struct launch_facts *f)
{
	read_comm("/proc/1/comm", f->pid1);
	read_comm("/proc/self/comm", f->self);
	f->ppid = getppid();
	f->parent[0] = '\0';
	if (f->ppid > 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)f->ppid);
		read_comm(path, f->parent);
	}
}

bool launch_in_user_namespace(void)
{
	char map[4096];
	return read_text("/proc/self/uid_map", map, sizeof(map)) > 0 &&
	       !launch_uid_map_is_identity(map);
}

int launch_check_fenced(struct perr *err)
{
	struct launch_facts f;
	launch_read(&f);
	if (!f.pid1[0] || launch_pid1_is_palisade(&f))
		return 0;
	return perr_set(err, "PID 1 of this container is \"%s\", not palisade: the container's "
			"entrypoint was bypassed (a CI job's container:, or GitLab CI's image: with "
			"its entrypoint overridden, starts its own PID 1 and runs each step with "
			"docker exec), and nothing fences this container; run the image with "
			"docker run in a step instead (see palisade's docs/docker.md)", f.pid1);
}
