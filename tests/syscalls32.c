/* The 32-bit x86 system call numbers, from the kernel's own header; kept
 * apart because they clash with the native numbers. */
#include <asm/unistd_32.h>

#include "syscalls32.h"

const struct i386_call i386_calls[] = {
	{ "getpid", __NR_getpid },
	{ "mount", __NR_mount },
	{ "umount2", __NR_umount2 },
	{ "chroot", __NR_chroot },
	{ "pivot_root", __NR_pivot_root },
	{ "unshare", __NR_unshare },
	{ "setns", __NR_setns },
	{ "kexec_load", __NR_kexec_load },
	{ "init_module", __NR_init_module },
	{ "delete_module", __NR_delete_module },
	{ "bpf", __NR_bpf },
	{ "perf_event_open", __NR_perf_event_open },
	{ "userfaultfd", __NR_userfaultfd },
	{ "keyctl", __NR_keyctl },
	{ "io_uring_setup", __NR_io_uring_setup },
	{ "open_by_handle_at", __NR_open_by_handle_at },
	{ "ioctl", __NR_ioctl },
	{ "acct", __NR_acct },
	{ "swapoff", __NR_swapoff },
	{ "reboot", __NR_reboot },
	{ "syslog", __NR_syslog },
	{ "iopl", __NR_iopl },
	{ "socket", __NR_socket },
};
const unsigned long i386_calls_len = sizeof(i386_calls) / sizeof(i386_calls[0]);
