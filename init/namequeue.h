/* The name check in PID 1: the kernel's queue (fw/nfqueue.h) read, each
 * packet parsed (fw/segment.h) and handed to the decisions
 * (namecheck.h), whose verdicts go back to the kernel: a connection
 * allowed or refused is sent back through the chain with a packet mark
 * the fence's first rules act on (fw/rules.h). */
#ifndef PALISADE_NAMEQUEUE_H
#define PALISADE_NAMEQUEUE_H

#include <stdbool.h>

#include "../lib/err.h"
#include "../lib/loop.h"
#include "dnsfilter.h"

struct namequeue;

/* Binds the fence's queue (before privileges are dropped). f must outlive
 * it. */
struct namequeue *namequeue_open(struct dnsfilter *f, bool audit, struct perr *err);
void namequeue_close(struct namequeue *q);

/* Serves the queue in loop. */
int namequeue_attach(struct namequeue *q, struct loop *loop, struct perr *err);

/* After each pass of the loop: connections that waited too long for their
 * name are refused. */
void namequeue_tick(struct namequeue *q);

#endif
