/* Writing a whole buffer to a file descriptor; reading a small file whole. */
#ifndef PALISADE_FDIO_H
#define PALISADE_FDIO_H

#include <stddef.h>

/* Writes all len bytes, going on after EINTR and short writes. Returns 0,
 * or -1 with errno (EIO when the descriptor takes nothing). Only write(2):
 * safe between fork and exec. */
int write_full(int fd, const void *buf, size_t len);

/* Reads path into buf, NUL-terminated: at most size - 1 bytes, the rest
 * of a longer file left out. Non-blocking open (a FIFO does not hang it).
 * Returns the length, or -1 with errno. */
long read_text(const char *path, char *buf, size_t size);

#endif
