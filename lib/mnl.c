/* libmnl's API, the part libnftnl.a calls (see lib/mnl.h for why palisade
 * carries it). Written for palisade after libmnl 1.0.4's documented
 * behaviour; every length read from a message is checked against the bytes
 * that hold it before anything past the header is read. */
#include "mnl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* --- sockets --- */

struct mnl_socket {
	int fd;
	struct sockaddr_nl addr;
};

struct mnl_socket *mnl_socket_open(int bus)
{
	struct mnl_socket *nl = calloc(1, sizeof(*nl));
	if (!nl)
		return NULL;
	/* Close-on-exec (libmnl leaves it open): the agent palisade runs must
	 * never inherit a netfilter socket. */
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, bus);
	if (nl->fd < 0) {
		int saved = errno;
		free(nl);
		errno = saved;
		return NULL;
	}
	return nl;
}

int mnl_socket_bind(struct mnl_socket *nl, unsigned int groups, pid_t pid)
{
	struct sockaddr_nl addr = {
		.nl_family = AF_NETLINK,
		.nl_groups = groups,
		.nl_pid = (uint32_t)pid,
	};
	if (bind(nl->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return -1;
	socklen_t len = sizeof(addr);
	if (getsockname(nl->fd, (struct sockaddr *)&addr, &len) < 0)
		return -1;
	if (len != sizeof(addr) || addr.nl_family != AF_NETLINK) {
		errno = EINVAL;
		return -1;
	}
	nl->addr = addr;
	return 0;
}

int mnl_socket_close(struct mnl_socket *nl)
{
	if (!nl)
		return 0;
	int ret = close(nl->fd);
	int saved = errno;
	free(nl);
	errno = saved;
	return ret;
}

int mnl_socket_get_fd(const struct mnl_socket *nl)
{
	return nl->fd;
}

unsigned int mnl_socket_get_portid(const struct mnl_socket *nl)
{
	return nl->addr.nl_pid;
}

ssize_t mnl_socket_sendto(const struct mnl_socket *nl, const void *req, size_t siz)
{
	static const struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	return sendto(nl->fd, req, siz, 0, (const struct sockaddr *)&kernel, sizeof(kernel));
}

ssize_t mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t siz)
{
	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = { .iov_base = buf, .iov_len = siz };
		struct msghdr msg = {
			.msg_name = &from,
			.msg_namelen = sizeof(from),
			.msg_iov = &iov,
			.msg_iovlen = 1,
		};
		ssize_t n = recvmsg(nl->fd, &msg, 0);
		if (n < 0)
			return -1;
		if (msg.msg_namelen != sizeof(from)) {
			errno = EINVAL;
			return -1;
		}
		/* Any process in the network namespace may send to this port:
		 * only the kernel's word counts. */
		if (from.nl_pid != 0)
			continue;
		if (msg.msg_flags & MSG_TRUNC) {
			errno = ENOSPC;
			return -1;
		}
		return n;
	}
}

int mnl_socket_setsockopt(const struct mnl_socket *nl, int type, void *buf, socklen_t len)
{
	return setsockopt(nl->fd, SOL_NETLINK, type, buf, len);
}

int mnl_socket_getsockopt(const struct mnl_socket *nl, int type, void *buf, socklen_t *len)
{
	return getsockopt(nl->fd, SOL_NETLINK, type, buf, len);
}

/* --- messages --- */

size_t mnl_nlmsg_size(size_t len)
{
	return len + MNL_NLMSG_HDRLEN;
}

size_t mnl_nlmsg_get_payload_len(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_len - MNL_NLMSG_HDRLEN;
}

struct nlmsghdr *mnl_nlmsg_put_header(void *buf)
{
	struct nlmsghdr *nlh = buf;
	memset(nlh, 0, MNL_NLMSG_HDRLEN);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN;
	return nlh;
}

void *mnl_nlmsg_put_extra_header(struct nlmsghdr *nlh, size_t size)
{
	char *p = (char *)nlh + nlh->nlmsg_len;
	size_t len = MNL_ALIGN(size);
	nlh->nlmsg_len += len;
	memset(p, 0, len);
	return p;
}

bool mnl_nlmsg_ok(const struct nlmsghdr *nlh, int len)
{
	/* Compared unsigned: a huge nlmsg_len is not a negative one. */
	return len >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       nlh->nlmsg_len <= (unsigned int)len;
}

struct nlmsghdr *mnl_nlmsg_next(const struct nlmsghdr *nlh, int *len)
{
	size_t step = MNL_ALIGN((size_t)nlh->nlmsg_len);
	*len = step > (size_t)INT_MAX ? -1 : *len - (int)step;
	return (struct nlmsghdr *)((char *)nlh + step);
}

bool mnl_nlmsg_seq_ok(const struct nlmsghdr *nlh, unsigned int seq)
{
	return !nlh->nlmsg_seq || !seq || nlh->nlmsg_seq == seq;
}

bool mnl_nlmsg_portid_ok(const struct nlmsghdr *nlh, unsigned int portid)
{
	return !nlh->nlmsg_pid || !portid || nlh->nlmsg_pid == portid;
}

void *mnl_nlmsg_get_payload(const struct nlmsghdr *nlh)
{
	return (char *)nlh + MNL_NLMSG_HDRLEN;
}

void *mnl_nlmsg_get_payload_offset(const struct nlmsghdr *nlh, size_t offset)
{
	return (char *)nlh + MNL_NLMSG_HDRLEN + MNL_ALIGN(offset);
}

void *mnl_nlmsg_get_payload_tail(const struct nlmsghdr *nlh)
{
	return (char *)nlh + MNL_ALIGN((size_t)nlh->nlmsg_len);
}

/* --- batches --- */

struct mnl_nlmsg_batch {
	char *buf;
	size_t limit;  /* the batch never takes more */
	size_t buflen; /* bytes taken */
	char *cur;     /* where the next message is built: buf + buflen */
	bool overflow; /* the message at cur did not fit */
};

struct mnl_nlmsg_batch *mnl_nlmsg_batch_start(void *buf, size_t bufsiz)
{
	struct mnl_nlmsg_batch *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->buf = buf;
	b->limit = bufsiz;
	b->cur = buf;
	return b;
}

bool mnl_nlmsg_batch_next(struct mnl_nlmsg_batch *b)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)b->cur;
	size_t len = MNL_ALIGN((size_t)nlh->nlmsg_len);
	if (b->buflen > b->limit || len > b->limit - b->buflen) {
		b->overflow = true;
		return false;
	}
	b->buflen += len;
	b->cur = b->buf + b->buflen;
	return true;
}

void mnl_nlmsg_batch_stop(struct mnl_nlmsg_batch *b)
{
	free(b);
}

size_t mnl_nlmsg_batch_size(struct mnl_nlmsg_batch *b)
{
	return b->buflen;
}

void mnl_nlmsg_batch_reset(struct mnl_nlmsg_batch *b)
{
	if (b->overflow) {
		/* The message that did not fit, already written after the
		 * batch, moves to the head and is the new batch's first. */
		size_t len = ((const struct nlmsghdr *)b->cur)->nlmsg_len;
		memmove(b->buf, b->cur, len);
		b->buflen = MNL_ALIGN(len);
		b->overflow = false;
	} else {
		b->buflen = 0;
	}
	b->cur = b->buf + b->buflen;
}

void *mnl_nlmsg_batch_head(struct mnl_nlmsg_batch *b)
{
	return b->buf;
}

void *mnl_nlmsg_batch_current(struct mnl_nlmsg_batch *b)
{
	return b->cur;
}

bool mnl_nlmsg_batch_is_empty(struct mnl_nlmsg_batch *b)
{
	return b->buflen == 0;
}

/* --- attributes --- */

uint16_t mnl_attr_get_type(const struct nlattr *attr)
{
	return attr->nla_type & NLA_TYPE_MASK;
}

uint16_t mnl_attr_get_len(const struct nlattr *attr)
{
	return attr->nla_len;
}

uint16_t mnl_attr_get_payload_len(const struct nlattr *attr)
{
	return (uint16_t)(attr->nla_len - MNL_ATTR_HDRLEN);
}

void *mnl_attr_get_payload(const struct nlattr *attr)
{
	return (char *)attr + MNL_ATTR_HDRLEN;
}

uint8_t mnl_attr_get_u8(const struct nlattr *attr)
{
	return *(const uint8_t *)mnl_attr_get_payload(attr);
}

uint16_t mnl_attr_get_u16(const struct nlattr *attr)
{
	uint16_t v;
	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

uint32_t mnl_attr_get_u32(const struct nlattr *attr)
{
	uint32_t v;
	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

uint64_t mnl_attr_get_u64(const struct nlattr *attr)
{
	uint64_t v;
	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

const char *mnl_attr_get_str(const struct nlattr *attr)
{
	return mnl_attr_get_payload(attr);
}

void mnl_attr_put(struct nlmsghdr *nlh, uint16_t type, size_t len, const void *data)
{
	struct nlattr *attr = mnl_nlmsg_get_payload_tail(nlh);
	size_t attr_len = MNL_ATTR_HDRLEN + len;
	size_t pad = MNL_ALIGN(attr_len) - attr_len;
	attr->nla_type = type;
	attr->nla_len = (uint16_t)attr_len;
	char *payload = mnl_attr_get_payload(attr);
	if (len)
		memcpy(payload, data, len);
	memset(payload + len, 0, pad);
	nlh->nlmsg_len += MNL_ALIGN(attr_len);
}

void mnl_attr_put_u8(struct nlmsghdr *nlh, uint16_t type, uint8_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_u16(struct nlmsghdr *nlh, uint16_t type, uint16_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_u32(struct nlmsghdr *nlh, uint16_t type, uint32_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_u64(struct nlmsghdr *nlh, uint16_t type, uint64_t data)
{
	mnl_attr_put(nlh, type, sizeof(data), &data);
}

void mnl_attr_put_str(struct nlmsghdr *nlh, uint16_t type, const char *data)
{
	mnl_attr_put(nlh, type, strlen(data), data);
}

void mnl_attr_put_strz(struct nlmsghdr *nlh, uint16_t type, const char *data)
{
	mnl_attr_put(nlh, type, strlen(data) + 1, data);
}

struct nlattr *mnl_attr_nest_start(struct nlmsghdr *nlh, uint16_t type)
{
	struct nlattr *start = mnl_nlmsg_get_payload_tail(nlh);
	mnl_attr_put(nlh, NLA_F_NESTED | type, 0, NULL);
	return start;
}

void mnl_attr_nest_end(struct nlmsghdr *nlh, struct nlattr *start)
{
	start->nla_len = (uint16_t)((char *)mnl_nlmsg_get_payload_tail(nlh) - (char *)start);
}

int mnl_attr_type_valid(const struct nlattr *attr, uint16_t max)
{
	if (mnl_attr_get_type(attr) > max) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return 1;
}

static int attr_fail(int err)
{
	errno = err;
	return -1;
}

static int attr_validate(const struct nlattr *attr, enum mnl_attr_data_type type, size_t exp_len)
{
	/* libmnl would take the wrapped-around payload length as huge. */
	if (attr->nla_len < MNL_ATTR_HDRLEN)
		return attr_fail(ERANGE);
	size_t len = attr->nla_len - MNL_ATTR_HDRLEN;
	const char *payload = mnl_attr_get_payload(attr);
	if (len < exp_len)
		return attr_fail(ERANGE);
	switch (type) {
	case MNL_TYPE_FLAG:
		if (len > 0)
			return attr_fail(ERANGE);
		break;
	case MNL_TYPE_NUL_STRING:
		if (len == 0)
			return attr_fail(ERANGE);
		if (payload[len - 1] != '\0')
			return attr_fail(EINVAL);
		break;
	case MNL_TYPE_STRING:
		if (len == 0)
			return attr_fail(ERANGE);
		/* Stricter than libmnl: libnftnl strdup()s these, so one
		 * without a NUL inside would be read past its end. */
		if (!memchr(payload, '\0', len))
			return attr_fail(EINVAL);
		break;
	case MNL_TYPE_NESTED:
		if (len != 0 && len < MNL_ATTR_HDRLEN)
			return attr_fail(ERANGE);
		break;
	default:
		break;
	}
	if (exp_len && len > exp_len)
		return attr_fail(ERANGE);
	return 0;
}

int mnl_attr_validate(const struct nlattr *attr, enum mnl_attr_data_type type)
{
	static const size_t sizes[MNL_TYPE_MAX] = {
		[MNL_TYPE_U8] = sizeof(uint8_t),
		[MNL_TYPE_U16] = sizeof(uint16_t),
		[MNL_TYPE_U32] = sizeof(uint32_t),
		[MNL_TYPE_U64] = sizeof(uint64_t),
		[MNL_TYPE_MSECS] = sizeof(uint64_t),
	};
	if ((unsigned int)type >= MNL_TYPE_MAX)
		return attr_fail(EINVAL);
	return attr_validate(attr, type, sizes[type]);
}

int mnl_attr_validate2(const struct nlattr *attr, enum mnl_attr_data_type type, size_t exp_len)
{
	if ((unsigned int)type >= MNL_TYPE_MAX)
		return attr_fail(EINVAL);
	return attr_validate(attr, type, exp_len);
}

/* Whether room bytes at attr hold the whole attribute. */
static bool attr_fits(const struct nlattr *attr, size_t room)
{
	return room >= sizeof(*attr) && attr->nla_len >= sizeof(*attr) && attr->nla_len <= room;
}

bool mnl_attr_ok(const struct nlattr *attr, int len)
{
	return len >= 0 && attr_fits(attr, (size_t)len);
}

struct nlattr *mnl_attr_next(const struct nlattr *attr)
{
	return (struct nlattr *)((char *)attr + MNL_ALIGN((size_t)attr->nla_len));
}

/* Calls cb for each attribute in the len bytes at p; bytes left over that do
 * not make a whole attribute fail. */
static int parse_attrs(const char *p, size_t len, mnl_attr_cb_t cb, void *data)
{
	int ret = MNL_CB_OK;
	size_t off = 0;
	while (off < len) {
		const struct nlattr *attr = (const struct nlattr *)(p + off);
		if (!attr_fits(attr, len - off))
			return attr_fail(EINVAL);
		if (cb && (ret = cb(attr, data)) <= MNL_CB_STOP)
			return ret;
		off += MNL_ALIGN((size_t)attr->nla_len);
	}
	return ret;
}

int mnl_attr_parse(const struct nlmsghdr *nlh, unsigned int offset, mnl_attr_cb_t cb, void *data)
{
	size_t start = MNL_NLMSG_HDRLEN + MNL_ALIGN((size_t)offset);
	if (nlh->nlmsg_len < start)
		return attr_fail(EINVAL);
	return parse_attrs((const char *)nlh + start, nlh->nlmsg_len - start, cb, data);
}

int mnl_attr_parse_nested(const struct nlattr *attr, mnl_attr_cb_t cb, void *data)
{
	if (attr->nla_len < MNL_ATTR_HDRLEN)
		return attr_fail(EINVAL);
	return parse_attrs(mnl_attr_get_payload(attr), attr->nla_len - MNL_ATTR_HDRLEN, cb, data);
}

int mnl_attr_parse_payload(const void *payload, size_t payload_len, mnl_attr_cb_t cb, void *data)
{
	return parse_attrs(payload, payload_len, cb, data);
}

/* --- callbacks --- */

static int cb_noop(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int cb_error(const struct nlmsghdr *nlh, void *data)
{
	(void)data;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	int error;
	memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(error));
	/* Subsystems send the error with either sign. */
	if (error == INT_MIN)
		errno = EINVAL;
	else
		errno = error < 0 ? -error : error;
	return error == 0 ? MNL_CB_STOP : MNL_CB_ERROR;
}

static int cb_stop(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_STOP;
}

static const mnl_cb_t default_ctl[NLMSG_MIN_TYPE] = {
	[NLMSG_NOOP] = cb_noop,
	[NLMSG_ERROR] = cb_error,
	[NLMSG_DONE] = cb_stop,
	[NLMSG_OVERRUN] = cb_noop,
};

int mnl_cb_run2(const void *buf, size_t numbytes, unsigned int seq, unsigned int portid,
		mnl_cb_t cb_data, void *data, const mnl_cb_t *cb_ctl_array,
		unsigned int cb_ctl_array_len)
{
	int ret = MNL_CB_OK;
	size_t off = 0;
	while (off < numbytes) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)((const char *)buf + off);
		size_t left = numbytes - off;
		if (left < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > left) {
			errno = EBADMSG;
			return MNL_CB_ERROR;
		}
		if (!mnl_nlmsg_portid_ok(nlh, portid)) {
			errno = ESRCH;
			return MNL_CB_ERROR;
		}
		if (!mnl_nlmsg_seq_ok(nlh, seq)) {
			errno = EPROTO;
			return MNL_CB_ERROR;
		}
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
			errno = EINTR;
			return MNL_CB_ERROR;
		}
		mnl_cb_t cb = NULL;
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE)
			cb = cb_data;
		else if (nlh->nlmsg_type < cb_ctl_array_len)
			cb = cb_ctl_array ? cb_ctl_array[nlh->nlmsg_type] : NULL;
		else
			cb = default_ctl[nlh->nlmsg_type];
		if (cb && (ret = cb(nlh, data)) <= MNL_CB_STOP)
			return ret;
		off += MNL_ALIGN((size_t)nlh->nlmsg_len);
	}
	return ret;
}

int mnl_cb_run(const void *buf, size_t numbytes, unsigned int seq, unsigned int portid,
	       mnl_cb_t cb_data, void *data)
{
	return mnl_cb_run2(buf, numbytes, seq, portid, cb_data, data, NULL, 0);
}
