#include "seccomp.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static bool allowed(const char *name, const char *const *allow, size_t nallow)
{
	for (size_t i = 0; i < nallow; i++)
		if (strcmp(allow[i], name) == 0)
			return true;
	return false;
}

const char *const sc_ptrace_calls[] = { "ptrace", "process_vm_writev", "pidfd_getfd" };
const size_t sc_ptrace_ncalls = sizeof(sc_ptrace_calls) / sizeof(sc_ptrace_calls[0]);

bool sc_allows_ptrace(const char *const *allow, size_t nallow)
{
	return allowed("ptrace", allow, nallow);
}

int sc_check_allow(const char *const *allow, size_t nallow, struct perr *err)
{
	for (size_t i = 0; i < nallow; i++) {
		bool found = false;
		for (size_t k = 0; k < sc_table_len && !found; k++)
			found = !sc_table[k].pid1_only && strcmp(sc_table[k].name, allow[i]) == 0;
		if (!found)
			return perr_set(err, "--seccomp-allow \"%s\": palisade does not deny that "
					"system call, so there is nothing to allow (the list is in "
					"caps/sctable.c)", allow[i]);
	}
	return 0;
}

static int add(scmp_filter_ctx ctx, const struct sc_entry *e, int nr, struct perr *err)
{
	uint32_t act = SCMP_ACT_ERRNO((uint32_t)e->err);
	int rc = 0;
	switch (e->match) {
	case SC_ALWAYS:
		rc = seccomp_rule_add(ctx, act, nr, 0);
		break;
	case SC_NS_FLAGS: {
		/* One rule a flag: any of them set denies. CLONE_NEWTIME shares
		 * its bit with clone()'s exit signal, so only unshare checks it. */
		static const unsigned long flags[] = { CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS,
						       CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
						       CLONE_NEWNET, CLONE_NEWTIME };
		size_t n = strcmp(e->name, "clone") == 0 ? 7 : 8;
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = seccomp_rule_add(ctx, act, nr, 1,
					      SCMP_A0(SCMP_CMP_MASKED_EQ, flags[i], flags[i]));
		break;
	}
	case SC_TTY_INJECT: {
		/* The request is an int: compare the low 32 bits only, or a value
		 * with high bits set slips past (CVE-2019-10063). */
		static const unsigned long reqs[] = { TIOCSTI, TIOCLINUX };
		for (size_t i = 0; i < 2 && rc == 0; i++)
			rc = seccomp_rule_add(ctx, act, nr, 1,
					      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, reqs[i]));
		break;
	}
	case SC_SOCKOPT: {
		/* Every option that joins a group or changes the sources it is
		 * joined for (linux/in.h, linux/in6.h): each makes the kernel
		 * report the group, and its sources, to the link. Leaving stays
		 * allowed. Level and option are ints: low 32 bits only. */
		static const struct {
			unsigned long level, opt;
		} opts[] = {
			{ SOL_IP, IP_ADD_MEMBERSHIP },   { SOL_IP, IP_ADD_SOURCE_MEMBERSHIP },
			{ SOL_IP, IP_BLOCK_SOURCE },     { SOL_IP, IP_UNBLOCK_SOURCE },
			{ SOL_IP, IP_MSFILTER },         { SOL_IP, MCAST_JOIN_GROUP },
			{ SOL_IP, MCAST_JOIN_SOURCE_GROUP }, { SOL_IP, MCAST_BLOCK_SOURCE },
			{ SOL_IP, MCAST_UNBLOCK_SOURCE }, { SOL_IP, MCAST_MSFILTER },
			{ SOL_IPV6, IPV6_ADD_MEMBERSHIP }, { SOL_IPV6, IPV6_JOIN_ANYCAST },
			{ SOL_IPV6, MCAST_JOIN_GROUP },  { SOL_IPV6, MCAST_JOIN_SOURCE_GROUP },
			{ SOL_IPV6, MCAST_BLOCK_SOURCE }, { SOL_IPV6, MCAST_UNBLOCK_SOURCE },
			{ SOL_IPV6, MCAST_MSFILTER },
		};
		for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]) && rc == 0; i++)
			rc = seccomp_rule_add(ctx, act, nr, 2,
					      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, opts[i].level),
					      SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffUL, opts[i].opt));
		/* TCP Fast Open's client option: data in the SYN. */
		if (rc == 0)
			rc = seccomp_rule_add(ctx, act, nr, 2,
					      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, IPPROTO_TCP),
					      SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffUL,
						      TCP_FASTOPEN_CONNECT));
		break;
	}
	case SC_SOCKET_FAMILY:
		/* Deny every family but the four allowed, one rule each. */
		for (int fam = 0; fam < AF_MAX && rc == 0; fam++) {
			if (fam == AF_UNIX || fam == AF_INET || fam == AF_INET6 || fam == AF_NETLINK)
				continue;
			rc = seccomp_rule_add(ctx, act, nr, 1,
					      SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffUL, (unsigned long)fam));
		}
		/* Families beyond what this build knows are denied too. */
		if (rc == 0)
			rc = seccomp_rule_add(ctx, act, nr, 1,
					      SCMP_A0(SCMP_CMP_GE, (unsigned long)AF_MAX));
		break;
	case SC_FASTOPEN:
		/* The flags are an int: MSG_FASTOPEN is one of its low 32 bits.
		 * sendmsg has them third, sendto and sendmmsg fourth. */
		if (strcmp(e->name, "sendmsg") == 0)
			rc = seccomp_rule_add(ctx, act, nr, 1,
					      SCMP_A2(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN));
		else
			rc = seccomp_rule_add(ctx, act, nr, 1,
					      SCMP_A3(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN));
		break;
	case SC_PTRACE_ATTACH:
		/* The request is a long: compared whole, as the kernel reads it.
		 * PTRACE_TRACEME, with which a debugger's own child asks to be
		 * traced, and every request on a tracee stay allowed. */
		rc = seccomp_rule_add(ctx, act, nr, 1, SCMP_A0(SCMP_CMP_EQ, PTRACE_ATTACH));
		if (rc == 0)
			rc = seccomp_rule_add(ctx, act, nr, 1,
					      SCMP_A0(SCMP_CMP_EQ, (unsigned long)PTRACE_SEIZE));
		break;
	}
	if (rc < 0)
		return perr_sys(err, -rc, "seccomp: adding the rule for %s", e->name);
	return 0;
}

static scmp_filter_ctx build(enum sc_who who, const char *const *allow, size_t nallow,
			     struct perr *err)
{
	if (sc_check_allow(allow, nallow, err) < 0)
		return NULL;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		perr_set(err, "seccomp: cannot start a filter (seccomp_init)");
		return NULL;
	}
	/* Only the native ABI: 32-bit x86 (int 0x80) and x32 calls all fail. */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
	if (rc < 0) {
		perr_sys(err, -rc, "seccomp: setting the action for other ABIs");
		seccomp_release(ctx);
		return NULL;
	}
	for (size_t i = 0; i < sc_table_len; i++) {
		const struct sc_entry *e = &sc_table[i];
		if (e->pid1_only && who != SC_PID1)
			continue;
		if (who == SC_AGENT && allowed(e->name, allow, nallow))
			continue;
		/* The calls on other processes guard exec sessions against the
		 * agent. PID 1 has no CAP_SYS_PTRACE: the kernel already refuses
		 * it every process of another user and every one with more
		 * capabilities, and it needs ptrace on itself for a leak check
		 * at exit (sanitizer builds). */
		if (who == SC_PID1 && allowed(e->name, sc_ptrace_calls, sc_ptrace_ncalls))
			continue;
		int nr = seccomp_syscall_resolve_name(e->name);
		if (nr == __NR_SCMP_ERROR)
			continue; /* unknown to this libseccomp: skip, do not fail */
		if (add(ctx, e, nr, err) < 0) {
			seccomp_release(ctx);
			return NULL;
		}
	}
	return ctx;
}

int sc_load(enum sc_who who, const char *const *allow, size_t nallow, struct perr *err)
{
	scmp_filter_ctx ctx = build(who, allow, nallow, err);
	if (!ctx)
		return -1;
	int rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0)
		return perr_sys(err, -rc, "seccomp: loading the filter");
	return 0;
}
