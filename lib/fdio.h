/* Writing a whole buffer to a file descriptor. */
#ifndef PALISADE_FDIO_H
#define PALISADE_FDIO_H

#include <stddef.h>

/* Writes all len bytes, going on after EINTR and short writes. Returns 0,
 * or -1 with errno (EIO when the descriptor takes nothing). Only write(2):
 * safe between fork and exec. */
int write_full(int fd, const void *buf, size_t len);

#endif
