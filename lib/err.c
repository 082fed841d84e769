#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int perr_set(struct perr *e, const char *fmt, ...)
{
	if (!e)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int perr_prefix(struct perr *e, const char *fmt, ...)
{
	if (!e)
		return -1;
	char prefix[sizeof(e->msg)];
	char old[sizeof(e->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old);
	return -1;
}
