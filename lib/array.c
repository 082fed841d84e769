#include "array.h"

#include <stdint.h>
#include <stdlib.h>

void *array_grow(void *v, size_t *cap, size_t size, size_t first)
{
	if (*cap > SIZE_MAX / 2)
		return NULL;
	size_t ncap = *cap ? *cap * 2 : first;
	if (size == 0 || ncap == 0 || ncap > SIZE_MAX / size)
		return NULL;
	void *nv = realloc(v, ncap * size);
	if (!nv)
		return NULL;
	*cap = ncap;
	return nv;
}
