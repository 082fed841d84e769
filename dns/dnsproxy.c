#include "dnsproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/capmsg.h"
#include "../lib/bytes.h"
#include "../lib/clock.h"
#include "dnscache.h"

#define QUERY_MAX 4096          /* a query larger than this is not a query */
#define STREAM_MSG_MAX 65535    /* what a 16-bit length prefix holds */
#define UDP_BATCH 64            /* datagrams read from one socket per pass */
#define RECV_BATCH 16           /* datagrams read by one recvmmsg */
#define SEND_BATCH 32           /* replies sent by one sendmmsg */
#define OUTBOX_BYTES 32768      /* replies waiting for it, at most */

struct dnsproxy;

/* A TCP connection carrying length-prefixed messages (RFC 1035 4.2.2):
 * from a client, or to an upstream for one query. */
struct stream {
	struct loop_handler h;
	struct dnsproxy *p;
	bool upstream;
	bool connecting;
	bool busy;              /* client_next is running for it */
	bool eof;               /* the peer has closed its side */
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
	uint64_t deadline;      /* idle (client) or answer (upstream) deadline */
	int pending;            /* the query it carries, or -1 */
};

struct pending {
	bool used;
	bool tcp;
	uint16_t id;            /* the ID of the try in flight upstream */
	struct dns_query q;     /* the client's query, with the client's ID */
	uint8_t question[DNS_QUESTION_MAX]; /* its header and question, as sent */
	int listener;           /* UDP: the socket the answer goes out of */
	struct sockaddr_storage client;
	socklen_t clen;
	struct stream *conn;    /* TCP: the client's connection */
	struct stream *up;      /* TCP: the connection to the upstream */
	struct loop_handler udp; /* UDP: this try's socket, or fd -1 */
	struct dnsproxy *p;
	size_t upstream;        /* the upstream tried */
	unsigned tries;
	uint64_t deadline;
};

struct listener {
	struct loop_handler h;
	struct dnsproxy *p;
	bool tcp;
};

/* UDP replies of one pass of the loop, sent together. */
struct outbox {
	int fd;                         /* the listener they go out of */
	unsigned n;
	size_t used;
	struct mmsghdr m[SEND_BATCH];
	struct iovec iov[SEND_BATCH];
	struct sockaddr_storage to[SEND_BATCH];
	uint8_t buf[OUTBOX_BYTES];
};

/* Queries read by one recvmmsg. */
struct inbox {
	struct mmsghdr m[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct sockaddr_storage from[RECV_BATCH];
	uint8_t buf[RECV_BATCH][QUERY_MAX + 1];
};

struct dnsproxy {
	struct loop *loop;
	const struct dnsproxy_ops *ops;
	void *ctx;
	struct net_addr up[DNSPROXY_UPSTREAMS_MAX];
	size_t nup;
	bool v6;
	struct listener lis[4];         /* UDP v4, TCP v4, UDP v6, TCP v6 */
	size_t nlis;
	struct pending pend[DNSPROXY_PENDING_MAX];
	int free_pend[DNSPROXY_PENDING_MAX];  /* indexes of unused entries */
	size_t nfree;
	uint16_t rnd[256];              /* random IDs not used yet */
	size_t rnd_left;
	struct stream clients[DNSPROXY_TCP_MAX];
	struct stream ups[DNSPROXY_TCP_MAX];
	uint64_t next_check;            /* the earliest deadline, or sooner */
	struct dnscache *cache;         /* NULL: none */
	struct outbox out;
	struct inbox in;
};

static socklen_t to_sockaddr(const struct net_addr *a, uint16_t port,
			     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == NET_V4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a->bytes, 4);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, a->bytes, 16);
	return sizeof(*sin6);
}

/* ---- replies ---- */

/* Sends the replies waiting in the outbox. A client that went away, or a
 * full buffer: the client asks again. */
static void outbox_flush(struct outbox *o)
{
	unsigned sent = 0;
	while (sent < o->n) {
		int r = sendmmsg(o->fd, o->m + sent, o->n - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		/* An error belongs to the first message not sent: it is
		 * dropped, and the rest go on. */
		sent += r > 0 ? (unsigned)r : 1;
	}
	o->n = 0;
	o->used = 0;
}

/* Queues a UDP reply, to go out with the others of this pass. */
static void udp_send(struct dnsproxy *p, int fd, const uint8_t *msg, size_t len,
		     const struct sockaddr_storage *to, socklen_t tolen)
{
	struct outbox *o = &p->out;
	if (o->n > 0 && (o->fd != fd || o->n == SEND_BATCH || o->used + len > OUTBOX_BYTES))
		outbox_flush(o);
	if (len > OUTBOX_BYTES) {
		(void)sendto(fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL,
			     (const struct sockaddr *)to, tolen);
		return;
	}
	unsigned i = o->n++;
	o->fd = fd;
	memcpy(o->buf + o->used, msg, len);
	memcpy(&o->to[i], to, tolen);
	o->iov[i] = (struct iovec){ .iov_base = o->buf + o->used, .iov_len = len };
	o->m[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &o->to[i], .msg_namelen = tolen,
						 .msg_iov = &o->iov[i], .msg_iovlen = 1 } };
	o->used += len;
}

static void stream_close(struct stream *s);
static void stream_write(struct stream *s);
static void client_next(struct stream *c);

/* Queues a message, with its length prefix, on a client connection. */
static void stream_send(struct stream *s, const uint8_t *msg, size_t len)
{
	if (len > STREAM_MSG_MAX || s->out_len + 2 + len > s->out_cap) {
		stream_close(s);
		return;
	}
	put16(s->out + s->out_len, (uint16_t)len);
	memcpy(s->out + s->out_len + 2, msg, len);
	s->out_len += 2 + len;
	stream_write(s);
}

/* Sends msg (already carrying the client's ID) to the query's client. */
static void reply(struct dnsproxy *p, bool tcp, int listener,
		  const struct sockaddr_storage *to, socklen_t tolen, struct stream *conn,
		  const uint8_t *msg, size_t len)
{
	if (tcp) {
		if (conn)
			stream_send(conn, msg, len);
	} else {
		udp_send(p, listener, msg, len, to, tolen);
	}
}

static void reply_rcode(struct dnsproxy *p, bool tcp, int listener,
			const struct sockaddr_storage *to, socklen_t tolen, struct stream *conn,
			const uint8_t *query, const struct dns_query *q, uint8_t rcode)
{
	uint8_t out[DNS_QUESTION_MAX + 64];
	ssize_t n = dns_build_reply(query, q, rcode, out, sizeof(out));
	if (n > 0)
		reply(p, tcp, listener, to, tolen, conn, out, (size_t)n);
	else if (tcp && conn)
		stream_close(conn);
}

/* Passes an answer (len bytes, with the client's ID and question) back. A
 * UDP answer longer than the client said it can take becomes an empty one
 * with TC set: the client asks again over TCP. */
static void reply_answer(struct dnsproxy *p, bool tcp, int listener,
			 const struct sockaddr_storage *to, socklen_t tolen, struct stream *conn,
			 const uint8_t *query, const struct dns_query *q, const uint8_t *msg,
			 size_t len)
{
	if (tcp || len <= q->udp_size) {
		reply(p, tcp, listener, to, tolen, conn, msg, len);
		return;
	}
	uint8_t out[DNS_QUESTION_MAX + 64];
	ssize_t n = dns_build_truncated(query, q, msg[3] & DNS_FLAG_RCODE, out, sizeof(out));
	if (n > 0)
		reply(p, false, listener, to, tolen, NULL, out, (size_t)n);
}

/* ---- pending queries ---- */

/* Closes the socket or connection of the try in flight, if any: a late
 * answer to it is not read. */
static void upstream_release(struct pending *q)
{
	if (q->udp.fd >= 0) {
		/* Closing the socket takes it out of the epoll set too: one
		 * system call per query rather than two. */
		close(q->udp.fd);
		q->udp.fd = -1;
	}
	if (q->up) {
		struct stream *up = q->up;
		q->up = NULL;
		up->pending = -1;
		stream_close(up);
	}
}

static void pending_free(struct dnsproxy *p, struct pending *q)
{
	if (!q->used)
		return;
	upstream_release(q);
	struct stream *c = q->conn;
	q->used = false;
	q->conn = NULL;
	p->free_pend[p->nfree++] = (int)(q - p->pend);
	if (c) {
		c->pending = -1;
		client_next(c);
	}
}

static void pending_reply_rcode(struct pending *q, uint8_t rcode)
{
	reply_rcode(q->p, q->tcp, q->listener, &q->client, q->clen, q->conn, q->question, &q->q,
		    rcode);
}

static void pending_fail(struct dnsproxy *p, struct pending *q, const char *why)
{
	if (p->ops->failed)
		p->ops->failed(p->ctx, &q->q, why);
	pending_reply_rcode(q, DNS_RCODE_SERVFAIL);
	pending_free(p, q);
}

/* Upstream IDs come from the kernel's random numbers, fetched a batch at a
 * time rather than one system call per query. */
static int random_u16(struct dnsproxy *p, uint16_t *v)
{
	if (p->rnd_left == 0) {
		ssize_t n = getrandom(p->rnd, sizeof(p->rnd), 0);
		if (n != (ssize_t)sizeof(p->rnd))
			return -1;
		p->rnd_left = sizeof(p->rnd) / sizeof(p->rnd[0]);
	}
	*v = p->rnd[--p->rnd_left];
	return 0;
}

static int up_connect(struct dnsproxy *p, struct pending *q);
static void on_udp_upstream(void *arg, int fd, uint32_t events);

/* Closes fd, keeping errno for the caller. */
static void close_keep_errno(int fd)
{
	int e = errno;
	close(fd);
	errno = e;
}

/* A non-blocking socket of type (SOCK_DGRAM, SOCK_STREAM) connected to
 * q's upstream, port 53, from a port the kernel picks at random; a TCP
 * connection may still be on its way. Returns it, or -1 with errno set. */
static int upstream_socket(const struct dnsproxy *p, const struct pending *q, int type)
{
	const struct net_addr *a = &p->up[q->upstream];
	int fd = socket(net_af(a->family), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_storage ss;
	socklen_t sl = to_sockaddr(a, 53, &ss);
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		close_keep_errno(fd);
		return -1;
	}
	return fd;
}

/* One try of a UDP query, on a socket of its own: connected to the
 * upstream, so that the kernel hands it nothing from anywhere else.
 * Returns 0 or -1 with errno set. */
static int udp_try(struct dnsproxy *p, struct pending *q)
{
	uint8_t msg[DNS_FORWARD_MAX];
	ssize_t n = dns_build_query(&q->q, q->id, msg, sizeof(msg));
	if (n < 0) {
		errno = EINVAL;
		return -1;
	}
	int fd = upstream_socket(p, q, SOCK_DGRAM);
	q->udp = (struct loop_handler){ .fd = fd, .fn = on_udp_upstream, .ctx = q };
	if (fd < 0)
		return -1;
	if (send(fd, msg, (size_t)n, MSG_NOSIGNAL) != n ||
	    loop_add_handler(p->loop, &q->udp, EPOLLIN, NULL) < 0) {
		close_keep_errno(fd);
		q->udp.fd = -1;
		return -1;
	}
	return 0;
}

/* Sends the query to upstream q->upstream under a new random ID: a
 * datagram from a new socket, or a new connection. Returns 0, or -1 with
 * errno set when this upstream cannot be reached at all. */
static int send_upstream(struct dnsproxy *p, struct pending *q)
{
	q->deadline = clock_ms() + DNSPROXY_TRY_MS;
	if (q->deadline < p->next_check)
		p->next_check = q->deadline;
	if (random_u16(p, &q->id) < 0)
		return -1;
	return q->tcp ? up_connect(p, q) : udp_try(p, q);
}

static const char *unreachable(int e)
{
	return e == EMFILE || e == ENFILE ? "PID 1 is out of file descriptors"
					  : "the upstream resolvers cannot be reached";
}

/* Tries the next upstream, or gives up once each was tried (at least twice
 * in all, so that one lost datagram is not a failure). */
static void retry(struct dnsproxy *p, struct pending *q, const char *why)
{
	unsigned max = p->nup < 2 ? 2 : (unsigned)p->nup;
	while (++q->tries < max) {
		q->upstream = (q->upstream + 1) % p->nup;
		upstream_release(q);
		if (send_upstream(p, q) == 0)
			return;
		why = unreachable(errno);
	}
	pending_fail(p, q, why);
}

/* A message from q's upstream. One that does not answer q (not a
 * response, another ID or question, malformed) is dropped and q goes on
 * waiting: returns false. Otherwise the answer is handed to the caller and
 * passed back with the client's ID and question, and q is done: returns
 * true. */
static bool answer(struct dnsproxy *p, struct pending *q, uint8_t *msg, size_t len)
{
	struct dns_query sent = q->q;
	sent.id = q->id;
	struct dns_answer a;
	struct perr why = PERR_INIT;
	if (dns_parse_response(msg, len, &sent, &a, &why) < 0 ||
	    dns_answer_client(msg, len, q->question, &q->q) < 0) {
		if (p->ops->dropped)
			p->ops->dropped(p->ctx, &q->q,
					why.err ? why.msg : "the question is not the query's");
		return false;
	}
	uint32_t cache_for = 0;
	if (p->ops->answered && p->ops->answered(p->ctx, &q->q, &a, &cache_for) < 0) {
		pending_reply_rcode(q, DNS_RCODE_SERVFAIL);
		pending_free(p, q);
		return true;
	}
	/* Out of memory for the cache: the answer is passed back all the
	 * same. */
	if (p->cache && cache_for > 0)
		(void)dnscache_put(p->cache, &q->q, msg, len, cache_for, clock_ms());
	reply_answer(p, q->tcp, q->listener, &q->client, q->clen, q->conn, q->question, &q->q,
		     msg, len);
	pending_free(p, q);
	return true;
}

/* A query from a client: refused at once, or forwarded. */
static void query(struct dnsproxy *p, const uint8_t *msg, size_t len, bool tcp, int listener,
		  const struct sockaddr_storage *from, socklen_t fromlen, struct stream *conn)
{
	struct dns_query q;
	if (len > QUERY_MAX || dns_parse_query(msg, len, &q, NULL) < 0 ||
	    q.question_end > DNS_QUESTION_MAX) {
		/* Not a query palisade forwards: a malformed message gets
		 * nothing back (UDP) or loses its connection (TCP). */
		if (tcp && conn)
			stream_close(conn);
		return;
	}
	if (q.qclass != DNS_CLASS_IN) {
		/* Chaos, Hesiod, or 16 bits of the agent's choosing: not
		 * forwarded. */
		reply_rcode(p, tcp, listener, from, fromlen, conn, msg, &q, DNS_RCODE_NOTIMP);
		return;
	}
	if (!p->ops->decide(p->ctx, &q)) {
		reply_rcode(p, tcp, listener, from, fromlen, conn, msg, &q, DNS_RCODE_NXDOMAIN);
		return;
	}
	if (p->cache) {
		/* Decided as a forwarded query is: the cache holds only what
		 * the policy let through. */
		static uint8_t hit[DNSCACHE_ANSWER_MAX];
		ssize_t n = dnscache_get(p->cache, &q, msg, clock_ms(), hit, sizeof(hit));
		if (n > 0) {
			if (p->ops->cache_hit)
				p->ops->cache_hit(p->ctx, &q);
			reply_answer(p, tcp, listener, from, fromlen, conn, msg, &q, hit,
				     (size_t)n);
			return;
		}
	}
	if (p->nup == 0) {
		if (p->ops->failed)
			p->ops->failed(p->ctx, &q, "no upstream resolver");
		reply_rcode(p, tcp, listener, from, fromlen, conn, msg, &q, DNS_RCODE_SERVFAIL);
		return;
	}
	if (p->nfree == 0) {
		reply_rcode(p, tcp, listener, from, fromlen, conn, msg, &q, DNS_RCODE_SERVFAIL);
		return;
	}
	int idx = p->free_pend[--p->nfree];
	struct pending *pq = &p->pend[idx];
	memset(pq, 0, sizeof(*pq));
	pq->used = true;
	pq->tcp = tcp;
	pq->q = q;
	memcpy(pq->question, msg, q.question_end);
	pq->listener = listener;
	if (from) {
		memcpy(&pq->client, from, fromlen);
		pq->clen = fromlen;
	}
	pq->conn = conn;
	if (conn)
		conn->pending = idx;
	pq->udp.fd = -1;
	pq->p = p;
	pq->upstream = 0; /* resolv.conf's order: the first one first */
	if (send_upstream(p, pq) < 0)
		retry(p, pq, unreachable(errno));
}

/* ---- UDP ---- */

static void on_udp_listener(void *arg, int fd, uint32_t events)
{
	(void)events;
	struct listener *l = arg;
	struct dnsproxy *p = l->p;
	struct inbox *in = &p->in;
	for (int done = 0; done < UDP_BATCH;) {
		for (int i = 0; i < RECV_BATCH; i++) {
			in->iov[i] = (struct iovec){ .iov_base = in->buf[i],
						     .iov_len = sizeof(in->buf[i]) };
			in->m[i] = (struct mmsghdr){ .msg_hdr = {
				.msg_name = &in->from[i], .msg_namelen = sizeof(in->from[i]),
				.msg_iov = &in->iov[i], .msg_iovlen = 1 } };
		}
		int n = recvmmsg(fd, in->m, RECV_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break; /* EAGAIN, or an error datagram: nothing more now */
		for (int i = 0; i < n; i++) {
			/* A datagram longer than the buffer is cut to QUERY_MAX + 1
			 * bytes: too long for a query. */
			struct msghdr *h = &in->m[i].msg_hdr;
			query(p, in->buf[i], in->m[i].msg_len, false, fd, &in->from[i],
			      h->msg_namelen, NULL);
		}
		done += n;
		if (n < RECV_BATCH)
			break;
	}
	outbox_flush(&p->out);
}

/* An answer, or not, on the socket of one try. */
static void on_udp_upstream(void *arg, int fd, uint32_t events)
{
	(void)events;
	struct pending *q = arg;
	struct dnsproxy *p = q->p;
	static uint8_t buf[STREAM_MSG_MAX];
	for (int i = 0; i < UDP_BATCH; i++) {
		/* An event of a try that is over (its socket closed, or a
		 * newer one in the same entry) reads nothing of the old. */
		if (!q->used || q->udp.fd != fd)
			return;
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			/* An ICMP error: nothing answers there. */
			retry(p, q, "the upstream resolvers cannot be reached");
			return;
		}
		if (answer(p, q, buf, (size_t)n))
			return;
	}
}

/* ---- TCP ---- */

/* What a connection waits for. A client is read only between queries: one
 * query at a time, and a full buffer or a query in flight stops reading
 * (level-triggered epoll would otherwise wake PID 1 again and again). */
static uint32_t stream_events(const struct stream *s)
{
	if (s->connecting || s->out_off < s->out_len)
		return EPOLLOUT;
	if (s->eof)
		return 0;
	if (!s->upstream && (s->pending >= 0 || s->in_len == s->in_cap))
		return 0;
	return EPOLLIN;
}

static void stream_rearm(struct stream *s)
{
	if (s->h.fd >= 0 && loop_mod_handler(s->p->loop, &s->h, stream_events(s), NULL) < 0)
		stream_close(s);
}

static void stream_close(struct stream *s)
{
	if (s->h.fd < 0)
		return;
	int fd = s->h.fd;
	loop_del_handler(s->p->loop, &s->h);
	close(fd);
	s->in_len = s->out_len = s->out_off = 0;
	s->connecting = false;
	int idx = s->pending;
	s->pending = -1;
	if (idx < 0)
		return;
	struct pending *q = &s->p->pend[idx];
	if (s->upstream) {
		/* The upstream hung up before answering: the next one. */
		if (q->used && q->up == s) {
			q->up = NULL;
			retry(s->p, q, "the upstream resolver closed the connection");
		}
	} else if (q->used && q->conn == s) {
		/* The client went away: its query is dropped. */
		q->conn = NULL;
		pending_free(s->p, q);
	}
}

static void stream_write(struct stream *s)
{
	while (s->out_off < s->out_len) {
		ssize_t n = send(s->h.fd, s->out + s->out_off, s->out_len - s->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			stream_close(s);
			return;
		}
		s->out_off += (size_t)n;
	}
	if (s->out_off == s->out_len)
		s->out_off = s->out_len = 0;
	if (loop_mod_handler(s->p->loop, &s->h, stream_events(s), NULL) < 0)
		stream_close(s);
}

/* Whether a complete message is at the start of the input buffer, and its
 * length. */
static bool stream_message(const struct stream *s, size_t *len)
{
	if (s->in_len < 2)
		return false;
	*len = get16(s->in);
	return s->in_len >= 2 + *len;
}

static void stream_consume(struct stream *s, size_t len)
{
	memmove(s->in, s->in + 2 + len, s->in_len - 2 - len);
	s->in_len -= 2 + len;
}

/* A client's queries, one at a time: the next once the previous one is
 * answered and the answer written. Not re-entered: a query answered at
 * once comes back here through pending_free, and the outer call goes on. */
static void client_next(struct stream *c)
{
	if (c->busy)
		return;
	c->busy = true;
	size_t len;
	while (c->h.fd >= 0 && c->pending < 0 && c->out_len == 0 && stream_message(c, &len)) {
		uint8_t msg[QUERY_MAX];
		memcpy(msg, c->in + 2, len);
		stream_consume(c, len);
		c->deadline = clock_ms() + DNSPROXY_IDLE_MS;
		query(c->p, msg, len, true, -1, NULL, 0, c);
	}
	c->busy = false;
	/* A client that closed its side after its queries: done once they
	 * are answered. */
	if (c->eof && c->pending < 0 && c->out_len == 0 && !stream_message(c, &len))
		stream_close(c);
	else
		stream_rearm(c);
}

static void on_stream(void *arg, int fd, uint32_t events)
{
	struct stream *s = arg;
	if (s->connecting) {
		int e = 0;
		socklen_t el = sizeof(e);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e != 0) {
			stream_close(s);
			return;
		}
		s->connecting = false;
	}
	if (events & EPOLLOUT) {
		stream_write(s);
		if (s->h.fd < 0)
			return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		if (!s->upstream)
			client_next(s); /* its answer is out: the next query */
		return;
	}
	while (!s->eof) {
		if (s->in_len == s->in_cap) {
			/* A client that sends more than one query ahead waits:
			 * reading resumes once its queries are answered. */
			if (!s->upstream)
				break;
			stream_close(s);
			return;
		}
		ssize_t n = recv(fd, s->in + s->in_len, s->in_cap - s->in_len, MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			stream_close(s);
			return;
		}
		if (n == 0) {
			s->eof = true; /* what was read before still counts */
			break;
		}
		if (n < 0)
			break;
		s->in_len += (size_t)n;
		/* A client's message that cannot be a query ends its
		 * connection; an upstream's is read, and dropped if it is not
		 * the answer. */
		if (!s->upstream && s->in_len >= 2) {
			size_t want = get16(s->in);
			if (want < DNS_HEADER_LEN || want > QUERY_MAX) {
				stream_close(s);
				return;
			}
		}
	}
	if (s->upstream) {
		size_t len;
		while (s->pending >= 0 && stream_message(s, &len)) {
			if (answer(s->p, &s->p->pend[s->pending], s->in + 2, len))
				return; /* answered: the connection is closed */
			stream_consume(s, len);
		}
		if (s->eof)
			stream_close(s); /* closed without an answer: the next upstream */
		else
			stream_rearm(s);
	} else {
		client_next(s);
	}
}

static struct stream *stream_slot(struct dnsproxy *p, bool upstream)
{
	struct stream *v = upstream ? p->ups : p->clients;
	for (int i = 0; i < DNSPROXY_TCP_MAX; i++) {
		struct stream *s = &v[i];
		if (s->h.fd >= 0)
			continue;
		if (!s->in) {
			s->in_cap = upstream ? 2 + STREAM_MSG_MAX : 2 + QUERY_MAX;
			s->out_cap = upstream ? 2 + DNS_FORWARD_MAX : 2 * (2 + STREAM_MSG_MAX);
			s->in = malloc(s->in_cap);
			s->out = malloc(s->out_cap);
			if (!s->in || !s->out) {
				free(s->in);
				free(s->out);
				s->in = s->out = NULL;
				return NULL;
			}
		}
		s->p = p;
		s->upstream = upstream;
		s->pending = -1;
		s->in_len = s->out_len = s->out_off = 0;
		s->connecting = s->eof = s->busy = false;
		return s;
	}
	return NULL;
}

/* One try of a TCP query: a new connection, which carries the query built
 * for it. Returns 0 or -1 with errno set. */
static int up_connect(struct dnsproxy *p, struct pending *q)
{
	struct stream *s = stream_slot(p, true);
	if (!s) {
		errno = ENOBUFS;
		return -1;
	}
	ssize_t n = dns_build_query(&q->q, q->id, s->out + 2, s->out_cap - 2);
	if (n < 0) {
		errno = EINVAL;
		return -1;
	}
	int fd = upstream_socket(p, q, SOCK_STREAM);
	if (fd < 0)
		return -1;
	s->h = (struct loop_handler){ .fd = fd, .fn = on_stream, .ctx = s };
	s->connecting = true;
	put16(s->out, (uint16_t)n);
	s->out_len = 2 + (size_t)n;
	s->pending = (int)(q - p->pend);
	if (loop_add_handler(p->loop, &s->h, EPOLLOUT, NULL) < 0) {
		close_keep_errno(fd);
		s->h.fd = -1;
		s->pending = -1;
		return -1;
	}
	q->up = s;
	return 0;
}

static void on_tcp_listener(void *arg, int fd, uint32_t events)
{
	(void)events;
	struct listener *l = arg;
	struct dnsproxy *p = l->p;
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0)
			return;
		struct stream *s = stream_slot(p, false);
		if (!s) {
			close(c); /* too many at once: the client retries */
			continue;
		}
		s->h = (struct loop_handler){ .fd = c, .fn = on_stream, .ctx = s };
		s->deadline = clock_ms() + DNSPROXY_IDLE_MS;
		if (loop_add_handler(p->loop, &s->h, EPOLLIN, NULL) < 0) {
			close(c);
			s->h.fd = -1;
		}
	}
}

/* ---- setup ---- */

static int bind_listener(struct dnsproxy *p, enum net_family fam, bool tcp, struct perr *err)
{
	struct net_addr lo = net_loopback(fam);
	int fd = socket(net_af(fam),
			(tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return perr_sys(err, errno, "DNS filter: socket");
	/* Not to be shared: no SO_REUSEPORT, and no SO_REUSEADDR on UDP,
	 * where it would let the agent bind the same address and port and
	 * take the queries. On a listening TCP socket SO_REUSEADDR shares
	 * nothing (the kernel refuses a bind to a listener's address and port
	 * unless both sockets have SO_REUSEPORT); it lets palisade listen
	 * again in a network namespace where an earlier run left connections
	 * on port 53 in TIME_WAIT. */
	int one = 1;
	if ((tcp && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    (fam == NET_V6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)) {
		int e = errno;
		close(fd);
		return perr_sys(err, e, "DNS filter: setsockopt");
	}
	struct sockaddr_storage ss;
	socklen_t sl = to_sockaddr(&lo, 53, &ss);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || (tcp && listen(fd, 64) < 0)) {
		int e = errno;
		close(fd);
		errno = e;
		char what[96];
		snprintf(what, sizeof(what), "DNS filter: cannot listen on %s port 53 (%s)",
			 fam == NET_V4 ? "127.0.0.1" : "[::1]", tcp ? "TCP" : "UDP");
		if (e == EACCES) /* a privileged port in this network namespace */
			return cap_refused(err, CAP_NET_BIND_SERVICE, cap_held(CAP_NET_BIND_SERVICE),
					   what);
		return perr_code(err, e, "DNS filter: cannot listen on %s port 53 (%s): %s",
				 fam == NET_V4 ? "127.0.0.1" : "[::1]", tcp ? "TCP" : "UDP",
				 e == EADDRINUSE ? "another program of the image serves DNS there; "
						  "palisade must be the container's resolver"
						: strerror(e));
	}
	struct listener *l = &p->lis[p->nlis++];
	l->h = (struct loop_handler){ .fd = fd, .fn = tcp ? on_tcp_listener : on_udp_listener,
				      .ctx = l };
	l->p = p;
	l->tcp = tcp;
	return 0;
}

struct dnsproxy *dnsproxy_open(const struct net_addr *upstreams, size_t n, bool with_v6,
			       size_t cache_entries, struct perr *err)
{
	struct dnsproxy *p = calloc(1, sizeof(*p));
	if (!p) {
		perr_code(err, ENOMEM, "out of memory");
		return NULL;
	}
	uint32_t seed;
	if (cache_entries && getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
		perr_sys(err, errno, "DNS filter: getrandom");
		free(p);
		return NULL;
	}
	if (cache_entries && !(p->cache = dnscache_new(cache_entries, seed))) {
		perr_code(err, ENOMEM, "DNS filter: out of memory for a cache of %zu answers; "
			  "give a smaller --dns-cache-size", cache_entries);
		free(p);
		return NULL;
	}
	for (int i = DNSPROXY_PENDING_MAX - 1; i >= 0; i--) {
		p->free_pend[p->nfree++] = i;
		p->pend[i].udp.fd = -1;
	}
	for (int i = 0; i < DNSPROXY_TCP_MAX; i++)
		p->clients[i].h.fd = p->ups[i].h.fd = -1;
	for (size_t i = 0; i < n && p->nup < DNSPROXY_UPSTREAMS_MAX; i++)
		p->up[p->nup++] = upstreams[i];

	if (bind_listener(p, NET_V4, false, err) < 0 || bind_listener(p, NET_V4, true, err) < 0)
		goto fail;
	if (with_v6) {
		struct perr e6 = PERR_INIT;
		if (bind_listener(p, NET_V6, false, &e6) == 0 &&
		    bind_listener(p, NET_V6, true, &e6) == 0) {
			p->v6 = true;
		} else {
			/* IPv6 is off on the loopback: the filter serves IPv4. */
			while (p->nlis > 2)
				close(p->lis[--p->nlis].h.fd);
		}
	}
	return p;
fail:
	dnsproxy_close(p);
	return NULL;
}

bool dnsproxy_has_v6(const struct dnsproxy *p)
{
	return p->v6;
}

int dnsproxy_attach(struct dnsproxy *p, struct loop *l, const struct dnsproxy_ops *ops,
		    void *ctx, struct perr *err)
{
	p->loop = l;
	p->ops = ops;
	p->ctx = ctx;
	for (size_t i = 0; i < p->nlis; i++)
		if (loop_add_handler(l, &p->lis[i].h, EPOLLIN, err) < 0)
			return -1;
	return 0;
}

void dnsproxy_tick(struct dnsproxy *p)
{
	/* The answers of this pass. */
	outbox_flush(&p->out);
	uint64_t t = clock_ms();
	if (t < p->next_check)
		return;
	/* Client connections are closed up to a second late. */
	p->next_check = t + 1000;
	for (int i = 0; i < DNSPROXY_PENDING_MAX; i++) {
		struct pending *q = &p->pend[i];
		if (q->used && t >= q->deadline)
			retry(p, q, "the upstream resolvers did not answer");
		if (q->used && q->deadline < p->next_check)
			p->next_check = q->deadline;
	}
	for (int i = 0; i < DNSPROXY_TCP_MAX; i++) {
		struct stream *c = &p->clients[i];
		if (c->h.fd >= 0 && c->pending < 0 && c->out_len == 0 && t >= c->deadline)
			stream_close(c);
	}
}

void dnsproxy_close(struct dnsproxy *p)
{
	if (!p)
		return;
	outbox_flush(&p->out);
	dnscache_free(p->cache);
	for (size_t i = 0; i < p->nlis; i++)
		close(p->lis[i].h.fd);
	for (int i = 0; i < DNSPROXY_PENDING_MAX; i++)
		if (p->pend[i].udp.fd >= 0)
			close(p->pend[i].udp.fd);
	for (int i = 0; i < DNSPROXY_TCP_MAX; i++) {
		struct stream *v[2] = { &p->clients[i], &p->ups[i] };
		for (int k = 0; k < 2; k++) {
			if (v[k]->h.fd >= 0)
				close(v[k]->h.fd);
			free(v[k]->in);
			free(v[k]->out);
		}
	}
	free(p);
}
