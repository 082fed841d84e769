#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void text_init(struct text *t, char *buf, size_t len)
{
	t->buf = buf;
	t->len = len;
	t->used = 0;
	if (len)
		buf[0] = '\0';
}

void textf(struct text *t, const char *fmt, ...)
{
	if (t->used >= t->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->used += (size_t)n;
}

void text_short(struct text *t, const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		textf(t, "%s", s);
	else
		textf(t, "%.*s...", (int)max, s);
}
