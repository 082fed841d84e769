/* stamp: the agent of bench/startup.sh. Its first instruction reads
 * CLOCK_REALTIME, which a container shares with the host, and it prints
 *
 *   agent-start SECONDS.NANOSECONDS
 *
 * on one line, then exits 0 (1 when the clock or the write fails). Built
 * static, so that it starts the same way whatever the image holds. */
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>

int main(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
		perror("stamp: clock_gettime(CLOCK_REALTIME)");
		return 1;
	}
	if (printf("agent-start %lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec) < 0 ||
	    fflush(stdout) != 0) {
		perror("stamp: writing to stdout");
		return 1;
	}
	return 0;
}
