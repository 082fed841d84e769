#include "filtertable.h"

#include <errno.h>
#include <libiptc/libip6tc.h>
#include <libiptc/libiptc.h>
#include <linux/capability.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_NFLOG.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <linux/netfilter/xt_connmark.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_owner.h>
#include <linux/netfilter/xt_set.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
#include <linux/netfilter_ipv6/ip6t_REJECT.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/capmsg.h"
#include "../lib/fdio.h"
#include "../lib/text.h"
#include "ipset.h"

#define ENTRY_MAX 1024

/* libiptc and libip6tc open socket(AF_INET or AF_INET6, SOCK_RAW,
 * IPPROTO_RAW) only to pass their getsockopt and setsockopt calls to the
 * kernel, whose ip_tables and ip6_tables take them on any socket of the
 * family and ask for CAP_NET_ADMIN alone. A raw socket would also need
 * CAP_NET_RAW, which Podman drops by default (and Kubernetes' restricted
 * Pod Security level with every other), and the libraries take no socket
 * from their caller. So palisade is linked
 * with -Wl,--wrap=socket (meson.build): every socket() call of the binary
 * comes here, and this one kind gets a UDP socket in its place; palisade
 * itself never wants a raw IP socket. Every other call goes through
 * untouched. */
int __real_socket(int domain, int type, int protocol);
int __wrap_socket(int domain, int type, int protocol);

int __wrap_socket(int domain, int type, int protocol)
{
	const int kind = 0xf; /* the kernel's SOCK_TYPE_MASK; flags lie above it */
	if ((domain == AF_INET || domain == AF_INET6) && (type & kind) == SOCK_RAW &&
	    protocol == IPPROTO_RAW)
		return __real_socket(domain, (type & ~kind) | SOCK_DGRAM, IPPROTO_UDP);
	return __real_socket(domain, type, protocol);
}

/* The two libraries have the same shape with different names and entry
 * types; this table hides the difference. */
struct tc_ops {
	struct xtc_handle *(*init)(const char *table);
	void (*free)(struct xtc_handle *h);
	const char *(*first_chain)(struct xtc_handle *h);
	const char *(*next_chain)(struct xtc_handle *h);
	int (*builtin)(const char *chain, struct xtc_handle *h);
	int (*flush)(const char *chain, struct xtc_handle *h);
	int (*delete_chain)(const char *chain, struct xtc_handle *h);
	int (*set_policy)(const char *chain, const char *policy, struct xt_counters *c,
			  struct xtc_handle *h);
	const char *(*get_policy)(const char *chain, struct xt_counters *c,
				  struct xtc_handle *h);
	int (*append)(const char *chain, const void *e, struct xtc_handle *h);
	const void *(*first_rule)(const char *chain, struct xtc_handle *h);
	const void *(*next_rule)(const void *prev, struct xtc_handle *h);
	const char *(*get_target)(const void *e, struct xtc_handle *h);
	int (*commit)(struct xtc_handle *h);
	const char *(*strerror)(int err);
};

/* libiptc's entry functions take a struct ipt_entry, libip6tc's a struct
 * ip6t_entry: these take either as void, for tc_ops. */
#define ENTRY_FNS(n, lib)                                                          \
	static int append##n(const char *c, const void *e, struct xtc_handle *h)     \
	{                                                                           \
		return lib##_append_entry(c, e, h);                                 \
	}                                                                           \
	static const void *first##n(const char *c, struct xtc_handle *h)             \
	{                                                                           \
		return lib##_first_rule(c, h);                                      \
	}                                                                           \
	static const void *next##n(const void *p, struct xtc_handle *h)              \
	{                                                                           \
		return lib##_next_rule(p, h);                                       \
	}                                                                           \
	static const char *target##n(const void *e, struct xtc_handle *h)            \
	{                                                                           \
		return lib##_get_target(e, h);                                      \
	}
ENTRY_FNS(4, iptc)
ENTRY_FNS(6, ip6tc)

static const struct tc_ops ops4 = {
	iptc_init, iptc_free, iptc_first_chain, iptc_next_chain, iptc_builtin,
	iptc_flush_entries, iptc_delete_chain, iptc_set_policy, iptc_get_policy,
	append4, first4, next4, target4, iptc_commit, iptc_strerror,
};
static const struct tc_ops ops6 = {
	ip6tc_init, ip6tc_free, ip6tc_first_chain, ip6tc_next_chain, ip6tc_builtin,
	ip6tc_flush_entries, ip6tc_delete_chain, ip6tc_set_policy, ip6tc_get_policy,
	append6, first6, next6, target6, ip6tc_commit, ip6tc_strerror,
};

struct filter_table {
	enum net_family family;
	const struct tc_ops *ops;
	struct xtc_handle *h;
};

static const char *cmd_name(enum net_family f)
{
	return f == NET_V4 ? "iptables" : "ip6tables";
}

/* qemu-user, which runs an image of another architecture, passes neither
 * netfilter socket options nor netfilter netlink on to the kernel. */
#if defined(__x86_64__)
#define EMULATED_HINT ""
#else
#define EMULATED_HINT "; under qemu-user (an image of another architecture than the " \
		      "host's) no backend works: run the image of the host's architecture"
#endif

static int table_error(struct perr *err, enum net_family family, const char *what, int e,
		       const struct tc_ops *ops)
{
	if (e == EPERM || e == EACCES) {
		char where[600];
		snprintf(where, sizeof(where), "%s: %s", cmd_name(family), what);
		return cap_refused(err, CAP_NET_ADMIN, cap_held(CAP_NET_ADMIN), where);
	}
	if (e == ENOPROTOOPT || e == ENOENT || e == EAFNOSUPPORT || e == EPROTONOSUPPORT)
		return perr_code(err, e, "%s: %s: the kernel has no %s support (%s): Linux 6.17 "
				 "and later may be built without legacy x_tables, and RHEL 10 has "
				 "none; use --backend nft (--backend auto chooses it where the kernel "
				 "has nf_tables), or load it on the host with modprobe %s%s",
				 cmd_name(family), what,
				 family == NET_V4 ? "ip_tables" : "ip6_tables", ops->strerror(e),
				 family == NET_V4 ? "ip_tables iptable_filter" : "ip6_tables ip6table_filter",
				 EMULATED_HINT);
	return perr_code(err, e, "%s: %s: %s", cmd_name(family), what, ops->strerror(e));
}

/* A commit refused with ENOENT: an extension the rules use is not in the
 * kernel. Names each one the kernel does not list, with its module, and
 * returns -1; returns 0 when the lists cannot be read or name them all. */
static int missing_ext_error(struct perr *err, enum net_family family, const struct ruleset *rs)
{
	const char *proc = family == NET_V4 ? "/proc/net/ip_tables" : "/proc/net/ip6_tables";
	char path[64], matches[16384], targets[16384];
	/* A list cut short would name what is there as missing. */
	snprintf(path, sizeof(path), "%s_matches", proc);
	long ml = read_text(path, matches, sizeof(matches));
	snprintf(path, sizeof(path), "%s_targets", proc);
	long tl = read_text(path, targets, sizeof(targets));
	if (ml < 0 || tl < 0 || ml >= (long)sizeof(matches) - 1 || tl >= (long)sizeof(targets) - 1)
		return 0;
	const struct xt_ext *miss[XT_EXTS_MAX];
	size_t n = ruleset_missing_ext(rs, matches, targets, miss, XT_EXTS_MAX);
	if (n == 0)
		return 0;
	char list[512], mods[256];
	struct text l, m;
	text_init(&l, list, sizeof(list));
	text_init(&m, mods, sizeof(mods));
	bool name_check = false;
	for (size_t i = 0; i < n; i++) {
		textf(&l, "%s%s %s (module %s)", i ? ", " : "", miss[i]->target ? "target" : "match",
		      miss[i]->name, miss[i]->module);
		/* Only the name check's rules use these. */
		name_check |= strcmp(miss[i]->module, "xt_mark") == 0 ||
			      strcmp(miss[i]->module, "xt_connmark") == 0 ||
			      strcmp(miss[i]->module, "xt_NFQUEUE") == 0;
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen |= strcmp(miss[j]->module, miss[i]->module) == 0;
		if (!seen)
			textf(&m, " %s", miss[i]->module);
	}
	return perr_code(err, ENOENT, "%s: committing the filter table: the kernel has no %s; "
			 "load %s on the host with modprobe%s, or use --backend nft%s",
			 cmd_name(family), list, n == 1 ? "it" : "them", mods,
			 name_check ? " (the name check's rules need them: --no-name-check goes "
				      "without)" : "");
}

struct filter_table *filter_table_open(enum net_family family, bool *absent, struct perr *err)
{
	*absent = false;
	struct filter_table *t = calloc(1, sizeof(*t));
	if (!t) {
		perr_code(err, ENOMEM, "out of memory");
		return NULL;
	}
	t->family = family;
	t->ops = family == NET_V4 ? &ops4 : &ops6;
	errno = 0;
	t->h = t->ops->init("filter");
	if (!t->h) {
		int e = errno;
		*absent = e == ENOPROTOOPT || e == EAFNOSUPPORT;
		table_error(err, family, "cannot read the filter table", e, t->ops);
		free(t);
		return NULL;
	}
	return t;
}

void filter_table_close(struct filter_table *t)
{
	if (t && t->h)
		t->ops->free(t->h);
	free(t);
}

/* Appends a zeroed, aligned area of n bytes to the entry being built. */
struct builder {
	unsigned char *buf;
	size_t len, cap;
	bool overflow;
};

static void *put(struct builder *b, size_t n)
{
	n = XT_ALIGN(n);
	if (b->len + n > b->cap) {
		b->overflow = true;
		return NULL;
	}
	void *p = b->buf + b->len;
	memset(p, 0, n);
	b->len += n;
	return p;
}

static void *match(struct builder *b, const char *name, uint8_t revision, size_t size)
{
	struct xt_entry_match *m = put(b, sizeof(*m) + size);
	if (!m)
		return NULL;
	m->u.user.match_size = (uint16_t)XT_ALIGN(sizeof(*m) + size);
	snprintf(m->u.user.name, sizeof(m->u.user.name), "%s", name);
	m->u.user.revision = revision;
	return m->data;
}

static void *target(struct builder *b, const char *name, uint8_t revision, size_t size)
{
	struct xt_entry_target *t = put(b, sizeof(*t) + size);
	if (!t)
		return NULL;
	t->u.user.target_size = (uint16_t)XT_ALIGN(sizeof(*t) + size);
	snprintf(t->u.user.name, sizeof(t->u.user.name), "%s", name);
	t->u.user.revision = revision;
	return t->data;
}

size_t filter_rule_encode(const struct rule *r, enum net_family family, uint16_t set_index,
			  const struct xt_revs *revs, void *buf, size_t len)
{
	struct builder b = { .buf = buf, .cap = len };
	size_t head = family == NET_V4 ? sizeof(struct ipt_entry) : sizeof(struct ip6t_entry);
	if (!put(&b, head))
		return 0;
	char *iface = NULL;
	unsigned char *mask = NULL;
	if (family == NET_V4) {
		struct ipt_entry *e = buf;
		if (r->has_dst) {
			memcpy(&e->ip.dst, r->dst.bytes, 4);
			uint32_t m = r->dst.prefix ? htonl(~0u << (32 - r->dst.prefix)) : 0;
			memcpy(&e->ip.dmsk, &m, 4);
		}
		iface = r->chain == CHAIN_INPUT ? e->ip.iniface : e->ip.outiface;
		mask = r->chain == CHAIN_INPUT ? e->ip.iniface_mask : e->ip.outiface_mask;
		e->ip.proto = r->proto;
	} else {
		struct ip6t_entry *e = buf;
		if (r->has_dst) {
			memcpy(&e->ipv6.dst, r->dst.bytes, 16);
			for (unsigned i = 0; i < r->dst.prefix; i++)
				e->ipv6.dmsk.s6_addr[i / 8] |= (uint8_t)(0x80u >> (i % 8));
		}
		iface = r->chain == CHAIN_INPUT ? e->ipv6.iniface : e->ipv6.outiface;
		mask = r->chain == CHAIN_INPUT ? e->ipv6.iniface_mask : e->ipv6.outiface_mask;
		e->ipv6.proto = r->proto;
		if (r->proto)
			e->ipv6.flags |= IP6T_F_PROTO;
	}
	if (r->iface) {
		size_t n = strlen(r->iface);
		if (n >= IFNAMSIZ)
			return 0;
		memcpy(iface, r->iface, n);
		memset(mask, 0xff, n + 1); /* the name and its NUL: an exact match */
	}

	/* Matches, in the order rule_render prints them. */
	if (r->owner_uid >= 0) {
		struct xt_owner_match_info *ow = match(&b, "owner", 1, sizeof(*ow));
		if (ow) {
			ow->uid_min = ow->uid_max = (uint32_t)r->owner_uid;
			ow->match = XT_OWNER_UID | (r->owner_invert ? XT_OWNER_SOCKET : 0);
			ow->invert = r->owner_invert ? XT_OWNER_UID : 0;
		}
	} else if (r->socket_exists) {
		struct xt_owner_match_info *ow = match(&b, "owner", 1, sizeof(*ow));
		if (ow)
			ow->match = XT_OWNER_SOCKET;
	}
	if (r->src_not_local) {
		/* Revision 1 serves both families; revision 0 is IPv4's alone. */
		struct xt_addrtype_info_v1 *at = match(&b, "addrtype", 1, sizeof(*at));
		if (at) {
			at->source = XT_ADDRTYPE_LOCAL;
			at->flags = XT_ADDRTYPE_INVERT_SOURCE;
		}
	}
	if (r->established) {
		struct xt_conntrack_mtinfo3 *ct = match(&b, "conntrack", 3, sizeof(*ct));
		if (ct) {
			ct->match_flags = XT_CONNTRACK_STATE;
			ct->state_mask = XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED) |
					 XT_CONNTRACK_STATE_BIT(IP_CT_RELATED);
		}
	}
	if (r->ct_origdport) {
		/* Revision 3 holds ports in host order, as ranges. */
		struct xt_conntrack_mtinfo3 *ct = match(&b, "conntrack", 3, sizeof(*ct));
		if (ct) {
			ct->match_flags = XT_CONNTRACK_ORIGDST_PORT;
			ct->origdst_port = r->ct_origdport;
			ct->origdst_port_high = r->ct_origdport;
		}
	}
	if (r->icmp6_type >= 0) {
		struct ip6t_icmp *ic = match(&b, "icmp6", 0, sizeof(*ic));
		if (ic) {
			ic->type = (uint8_t)r->icmp6_type;
			ic->code[0] = 0;
			ic->code[1] = 0xff;
		}
	}
	if (r->set) {
		/* Revision 4 where the kernel has it, as iptables itself picks the
		 * newest: iptables-save prints only the revision it would use. */
		struct xt_set_info *si;
		if (revs->set >= 4) {
			struct xt_set_info_match_v4 *sm = match(&b, "set", 4, sizeof(*sm));
			si = sm ? &sm->match_set : NULL;
		} else {
			struct xt_set_info_match_v1 *sm = match(&b, "set", 1, sizeof(*sm));
			si = sm ? &sm->match_set : NULL;
		}
		if (si) {
			si->index = set_index;
			si->dim = r->set_dims;
			si->flags = 0; /* every dimension is dst */
		}
	}
	if (r->sport || r->dport) {
		/* A port left out is the whole range, as iptables writes it. */
		uint16_t spts[2] = { r->sport, r->sport ? r->sport : 0xffff };
		uint16_t dpts[2] = { r->dport, r->dport ? r->dport : 0xffff };
		if (r->proto == PROTO_TCP) {
			struct xt_tcp *t = match(&b, "tcp", 0, sizeof(*t));
			if (t) {
				memcpy(t->spts, spts, sizeof(spts));
				memcpy(t->dpts, dpts, sizeof(dpts));
			}
		} else {
			struct xt_udp *u = match(&b, "udp", 0, sizeof(*u));
			if (u) {
				memcpy(u->spts, spts, sizeof(spts));
				memcpy(u->dpts, dpts, sizeof(dpts));
			}
		}
	}
	if (r->nports) {
		struct xt_multiport_v1 *mp = match(&b, "multiport", 1, sizeof(*mp));
		if (mp) {
			mp->flags = XT_MULTIPORT_DESTINATION;
			mp->count = (uint8_t)r->nports;
			for (size_t i = 0; i < r->nports && i < XT_MULTI_PORTS; i++)
				mp->ports[i] = r->ports[i];
		}
	}
	if (r->mark_mask) {
		struct xt_mark_mtinfo1 *mk = match(&b, "mark", 1, sizeof(*mk));
		if (mk) {
			mk->mark = r->mark;
			mk->mask = r->mark_mask;
		}
	}
	if (r->ctmark_mask) {
		struct xt_connmark_mtinfo1 *cm = match(&b, "connmark", 1, sizeof(*cm));
		if (cm) {
			cm->mark = r->ctmark;
			cm->mask = r->ctmark_mask;
		}
	}
	size_t target_offset = b.len;

	switch (r->verdict) {
	case VERDICT_ACCEPT:
	case VERDICT_DROP:
		/* libiptc turns the name of a standard target into its verdict. */
		target(&b, r->verdict == VERDICT_ACCEPT ? IPTC_LABEL_ACCEPT : IPTC_LABEL_DROP, 0,
		       sizeof(int));
		break;
	case VERDICT_REJECT_TCP_RESET:
	case VERDICT_REJECT_PROHIBITED:
		if (family == NET_V4) {
			struct ipt_reject_info *ri = target(&b, "REJECT", 0, sizeof(*ri));
			if (ri)
				ri->with = r->verdict == VERDICT_REJECT_TCP_RESET ? IPT_TCP_RESET
										 : IPT_ICMP_ADMIN_PROHIBITED;
		} else {
			struct ip6t_reject_info *ri = target(&b, "REJECT", 0, sizeof(*ri));
			if (ri)
				ri->with = r->verdict == VERDICT_REJECT_TCP_RESET ? IP6T_TCP_RESET
										 : IP6T_ICMP6_ADM_PROHIBITED;
		}
		break;
	case VERDICT_NFLOG: {
		struct xt_nflog_info *nl = target(&b, "NFLOG", 0, sizeof(*nl));
		if (nl) {
			nl->group = NFLOG_GROUP;
			nl->threshold = XT_NFLOG_DEFAULT_THRESHOLD;
			if (!r->nflog_prefix || strlen(r->nflog_prefix) >= sizeof(nl->prefix))
				return 0;
			memcpy(nl->prefix, r->nflog_prefix, strlen(r->nflog_prefix));
		}
		break;
	}
	case VERDICT_CONNMARK: {
		/* --set-xmark V/M: ctmark = (ctmark & ~M) ^ V. Revision 2 adds
		 * a shift, left at 0. */
		struct xt_connmark_tginfo2 *cm =
			target(&b, "CONNMARK", revs->connmark >= 2 ? 2 : 1,
			       revs->connmark >= 2 ? sizeof(struct xt_connmark_tginfo2)
						   : sizeof(struct xt_connmark_tginfo1));
		if (cm) {
			cm->ctmark = r->set_ctmark;
			cm->ctmask = r->set_ctmark_mask;
			cm->mode = XT_CONNMARK_SET;
		}
		break;
	}
	case VERDICT_QUEUE:
		/* One queue, no flags: no bypass (revision 0 has none at all). */
		if (revs->nfqueue >= 3) {
			struct xt_NFQ_info_v3 *q = target(&b, "NFQUEUE", 3, sizeof(*q));
			if (q) {
				q->queuenum = NAMECHECK_QUEUE;
				q->queues_total = 1;
			}
		} else {
			struct xt_NFQ_info *q = target(&b, "NFQUEUE", 0, sizeof(*q));
			if (q)
				q->queuenum = NAMECHECK_QUEUE;
		}
		break;
	}
	if (b.overflow)
		return 0;
	if (family == NET_V4) {
		struct ipt_entry *e = buf;
		e->target_offset = (uint16_t)target_offset;
		e->next_offset = (uint16_t)b.len;
	} else {
		struct ip6t_entry *e = buf;
		e->target_offset = (uint16_t)target_offset;
		e->next_offset = (uint16_t)b.len;
	}
	return b.len;
}

/* The newest revision of the set match that the kernel has, up to 4. */
/* Whether the kernel has revision want of match (or target) name. */
static bool has_revision(int fd, enum net_family family, const char *name, bool target,
			 uint8_t want)
{
	struct xt_get_revision rev;
	memset(&rev, 0, sizeof(rev));
	snprintf(rev.name, sizeof(rev.name), "%s", name);
	rev.revision = want;
	socklen_t len = sizeof(rev);
	int opt = family == NET_V4 ? (target ? IPT_SO_GET_REVISION_TARGET : IPT_SO_GET_REVISION_MATCH)
				   : (target ? IP6T_SO_GET_REVISION_TARGET : IP6T_SO_GET_REVISION_MATCH);
	int level = family == NET_V4 ? IPPROTO_IP : IPPROTO_IPV6;
	return getsockopt(fd, level, opt, &rev, &len) == 0;
}

static struct xt_revs kernel_revisions(enum net_family family)
{
	struct xt_revs r = { 1, 1, 0 };
	int fd = socket(net_af(family), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return r;
	r.set = has_revision(fd, family, "set", false, 4) ? 4 : 1;
	r.connmark = has_revision(fd, family, "CONNMARK", true, 2) ? 2 : 1;
	r.nfqueue = has_revision(fd, family, "NFQUEUE", true, 3) ? 3 : 0;
	close(fd);
	return r;
}

/* Encodes every rule, looking the sets up in the kernel. */
static int encode_all(const struct ruleset *rs, unsigned char (*out)[ENTRY_MAX],
		      struct perr *err)
{
	struct xt_revs revs = kernel_revisions(rs->family);
	for (size_t i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->v[i];
		uint16_t index = 0;
		if (r->set && ipset_index(r->set, rs->family, &index, err) < 0)
			return -1;
		if (!filter_rule_encode(r, rs->family, index, &revs, out[i], ENTRY_MAX))
			return perr_set(err, "internal: rule %zu does not fit %d bytes", i, ENTRY_MAX);
	}
	return 0;
}

int filter_table_install(struct filter_table *t, const struct ruleset *rs, struct perr *err)
{
	const struct tc_ops *o = t->ops;
	unsigned char (*entries)[ENTRY_MAX] = calloc(rs->n ? rs->n : 1, ENTRY_MAX);
	if (!entries)
		return perr_code(err, ENOMEM, "out of memory");
	int rc = -1;
	if (encode_all(rs, entries, err) < 0)
		goto out;

	/* Empty every chain, then remove the user chains: the table becomes
	 * exactly the plan. Nothing reaches the kernel until the commit. */
	const char *chain;
	for (chain = o->first_chain(t->h); chain; chain = o->next_chain(t->h))
		if (!o->flush(chain, t->h)) {
			table_error(err, t->family, "flushing a chain", errno, o);
			goto out;
		}
	for (;;) {
		const char *user = NULL;
		for (chain = o->first_chain(t->h); chain; chain = o->next_chain(t->h))
			if (!o->builtin(chain, t->h)) {
				user = chain;
				break;
			}
		if (!user)
			break;
		char name[XT_EXTENSION_MAXNAMELEN];
		snprintf(name, sizeof(name), "%s", user);
		if (!o->delete_chain(name, t->h)) {
			table_error(err, t->family, "removing a chain", errno, o);
			goto out;
		}
	}
	for (int c = 0; c < CHAINS; c++)
		if (!o->set_policy(chain_names[c], IPTC_LABEL_DROP, NULL, t->h)) {
			table_error(err, t->family, "setting a policy", errno, o);
			goto out;
		}
	for (size_t i = 0; i < rs->n; i++)
		if (!o->append(chain_names[rs->v[i].chain], entries[i], t->h)) {
			char line[512], what[600];
			rule_render(&rs->v[i], rs->family, line, sizeof(line));
			snprintf(what, sizeof(what), "adding \"%s\"", line);
			table_error(err, t->family, what, errno, o);
			goto out;
		}
	if (!o->commit(t->h)) {
		int e = errno;
		if (e != ENOENT || missing_ext_error(err, t->family, rs) == 0)
			table_error(err, t->family, "committing the filter table", e, o);
		goto out;
	}
	rc = 0;
out:
	free(entries);
	return rc;
}

/* Whether the kernel's entry got is the one palisade encoded (want). The
 * kernel writes a match's or target's name only up to its NUL, so names are
 * compared as strings and the rest field by field; counters and the hook
 * bookkeeping (comefrom, nfcache) are the kernel's own. */
static bool entry_same(enum net_family family, const void *got, const void *want,
		       const char *got_target)
{
	const unsigned char *g = got, *w = want;
	size_t head, ipsz;
	uint16_t gto, wto, gnext, wnext;
	if (family == NET_V4) {
		const struct ipt_entry *ge = got, *we = want;
		head = sizeof(*ge);
		ipsz = sizeof(ge->ip);
		gto = ge->target_offset, wto = we->target_offset;
		gnext = ge->next_offset, wnext = we->next_offset;
	} else {
		const struct ip6t_entry *ge = got, *we = want;
		head = sizeof(*ge);
		ipsz = sizeof(ge->ipv6);
		gto = ge->target_offset, wto = we->target_offset;
		gnext = ge->next_offset, wnext = we->next_offset;
	}
	if (gto != wto || gnext != wnext || memcmp(g, w, ipsz) != 0)
		return false;
	for (size_t off = head; off < wto;) {
		const struct xt_entry_match *gm = (const void *)(g + off);
		const struct xt_entry_match *wm = (const void *)(w + off);
		size_t size = wm->u.user.match_size;
		if (size < sizeof(*wm) || off + size > wto || gm->u.user.match_size != size ||
		    strncmp(gm->u.user.name, wm->u.user.name, sizeof(wm->u.user.name)) != 0 ||
		    gm->u.user.revision != wm->u.user.revision ||
		    memcmp(gm->data, wm->data, size - sizeof(*wm)) != 0)
			return false;
		off += size;
	}
	const struct xt_entry_target *gt = (const void *)(g + gto);
	const struct xt_entry_target *wt = (const void *)(w + wto);
	if (!got_target || strcmp(got_target, wt->u.user.name) != 0)
		return false;
	if (strcmp(got_target, IPTC_LABEL_ACCEPT) == 0 || strcmp(got_target, IPTC_LABEL_DROP) == 0)
		return true; /* a standard verdict: the kernel keeps a number */
	return gt->u.target_size == wt->u.target_size &&
	       memcmp(gt->data, wt->data, wt->u.target_size - sizeof(*wt)) == 0;
}

int filter_table_verify(enum net_family family, const struct ruleset *rs, struct perr *err)
{
	bool absent;
	struct filter_table *t = filter_table_open(family, &absent, err);
	if (!t)
		return -1;
	const struct tc_ops *o = t->ops;
	unsigned char (*entries)[ENTRY_MAX] = calloc(rs->n ? rs->n : 1, ENTRY_MAX);
	int rc = -1;
	if (!entries) {
		perr_code(err, ENOMEM, "out of memory");
		goto out;
	}
	if (encode_all(rs, entries, err) < 0)
		goto out;
	size_t nchains = 0;
	for (const char *c = o->first_chain(t->h); c; c = o->next_chain(t->h))
		nchains++;
	if (nchains != CHAINS) {
		perr_set(err, "verification: the %s filter table has %zu chains, not %d",
			 cmd_name(family), nchains, CHAINS);
		goto out;
	}
	for (int c = 0; c < CHAINS; c++) {
		struct xt_counters cnt;
		const char *pol = o->get_policy(chain_names[c], &cnt, t->h);
		if (!pol || strcmp(pol, IPTC_LABEL_DROP) != 0) {
			perr_set(err, "verification: %s %s policy is %s, not DROP", cmd_name(family),
				 chain_names[c], pol ? pol : "missing");
			goto out;
		}
		size_t i = 0;
		const void *e = o->first_rule(chain_names[c], t->h);
		for (; e; e = o->next_rule(e, t->h), i++) {
			while (i < rs->n && rs->v[i].chain != (enum chain)c)
				i++;
			if (i >= rs->n) {
				perr_set(err, "verification: %s %s has a rule palisade did not install",
					 cmd_name(family), chain_names[c]);
				goto out;
			}
			bool same = entry_same(family, e, entries[i], o->get_target(e, t->h));
			if (!same) {
				char line[512];
				rule_render(&rs->v[i], family, line, sizeof(line));
				perr_set(err, "verification: the kernel's %s rule %zu differs from "
					 "\"%s\"", cmd_name(family), i + 1, line);
				goto out;
			}
		}
		while (i < rs->n && rs->v[i].chain != (enum chain)c)
			i++;
		if (i < rs->n) {
			char line[512];
			rule_render(&rs->v[i], family, line, sizeof(line));
			perr_set(err, "verification: \"%s\" is missing from the kernel", line);
			goto out;
		}
	}
	rc = 0;
out:
	free(entries);
	filter_table_close(t);
	return rc;
}
