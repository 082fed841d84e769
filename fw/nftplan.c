#include "nftplan.h"

#include <stdlib.h>
#include <string.h>

#include "../lib/array.h"
#include "../lib/text.h"

const char *const nftplan_chain_names[CHAINS] = { "input", "forward", "output" };

const char *nftplan_set_name(enum set_kind kind, enum nftplan_part part)
{
	static const char *const names[SET_KINDS][NFTPLAN_PARTS] = {
		{ "default_host", "default_net" },
		{ "port_host", "port_net" },
		{ "all_host", "all_net" },
	};
	return names[kind][part];
}

bool nftplan_next_addr(enum net_family f, const uint8_t *a, uint8_t next[16])
{
	size_t len = net_len(f);
	uint8_t v[16] = { 0 };
	memcpy(v, a, len);
	for (size_t i = len; i-- > 0;) {
		if (v[i] != 0xff) {
			v[i]++;
			memcpy(next, v, 16);
			return true;
		}
		v[i] = 0;
	}
	return false;
}

/* Bit i of an address, 0 the most significant. */
static int addr_bit(const uint8_t *b, unsigned i)
{
	return (b[i / 8] >> (7 - i % 8)) & 1;
}

/* The addresses of network n: first (host bits clear) and last (set). */
static void net_range(const struct net_addr *n, uint8_t first[16], uint8_t last[16])
{
	memset(first, 0, 16);
	memset(last, 0, 16);
	for (unsigned i = 0; i < net_bits(n->family); i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));
		if (i < n->prefix) {
			first[i / 8] |= n->bytes[i / 8] & m;
			last[i / 8] |= n->bytes[i / 8] & m;
		} else {
			last[i / 8] |= m;
		}
	}
}

/* The prefix length of first..last when it is one network, or -1. */
static int range_prefix(enum net_family f, const uint8_t *first, const uint8_t *last)
{
	unsigned bits = net_bits(f), host = 0;
	while (host < bits && !addr_bit(first, bits - 1 - host) && addr_bit(last, bits - 1 - host))
		host++;
	for (unsigned i = 0; i < bits - host; i++)
		if (addr_bit(first, i) != addr_bit(last, i))
			return -1;
	return (int)(bits - host);
}

static int elem_cmp_key(const struct nftplan_elem *a, const struct nftplan_elem *b)
{
	if (a->proto != b->proto)
		return a->proto - b->proto;
	return (int)a->port - (int)b->port;
}

/* Hosts: by address, then protocol and port. */
static int host_cmp(const void *pa, const void *pb)
{
	const struct nftplan_elem *a = pa, *b = pb;
	int c = memcmp(a->first, b->first, 16);
	return c ? c : elem_cmp_key(a, b);
}

/* Networks: by protocol and port, then first and last address. */
static int net_cmp(const void *pa, const void *pb)
{
	const struct nftplan_elem *a = pa, *b = pb;
	int c = elem_cmp_key(a, b);
	if (!c)
		c = memcmp(a->first, b->first, 16);
	return c ? c : memcmp(a->last, b->last, 16);
}

int nftplan_set_add(struct nftplan_set *s, const struct nftplan_elem *e)
{
	if (s->n == s->cap) {
		struct nftplan_elem *v = array_grow(s->v, &s->cap, sizeof(*v), 16);
		if (!v)
			return -1;
		s->v = v;
	}
	s->v[s->n++] = *e;
	return 0;
}

/* One member per host: a permanent one wins, then the longest timeout. */
static void hosts_unique(struct nftplan_set *s)
{
	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof(*s->v), host_cmp);
	size_t k = 1;
	for (size_t i = 1; i < s->n; i++) {
		struct nftplan_elem *kept = &s->v[k - 1], *e = &s->v[i];
		if (host_cmp(kept, e) != 0) {
			s->v[k++] = *e;
			continue;
		}
		if (kept->timeout && (e->timeout == 0 || e->timeout > kept->timeout))
			kept->timeout = e->timeout;
	}
	s->n = k;
}

/* Whether a range starting at first overlaps or touches one ending at
 * last, given that it starts no lower than that one does. */
static bool touches(enum net_family f, const uint8_t *last, const uint8_t *first)
{
	uint8_t next[16];
	if (memcmp(first, last, 16) <= 0 || !nftplan_next_addr(f, last, next))
		return true;
	return memcmp(next, first, 16) == 0;
}

/* Ranges that neither overlap nor touch, for each protocol and port. */
static void nets_merge(struct nftplan_set *s)
{
	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof(*s->v), net_cmp);
	size_t k = 1;
	for (size_t i = 1; i < s->n; i++) {
		struct nftplan_elem *cur = &s->v[k - 1], *e = &s->v[i];
		if (elem_cmp_key(cur, e) != 0 || !touches(s->family, cur->last, e->first)) {
			s->v[k++] = *e;
			continue;
		}
		if (memcmp(e->last, cur->last, 16) > 0)
			memcpy(cur->last, e->last, 16);
	}
	s->n = k;
}

void nftplan_elem_of(const struct set_elem *m, struct nftplan_elem *e)
{
	*e = (struct nftplan_elem){ .proto = m->proto, .port = m->port, .timeout = m->timeout };
	net_range(&m->net, e->first, e->last);
}

void nftplan_set_normalize(struct nftplan_set *s)
{
	if (s->part == NFTPLAN_HOST)
		hosts_unique(s);
	else
		nets_merge(s);
}

static int add_member(struct nftplan *np, int f, enum set_kind k, const struct set_plan *s,
		      const struct set_elem *m, struct perr *err)
{
	enum net_family family = net_family_at(f);
	char a[NET_ADDR_STRLEN];
	net_format(&m->net, a, sizeof(a));
	if (m->net.family != family || m->net.prefix > net_bits(family))
		return perr_set(err, "set %s: member %s is not an IPv%d address or network",
				s->name, a, family);
	bool port_ok = k == SET_PORT ? (m->proto == PROTO_TCP || m->proto == PROTO_UDP) && m->port
				     : m->proto == 0 && m->port == 0;
	if (!port_ok)
		return perr_set(err, "set %s: member %s has protocol %u port %u, which this set "
				"does not hold", s->name, a, m->proto, m->port);
	struct nftplan_elem e;
	nftplan_elem_of(m, &e);
	enum nftplan_part part = net_is_host(&m->net) ? NFTPLAN_HOST : NFTPLAN_NET;
	/* A network that expired would have to leave a merged range: the
	 * interval sets hold permanent members only. */
	if (part == NFTPLAN_NET && m->timeout)
		return perr_set(err, "set %s: network %s has a timeout, but networks are permanent",
				s->name, a);
	if (nftplan_set_add(&np->sets[f][k][part], &e) < 0)
		return perr_set(err, "set %s: out of memory", s->name);
	return 0;
}

int nftplan_build(const struct fence_plan *plan, struct nftplan *out, struct perr *err)
{
	memset(out, 0, sizeof(*out));
	out->v6 = plan->v6;
	for (int f = 0; f < NET_FAMILIES; f++) {
		for (int k = 0; k < SET_KINDS; k++) {
			for (int p = 0; p < NFTPLAN_PARTS; p++) {
				struct nftplan_set *s = &out->sets[f][k][p];
				s->family = net_family_at(f);
				s->kind = (enum set_kind)k;
				s->part = (enum nftplan_part)p;
			}
		}
	}
	for (int f = 0; f < fence_families(plan); f++) {
		for (int k = 0; k < SET_KINDS; k++) {
			const struct set_plan *s = &plan->sets[f][k];
			for (size_t i = 0; i < s->n; i++)
				if (add_member(out, f, (enum set_kind)k, s, &s->v[i], err) < 0)
					return -1;
			for (int p = 0; p < NFTPLAN_PARTS; p++)
				nftplan_set_normalize(&out->sets[f][k][p]);
		}
	}
	return 0;
}

void nftplan_free(struct nftplan *np)
{
	for (int f = 0; f < NET_FAMILIES; f++)
		for (int k = 0; k < SET_KINDS; k++)
			for (int p = 0; p < NFTPLAN_PARTS; p++)
				free(np->sets[f][k][p].v);
	memset(np, 0, sizeof(*np));
}

int nftplan_rule_set_kind(const struct rule *r, enum net_family f)
{
	if (!r->set)
		return -1;
	for (int k = 0; k < SET_KINDS; k++)
		if (strcmp(r->set, set_name(f, (enum set_kind)k)) == 0)
			return k;
	return -1;
}

/* ---- text ---- */

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case PROTO_TCP: return "tcp";
	case PROTO_UDP: return "udp";
	case PROTO_ICMPV6: return "ipv6-icmp";
	default: return NULL;
	}
}

static void text_proto(struct text *t, uint8_t proto)
{
	const char *name = proto_name(proto);
	if (name)
		textf(t, "%s", name);
	else
		textf(t, "%u", proto);
}

static void text_addr(struct text *t, enum net_family f, const uint8_t *b)
{
	char s[NET_ADDR_STRLEN];
	struct net_addr a = net_host(f, b);
	net_format(&a, s, sizeof(s));
	textf(t, "%s", s);
}

/* A duration as nft prints it: 1d2h3m4s. */
static void text_duration(struct text *t, uint32_t s)
{
	static const struct { uint32_t secs; char unit; } units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (s >= units[i].secs) {
			textf(t, "%u%c", s / units[i].secs, units[i].unit);
			s %= units[i].secs;
		}
	}
}

/* A member's addresses: one, a network, or first-last. */
static void text_addrs(struct text *t, const struct nftplan_set *s, const struct nftplan_elem *e)
{
	text_addr(t, s->family, e->first);
	if (s->part == NFTPLAN_NET) {
		int p = range_prefix(s->family, e->first, e->last);
		if (p < 0) {
			textf(t, "-");
			text_addr(t, s->family, e->last);
		} else if ((unsigned)p < net_bits(s->family)) {
			textf(t, "/%d", p);
		}
	}
}

void nftplan_elem_addrs(const struct nftplan_set *s, const struct nftplan_elem *e, char *buf,
			size_t len)
{
	struct text t;
	text_init(&t, buf, len);
	text_addrs(&t, s, e);
}

static void text_elem(struct text *t, const struct nftplan_set *s, const struct nftplan_elem *e)
{
	text_addrs(t, s, e);
	if (s->kind == SET_PORT) {
		textf(t, " . ");
		text_proto(t, e->proto);
		textf(t, " . %u", e->port);
	}
	if (e->timeout) {
		textf(t, " timeout ");
		text_duration(t, e->timeout);
	}
	if (e->expires) {
		textf(t, " expires ");
		text_duration(t, e->expires);
	}
}

void nftplan_elem_format(const struct nftplan_set *s, const struct nftplan_elem *e, char *buf,
			 size_t len)
{
	struct text t;
	text_init(&t, buf, len);
	text_elem(&t, s, e);
}

/* nft's names of the ICMPv6 types palisade's rules match. */
static const char *icmp6_type_name(int type)
{
	switch (type) {
	case 128: return "echo-request";
	case 129: return "echo-reply";
	case 133: return "nd-router-solicit";
	case 134: return "nd-router-advert";
	case 135: return "nd-neighbor-solicit";
	case 136: return "nd-neighbor-advert";
	case 143: return "mld2-listener-report";
	default: return NULL;
	}
}

/* Whether nft leaves r's `meta l4proto` out, as a later match or the
 * verdict depends on that protocol and implies it. Not before `ct original
 * proto-dst`, whose port nft cannot read without the protocol before it
 * (nft itself lists a tcp reset rule without it, which it cannot read
 * back). */
static bool proto_implied(const struct rule *r)
{
	if (r->ct_origdport)
		return false;
	if (r->sport || r->dport || r->nports)
		return r->proto == PROTO_TCP || r->proto == PROTO_UDP;
	if (r->icmp6_type >= 0)
		return r->proto == PROTO_ICMPV6;
	return r->verdict == VERDICT_REJECT_TCP_RESET && r->proto == PROTO_TCP;
}

/* The header a port match reads: tcp or udp, th for another protocol. */
static const char *port_header(uint8_t proto)
{
	return proto == PROTO_TCP || proto == PROTO_UDP ? proto_name(proto) : "th";
}

size_t nftplan_rule_count(const struct rule *r, enum net_family f)
{
	size_t parts = nftplan_rule_set_kind(r, f) < 0 ? 1 : NFTPLAN_PARTS;
	return parts * (r->nports ? r->nports : 1);
}

void nftplan_rule_nth(const struct rule *r, enum net_family f, size_t i, const char **set,
		      uint16_t *port)
{
	size_t per_part = r->nports ? r->nports : 1;
	int k = nftplan_rule_set_kind(r, f);
	*set = k < 0 ? NULL : nftplan_set_name((enum set_kind)k, (enum nftplan_part)(i / per_part));
	*port = r->nports ? r->ports[i % per_part] : 0;
}

void nftplan_rule_render(const struct rule *r, enum net_family f, const char *set, uint16_t port,
			 char *buf, size_t len)
{
	/* Each part starts with a space, which the line leaves out. */
	char line[1024];
	struct text t;
	text_init(&t, line, sizeof(line));
	const char *ip = f == NET_V4 ? "ip" : "ip6";
	if (r->iface)
		textf(&t, " %s \"%s\"", r->chain == CHAIN_INPUT ? "iifname" : "oifname", r->iface);
	if (r->has_dst) {
		char a[NET_ADDR_STRLEN];
		net_format(&r->dst, a, sizeof(a));
		textf(&t, " %s daddr %s", ip, a);
	}
	if (r->proto && !proto_implied(r)) {
		textf(&t, " meta l4proto ");
		text_proto(&t, r->proto);
	}
	if (r->owner_uid >= 0)
		textf(&t, " meta skuid %s%d", r->owner_invert ? "!= " : "", r->owner_uid);
	else if (r->socket_exists)
		textf(&t, " meta skuid >= 0");
	if (r->src_not_local)
		textf(&t, " fib saddr type != local");
	if (r->established)
		textf(&t, " ct state established,related");
	if (r->ct_origdport)
		textf(&t, " ct original proto-dst %u", r->ct_origdport);
	if (r->icmp6_type >= 0) {
		const char *name = icmp6_type_name(r->icmp6_type);
		if (name)
			textf(&t, " icmpv6 type %s", name);
		else
			textf(&t, " icmpv6 type %d", r->icmp6_type);
	}
	if (r->set && r->set_dims == 2)
		textf(&t, " %s daddr . meta l4proto . %s dport @%s", ip, port_header(r->proto),
		      set ? set : r->set);
	else if (r->set)
		textf(&t, " %s daddr @%s", ip, set ? set : r->set);
	if (r->sport)
		textf(&t, " %s sport %u", port_header(r->proto), r->sport);
	if (r->dport)
		textf(&t, " %s dport %u", port_header(r->proto), r->dport);
	if (port)
		textf(&t, " %s dport %u", port_header(r->proto), port);
	if (r->mark_mask)
		textf(&t, " meta mark & 0x%08x == 0x%08x", r->mark_mask, r->mark);
	if (r->ctmark_mask)
		textf(&t, " ct mark & 0x%08x == 0x%08x", r->ctmark_mask, r->ctmark);
	switch (r->verdict) {
	case VERDICT_CONNMARK:
		/* nft lists the mask with the bits the value sets, and no mask
		 * that keeps every bit. */
		if ((~r->set_ctmark_mask | r->set_ctmark) == 0xffffffffu)
			textf(&t, " ct mark set ct mark | 0x%08x", r->set_ctmark);
		else
			textf(&t, " ct mark set ct mark & 0x%08x | 0x%08x",
			      ~r->set_ctmark_mask | r->set_ctmark, r->set_ctmark);
		break;
	case VERDICT_QUEUE:
		/* As nft lists its own queue expression; where the kernel has
		 * none and the x_tables target stands in (fw/nft.c), nft lists
		 * the target's translation, "queue num N". */
		textf(&t, " queue to %d", NAMECHECK_QUEUE);
		break;
	case VERDICT_ACCEPT:
		textf(&t, " accept");
		break;
	case VERDICT_DROP:
		textf(&t, " drop");
		break;
	case VERDICT_REJECT_TCP_RESET:
		textf(&t, " reject with tcp reset");
		break;
	case VERDICT_REJECT_PROHIBITED:
		textf(&t, " reject with %s admin-prohibited", f == NET_V4 ? "icmp" : "icmpv6");
		break;
	case VERDICT_NFLOG:
		/* Prefixes are palisade's own, with nothing to escape. */
		textf(&t, " log prefix \"%s\" group %d", r->nflog_prefix, NFLOG_GROUP);
		break;
	}
	snprintf(buf, len, "%s", line + (t.used > 0));
}

static void render_set(const struct nftplan_set *s, FILE *out)
{
	const char *addr = s->family == NET_V4 ? "ipv4_addr" : "ipv6_addr";
	fprintf(out, "\tset %s {\n", nftplan_set_name(s->kind, s->part));
	if (s->kind == SET_PORT)
		fprintf(out, "\t\ttype %s . inet_proto . inet_service\n", addr);
	else
		fprintf(out, "\t\ttype %s\n", addr);
	fprintf(out, "\t\tflags %s\n", s->part == NFTPLAN_HOST ? "timeout" : "interval");
	for (size_t i = 0; i < s->n; i++) {
		char buf[256];
		nftplan_elem_format(s, &s->v[i], buf, sizeof(buf));
		fprintf(out, "%s%s%s", i ? ",\n\t\t\t     " : "\t\telements = { ", buf,
			i + 1 == s->n ? " }\n" : "");
	}
	fprintf(out, "\t}\n\n");
}

static void render_table(const struct fence_plan *plan, const struct nftplan *np, int fi,
			 FILE *out)
{
	enum net_family f = net_family_at(fi);
	const struct ruleset *rs = &plan->rules[fi];
	fprintf(out, "table %s %s {\n", f == NET_V4 ? "ip" : "ip6", NFTPLAN_TABLE);
	for (int k = 0; k < SET_KINDS; k++)
		for (int p = 0; p < NFTPLAN_PARTS; p++)
			render_set(&np->sets[fi][k][p], out);
	for (int c = 0; c < CHAINS; c++) {
		if (c)
			fprintf(out, "\n");
		fprintf(out, "\tchain %s {\n", nftplan_chain_names[c]);
		fprintf(out, "\t\ttype filter hook %s priority filter; policy drop;\n",
			nftplan_chain_names[c]);
		for (size_t i = 0; i < rs->n; i++) {
			const struct rule *r = &rs->v[i];
			if (r->chain != (enum chain)c)
				continue;
			for (size_t j = 0; j < nftplan_rule_count(r, f); j++) {
				char line[1024];
				const char *set;
				uint16_t port;
				nftplan_rule_nth(r, f, j, &set, &port);
				nftplan_rule_render(r, f, set, port, line, sizeof(line));
				fprintf(out, "\t\t%s\n", line);
			}
		}
		fprintf(out, "\t}\n");
	}
	fprintf(out, "}\n");
}

void nftplan_render(const struct fence_plan *plan, const struct nftplan *np, FILE *out)
{
	for (int f = 0; f < fence_families(plan); f++)
		render_table(plan, np, f, out);
	if (!plan->v6)
		fprintf(out, "# table ip6 %s: not installed (no IPv6 in this container)\n",
			NFTPLAN_TABLE);
}

void nftplan_print(const struct fence_plan *plan, FILE *out)
{
	struct nftplan np;
	struct perr err = PERR_INIT;
	if (nftplan_build(plan, &np, &err) < 0)
		fprintf(out, "# nftables sets: %s\n", err.msg);
	else
		nftplan_render(plan, &np, out);
	nftplan_free(&np);
}
