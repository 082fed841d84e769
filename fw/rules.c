#include "rules.h"

#include <string.h>

#include "../lib/text.h"

const char *const chain_names[CHAINS] = { "INPUT", "FORWARD", "OUTPUT" };

const char *set_name(enum net_family family, enum set_kind kind)
{
	static const char *const v4[] = { "palisade4", "palisade4-port", "palisade4-all" };
	static const char *const v6[] = { "palisade6", "palisade6-port", "palisade6-all" };
	return (family == NET_V4 ? v4 : v6)[kind];
}

const char *set_type(enum set_kind kind)
{
	return kind == SET_PORT ? "hash:net,port" : "hash:net";
}

int ruleset_add(struct ruleset *rs, const struct rule *r)
{
	if (rs->n >= RULES_MAX)
		return -1;
	rs->v[rs->n++] = *r;
	return 0;
}

static struct rule base(enum chain chain)
{
	struct rule r;
	memset(&r, 0, sizeof(r));
	r.chain = chain;
	r.icmp6_type = -1;
	r.owner_uid = -1;
	r.verdict = VERDICT_ACCEPT;
	return r;
}

static int add_ports(struct ruleset *rs, enum chain chain, const char *set,
		     const struct port_list *ports, uint8_t proto)
{
	struct rule r = base(chain);
	r.proto = proto;
	r.set = set;
	r.set_dims = set ? 1 : 0;
	for (size_t i = 0; i < ports->n; i++)
		if (ports->v[i].proto == proto)
			r.ports[r.nports++] = ports->v[i].port;
	if (r.nports == 0)
		return 0;
	return ruleset_add(rs, &r);
}

static const struct rule base_output = {
	.chain = CHAIN_OUTPUT, .icmp6_type = -1, .owner_uid = -1, .verdict = VERDICT_ACCEPT,
};

/* Logs what matches `match` to NFLOG, then rejects it (TCP with a reset,
 * the rest with an ICMP error), or, in audit mode, lets it through. */
static int add_refusal(struct ruleset *rs, const struct fence_spec *spec,
		       const struct rule *match, const char *prefix, const char *audit_prefix)
{
	int rc = 0;
	struct rule r = *match;
	r.verdict = VERDICT_NFLOG;
	r.nflog_prefix = spec->audit ? audit_prefix : prefix;
	rc |= ruleset_add(rs, &r);
	if (spec->audit) {
		r = *match;
		r.verdict = VERDICT_ACCEPT;
		return rc | ruleset_add(rs, &r);
	}
	/* The TCP refusal applies to TCP only: a rule that matches another
	 * protocol gets no reset rule. */
	if (match->proto == 0 || match->proto == PROTO_TCP) {
		r = *match;
		r.proto = PROTO_TCP;
		r.verdict = VERDICT_REJECT_TCP_RESET;
		rc |= ruleset_add(rs, &r);
	}
	if (match->proto != PROTO_TCP) {
		r = *match;
		r.verdict = VERDICT_REJECT_PROHIBITED;
		rc |= ruleset_add(rs, &r);
	}
	return rc;
}

/* Replies to connections already allowed, and what is related to them:
 * accepted before any other match, so that the packets of an established
 * flow walk one rule (two in OUTPUT) and the owner, DNS and set matches
 * run for new flows only. Every refusal below is of a new flow: the
 * first packet of a flow the fence refuses never makes it established. */
static int add_replies(struct ruleset *rs, enum chain chain, bool name_check)
{
	struct rule r = base(chain);
	r.established = true;
	/* With the name check, not those of a connection waiting for it. */
	if (name_check) {
		r.ctmark = 0;
		r.ctmark_mask = MARK_NEED;
	}
	return ruleset_add(rs, &r);
}

/* Loopback: the INPUT chain takes everything from it; in OUTPUT, only
 * after the DNS and loopback refusals. */
static int add_lo(struct ruleset *rs, enum chain chain)
{
	struct rule r = base(chain);
	r.iface = "lo";
	return ruleset_add(rs, &r);
}

/* DNS (53) and DNS over TLS (853), over UDP and TCP. */
static const struct port_proto dns_transports[] = {
	{ PROTO_UDP, 53 }, { PROTO_TCP, 53 }, { PROTO_UDP, 853 }, { PROTO_TCP, 853 },
};
#define DNS_TRANSPORTS (sizeof(dns_transports) / sizeof(dns_transports[0]))

/* What a socket that is not root's sends over proto. */
static struct rule not_roots(uint8_t proto)
{
	struct rule r = base_output;
	r.proto = proto;
	r.owner_uid = 0;
	r.owner_invert = true;
	return r;
}

/* With the DNS filter:
 * - nothing leaves a non-root socket from port 53 or 853, on any device,
 *   loopback included: the agent cannot answer PID 1's upstream queries
 *   (from Docker's 127.0.0.11:53, which it may bind, or from an
 *   upstream's address) nor pose as a DNS server anywhere else;
 * - palisade's own DNS on the loopback address, open to everyone, on lo
 *   only (a socket bound to another device with SO_BINDTODEVICE would
 *   send 127.0.0.1:53 out on the wire);
 * - DNS (53) and DNS over TLS (853) anywhere else refused for every uid
 *   but root's. The original destination port is matched, so that a
 *   query to Docker's 127.0.0.11, which the nat table redirects to
 *   another port before the filter table sees it, is refused too;
 * - no other loopback address than 127.0.0.1 for the agent: Docker's
 *   resolver really listens on 127.0.0.11 at a port the agent can read
 *   in /proc/net, and forwards any name. */
static int add_dns_rules(struct ruleset *rs, const struct fence_spec *spec,
			 enum net_family family)
{
	static const uint8_t protos[] = { PROTO_UDP, PROTO_TCP };
	int rc = 0;
	struct rule r;
	for (size_t i = 0; i < DNS_TRANSPORTS; i++) {
		r = not_roots(dns_transports[i].proto);
		r.sport = dns_transports[i].port;
		r.verdict = VERDICT_DROP;
		rc |= ruleset_add(rs, &r);
	}
	for (size_t p = 0; p < 2; p++) {
		r = base_output;
		r.has_dst = true;
		r.dst = net_loopback(family);
		r.iface = "lo";
		r.proto = protos[p];
		r.dport = 53;
		rc |= ruleset_add(rs, &r);
	}
	for (size_t i = 0; i < DNS_TRANSPORTS; i++) {
		r = not_roots(dns_transports[i].proto);
		r.ct_origdport = dns_transports[i].port;
		rc |= add_refusal(rs, spec, &r, NFLOG_PREFIX_DNS, NFLOG_PREFIX_AUDIT_DNS);
	}
	/* IPv6 has one loopback address, ::1; IPv4 has 127.0.0.0/8. */
	if (family == NET_V4) {
		r = base_output;
		r.has_dst = true;
		r.dst = net_loopback(family);
		r.iface = "lo";
		rc |= ruleset_add(rs, &r);
		r = base_output;
		r.has_dst = true;
		r.dst = net_loopback(family);
		r.dst.prefix = 8;
		r.dst.bytes[3] = 0;
		r.owner_uid = 0;
		r.owner_invert = true;
		rc |= add_refusal(rs, spec, &r, NFLOG_PREFIX_LOOPBACK, NFLOG_PREFIX_AUDIT_LOOPBACK);
	}
	return rc;
}

/* The name check's rules, right after the replies that need no check:
 * a packet PID 1 sent back with MARK_OK marks its connection checked and
 * is accepted (it was queued from a connection, or a QUIC flow to the
 * default set, that the fence let through); one with MARK_REFUSE marks
 * its connection refused, and every packet from a socket of a refused
 * connection is rejected; the packets of a connection still waiting for
 * its check go to PID 1. What has no socket (a refusal's reset) is a reply
 * as before. */
static int add_name_check_verdicts(struct ruleset *rs)
{
	int rc = 0;
	struct rule r = base_output;
	r.mark = MARK_OK;
	r.mark_mask = MARK_MASK;
	r.verdict = VERDICT_CONNMARK;
	r.set_ctmark = MARK_OK;
	r.set_ctmark_mask = MARK_MASK;
	rc |= ruleset_add(rs, &r);
	r.verdict = VERDICT_ACCEPT;
	rc |= ruleset_add(rs, &r);
	r.mark = MARK_REFUSE;
	r.verdict = VERDICT_CONNMARK;
	r.set_ctmark = MARK_REFUSE;
	rc |= ruleset_add(rs, &r);
	r = base_output;
	r.proto = PROTO_TCP;
	r.socket_exists = true;
	r.ctmark = MARK_REFUSE;
	r.ctmark_mask = MARK_MASK;
	r.verdict = VERDICT_REJECT_TCP_RESET;
	rc |= ruleset_add(rs, &r);
	/* UDP only: the ICMP error the rejection sends comes from the
	 * kernel's ICMP socket, which --socket-exists counts, and belongs to
	 * the refused connection. */
	r.proto = PROTO_UDP;
	r.verdict = VERDICT_REJECT_PROHIBITED;
	rc |= ruleset_add(rs, &r);
	r = base_output;
	r.socket_exists = true;
	r.ctmark = MARK_NEED;
	r.ctmark_mask = MARK_MASK;
	r.verdict = VERDICT_QUEUE;
	rc |= ruleset_add(rs, &r);
	r = base_output;
	r.established = true;
	return rc | ruleset_add(rs, &r);
}

/* New TCP connections to a checked port of a set's members are marked
 * for the name check, right before the rule that lets them through (those
 * no set allows are never marked). */
static int add_name_check_mark(struct ruleset *rs, const struct fence_spec *spec,
			       const char *set, uint8_t dims)
{
	struct rule r = base_output;
	r.proto = PROTO_TCP;
	r.set = set;
	r.set_dims = dims;
	for (size_t i = 0; i < spec->checked_ports->n && r.nports < PORT_LIST_MAX; i++)
		if (spec->checked_ports->v[i].proto == PROTO_TCP)
			r.ports[r.nports++] = spec->checked_ports->v[i].port;
	if (r.nports == 0)
		return 0;
	r.verdict = VERDICT_CONNMARK;
	r.set_ctmark = MARK_NEED;
	r.set_ctmark_mask = MARK_MASK;
	return ruleset_add(rs, &r);
}

/* The first UDP 443 (QUIC) packets to the default set, whose server name
 * PID 1 cannot read, go to PID 1, which lets through only those to an
 * address the allowlist gives itself. */
static int add_name_check_quic(struct ruleset *rs, const struct fence_spec *spec,
			       const char *def)
{
	bool quic = false;
	for (size_t i = 0; i < spec->default_ports->n; i++)
		if (spec->default_ports->v[i].proto == PROTO_UDP &&
		    spec->default_ports->v[i].port == 443)
			quic = true;
	if (!quic)
		return 0;
	struct rule r = base_output;
	r.proto = PROTO_UDP;
	r.set = def;
	r.set_dims = 1;
	r.dport = 443;
	r.ctmark = 0;
	r.ctmark_mask = MARK_MASK;
	r.verdict = VERDICT_QUEUE;
	return ruleset_add(rs, &r);
}

int ruleset_build(const struct fence_spec *spec, enum net_family family,
		  struct ruleset *out)
{
	memset(out, 0, sizeof(*out));
	out->family = family;
	int rc = 0;
	struct rule r;
	/* Neighbour discovery: without it IPv6 cannot reach even allowed
	 * hosts. 134 router advertisement (in), 133 solicitation (out),
	 * 135/136 neighbour solicitation and advertisement (both ways), and
	 * the kernel's own multicast listener reports (143, out). */
	static const int nd_in[] = { 134, 135, 136 };
	static const int nd_out[] = { 133, 135, 136, 143 };

	/* INPUT: replies, loopback, neighbour discovery, exposed ports. */
	rc |= add_replies(out, CHAIN_INPUT, false);
	rc |= add_lo(out, CHAIN_INPUT);
	if (family == NET_V6) {
		for (size_t i = 0; i < 3; i++) {
			r = base(CHAIN_INPUT);
			r.proto = PROTO_ICMPV6;
			r.icmp6_type = nd_in[i];
			rc |= ruleset_add(out, &r);
		}
	}
	for (size_t i = 0; i < spec->expose->n; i++) {
		r = base(CHAIN_INPUT);
		r.proto = spec->expose->v[i].proto;
		r.dport = spec->expose->v[i].port;
		rc |= ruleset_add(out, &r);
	}

	/* OUTPUT. First IPv6 neighbour discovery: only the kernel sends it
	 * (an unprivileged ICMPv6 socket sends echo requests only), and its
	 * source may be the unspecified address :: (duplicate address
	 * detection, listener reports before a link-local address is ready).
	 * Then no packet from a socket whose source is not one of the
	 * namespace's own addresses, for any uid: a spoofed source
	 * (IPV6_FREEBIND) primes conntrack, so that a blocked host's traffic
	 * looks established, or has the kernel send a blocked host an ICMP
	 * error that carries the agent's bytes. addrtype asks the routing
	 * table, so it follows address changes; packets that netfilter makes
	 * itself (a refusal's TCP reset, from the refused address) have no
	 * socket and pass. */
	if (family == NET_V6) {
		for (size_t i = 0; i < sizeof(nd_out) / sizeof(nd_out[0]); i++) {
			r = base(CHAIN_OUTPUT);
			r.proto = PROTO_ICMPV6;
			r.icmp6_type = nd_out[i];
			rc |= ruleset_add(out, &r);
		}
	}
	r = base(CHAIN_OUTPUT);
	r.socket_exists = true;
	r.src_not_local = true;
	r.verdict = VERDICT_DROP;
	rc |= ruleset_add(out, &r);

	/* Replies right after: the source check must come first, or a
	 * packet with a forged source that matches the reply direction of
	 * PID 1's own upstream query (the agent reads its port in /proc/net)
	 * would pass as established. */
	rc |= add_replies(out, CHAIN_OUTPUT, spec->checked_ports != NULL);
	if (spec->checked_ports)
		rc |= add_name_check_verdicts(out);

	/* Then palisade's DNS and no other for the agent, loopback,
	 * the resolvers, the sets on their ports; everything else is
	 * rejected at once (in audit mode: logged and let through). */
	if (spec->dns_filter)
		rc |= add_dns_rules(out, spec, family);
	rc |= add_lo(out, CHAIN_OUTPUT);
	if (spec->dns_filter && spec->root_dns_anywhere) {
		static const uint8_t protos[] = { PROTO_UDP, PROTO_TCP };
		for (size_t p = 0; p < 2; p++) {
			r = base(CHAIN_OUTPUT);
			r.proto = protos[p];
			r.owner_uid = 0;
			r.dport = 53;
			rc |= ruleset_add(out, &r);
		}
	}
	for (size_t i = 0; i < spec->nresolvers && !(spec->dns_filter && spec->root_dns_anywhere); i++) {
		const struct net_addr *a = &spec->resolvers[i];
		if (a->family != family || net_is_loopback(a))
			continue;
		static const uint8_t protos[] = { PROTO_UDP, PROTO_TCP };
		for (size_t p = 0; p < 2; p++) {
			r = base(CHAIN_OUTPUT);
			r.has_dst = true;
			r.dst = *a;
			r.proto = protos[p];
			if (spec->dns_filter)
				r.owner_uid = 0;
			r.dport = 53;
			rc |= ruleset_add(out, &r);
		}
	}
	const char *def = set_name(family, SET_DEFAULT);
	if (spec->checked_ports)
		rc |= add_name_check_mark(out, spec, def, 1);
	rc |= add_ports(out, CHAIN_OUTPUT, def, spec->default_ports, PROTO_TCP);
	if (spec->checked_ports)
		rc |= add_name_check_quic(out, spec, def);
	rc |= add_ports(out, CHAIN_OUTPUT, def, spec->default_ports, PROTO_UDP);
	if (spec->checked_ports)
		rc |= add_name_check_mark(out, spec, set_name(family, SET_PORT), 2);
	r = base(CHAIN_OUTPUT);
	r.set = set_name(family, SET_PORT);
	r.set_dims = 2;
	rc |= ruleset_add(out, &r);
	if (spec->checked_ports)
		rc |= add_name_check_mark(out, spec, set_name(family, SET_ALL), 1);
	r = base(CHAIN_OUTPUT);
	r.set = set_name(family, SET_ALL);
	r.set_dims = 1;
	rc |= ruleset_add(out, &r);

	rc |= add_refusal(out, spec, &base_output, NFLOG_PREFIX_REFUSED, NFLOG_PREFIX_AUDIT);
	return rc ? -1 : 0;
}

/* What each rule field needs of the kernel. ACCEPT and DROP are built in. */
static const struct xt_ext ext_owner = { "owner", false, "xt_owner" };
static const struct xt_ext ext_addrtype = { "addrtype", false, "xt_addrtype" };
static const struct xt_ext ext_conntrack = { "conntrack", false, "xt_conntrack" };
static const struct xt_ext ext_icmp6 = { "icmp6", false, "ip6_tables" };
static const struct xt_ext ext_set = { "set", false, "xt_set" };
static const struct xt_ext ext_tcp = { "tcp", false, "xt_tcpudp" };
static const struct xt_ext ext_udp = { "udp", false, "xt_tcpudp" };
static const struct xt_ext ext_multiport = { "multiport", false, "xt_multiport" };
static const struct xt_ext ext_nflog = { "NFLOG", true, "xt_NFLOG" };
static const struct xt_ext ext_reject4 = { "REJECT", true, "ipt_REJECT" };
static const struct xt_ext ext_reject6 = { "REJECT", true, "ip6t_REJECT" };
static const struct xt_ext ext_mark = { "mark", false, "xt_mark" };
static const struct xt_ext ext_connmark = { "connmark", false, "xt_connmark" };
static const struct xt_ext ext_connmark_tg = { "CONNMARK", true, "xt_connmark" };
static const struct xt_ext ext_queue = { "NFQUEUE", true, "xt_NFQUEUE" };

/* Whether list (one name a line) has name on a line of its own. */
static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && memcmp(p, name, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

static void need(const struct xt_ext *e, const char *matches, const char *targets,
		 const struct xt_ext *out[], size_t max, size_t *n)
{
	if (listed(e->target ? targets : matches, e->name))
		return;
	for (size_t i = 0; i < *n; i++)
		if (out[i] == e)
			return;
	if (*n < max)
		out[(*n)++] = e;
}

size_t ruleset_missing_ext(const struct ruleset *rs, const char *matches, const char *targets,
			   const struct xt_ext *out[], size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->v[i];
		if (r->owner_uid >= 0 || r->socket_exists)
			need(&ext_owner, matches, targets, out, max, &n);
		if (r->src_not_local)
			need(&ext_addrtype, matches, targets, out, max, &n);
		if (r->established || r->ct_origdport)
			need(&ext_conntrack, matches, targets, out, max, &n);
		if (r->icmp6_type >= 0)
			need(&ext_icmp6, matches, targets, out, max, &n);
		if (r->set)
			need(&ext_set, matches, targets, out, max, &n);
		if (r->sport || r->dport)
			need(r->proto == PROTO_TCP ? &ext_tcp : &ext_udp, matches, targets, out,
			     max, &n);
		if (r->nports)
			need(&ext_multiport, matches, targets, out, max, &n);
		if (r->mark_mask)
			need(&ext_mark, matches, targets, out, max, &n);
		if (r->ctmark_mask)
			need(&ext_connmark, matches, targets, out, max, &n);
		if (r->verdict == VERDICT_NFLOG)
			need(&ext_nflog, matches, targets, out, max, &n);
		if (r->verdict == VERDICT_CONNMARK)
			need(&ext_connmark_tg, matches, targets, out, max, &n);
		if (r->verdict == VERDICT_QUEUE)
			need(&ext_queue, matches, targets, out, max, &n);
		if (r->verdict == VERDICT_REJECT_TCP_RESET || r->verdict == VERDICT_REJECT_PROHIBITED)
			need(rs->family == NET_V4 ? &ext_reject4 : &ext_reject6, matches, targets,
			     out, max, &n);
	}
	return n;
}

static const char *proto_name(uint8_t proto, enum net_family family)
{
	switch (proto) {
	case PROTO_TCP: return "tcp";
	case PROTO_UDP: return "udp";
	case PROTO_ICMPV6: return family == NET_V6 ? "ipv6-icmp" : "58";
	default: return "?";
	}
}

void rule_render(const struct rule *r, enum net_family family, char *buf, size_t len)
{
	struct text t;
	text_init(&t, buf, len);
	textf(&t, "-A %s", chain_names[r->chain]);
	if (r->has_dst) {
		char a[NET_ADDR_STRLEN];
		net_format(&r->dst, a, sizeof(a));
		/* iptables-save always writes the prefix. */
		textf(&t, " -d %s%s", a,
		      net_is_host(&r->dst) ? (family == NET_V4 ? "/32" : "/128") : "");
	}
	if (r->iface)
		textf(&t, " %s %s", r->chain == CHAIN_INPUT ? "-i" : "-o", r->iface);
	if (r->proto)
		textf(&t, " -p %s", proto_name(r->proto, family));
	if (r->owner_uid >= 0)
		textf(&t, " -m owner%s --uid-owner %d",
		      r->owner_invert ? " --socket-exists !" : "", r->owner_uid);
	else if (r->socket_exists)
		textf(&t, " -m owner --socket-exists");
	if (r->src_not_local)
		textf(&t, " -m addrtype ! --src-type LOCAL");
	if (r->established)
		textf(&t, " -m conntrack --ctstate RELATED,ESTABLISHED");
	if (r->ct_origdport)
		textf(&t, " -m conntrack --ctorigdstport %u", r->ct_origdport);
	if (r->icmp6_type >= 0)
		textf(&t, " -m icmp6 --icmpv6-type %d", r->icmp6_type);
	if (r->set)
		textf(&t, " -m set --match-set %s %s", r->set, r->set_dims == 2 ? "dst,dst" : "dst");
	if (r->sport || r->dport)
		textf(&t, " -m %s", proto_name(r->proto, family));
	if (r->sport)
		textf(&t, " --sport %u", r->sport);
	if (r->dport)
		textf(&t, " --dport %u", r->dport);
	if (r->nports) {
		textf(&t, " -m multiport --dports ");
		for (size_t i = 0; i < r->nports; i++)
			textf(&t, "%s%u", i ? "," : "", r->ports[i]);
	}
	if (r->mark_mask)
		textf(&t, " -m mark --mark 0x%x/0x%x", r->mark, r->mark_mask);
	if (r->ctmark_mask)
		textf(&t, " -m connmark --mark 0x%x/0x%x", r->ctmark, r->ctmark_mask);
	switch (r->verdict) {
	case VERDICT_ACCEPT:
		textf(&t, " -j ACCEPT");
		break;
	case VERDICT_REJECT_TCP_RESET:
		textf(&t, " -j REJECT --reject-with tcp-reset");
		break;
	case VERDICT_REJECT_PROHIBITED:
		textf(&t, " -j REJECT --reject-with %s",
		      family == NET_V4 ? "icmp-admin-prohibited" : "icmp6-adm-prohibited");
		break;
	case VERDICT_DROP:
		textf(&t, " -j DROP");
		break;
	case VERDICT_NFLOG:
		/* Prefixes are made of characters iptables-save does not quote. */
		textf(&t, " -j NFLOG --nflog-prefix %s --nflog-group %d", r->nflog_prefix,
		      NFLOG_GROUP);
		break;
	case VERDICT_CONNMARK:
		textf(&t, " -j CONNMARK --set-xmark 0x%x/0x%x", r->set_ctmark, r->set_ctmark_mask);
		break;
	case VERDICT_QUEUE:
		textf(&t, " -j NFQUEUE --queue-num %d", NAMECHECK_QUEUE);
		break;
	}
}

void ruleset_render(const struct ruleset *rs, FILE *out)
{
	fprintf(out, "*filter\n");
	for (int c = 0; c < CHAINS; c++)
		fprintf(out, ":%s DROP [0:0]\n", chain_names[c]);
	/* iptables-save lists the chains in this order, each in rule order. */
	for (int c = 0; c < CHAINS; c++) {
		for (size_t i = 0; i < rs->n; i++) {
			if (rs->v[i].chain != (enum chain)c)
				continue;
			char line[512];
			rule_render(&rs->v[i], rs->family, line, sizeof(line));
			fprintf(out, "%s\n", line);
		}
	}
	fprintf(out, "COMMIT\n");
}
