#include "ipset.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/netfilter.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/ipset/ip_set_hash.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/capmsg.h"
#include "../lib/array.h"

/* Messages stay well under the kernel's socket buffer. */
#define BATCH_BYTES (32 * 1024)

struct ipset {
	struct nl_sock *sk;
};

/* What one request brought back. */
struct reply {
	int error;      /* the kernel's errno (positive), 0 when acknowledged */
	bool done;
	/* For CMD_TYPE */
	int revision;
	/* For CMD_LIST */
	struct set_elem *elems;
	size_t n, cap;
	bool oom;
};

static const char *ipset_strerror(int e)
{
	switch (e) {
	case IPSET_ERR_PROTOCOL: return "the kernel does not understand the ipset message";
	case IPSET_ERR_FIND_TYPE: return "the kernel has no such set type";
	case IPSET_ERR_MAX_SETS: return "the kernel's limit of sets is reached";
	case IPSET_ERR_BUSY: return "the set is in use by a rule";
	case IPSET_ERR_EXIST_SETNAME2: return "the second set does not exist";
	case IPSET_ERR_TYPE_MISMATCH: return "the sets are of different types";
	case IPSET_ERR_EXIST: return "it already exists";
	case IPSET_ERR_INVALID_CIDR: return "invalid network prefix";
	case IPSET_ERR_INVALID_NETMASK: return "invalid netmask";
	case IPSET_ERR_INVALID_FAMILY: return "wrong address family for the set";
	case IPSET_ERR_TIMEOUT: return "the set has no timeout support";
	case IPSET_ERR_REFERENCED: return "the set is referenced by a rule";
	case IPSET_ERR_IPADDR_IPV4: return "invalid IPv4 address";
	case IPSET_ERR_IPADDR_IPV6: return "invalid IPv6 address";
	case IPSET_ERR_HASH_FULL: return "the set is full";
	case IPSET_ERR_HASH_ELEM: return "invalid member";
	default: return e > 0 && e < IPSET_ERR_PRIVATE ? strerror(e) : "ipset error";
	}
}

/* The errno a perr carries for the kernel's error e: ipset's own codes
 * (IPSET_ERR_PRIVATE and above) are none. */
static int ipset_errno(int e)
{
	switch (e) {
	case IPSET_ERR_HASH_FULL: case IPSET_ERR_MAX_SETS: return ENOSPC;
	case IPSET_ERR_EXIST: return EEXIST;
	case IPSET_ERR_EXIST_SETNAME2: return ENOENT;
	case IPSET_ERR_BUSY: case IPSET_ERR_REFERENCED: return EBUSY;
	case IPSET_ERR_FIND_TYPE: case IPSET_ERR_TIMEOUT: return EOPNOTSUPP;
	case IPSET_ERR_PROTOCOL: return EPROTO;
	default: return e > 0 && e < IPSET_ERR_PRIVATE ? e : EINVAL;
	}
}

/* What failed (fmt), and why: the kernel's error e, with the fix for a
 * missing permission or ip_set. Returns -1. */
static int fail_errno(struct perr *err, int e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_errno(struct perr *err, int e, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (e == EPERM || e == EACCES)
		return cap_refused(err, CAP_NET_ADMIN, cap_held(CAP_NET_ADMIN), what);
	if (e == EPROTONOSUPPORT || e == EOPNOTSUPP || e == ENOENT || e == EAFNOSUPPORT)
		return perr_code(err, e, "%s: the kernel has no ip_set support (%s); load it on the "
				 "host with modprobe ip_set ip_set_hash_net ip_set_hash_netport",
				 what, strerror(e));
	return perr_code(err, ipset_errno(e), "%s: %s", what, ipset_strerror(e));
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	(void)nla;
	struct reply *r = arg;
	r->error = -e->error;
	r->done = true;
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	(void)msg;
	struct reply *r = arg;
	r->done = true;
	return NL_STOP;
}

static int on_finish(struct nl_msg *msg, void *arg)
{
	(void)msg;
	struct reply *r = arg;
	r->done = true;
	return NL_STOP;
}

static int parse_elem(struct nlattr *data, struct set_elem *e)
{
	struct nlattr *tb[IPSET_ATTR_ADT_MAX + 1];
	memset(e, 0, sizeof(*e));
	if (nla_parse_nested(tb, IPSET_ATTR_ADT_MAX, data, NULL) < 0 || !tb[IPSET_ATTR_IP])
		return -1;
	struct nlattr *ip[IPSET_ATTR_IPADDR_MAX + 1];
	if (nla_parse_nested(ip, IPSET_ATTR_IPADDR_MAX, tb[IPSET_ATTR_IP], NULL) < 0)
		return -1;
	if (ip[IPSET_ATTR_IPADDR_IPV4] && nla_len(ip[IPSET_ATTR_IPADDR_IPV4]) == 4) {
		e->net.family = NET_V4;
		e->net.prefix = 32;
		memcpy(e->net.bytes, nla_data(ip[IPSET_ATTR_IPADDR_IPV4]), 4);
	} else if (ip[IPSET_ATTR_IPADDR_IPV6] && nla_len(ip[IPSET_ATTR_IPADDR_IPV6]) == 16) {
		e->net.family = NET_V6;
		e->net.prefix = 128;
		memcpy(e->net.bytes, nla_data(ip[IPSET_ATTR_IPADDR_IPV6]), 16);
	} else {
		return -1;
	}
	if (tb[IPSET_ATTR_CIDR] && nla_len(tb[IPSET_ATTR_CIDR]) >= 1)
		e->net.prefix = nla_get_u8(tb[IPSET_ATTR_CIDR]);
	if (tb[IPSET_ATTR_PORT] && nla_len(tb[IPSET_ATTR_PORT]) >= 2)
		e->port = ntohs(nla_get_u16(tb[IPSET_ATTR_PORT]));
	if (tb[IPSET_ATTR_PROTO] && nla_len(tb[IPSET_ATTR_PROTO]) >= 1)
		e->proto = nla_get_u8(tb[IPSET_ATTR_PROTO]);
	if (tb[IPSET_ATTR_TIMEOUT] && nla_len(tb[IPSET_ATTR_TIMEOUT]) >= 4)
		e->timeout = ntohl(nla_get_u32(tb[IPSET_ATTR_TIMEOUT]));
	return 0;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct reply *r = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[IPSET_ATTR_CMD_MAX + 1];
	if (nlmsg_parse(nlh, sizeof(struct nfgenmsg), tb, IPSET_ATTR_CMD_MAX, NULL) < 0)
		return NL_SKIP;
	if (tb[IPSET_ATTR_REVISION] && nla_len(tb[IPSET_ATTR_REVISION]) >= 1)
		r->revision = nla_get_u8(tb[IPSET_ATTR_REVISION]);
	if (tb[IPSET_ATTR_ADT]) {
		struct nlattr *d;
		int rem;
		nla_for_each_nested(d, tb[IPSET_ATTR_ADT], rem) {
			struct set_elem e;
			if (parse_elem(d, &e) < 0)
				continue;
			if (r->n == r->cap) {
				struct set_elem *v = array_grow(r->elems, &r->cap, sizeof(*v), 64);
				if (!v) {
					r->oom = true;
					return NL_STOP;
				}
				r->elems = v;
			}
			r->elems[r->n++] = e;
		}
	}
	return NL_OK;
}

/* Building m failed: frees it (or NULL). Returns -1. */
static int out_of_memory(struct nl_msg *m, struct perr *err)
{
	nlmsg_free(m);
	return perr_code(err, ENOMEM, "out of memory");
}

static struct nl_msg *new_msg(uint8_t cmd, int flags, size_t size)
{
	struct nl_msg *m = nlmsg_alloc_size(size);
	if (!m)
		return NULL;
	if (nfnlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, NFNL_SUBSYS_IPSET, cmd,
			NLM_F_REQUEST | flags, AF_INET, 0) < 0 ||
	    nla_put_u8(m, IPSET_ATTR_PROTOCOL, IPSET_PROTOCOL) < 0) {
		nlmsg_free(m);
		return NULL;
	}
	return m;
}

/* Sends m (freeing it) and reads until the kernel acknowledges, fails or
 * finishes a dump. Returns 0 or the kernel's positive errno. */
static int transact(struct ipset *s, struct nl_msg *m, struct reply *r)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_CUSTOM);
	if (!cb) {
		nlmsg_free(m);
		return ENOMEM;
	}
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, r);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, r);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, r);
	r->done = false;
	r->error = 0;
	int rc = nl_send_auto(s->sk, m);
	nlmsg_free(m);
	if (rc < 0) {
		nl_cb_put(cb);
		return errno ? errno : EIO;
	}
	while (!r->done) {
		rc = nl_recvmsgs(s->sk, cb);
		if (rc < 0 && !r->done) {
			nl_cb_put(cb);
			return rc == -NLE_PERM ? EPERM : EIO;
		}
	}
	nl_cb_put(cb);
	if (r->oom)
		return ENOMEM;
	return r->error;
}

/* A command whose answer is only its acknowledgement: the errno, or 0. */
static int command(struct ipset *s, struct nl_msg *m)
{
	struct reply r = { 0 };
	int e = transact(s, m, &r);
	free(r.elems);
	return e;
}

struct ipset *ipset_open(struct perr *err)
{
	struct ipset *s = calloc(1, sizeof(*s));
	if (!s) {
		perr_code(err, ENOMEM, "out of memory");
		return NULL;
	}
	s->sk = nl_socket_alloc();
	if (!s->sk) {
		free(s);
		perr_code(err, ENOMEM, "out of memory");
		return NULL;
	}
	errno = 0;
	if (nl_connect(s->sk, NETLINK_NETFILTER) < 0) {
		fail_errno(err, errno ? errno : EPROTONOSUPPORT,
			   "ipset: cannot open netfilter netlink");
		ipset_close(s);
		return NULL;
	}
	nl_socket_set_buffer_size(s->sk, 1 << 20, 1 << 20);

	struct nl_msg *m = new_msg(IPSET_CMD_PROTOCOL, NLM_F_ACK, 256);
	int e = m ? command(s, m) : ENOMEM;
	if (e) {
		fail_errno(err, e, "ipset: the kernel did not answer the ipset protocol");
		ipset_close(s);
		return NULL;
	}
	return s;
}

void ipset_close(struct ipset *s)
{
	if (s && s->sk)
		nl_socket_free(s->sk);
	free(s);
}

int ipset_exists(struct ipset *s, const char *name, struct perr *err)
{
	struct nl_msg *m = new_msg(IPSET_CMD_HEADER, NLM_F_ACK, 256);
	if (!m || nla_put_string(m, IPSET_ATTR_SETNAME, name) < 0)
		return out_of_memory(m, err);
	int e = command(s, m);
	if (e == ENOENT)
		return 0;
	if (e)
		return fail_errno(err, e, "%s", name);
	return 1;
}

static int type_revision(struct ipset *s, const char *type, uint8_t family,
			 int *revision, struct perr *err)
{
	struct nl_msg *m = new_msg(IPSET_CMD_TYPE, NLM_F_ACK, 256);
	if (!m || nla_put_string(m, IPSET_ATTR_TYPENAME, type) < 0 ||
	    nla_put_u8(m, IPSET_ATTR_FAMILY, family) < 0)
		return out_of_memory(m, err);
	struct reply r = { .revision = -1 };
	int e = transact(s, m, &r);
	free(r.elems);
	if (e || r.revision < 0)
		return fail_errno(err, e ? e : IPSET_ERR_FIND_TYPE, "%s", type);
	*revision = r.revision;
	return 0;
}

static uint8_t nfproto(enum net_family f)
{
	return f == NET_V4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
}

int ipset_create(struct ipset *s, const char *name, const char *type,
		 enum net_family family, uint32_t maxelem, struct perr *err)
{
	int revision = 0;
	if (type_revision(s, type, nfproto(family), &revision, err) < 0)
		return -1;
	struct nl_msg *m = new_msg(IPSET_CMD_CREATE, NLM_F_ACK, 512);
	struct nlattr *data;
	if (!m || nla_put_string(m, IPSET_ATTR_SETNAME, name) < 0 ||
	    nla_put_string(m, IPSET_ATTR_TYPENAME, type) < 0 ||
	    nla_put_u8(m, IPSET_ATTR_REVISION, (uint8_t)revision) < 0 ||
	    nla_put_u8(m, IPSET_ATTR_FAMILY, nfproto(family)) < 0 ||
	    !(data = nla_nest_start(m, IPSET_ATTR_DATA | NLA_F_NESTED)) ||
	    nla_put_u32(m, IPSET_ATTR_TIMEOUT | NLA_F_NET_BYTEORDER, htonl(0)) < 0 ||
	    nla_put_u32(m, IPSET_ATTR_MAXELEM | NLA_F_NET_BYTEORDER, htonl(maxelem)) < 0 ||
	    nla_nest_end(m, data) < 0)
		return out_of_memory(m, err);
	int e = command(s, m);
	return e ? fail_errno(err, e, "ipset: creating %s (%s)", name, type) : 0;
}

int ipset_destroy(struct ipset *s, const char *name, bool missing_ok, struct perr *err)
{
	struct nl_msg *m = new_msg(IPSET_CMD_DESTROY, NLM_F_ACK, 256);
	if (!m || nla_put_string(m, IPSET_ATTR_SETNAME, name) < 0)
		return out_of_memory(m, err);
	int e = command(s, m);
	if (e == ENOENT && missing_ok)
		return 0;
	return e ? fail_errno(err, e, "ipset: destroying %s", name) : 0;
}

int ipset_swap(struct ipset *s, const char *a, const char *b, struct perr *err)
{
	struct nl_msg *m = new_msg(IPSET_CMD_SWAP, NLM_F_ACK, 256);
	if (!m || nla_put_string(m, IPSET_ATTR_SETNAME, a) < 0 ||
	    nla_put_string(m, IPSET_ATTR_SETNAME2, b) < 0)
		return out_of_memory(m, err);
	int e = command(s, m);
	return e ? fail_errno(err, e, "ipset: swapping %s and %s", a, b) : 0;
}

static int put_elem(struct nl_msg *m, int type, const struct set_elem *e)
{
	struct nlattr *data = nla_nest_start(m, type | NLA_F_NESTED);
	if (!data)
		return -1;
	struct nlattr *ip = nla_nest_start(m, IPSET_ATTR_IP | NLA_F_NESTED);
	if (!ip)
		return -1;
	if (e->net.family == NET_V4) {
		uint32_t a;
		memcpy(&a, e->net.bytes, 4);
		if (nla_put_u32(m, IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER, a) < 0)
			return -1;
	} else if (nla_put(m, IPSET_ATTR_IPADDR_IPV6 | NLA_F_NET_BYTEORDER, 16, e->net.bytes) < 0) {
		return -1;
	}
	nla_nest_end(m, ip);
	if (!net_is_host(&e->net) && nla_put_u8(m, IPSET_ATTR_CIDR, e->net.prefix) < 0)
		return -1;
	if (e->port) {
		if (nla_put_u16(m, IPSET_ATTR_PORT | NLA_F_NET_BYTEORDER, htons(e->port)) < 0 ||
		    nla_put_u8(m, IPSET_ATTR_PROTO, e->proto) < 0)
			return -1;
	}
	if (e->timeout &&
	    nla_put_u32(m, IPSET_ATTR_TIMEOUT | NLA_F_NET_BYTEORDER, htonl(e->timeout)) < 0)
		return -1;
	nla_nest_end(m, data);
	return 0;
}

static struct nl_msg *adt_msg(uint8_t cmd, const char *name)
{
	struct nl_msg *m = new_msg(cmd, NLM_F_ACK, BATCH_BYTES + 1024);
	if (!m)
		return NULL;
	/* The kernel takes a list of members (IPSET_ATTR_ADT) only with a line
	 * number, which it uses in error reports. */
	if (nla_put_string(m, IPSET_ATTR_SETNAME, name) < 0 ||
	    nla_put_u32(m, IPSET_ATTR_LINENO, 0) < 0 ||
	    nla_put_u32(m, IPSET_ATTR_FLAGS | NLA_F_NET_BYTEORDER, htonl(IPSET_FLAG_EXIST)) < 0) {
		nlmsg_free(m);
		return NULL;
	}
	return m;
}

int ipset_add(struct ipset *s, const char *name, const struct set_elem *v, size_t n,
	      struct perr *err)
{
	size_t i = 0;
	while (i < n) {
		struct nl_msg *m = adt_msg(IPSET_CMD_ADD, name);
		struct nlattr *adt = m ? nla_nest_start(m, IPSET_ATTR_ADT | NLA_F_NESTED) : NULL;
		if (!adt)
			return out_of_memory(m, err);
		size_t first = i;
		for (; i < n && nlmsg_hdr(m)->nlmsg_len < BATCH_BYTES; i++)
			if (put_elem(m, IPSET_ATTR_DATA, &v[i]) < 0)
				return out_of_memory(m, err);
		nla_nest_end(m, adt);
		int e = command(s, m);
		if (e) {
			char a[NET_ADDR_STRLEN];
			net_format(&v[first].net, a, sizeof(a));
			return fail_errno(err, e, "ipset: adding %zu members (from %s) to %s",
					  i - first, a, name);
		}
	}
	return 0;
}

int ipset_list(struct ipset *s, const char *name, struct set_elem **v, size_t *n,
	       struct perr *err)
{
	struct nl_msg *m = new_msg(IPSET_CMD_LIST, NLM_F_DUMP, 256);
	if (!m || nla_put_string(m, IPSET_ATTR_SETNAME, name) < 0)
		return out_of_memory(m, err);
	struct reply r = { 0 };
	int e = transact(s, m, &r);
	if (e) {
		free(r.elems);
		return fail_errno(err, e, "ipset: listing %s", name);
	}
	*v = r.elems;
	*n = r.n;
	return 0;
}

int ipset_index(const char *name, enum net_family family, uint16_t *index,
		struct perr *err)
{
	/* The kernel takes SO_IP_SET on any IPv4 socket, with CAP_NET_ADMIN:
	 * a UDP one needs no CAP_NET_RAW. */
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail_errno(err, errno, "ipset: cannot open a socket to look up sets");
	struct ip_set_req_version ver = { .op = IP_SET_OP_VERSION };
	socklen_t len = sizeof(ver);
	if (getsockopt(fd, SOL_IP, SO_IP_SET, &ver, &len) < 0) {
		int e = errno;
		close(fd);
		return fail_errno(err, e, "ipset: SO_IP_SET version");
	}
	struct ip_set_req_get_set_family req;
	memset(&req, 0, sizeof(req));
	req.op = IP_SET_OP_GET_FNAME;
	req.version = ver.version;
	snprintf(req.set.name, sizeof(req.set.name), "%s", name);
	len = sizeof(req);
	if (getsockopt(fd, SOL_IP, SO_IP_SET, &req, &len) < 0) {
		int e = errno;
		close(fd);
		return fail_errno(err, e, "ipset: looking up a set's index");
	}
	close(fd);
	if (req.set.index == IPSET_INVALID_ID)
		return perr_set(err, "ipset: set %s does not exist", name);
	if (req.family != nfproto(family))
		return perr_set(err, "ipset: set %s is not of the expected address family", name);
	*index = req.set.index;
	return 0;
}
