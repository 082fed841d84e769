#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"

static enum log_level current = LOG_NORMAL;

void log_set_level(enum log_level level) { current = level; }

/* One write(2) per message so that lines from PID 1 and the agent do not
 * interleave mid-line, and nothing is left in a stdio buffer at _exit. */
static void emit(const char *tag, const char *fmt, va_list ap)
{
	char line[2048];
	int saved = errno;
	int n = snprintf(line, sizeof(line), "palisade: %s", tag);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(line)) {
		int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		if (m > 0)
			n += m;
	}
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)write_full(STDERR_FILENO, line, (size_t)n); /* nowhere to report it */
	errno = saved;
}

#define EMIT(min, tag)                            \
	do {                                      \
		if (current < (min))              \
			return;                   \
		va_list ap;                       \
		va_start(ap, fmt);                \
		emit(tag, fmt, ap);               \
		va_end(ap);                       \
	} while (0)

void log_error(const char *fmt, ...) { EMIT(LOG_QUIET, ""); }
void log_warn(const char *fmt, ...) { EMIT(LOG_QUIET, "warning: "); }
void log_info(const char *fmt, ...) { EMIT(LOG_NORMAL, ""); }
void log_debug(const char *fmt, ...) { EMIT(LOG_VERBOSE, ""); }
