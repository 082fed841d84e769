#include "capmsg.h"

#include <errno.h>

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *const names[] = {
	[CAP_CHOWN] = "CHOWN",
	[CAP_DAC_OVERRIDE] = "DAC_OVERRIDE",
	[CAP_DAC_READ_SEARCH] = "DAC_READ_SEARCH",
	[CAP_FOWNER] = "FOWNER",
	[CAP_FSETID] = "FSETID",
	[CAP_KILL] = "KILL",
	[CAP_SETGID] = "SETGID",
	[CAP_SETUID] = "SETUID",
	[CAP_SETPCAP] = "SETPCAP",
	[CAP_LINUX_IMMUTABLE] = "LINUX_IMMUTABLE",
	[CAP_NET_BIND_SERVICE] = "NET_BIND_SERVICE",
	[CAP_NET_BROADCAST] = "NET_BROADCAST",
	[CAP_NET_ADMIN] = "NET_ADMIN",
	[CAP_NET_RAW] = "NET_RAW",
	[CAP_IPC_LOCK] = "IPC_LOCK",
	[CAP_IPC_OWNER] = "IPC_OWNER",
	[CAP_SYS_MODULE] = "SYS_MODULE",
	[CAP_SYS_RAWIO] = "SYS_RAWIO",
	[CAP_SYS_CHROOT] = "SYS_CHROOT",
	[CAP_SYS_PTRACE] = "SYS_PTRACE",
	[CAP_SYS_PACCT] = "SYS_PACCT",
	[CAP_SYS_ADMIN] = "SYS_ADMIN",
	[CAP_SYS_BOOT] = "SYS_BOOT",
	[CAP_SYS_NICE] = "SYS_NICE",
	[CAP_SYS_RESOURCE] = "SYS_RESOURCE",
	[CAP_SYS_TIME] = "SYS_TIME",
	[CAP_SYS_TTY_CONFIG] = "SYS_TTY_CONFIG",
	[CAP_MKNOD] = "MKNOD",
	[CAP_LEASE] = "LEASE",
	[CAP_AUDIT_WRITE] = "AUDIT_WRITE",
	[CAP_AUDIT_CONTROL] = "AUDIT_CONTROL",
	[CAP_SETFCAP] = "SETFCAP",
	[CAP_MAC_OVERRIDE] = "MAC_OVERRIDE",
	[CAP_MAC_ADMIN] = "MAC_ADMIN",
	[CAP_SYSLOG] = "SYSLOG",
	[CAP_WAKE_ALARM] = "WAKE_ALARM",
	[CAP_BLOCK_SUSPEND] = "BLOCK_SUSPEND",
	[CAP_AUDIT_READ] = "AUDIT_READ",
	[CAP_PERFMON] = "PERFMON",
	[CAP_BPF] = "BPF",
	[CAP_CHECKPOINT_RESTORE] = "CHECKPOINT_RESTORE",
};

const char *cap_name(int cap)
{
	if (cap < 0 || (size_t)cap >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[cap];
}

int cap_effective(uint64_t *mask)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	*mask = (uint64_t)d[1].effective << 32 | d[0].effective;
	return 0;
}

int cap_held(int cap)
{
	uint64_t m;
	if (cap < 0 || cap > 63 || cap_effective(&m) < 0)
		return -1;
	return !!(m & (UINT64_C(1) << cap));
}

void cap_fix(struct text *t, const int *caps, size_t n)
{
	textf(t, "run the container with");
	for (size_t i = 0; i < n; i++)
		textf(t, " --cap-add %s", cap_name(caps[i]) ? cap_name(caps[i]) : "?");
	textf(t, " (docker run, podman run; Kubernetes: securityContext.capabilities.add: [");
	for (size_t i = 0; i < n; i++)
		textf(t, "%s\"%s\"", i ? ", " : "", cap_name(caps[i]) ? cap_name(caps[i]) : "?");
	textf(t, "])");
}

int cap_refused(struct perr *err, int cap, int held, const char *what)
{
	char fix[256];
	struct text t;
	text_init(&t, fix, sizeof(fix));
	cap_fix(&t, &cap, 1);
	const char *name = cap_name(cap) ? cap_name(cap) : "?";
	switch (held) {
	case 0:
		return perr_code(err, EPERM, "%s: permission denied: palisade lacks CAP_%s; %s",
				 what, name, fix);
	case 1:
		return perr_code(err, EPERM, "%s: permission denied, although palisade holds "
				 "CAP_%s: a security policy (seccomp, AppArmor, SELinux) or a user "
				 "namespace that does not own what is changed (rootless Podman with "
				 "the host's network?) refuses it", what, name);
	default:
		return perr_code(err, EPERM, "%s: permission denied: CAP_%s is needed; %s", what,
				 name, fix);
	}
}

int cap_refused_or_taken(struct perr *err, int cap, const char *what, const char *other)
{
	switch (cap_held(cap)) {
	case 0:
		return cap_refused(err, cap, 0, what);
	case 1:
		return perr_code(err, EBUSY, "%s: %s; stop it", what, other);
	default: {
		struct perr e = PERR_INIT;
		cap_refused(&e, cap, -1, what);
		return perr_code(err, e.err, "%s; or %s: stop it", e.msg, other);
	}
	}
}
