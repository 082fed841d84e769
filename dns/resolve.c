#include "resolve.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/clock.h"

static void on_result(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	(void)timeouts;
	struct resolved *r = arg;
	r->status = status;
	if (status != ARES_SUCCESS) {
		const char *why;
		switch (status) {
		case ARES_ENOTFOUND: why = "no such name (NXDOMAIN) or no address"; break;
		case ARES_ENODATA: why = "no address"; break;
		case ARES_ETIMEOUT: why = "the resolver did not answer"; break;
		case ARES_ECANCELLED: why = "timed out"; break;
		case ARES_ESERVFAIL: why = "the resolver failed (SERVFAIL)"; break;
		case ARES_EREFUSED: why = "the resolver refused (REFUSED)"; break;
		case ARES_ECONNREFUSED: why = "the resolver refused or is unreachable"; break;
		default: why = ares_strerror(status); break;
		}
		snprintf(r->why, sizeof(r->why), "%s", why);
		ares_freeaddrinfo(res);
		return;
	}
	size_t n = 0;
	for (struct ares_addrinfo_node *a = res ? res->nodes : NULL; a; a = a->ai_next)
		n++;
	r->addrs = calloc(n ? n : 1, sizeof(*r->addrs));
	if (!r->addrs) {
		r->status = ARES_ENOMEM;
		snprintf(r->why, sizeof(r->why), "out of memory");
		ares_freeaddrinfo(res);
		return;
	}
	for (struct ares_addrinfo_node *a = res->nodes; a; a = a->ai_next) {
		struct net_addr x = { 0 };
		if (a->ai_family == AF_INET && a->ai_addrlen >= sizeof(struct sockaddr_in)) {
			x.family = NET_V4;
			x.prefix = 32;
			memcpy(x.bytes, &((struct sockaddr_in *)a->ai_addr)->sin_addr, 4);
		} else if (a->ai_family == AF_INET6 &&
			   a->ai_addrlen >= sizeof(struct sockaddr_in6)) {
			x.family = NET_V6;
			x.prefix = 128;
			memcpy(x.bytes, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		bool dup = false;
		for (size_t i = 0; i < r->naddrs && !dup; i++)
			dup = net_equal(&r->addrs[i], &x);
		if (!dup)
			r->addrs[r->naddrs++] = x;
	}
	if (r->naddrs == 0) {
		r->status = ARES_ENODATA;
		snprintf(r->why, sizeof(r->why), "no address");
	}
	ares_freeaddrinfo(res);
}

static int set_servers(ares_channel ch, const struct net_addr *servers, size_t n)
{
	struct ares_addr_node *nodes = calloc(n, sizeof(*nodes));
	if (!nodes)
		return ARES_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		enum net_family f = servers[i].family;
		nodes[i].family = net_af(f);
		memcpy(&nodes[i].addr, servers[i].bytes, net_len(f));
		nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
	}
	int rc = ares_set_servers(ch, nodes);
	free(nodes);
	return rc;
}

/* c-ares failed with rc: its text, and ENOMEM or EIO. Returns -1. */
static int ares_fail(struct perr *err, int rc)
{
	return perr_code(err, rc == ARES_ENOMEM ? ENOMEM : EIO, "resolver: %s", ares_strerror(rc));
}

int resolve_names(const char *const *names, size_t n, const struct net_addr *servers,
		  size_t nservers, unsigned timeout_ms, struct resolved *out,
		  struct perr *err)
{
	memset(out, 0, n * sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		out[i].name = names[i];
		out[i].status = -1; /* not answered yet */
	}
	if (n == 0)
		return 0;
	int rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS)
		return ares_fail(err, rc);

	ares_channel ch;
	struct ares_options opt;
	memset(&opt, 0, sizeof(opt));
	/* Names are looked up as written: no search domains, no ndots. The
	 * hosts file is read first, as the agent's own resolver does. */
	opt.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	opt.timeout = 1000 < timeout_ms ? 1000 : (int)timeout_ms;
	opt.tries = 3;
	opt.lookups = (char *)"fb";
	/* Room for a burst of answers. */
	opt.socket_receive_buffer_size = 1 << 20;
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS |
		   ARES_OPT_SOCK_RCVBUF;
	rc = ares_init_options(&ch, &opt, mask);
	if (rc != ARES_SUCCESS) {
		ares_library_cleanup();
		return ares_fail(err, rc);
	}
	if (nservers && (rc = set_servers(ch, servers, nservers)) != ARES_SUCCESS) {
		ares_destroy(ch);
		ares_library_cleanup();
		return ares_fail(err, rc);
	}

	struct ares_addrinfo_hints hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	/* At most RESOLVE_WINDOW names in flight: a thousand names sent at
	 * once overflow the resolver's and our own socket buffers, and the
	 * lost answers come back only after a retry, if at all. */
	size_t next = 0;
	long deadline = (long)clock_ms() + (long)timeout_ms;
	for (;;) {
		size_t busy = 0;
		for (size_t i = 0; i < next; i++)
			busy += out[i].status == -1;
		for (; next < n && busy < RESOLVE_WINDOW; next++, busy++) {
			/* The trailing dot makes the name absolute. */
			char fqdn[260];
			snprintf(fqdn, sizeof(fqdn), "%s.", names[next]);
			ares_getaddrinfo(ch, fqdn, NULL, &hints, on_result, &out[next]);
		}
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		/* c-ares's ARES_GETSOCK_WRITABLE shifts a signed 1 into the sign
		 * bit; test the bits as unsigned instead. */
		unsigned bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		nfds_t np = 0;
		for (unsigned i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			short ev = 0;
			if (bits & (1u << i))
				ev |= POLLIN;
			if (bits & (1u << (i + ARES_GETSOCK_MAXNUM)))
				ev |= POLLOUT;
			if (ev) {
				pfd[np].fd = socks[i];
				pfd[np].events = ev;
				pfd[np].revents = 0;
				np++;
			}
		}
		if (np == 0) {
			if (next == n)
				break; /* every query has its answer */
			continue; /* answered at once (hosts file): the next ones */
		}
		long left = deadline - (long)clock_ms();
		if (left <= 0) {
			ares_cancel(ch);
			break;
		}
		struct timeval tv, *tvp, maxtv = { .tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000 };
		tvp = ares_timeout(ch, &maxtv, &tv);
		int wait = (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000);
		int pr = poll(pfd, np, wait < 1 ? 1 : wait);
		if (pr < 0 && errno != EINTR) {
			ares_cancel(ch);
			break;
		}
		for (nfds_t i = 0; i < np; i++) {
			ares_socket_t rfd = pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd : ARES_SOCKET_BAD;
			ares_socket_t wfd = pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD;
			if (rfd != ARES_SOCKET_BAD || wfd != ARES_SOCKET_BAD)
				ares_process_fd(ch, rfd, wfd);
		}
		if (pr == 0)
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts */
	}
	ares_destroy(ch);
	ares_library_cleanup();
	for (size_t i = 0; i < n; i++)
		if (out[i].status == -1) {
			out[i].status = ARES_ECANCELLED;
			snprintf(out[i].why, sizeof(out[i].why), "timed out");
		}
	return 0;
}

void resolved_free(struct resolved *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].addrs);
		r[i].addrs = NULL;
		r[i].naddrs = 0;
	}
}
