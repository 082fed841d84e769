/* Messages on stderr, each prefixed "palisade: ". */
#ifndef PALISADE_LOG_H
#define PALISADE_LOG_H

enum log_level {
	LOG_QUIET = -1,   /* errors and warnings only */
	LOG_NORMAL = 0,   /* plus the startup summary */
	LOG_VERBOSE = 1,  /* plus each step */
};

void log_set_level(enum log_level level);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
