/* PID 1's event loop: one epoll set, no threads. Signals arrive through a
 * signalfd; later modules add their sockets (DNS, NFLOG) the same way. */
#ifndef PALISADE_LOOP_H
#define PALISADE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define LOOP_MAX_HANDLERS 16

typedef void (*loop_fn)(void *ctx, int fd, uint32_t events);

struct loop_handler {
	int fd;
	loop_fn fn;
	void *ctx;
};

struct loop {
	int epfd;
	bool stop;
	struct loop_handler h[LOOP_MAX_HANDLERS];
};

int loop_init(struct loop *l, struct perr *err);
/* Watches fd for events (EPOLLIN...) and calls fn when they occur. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fn fn, void *ctx,
	     struct perr *err);
/* The same with a handler the caller owns (h->fd, h->fn, h->ctx set), for
 * sources that come and go, such as connections. The handler must outlive
 * the loop's current pass: free a connection's memory only after loop_run's
 * tick, or reuse it. An event for a handler whose fd is -1 is dropped. */
int loop_add_handler(struct loop *l, struct loop_handler *h, uint32_t events,
		     struct perr *err);
int loop_mod_handler(struct loop *l, struct loop_handler *h, uint32_t events,
		     struct perr *err);
/* Stops watching h->fd (the caller closes it) and sets h->fd to -1. */
void loop_del_handler(struct loop *l, struct loop_handler *h);
/* Runs until loop_stop is called. timeout_ms bounds one wait (-1: none);
 * tick, when not NULL, runs after each wait. */
int loop_run(struct loop *l, int timeout_ms, void (*tick)(void *), void *tick_ctx,
	     struct perr *err);
void loop_stop(struct loop *l);
void loop_close(struct loop *l);

#endif
