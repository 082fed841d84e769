/* The part of libmnl's API (version 1.0.4) that libnftnl calls, and the few
 * helpers palisade's own nf_tables code uses beside it.
 *
 * Why palisade carries it: palisade links Debian's static libnftnl.a, which
 * calls these functions, but Debian ships libmnl only as a shared library
 * (no libmnl.a), and the Debian archive palisade builds from does not serve
 * libmnl's source to build one. So lib/mnl.c implements them, with the same
 * names, types and behaviour as libmnl 1.0.4, so that libnftnl.a links and
 * runs unchanged against it.
 *
 * Where palisade is stricter than libmnl (each is said at the function):
 * lengths are compared without signed wrap-around; mnl_attr_parse*() and
 * mnl_cb_run*() fail (EINVAL / EBADMSG) on trailing bytes that do not make a
 * whole attribute or message, where libmnl stops quietly; mnl_attr_validate*()
 * refuse an attribute shorter than its own header; mnl_socket_recvfrom()
 * drops datagrams that another process (not the kernel) sent to the socket. */
#ifndef PALISADE_MNL_H
#define PALISADE_MNL_H

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* --- sockets --- */

#define MNL_SOCKET_AUTOPID 0
#define MNL_SOCKET_BUFFER_SIZE (sysconf(_SC_PAGESIZE) < 8192L ? sysconf(_SC_PAGESIZE) : 8192L)

struct mnl_socket;

/* A netlink socket of the given bus (NETLINK_NETFILTER, ...); NULL with
 * errno set on failure. */
struct mnl_socket *mnl_socket_open(int bus);
/* bind(2) with groups and pid (MNL_SOCKET_AUTOPID: the kernel picks), then
 * reads back the port id the kernel gave. 0, or -1 with errno. */
int mnl_socket_bind(struct mnl_socket *nl, unsigned int groups, pid_t pid);
/* Closes the socket and frees nl (NULL is allowed). close(2)'s result. */
int mnl_socket_close(struct mnl_socket *nl);
int mnl_socket_get_fd(const struct mnl_socket *nl);
unsigned int mnl_socket_get_portid(const struct mnl_socket *nl);
/* Sends siz bytes to the kernel. sendto(2)'s result. */
ssize_t mnl_socket_sendto(const struct mnl_socket *nl, const void *req, size_t siz);
/* Receives one datagram from the kernel into buf: its length, or -1 with
 * errno (ENOSPC: it did not fit in siz bytes). Datagrams from other sockets
 * are dropped (libmnl returns them). */
ssize_t mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t siz);
/* setsockopt(2)/getsockopt(2) at level SOL_NETLINK. */
int mnl_socket_setsockopt(const struct mnl_socket *nl, int type, void *buf, socklen_t len);
int mnl_socket_getsockopt(const struct mnl_socket *nl, int type, void *buf, socklen_t *len);

/* --- messages --- */

#define MNL_ALIGNTO 4
#define MNL_ALIGN(len) (((len) + MNL_ALIGNTO - 1) & ~(MNL_ALIGNTO - 1))
#define MNL_NLMSG_HDRLEN MNL_ALIGN(sizeof(struct nlmsghdr))

/* len bytes of payload plus the header. */
size_t mnl_nlmsg_size(size_t len);
size_t mnl_nlmsg_get_payload_len(const struct nlmsghdr *nlh);

/* The builders write at nlh with no room check, like libmnl: the caller
 * gives a buffer large enough (MNL_SOCKET_BUFFER_SIZE for one message). */
/* A zeroed header at buf, nlmsg_len the header's size. */
struct nlmsghdr *mnl_nlmsg_put_header(void *buf);
/* size bytes (aligned) zeroed after the message, added to nlmsg_len. */
void *mnl_nlmsg_put_extra_header(struct nlmsghdr *nlh, size_t size);

/* True when len bytes hold the whole message at nlh (its header, and its
 * nlmsg_len, at least a header, no more than len). */
bool mnl_nlmsg_ok(const struct nlmsghdr *nlh, int len);
/* The message after nlh; *len loses nlh's aligned length. Check with
 * mnl_nlmsg_ok() before reading it. */
struct nlmsghdr *mnl_nlmsg_next(const struct nlmsghdr *nlh, int *len);
/* True when seq (or the message's) is 0, or they are equal. */
bool mnl_nlmsg_seq_ok(const struct nlmsghdr *nlh, unsigned int seq);
/* True when portid (or the message's) is 0, or they are equal. */
bool mnl_nlmsg_portid_ok(const struct nlmsghdr *nlh, unsigned int portid);
void *mnl_nlmsg_get_payload(const struct nlmsghdr *nlh);
void *mnl_nlmsg_get_payload_offset(const struct nlmsghdr *nlh, size_t offset);
/* Just past the message (its aligned length). */
void *mnl_nlmsg_get_payload_tail(const struct nlmsghdr *nlh);

/* Batches: messages built one after another into one buffer, to be sent in
 * one datagram. bufsiz is the batch's limit; as with libmnl, the buffer must
 * have room for one more message past it (libmnl's convention: twice the
 * limit), since a message is written at mnl_nlmsg_batch_current() before
 * mnl_nlmsg_batch_next() finds that it does not fit. */
struct mnl_nlmsg_batch;

/* NULL with errno ENOMEM. */
struct mnl_nlmsg_batch *mnl_nlmsg_batch_start(void *buf, size_t bufsiz);
/* Takes the message at the current position into the batch: true, and the
 * current position moves past it; or false when it would take the batch past
 * its limit (it stays at the current position, mnl_nlmsg_batch_reset() moves
 * it to the head). */
bool mnl_nlmsg_batch_next(struct mnl_nlmsg_batch *b);
void mnl_nlmsg_batch_stop(struct mnl_nlmsg_batch *b);
/* The bytes taken into the batch (what to send from the head). */
size_t mnl_nlmsg_batch_size(struct mnl_nlmsg_batch *b);
/* Empties the batch; a message that did not fit becomes its first. */
void mnl_nlmsg_batch_reset(struct mnl_nlmsg_batch *b);
void *mnl_nlmsg_batch_head(struct mnl_nlmsg_batch *b);
void *mnl_nlmsg_batch_current(struct mnl_nlmsg_batch *b);
bool mnl_nlmsg_batch_is_empty(struct mnl_nlmsg_batch *b);

/* --- attributes --- */

#define MNL_ATTR_HDRLEN MNL_ALIGN(sizeof(struct nlattr))

enum mnl_attr_data_type {
	MNL_TYPE_UNSPEC,
	MNL_TYPE_U8,
	MNL_TYPE_U16,
	MNL_TYPE_U32,
	MNL_TYPE_U64,
	MNL_TYPE_STRING,
	MNL_TYPE_FLAG,
	MNL_TYPE_MSECS,
	MNL_TYPE_NESTED,
	MNL_TYPE_NESTED_COMPAT,
	MNL_TYPE_NUL_STRING,
	MNL_TYPE_BINARY,
	MNL_TYPE_MAX,
};

/* The getters trust the attribute's length: use them on attributes that
 * mnl_attr_ok() (or mnl_attr_parse*()) accepted and mnl_attr_validate*()
 * checked. */
uint16_t mnl_attr_get_type(const struct nlattr *attr);
uint16_t mnl_attr_get_len(const struct nlattr *attr);
uint16_t mnl_attr_get_payload_len(const struct nlattr *attr);
void *mnl_attr_get_payload(const struct nlattr *attr);
uint8_t mnl_attr_get_u8(const struct nlattr *attr);
uint16_t mnl_attr_get_u16(const struct nlattr *attr);
uint32_t mnl_attr_get_u32(const struct nlattr *attr);
uint64_t mnl_attr_get_u64(const struct nlattr *attr);
const char *mnl_attr_get_str(const struct nlattr *attr);

/* The putters append at the message's tail with no room check, like libmnl
 * (the *_check variants of libmnl are not carried: libnftnl does not call
 * them). */
void mnl_attr_put(struct nlmsghdr *nlh, uint16_t type, size_t len, const void *data);
void mnl_attr_put_u8(struct nlmsghdr *nlh, uint16_t type, uint8_t data);
void mnl_attr_put_u16(struct nlmsghdr *nlh, uint16_t type, uint16_t data);
void mnl_attr_put_u32(struct nlmsghdr *nlh, uint16_t type, uint32_t data);
void mnl_attr_put_u64(struct nlmsghdr *nlh, uint16_t type, uint64_t data);
/* The string without its NUL. */
void mnl_attr_put_str(struct nlmsghdr *nlh, uint16_t type, const char *data);
/* The string with its NUL. */
void mnl_attr_put_strz(struct nlmsghdr *nlh, uint16_t type, const char *data);
/* A nest: start puts an empty attribute (type | NLA_F_NESTED), end sets its
 * length to cover what was put since. */
struct nlattr *mnl_attr_nest_start(struct nlmsghdr *nlh, uint16_t type);
void mnl_attr_nest_end(struct nlmsghdr *nlh, struct nlattr *start);

/* 1, or -1 with errno EOPNOTSUPP when the type is above max. */
int mnl_attr_type_valid(const struct nlattr *attr, uint16_t max);
/* 0 when the payload suits the type (integers of their exact size, a
 * non-empty string, a NUL-terminated one, an empty flag, a nest empty or with
 * room for an attribute), else -1 with errno ERANGE (wrong length) or EINVAL
 * (unknown type, unterminated NUL string). validate2 also wants exactly
 * exp_len bytes (when not 0). */
int mnl_attr_validate(const struct nlattr *attr, enum mnl_attr_data_type type);
int mnl_attr_validate2(const struct nlattr *attr, enum mnl_attr_data_type type, size_t exp_len);

/* True when len bytes hold the whole attribute at attr. */
bool mnl_attr_ok(const struct nlattr *attr, int len);
/* The attribute after attr (its aligned length on). Check it with
 * mnl_attr_ok() before reading it. */
struct nlattr *mnl_attr_next(const struct nlattr *attr);

/* Return MNL_CB_OK to go on, MNL_CB_STOP to stop, MNL_CB_ERROR to fail. */
typedef int (*mnl_attr_cb_t)(const struct nlattr *attr, void *data);
/* Calls cb for each attribute of the message after its header and offset
 * bytes (aligned) of family header, until cb returns MNL_CB_STOP or less:
 * that value, else MNL_CB_OK. Trailing bytes that are not a whole attribute:
 * MNL_CB_ERROR with errno EINVAL (after cb saw the whole ones before). */
int mnl_attr_parse(const struct nlmsghdr *nlh, unsigned int offset, mnl_attr_cb_t cb,
		   void *data);
/* The same over the payload of a nest. */
int mnl_attr_parse_nested(const struct nlattr *attr, mnl_attr_cb_t cb, void *data);
/* The same over payload_len bytes of attributes. */
int mnl_attr_parse_payload(const void *payload, size_t payload_len, mnl_attr_cb_t cb,
			   void *data);

#define mnl_attr_for_each(attr, nlh, offset)                                                 \
	for ((attr) = mnl_nlmsg_get_payload_offset((nlh), (offset));                         \
	     mnl_attr_ok((attr), (int)((char *)(nlh) + (nlh)->nlmsg_len - (char *)(attr)));  \
	     (attr) = mnl_attr_next(attr))

#define mnl_attr_for_each_nested(attr, nest)                                                 \
	for ((attr) = mnl_attr_get_payload(nest);                                            \
	     mnl_attr_ok((attr), (int)((char *)(nest) + mnl_attr_get_len(nest) - (char *)(attr))); \
	     (attr) = mnl_attr_next(attr))

/* --- callbacks --- */

#define MNL_CB_ERROR -1
#define MNL_CB_STOP 0
#define MNL_CB_OK 1

typedef int (*mnl_cb_t)(const struct nlmsghdr *nlh, void *data);

/* Runs through the numbytes bytes of messages in buf (one received
 * datagram): a message whose port id or sequence number is not the one
 * expected (each when both are not 0) fails with errno ESRCH or EPROTO; one
 * whose dump was interrupted with EINTR. Data messages go to cb_data, control
 * ones (type below NLMSG_MIN_TYPE) to cb_ctl_array[type] when there is one,
 * else to the default: NLMSG_ERROR sets errno from the error and returns
 * MNL_CB_ERROR (an acknowledgement, error 0: MNL_CB_STOP), NLMSG_DONE returns
 * MNL_CB_STOP, others go on. Stops at the first callback that returns
 * MNL_CB_STOP or less and returns its value, else MNL_CB_OK (or the last
 * callback's value). Trailing bytes that are not a whole message: -1 with
 * errno EBADMSG. */
int mnl_cb_run2(const void *buf, size_t numbytes, unsigned int seq, unsigned int portid,
		mnl_cb_t cb_data, void *data, const mnl_cb_t *cb_ctl_array,
		unsigned int cb_ctl_array_len);
int mnl_cb_run(const void *buf, size_t numbytes, unsigned int seq, unsigned int portid,
	       mnl_cb_t cb_data, void *data);

#endif
