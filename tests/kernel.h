/* What the running kernel offers, asked without palisade: each question is
 * answered in a child process of its own that exits right after, so that
 * a probe that crashes (int 0x80 on a kernel without 32-bit support) can
 * neither kill the caller nor leave anything behind in it. Shared by the
 * probe (`probe kernel FEATURE`) and the unit tests, so that a check of a
 * kernel feature can say "skip" with the reason when the kernel lacks it. */
#ifndef PALISADE_TEST_KERNEL_H
#define PALISADE_TEST_KERNEL_H

#include <stdbool.h>
#include <stddef.h>

struct kernel_feature {
	const char *name;  /* "ia32", "x32", "io_uring", "perf", "vsock", "userns", "ipv6" */
	const char *what;  /* for people: "32-bit system calls" */
	/* Runs in the child: 0 when the kernel offers it, else a short reason
	 * written to why. Never called in the caller's own process. */
	int (*probe)(char *why, size_t len);
};

extern const struct kernel_feature kernel_features[];
extern const size_t kernel_features_len;

const struct kernel_feature *kernel_feature(const char *name);

/* True when the kernel offers the feature. Otherwise false, and why holds
 * the reason, e.g. "this kernel cannot make them (int 0x80 faults without
 * any filter: SIGSEGV)". */
bool kernel_offers(const struct kernel_feature *f, char *why, size_t len);

#endif
