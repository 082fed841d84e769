/* Appending formatted text to a fixed buffer, cut at its end. */
#ifndef PALISADE_TEXT_H
#define PALISADE_TEXT_H

#include <stddef.h>

struct text {
	char *buf;
	size_t len;  /* size of buf */
	size_t used; /* may exceed len when cut */
};

void text_init(struct text *t, char *buf, size_t len);
void textf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
