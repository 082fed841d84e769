#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int perr_fill(struct perr *e, int errnum, int sys, const char *fmt, ...)
{
	if (!e)
		return -1;
	e->err = errnum > 0 ? errnum : EIO;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (sys) {
		size_t n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(e->err));
	}
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
	if (e->err <= 0)
		e->err = EIO;
	return -1;
}
