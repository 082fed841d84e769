/* Calls the system calls palisade's filter denies, each with arguments
 * that are harmless with or without the filter (bad descriptors, missing
 * paths, invalid flags), so that a run without the filter, even as root,
 * gets some other answer: EPERM can then only come from the filter. Shared
 * by the probe (the agent's view) and the seccomp unit test. */
#ifndef PALISADE_TEST_SYSCALLS_H
#define PALISADE_TEST_SYSCALLS_H

#include <stddef.h>

struct call_result {
	const char *name;
	long ret;   /* the raw return: >= 0 success */
	int err;    /* errno when ret < 0 */
	int want;   /* the errno the filter gives */
};

/* Runs every call natively (64-bit). Returns how many results were written. */
size_t exercise_native(struct call_result *out, size_t max);

/* The same calls through the 32-bit x86 ABI (int 0x80), plus getpid. */
size_t exercise_i386(struct call_result *out, size_t max);

#endif
