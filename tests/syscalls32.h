#ifndef PALISADE_TEST_SYSCALLS32_H
#define PALISADE_TEST_SYSCALLS32_H

struct i386_call {
	const char *name;
	long nr;
};
extern const struct i386_call i386_calls[];
extern const unsigned long i386_calls_len;

#endif
