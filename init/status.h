/* The status file, RUN_DIR/RUN_STATUS: what PID 1's DNS filter and fence
 * have done so far, written by PID 1 (at once, then at most once a second
 * when it changed) and read by `palisade status`, which runs next to it
 * with docker exec. Its format is this module's alone:
 *
 *   names api.example.com *.example.org
 *   queries-allowed 12
 *   queries-refused 1
 *   queries-failed 0
 *   connections-refused 3
 *   audit off
 *   audited 0
 *   backend nft
 *   cache-hits 9
 *   names-checked 40
 *   names-refused 2
 *
 * backend is the fence backend PID 1 installed (nft or legacy): where
 * `palisade status` reads the sets. A file without it is a legacy one's.
 */
#ifndef PALISADE_STATUS_H
#define PALISADE_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../fw/fence.h"
#include "allowlist.h"

#define STATUS_MAX 8192 /* bytes of the file at most; a long list of names is cut */

enum status_counter {
	STATUS_QUERIES_ALLOWED,
	STATUS_QUERIES_REFUSED,
	STATUS_QUERIES_FAILED,
	STATUS_CONNECTIONS_REFUSED,
	STATUS_AUDITED,         /* queries and packets let through by audit mode */
	STATUS_CACHE_HITS,      /* allowed queries answered from the cache */
	STATUS_NAMES_CHECKED,   /* connections whose server name was checked */
	STATUS_NAMES_REFUSED,   /* of those, refused (audit mode: would be) */
};
#define STATUS_COUNTERS 8

/* The file's contents. */
struct status {
	unsigned long long count[STATUS_COUNTERS];
	bool audit;
	enum fence_backend backend;
};

/* Writes the file's text: the allowlist's names (cut with " ..." where the
 * counts would not fit), then s. Returns its length, or -1 when it does
 * not fit len. Pure. */
ssize_t status_format(const struct allowlist *allow, const struct status *s, char *buf,
		      size_t len);

/* Reads the text back: the counts into s (0 when missing), and where the
 * names are in text (*names, *nnames bytes, "" when none). Pure. */
void status_parse(const char *text, struct status *s, const char **names, int *nnames);

/* PID 1's writer. allow must outlive it. */
struct status_writer {
	const struct allowlist *allow;
	struct status s;
	int dir;                /* RUN_DIR, checked and kept open by PID 1, or -1 */
	bool dirty;
	uint64_t written_ms;
};

void status_writer_init(struct status_writer *w, const struct allowlist *allow, bool audit,
			enum fence_backend backend);
/* Counts one event; the file says it at the next write. */
void status_count(struct status_writer *w, enum status_counter c);
/* Writes the file in dirfd now, and from now on in status_tick. Without
 * it, there is no status file. */
void status_start(struct status_writer *w, int dirfd);
/* After each pass of the loop: rewrites the file when it changed, at most
 * once a second. */
void status_tick(struct status_writer *w);
/* Writes the file now if it changed: when the agent has exited, so that
 * the last second's counts are not lost. */
void status_flush(struct status_writer *w);

/* `palisade status`: prints the file's names and counts, and the sets as
 * the kernel has them (ipsets, or the nft sets, as the file says), with
 * each address's time left. Returns an exit
 * status. */
int status_print(FILE *out);

#endif
