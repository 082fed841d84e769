#include "loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

int loop_init(struct loop *l, struct perr *err)
{
	memset(l, 0, sizeof(*l));
	for (int i = 0; i < LOOP_MAX_HANDLERS; i++)
		l->h[i].fd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return perr_sys(err, errno, "epoll_create1");
	return 0;
}

/* Adds (EPOLL_CTL_ADD) h->fd or changes its events (EPOLL_CTL_MOD). */
static int ctl(struct loop *l, int op, struct loop_handler *h, uint32_t events,
	       struct perr *err)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };
	if (epoll_ctl(l->epfd, op, h->fd, &ev) < 0)
		return perr_sys(err, errno, "epoll_ctl");
	return 0;
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fn fn, void *ctx,
	     struct perr *err)
{
	for (int i = 0; i < LOOP_MAX_HANDLERS; i++) {
		if (l->h[i].fd != -1)
			continue;
		l->h[i] = (struct loop_handler){ .fd = fd, .fn = fn, .ctx = ctx };
		if (ctl(l, EPOLL_CTL_ADD, &l->h[i], events, err) < 0) {
			l->h[i].fd = -1;
			return -1;
		}
		return 0;
	}
	return perr_set(err, "internal: more than %d event sources", LOOP_MAX_HANDLERS);
}

int loop_add_handler(struct loop *l, struct loop_handler *h, uint32_t events,
		     struct perr *err)
{
	return ctl(l, EPOLL_CTL_ADD, h, events, err);
}

int loop_mod_handler(struct loop *l, struct loop_handler *h, uint32_t events,
		     struct perr *err)
{
	return ctl(l, EPOLL_CTL_MOD, h, events, err);
}

void loop_del_handler(struct loop *l, struct loop_handler *h)
{
	if (h->fd >= 0)
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, NULL); /* closing it removes it too */
	h->fd = -1;
}

int loop_run(struct loop *l, int timeout_ms, void (*tick)(void *), void *tick_ctx,
	     struct perr *err)
{
	struct epoll_event evs[64];
	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, 64, timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return perr_sys(err, errno, "epoll_wait");
		}
		for (int i = 0; i < n && !l->stop; i++) {
			struct loop_handler *h = evs[i].data.ptr;
			if (h->fd >= 0)
				h->fn(h->ctx, h->fd, evs[i].events);
		}
		if (tick)
			tick(tick_ctx);
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

void loop_close(struct loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}
