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
/* Appends; once the buffer is full, the text is cut there (still ended by
 * a NUL) and later calls append nothing. */
void textf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s, or its first max bytes and "..." when it is longer: for names
 * from outside (a command, a user) in a line that must keep its end. */
void text_short(struct text *t, const char *s, size_t max);

#endif
