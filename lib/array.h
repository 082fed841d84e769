/* Arrays that grow by doubling as elements are appended. */
#ifndef PALISADE_ARRAY_H
#define PALISADE_ARRAY_H

#include <stddef.h>

/* Returns v (*cap elements of size bytes, all in use) reallocated for
 * twice as many, or for first when *cap is 0, and sets *cap. Returns NULL,
 * v and *cap unchanged (v still to be freed by the caller), when out of
 * memory or when the size would overflow. */
void *array_grow(void *v, size_t *cap, size_t size, size_t first);

#endif
