#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fw/fence.h"
#include "../../fw/nftplan.h"

/* A plan with empty sets and the rules of no ports, DNS filter or
 * resolvers. */
static void plan_init(struct fence_plan *plan, bool v6)
{
	static const struct port_list none;
	static const struct fence_spec spec = { .default_ports = &none, .expose = &none };
	struct perr err = PERR_INIT;
	assert_int_equal(fence_plan_build(NULL, 0, &spec, v6, plan, &err), 0);
}

/* Adds a member to the plan's set of its family and kind. */
static void add(struct fence_plan *plan, enum set_kind kind, const char *net, uint8_t proto,
		uint16_t port, uint32_t timeout)
{
	struct set_elem e = { .proto = proto, .port = port, .timeout = timeout };
	assert_int_equal(net_parse(net, true, &e.net, NULL), 0);
	struct set_plan *s = &plan->sets[net_family_index(e.net.family)][kind];
	s->v = realloc(s->v, (s->n + 1) * sizeof(*s->v));
	assert_non_null(s->v);
	s->v[s->n++] = e;
}

/* A member as text, as the ruleset shows it. */
static const char *elem_text(const struct nftplan *np, enum net_family f, enum set_kind k,
			     enum nftplan_part p, size_t i)
{
	static char buf[8][256];
	static int next;
	const struct nftplan_set *s = &np->sets[net_family_index(f)][k][p];
	assert_true(i < s->n);
	char *b = buf[next++ % 8];
	char first[NET_ADDR_STRLEN], last[NET_ADDR_STRLEN];
	struct net_addr a = net_host(f, s->v[i].first);
	net_format(&a, first, sizeof(first));
	a = net_host(f, s->v[i].last);
	net_format(&a, last, sizeof(last));
	snprintf(b, 256, "%s-%s %u %u %u", first, last, s->v[i].proto, s->v[i].port,
		 s->v[i].timeout);
	return b;
}

static size_t count(const struct nftplan *np, enum net_family f, enum set_kind k,
		    enum nftplan_part p)
{
	return np->sets[net_family_index(f)][k][p].n;
}

static void build(const struct fence_plan *plan, struct nftplan *np)
{
	struct perr err = PERR_INIT;
	int rc = nftplan_build(plan, np, &err);
	if (rc < 0)
		fail_msg("nftplan_build: %s", err.msg);
}

static void test_overlapping_nets_merge(void **state)
{
	(void)state;
	struct fence_plan plan;
	struct nftplan np;
	plan_init(&plan, true);
	add(&plan, SET_DEFAULT, "10.1.0.0/16", 0, 0, 0);
	add(&plan, SET_DEFAULT, "10.0.0.0/8", 0, 0, 0);
	add(&plan, SET_DEFAULT, "10.200.3.0/24", 0, 0, 0);
	add(&plan, SET_DEFAULT, "172.16.0.0/12", 0, 0, 0);
	build(&plan, &np);
	assert_int_equal(count(&np, NET_V4, SET_DEFAULT, NFTPLAN_NET), 2);
	assert_string_equal(elem_text(&np, NET_V4, SET_DEFAULT, NFTPLAN_NET, 0),
			    "10.0.0.0-10.255.255.255 0 0 0");
	assert_string_equal(elem_text(&np, NET_V4, SET_DEFAULT, NFTPLAN_NET, 1),
			    "172.16.0.0-172.31.255.255 0 0 0");
	assert_int_equal(count(&np, NET_V4, SET_DEFAULT, NFTPLAN_HOST), 0);
	nftplan_free(&np);
	fence_plan_free(&plan);
}

static void test_adjacent_nets_merge(void **state)
{
	(void)state;
	struct fence_plan plan;
	struct nftplan np;
	plan_init(&plan, true);
	add(&plan, SET_ALL, "192.168.1.0/24", 0, 0, 0);
	add(&plan, SET_ALL, "192.168.0.0/24", 0, 0, 0);
	add(&plan, SET_ALL, "192.168.2.0/23", 0, 0, 0);
	add(&plan, SET_ALL, "192.168.5.0/24", 0, 0, 0); /* 192.168.4.x between */
	add(&plan, SET_ALL, "2001:db8:0:1::/64", 0, 0, 0);
	add(&plan, SET_ALL, "2001:db8::/64", 0, 0, 0);
	build(&plan, &np);
	assert_int_equal(count(&np, NET_V4, SET_ALL, NFTPLAN_NET), 2);
	assert_string_equal(elem_text(&np, NET_V4, SET_ALL, NFTPLAN_NET, 0),
			    "192.168.0.0-192.168.3.255 0 0 0");
	assert_string_equal(elem_text(&np, NET_V4, SET_ALL, NFTPLAN_NET, 1),
			    "192.168.5.0-192.168.5.255 0 0 0");
	assert_int_equal(count(&np, NET_V6, SET_ALL, NFTPLAN_NET), 1);
	assert_string_equal(elem_text(&np, NET_V6, SET_ALL, NFTPLAN_NET, 0),
			    "2001:db8::-2001:db8:0:1:ffff:ffff:ffff:ffff 0 0 0");
	nftplan_free(&np);
	fence_plan_free(&plan);
}

static void test_ports_do_not_merge(void **state)
{
	(void)state;
	struct fence_plan plan;
	struct nftplan np;
	plan_init(&plan, true);
	add(&plan, SET_PORT, "10.0.0.0/8", PROTO_TCP, 443, 0);
	add(&plan, SET_PORT, "10.0.0.0/16", PROTO_TCP, 80, 0);
	add(&plan, SET_PORT, "10.0.0.0/8", PROTO_UDP, 443, 0);
	add(&plan, SET_PORT, "10.1.0.0/16", PROTO_TCP, 443, 0);
	add(&plan, SET_PORT, "11.0.0.0/8", PROTO_TCP, 443, 0);
	build(&plan, &np);
	/* By protocol and port; 11/8 touches 10/8 on the same port. */
	assert_int_equal(count(&np, NET_V4, SET_PORT, NFTPLAN_NET), 3);
	assert_string_equal(elem_text(&np, NET_V4, SET_PORT, NFTPLAN_NET, 0),
			    "10.0.0.0-10.0.255.255 6 80 0");
	assert_string_equal(elem_text(&np, NET_V4, SET_PORT, NFTPLAN_NET, 1),
			    "10.0.0.0-11.255.255.255 6 443 0");
	assert_string_equal(elem_text(&np, NET_V4, SET_PORT, NFTPLAN_NET, 2),
			    "10.0.0.0-10.255.255.255 17 443 0");
	nftplan_free(&np);
	fence_plan_free(&plan);
}

static void test_v6_end_of_space(void **state)
{
	(void)state;
	struct fence_plan plan;
	struct nftplan np;
	plan_init(&plan, true);
	add(&plan, SET_DEFAULT, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120", 0, 0, 0);
	add(&plan, SET_DEFAULT, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124", 0, 0, 0);
	add(&plan, SET_DEFAULT, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fe00/120", 0, 0, 0);
	add(&plan, SET_DEFAULT, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, 0, 0);
	add(&plan, SET_ALL, "8000::/1", 0, 0, 0);
	add(&plan, SET_ALL, "::/1", 0, 0, 0);
	add(&plan, SET_ALL, "4000::/2", 0, 0, 0);
	build(&plan, &np);
	assert_int_equal(count(&np, NET_V6, SET_DEFAULT, NFTPLAN_NET), 1);
	assert_string_equal(elem_text(&np, NET_V6, SET_DEFAULT, NFTPLAN_NET, 0),
			    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fe00-"
			    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 0 0 0");
	assert_int_equal(count(&np, NET_V6, SET_DEFAULT, NFTPLAN_HOST), 1);
	assert_int_equal(count(&np, NET_V6, SET_ALL, NFTPLAN_NET), 1);
	assert_string_equal(elem_text(&np, NET_V6, SET_ALL, NFTPLAN_NET, 0),
			    "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 0 0 0");
	nftplan_free(&np);
	fence_plan_free(&plan);
}

static void test_next_addr(void **state)
{
	(void)state;
	uint8_t next[16];
	uint8_t a[16] = { 10, 0, 0, 255, 0xff, 0xff };
	assert_true(nftplan_next_addr(NET_V4, a, next));
	assert_memory_equal(next, ((uint8_t[16]){ 10, 0, 1, 0 }), 16);
	/* Only the family's bytes count: 255.255.255.255 is IPv4's last. */
	uint8_t last4[16] = { 255, 255, 255, 255, 1, 2 };
	assert_false(nftplan_next_addr(NET_V4, last4, next));
	uint8_t last6[16];
	memset(last6, 0xff, 16);
	assert_false(nftplan_next_addr(NET_V6, last6, next));
	last6[15] = 0xfe;
	assert_true(nftplan_next_addr(NET_V6, last6, next));
	memset(a, 0xff, 16);
	assert_memory_equal(next, a, 16);
}

static void test_zero_prefix(void **state)
{
	(void)state;
	struct fence_plan plan;
	struct nftplan np;
	plan_init(&plan, true);
	/* net_parse takes no /0: the plan's members are made by hand. */
	struct set_plan *s4 = &plan.sets[0][SET_ALL], *s6 = &plan.sets[1][SET_ALL];
	add(&plan, SET_ALL, "10.0.0.0/8", 0, 0, 0);
	add(&plan, SET_ALL, "0.0.0.0/1", 0, 0, 0);
	s4->v[1].net.prefix = 0;
	add(&plan, SET_ALL, "255.0.0.0/8", 0, 0, 0);
	add(&plan, SET_ALL, "::/1", 0, 0, 0);
	s6->v[0].net.prefix = 0;
	add(&plan, SET_ALL, "ff00::/8", 0, 0, 0);
	build(&plan, &np);
	assert_int_equal(count(&np, NET_V4, SET_ALL, NFTPLAN_NET), 1);
	assert_string_equal(elem_text(&np, NET_V4, SET_ALL, NFTPLAN_NET, 0),
			    "0.0.0.0-255.255.255.255 0 0 0");
	assert_int_equal(count(&np, NET_V6, SET_ALL, NFTPLAN_NET), 1);
	assert_string_equal(elem_text(&np, NET_V6, SET_ALL, NFTPLAN_NET, 0),
			    "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 0 0 0");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	nftplan_render(&plan, &np, f);
	fclose(f);
	assert_non_null(strstr(text, "\t\telements = { 0.0.0.0/0 }\n"));
	assert_non_null(strstr(text, "\t\telements = { ::/0 }\n"));
	free(text);
	nftplan_free(&np);
	fence_plan_free(&plan);
}

static void test_hosts_stay_hosts(void **state)
{
	(void)state;
	struct fence_plan plan;
	struct nftplan np;
	plan_init(&plan, true);
	add(&plan, SET_DEFAULT, "10.0.0.0/8", 0, 0, 0);
	add(&plan, SET_DEFAULT, "10.0.0.1", 0, 0, 0);
	add(&plan, SET_DEFAULT, "10.0.0.2", 0, 0, 300);
	add(&plan, SET_DEFAULT, "11.0.0.0", 0, 0, 0); /* touches 10/8: still a host */
	add(&plan, SET_PORT, "2001:db8::1", PROTO_UDP, 53, 0);
	build(&plan, &np);
	assert_int_equal(count(&np, NET_V4, SET_DEFAULT, NFTPLAN_NET), 1);
	assert_string_equal(elem_text(&np, NET_V4, SET_DEFAULT, NFTPLAN_NET, 0),
			    "10.0.0.0-10.255.255.255 0 0 0");
	assert_int_equal(count(&np, NET_V4, SET_DEFAULT, NFTPLAN_HOST), 3);
	assert_string_equal(elem_text(&np, NET_V4, SET_DEFAULT, NFTPLAN_HOST, 0),
			    "10.0.0.1-10.0.0.1 0 0 0");
	assert_string_equal(elem_text(&np, NET_V4, SET_DEFAULT, NFTPLAN_HOST, 1),
			    "10.0.0.2-10.0.0.2 0 0 300");
	assert_string_equal(elem_text(&np, NET_V4, SET_DEFAULT, NFTPLAN_HOST, 2),
			    "11.0.0.0-11.0.0.0 0 0 0");
	assert_int_equal(count(&np, NET_V6, SET_PORT, NFTPLAN_HOST), 1);
	assert_string_equal(elem_text(&np, NET_V6, SET_PORT, NFTPLAN_HOST, 0),
			    "2001:db8::1-2001:db8::1 17 53 0");
	assert_int_equal(count(&np, NET_V6, SET_PORT, NFTPLAN_NET), 0);
	nftplan_free(&np);
	fence_plan_free(&plan);
}

static void test_duplicates_collapse(void **state)
{
	(void)state;
	struct fence_plan plan;
	struct nftplan np;
	plan_init(&plan, true);
	add(&plan, SET_DEFAULT, "192.0.2.1", 0, 0, 30);
	add(&plan, SET_DEFAULT, "192.0.2.1", 0, 0, 0);
	add(&plan, SET_DEFAULT, "192.0.2.1", 0, 0, 60);
	add(&plan, SET_DEFAULT, "192.0.2.2", 0, 0, 30);
	add(&plan, SET_DEFAULT, "192.0.2.2", 0, 0, 90);
	add(&plan, SET_DEFAULT, "192.0.2.2", 0, 0, 60);
	add(&plan, SET_DEFAULT, "198.51.100.0/24", 0, 0, 0);
	add(&plan, SET_DEFAULT, "198.51.100.0/24", 0, 0, 0);
	add(&plan, SET_PORT, "192.0.2.1", PROTO_TCP, 22, 0);
	add(&plan, SET_PORT, "192.0.2.1", PROTO_TCP, 22, 0);
	add(&plan, SET_PORT, "192.0.2.1", PROTO_UDP, 22, 0);
	build(&plan, &np);
	assert_int_equal(count(&np, NET_V4, SET_DEFAULT, NFTPLAN_HOST), 2);
	/* Permanent stays permanent; otherwise the longest timeout. */
	assert_string_equal(elem_text(&np, NET_V4, SET_DEFAULT, NFTPLAN_HOST, 0),
			    "192.0.2.1-192.0.2.1 0 0 0");
	assert_string_equal(elem_text(&np, NET_V4, SET_DEFAULT, NFTPLAN_HOST, 1),
			    "192.0.2.2-192.0.2.2 0 0 90");
	assert_int_equal(count(&np, NET_V4, SET_DEFAULT, NFTPLAN_NET), 1);
	assert_int_equal(count(&np, NET_V4, SET_PORT, NFTPLAN_HOST), 2);
	nftplan_free(&np);
	fence_plan_free(&plan);
}

static void test_refused_members(void **state)
{
	(void)state;
	struct fence_plan plan;
	struct nftplan np;
	struct perr err = PERR_INIT;
	/* A network that would expire cannot be merged into a range. */
	plan_init(&plan, true);
	add(&plan, SET_DEFAULT, "10.0.0.0/8", 0, 0, 30);
	assert_int_equal(nftplan_build(&plan, &np, &err), -1);
	assert_string_equal(err.msg, "set palisade4: network 10.0.0.0/8 has a timeout, but "
			    "networks are permanent");
	nftplan_free(&np);
	fence_plan_free(&plan);
	/* A member of the other family. */
	plan_init(&plan, true);
	add(&plan, SET_DEFAULT, "10.0.0.1", 0, 0, 0);
	plan.sets[1][SET_DEFAULT].v = plan.sets[0][SET_DEFAULT].v;
	plan.sets[1][SET_DEFAULT].n = 1;
	plan.sets[0][SET_DEFAULT].v = NULL;
	plan.sets[0][SET_DEFAULT].n = 0;
	assert_int_equal(nftplan_build(&plan, &np, &err), -1);
	assert_string_equal(err.msg, "set palisade6: member 10.0.0.1 is not an IPv6 address or "
			    "network");
	nftplan_free(&np);
	fence_plan_free(&plan);
	/* A port member without its port. */
	plan_init(&plan, true);
	add(&plan, SET_PORT, "10.0.0.1", PROTO_TCP, 0, 0);
	assert_int_equal(nftplan_build(&plan, &np, &err), -1);
	assert_non_null(strstr(err.msg, "set palisade4-port: member 10.0.0.1 has protocol 6 port 0"));
	nftplan_free(&np);
	fence_plan_free(&plan);
}

static void test_unfenced_family_left_out(void **state)
{
	(void)state;
	struct fence_plan plan;
	struct nftplan np;
	plan_init(&plan, false);
	add(&plan, SET_DEFAULT, "2001:db8::1", 0, 0, 0);
	add(&plan, SET_DEFAULT, "192.0.2.1", 0, 0, 0);
	build(&plan, &np);
	assert_false(np.v6);
	assert_int_equal(count(&np, NET_V6, SET_DEFAULT, NFTPLAN_HOST), 0);
	assert_int_equal(count(&np, NET_V4, SET_DEFAULT, NFTPLAN_HOST), 1);
	nftplan_free(&np);
	fence_plan_free(&plan);
}

/* ---- rules ---- */

static struct rule base(enum chain c)
{
	return (struct rule){ .chain = c, .owner_uid = -1, .icmp6_type = -1,
			      .verdict = VERDICT_ACCEPT };
}

/* r on set, matching the first port of its list (if any). */
static const char *render(const struct rule *r, enum net_family f, const char *set)
{
	static char buf[1024];
	nftplan_rule_render(r, f, set, r->nports ? r->ports[0] : 0, buf, sizeof(buf));
	return buf;
}

/* The i-th nft rule of r, as nftplan_rule_nth says. */
static const char *render_nth(const struct rule *r, enum net_family f, size_t i)
{
	static char buf[1024];
	const char *set;
	uint16_t port;
	nftplan_rule_nth(r, f, i, &set, &port);
	nftplan_rule_render(r, f, set, port, buf, sizeof(buf));
	return buf;
}

static void test_rule_render(void **state)
{
	(void)state;
	struct rule r = base(CHAIN_INPUT);
	r.iface = "lo";
	assert_string_equal(render(&r, NET_V4, NULL), "iifname \"lo\" accept");
	r.chain = CHAIN_OUTPUT;
	assert_string_equal(render(&r, NET_V4, NULL), "oifname \"lo\" accept");

	r = base(CHAIN_OUTPUT);
	r.established = true;
	assert_string_equal(render(&r, NET_V6, NULL), "ct state established,related accept");

	/* The protocol is implied by the port match, as nft prints it. */
	r = base(CHAIN_OUTPUT);
	r.proto = PROTO_UDP;
	r.owner_uid = 0;
	r.owner_invert = true;
	r.sport = 53;
	r.verdict = VERDICT_DROP;
	assert_string_equal(render(&r, NET_V4, NULL), "meta skuid != 0 udp sport 53 drop");

	r = base(CHAIN_OUTPUT);
	r.iface = "lo";
	r.has_dst = true;
	r.dst = net_loopback(NET_V6);
	r.proto = PROTO_TCP;
	r.dport = 53;
	assert_string_equal(render(&r, NET_V6, NULL), "oifname \"lo\" ip6 daddr ::1 tcp dport 53 accept");

	/* ... but not by the original port. */
	r = base(CHAIN_OUTPUT);
	r.proto = PROTO_UDP;
	r.owner_uid = 0;
	r.owner_invert = true;
	r.ct_origdport = 853;
	r.verdict = VERDICT_NFLOG;
	r.nflog_prefix = NFLOG_PREFIX_DNS;
	assert_string_equal(render(&r, NET_V4, NULL),
			    "meta l4proto udp meta skuid != 0 ct original proto-dst 853 "
			    "log prefix \"palisade-dns\" group 1953");
	r.verdict = VERDICT_REJECT_PROHIBITED;
	assert_string_equal(render(&r, NET_V6, NULL),
			    "meta l4proto udp meta skuid != 0 ct original proto-dst 853 "
			    "reject with icmpv6 admin-prohibited");
	/* The original port is read as the protocol's: the protocol stays,
	 * though the reset implies it. */
	r.proto = PROTO_TCP;
	r.verdict = VERDICT_REJECT_TCP_RESET;
	assert_string_equal(render(&r, NET_V4, NULL),
			    "meta l4proto tcp meta skuid != 0 ct original proto-dst 853 "
			    "reject with tcp reset");
	r.ct_origdport = 0;
	assert_string_equal(render(&r, NET_V4, NULL), "meta skuid != 0 reject with tcp reset");

	r = base(CHAIN_OUTPUT);
	r.has_dst = true;
	assert_int_equal(net_parse("127.0.0.0/8", true, &r.dst, NULL), 0);
	r.owner_uid = 0;
	r.owner_invert = true;
	r.verdict = VERDICT_REJECT_PROHIBITED;
	assert_string_equal(render(&r, NET_V4, NULL),
			    "ip daddr 127.0.0.0/8 meta skuid != 0 reject with icmp admin-prohibited");

	r = base(CHAIN_OUTPUT);
	r.socket_exists = true;
	r.src_not_local = true;
	r.verdict = VERDICT_DROP;
	assert_string_equal(render(&r, NET_V4, NULL), "meta skuid >= 0 fib saddr type != local drop");

	r = base(CHAIN_OUTPUT);
	r.proto = PROTO_TCP;
	r.owner_uid = 0;
	r.dport = 53;
	assert_string_equal(render(&r, NET_V4, NULL), "meta skuid 0 tcp dport 53 accept");

	r = base(CHAIN_INPUT);
	r.proto = PROTO_ICMPV6;
	r.icmp6_type = 134;
	assert_string_equal(render(&r, NET_V6, NULL), "icmpv6 type nd-router-advert accept");
	r.icmp6_type = 143;
	assert_string_equal(render(&r, NET_V6, NULL), "icmpv6 type mld2-listener-report accept");
	r.icmp6_type = 200;
	assert_string_equal(render(&r, NET_V6, NULL), "icmpv6 type 200 accept");

	/* Set lookups, on the set given. */
	r = base(CHAIN_OUTPUT);
	r.proto = PROTO_TCP;
	r.set = set_name(NET_V4, SET_DEFAULT);
	r.set_dims = 1;
	r.ports[r.nports++] = 80;
	r.ports[r.nports++] = 443;
	assert_int_equal(nftplan_rule_set_kind(&r, NET_V4), SET_DEFAULT);
	assert_int_equal(nftplan_rule_set_kind(&r, NET_V6), -1);
	/* A list of ports: one rule per set and port, hosts first. */
	assert_int_equal(nftplan_rule_count(&r, NET_V4), 4);
	assert_string_equal(render_nth(&r, NET_V4, 0), "ip daddr @default_host tcp dport 80 accept");
	assert_string_equal(render_nth(&r, NET_V4, 1), "ip daddr @default_host tcp dport 443 accept");
	assert_string_equal(render_nth(&r, NET_V4, 2), "ip daddr @default_net tcp dport 80 accept");
	assert_string_equal(render_nth(&r, NET_V4, 3), "ip daddr @default_net tcp dport 443 accept");
	r.proto = PROTO_UDP;
	r.nports = 1;
	r.ports[0] = 443;
	assert_string_equal(render(&r, NET_V4, "default_host"),
			    "ip daddr @default_host udp dport 443 accept");

	r = base(CHAIN_OUTPUT);
	r.set = set_name(NET_V6, SET_PORT);
	r.set_dims = 2;
	assert_int_equal(nftplan_rule_set_kind(&r, NET_V6), SET_PORT);
	assert_string_equal(render(&r, NET_V6, "port_host"),
			    "ip6 daddr . meta l4proto . th dport @port_host accept");

	r = base(CHAIN_OUTPUT);
	assert_int_equal(nftplan_rule_set_kind(&r, NET_V4), -1);
	r.verdict = VERDICT_NFLOG;
	r.nflog_prefix = NFLOG_PREFIX_REFUSED;
	assert_string_equal(render(&r, NET_V4, NULL), "log prefix \"palisade-refused\" group 1953");

	/* A small buffer is cut, not overrun. */
	char small[8];
	assert_int_equal(nftplan_rule_count(&r, NET_V4), 1);
	nftplan_rule_render(&r, NET_V4, NULL, 0, small, sizeof(small));
	assert_string_equal(small, "log pre");
}

static char *print(const struct fence_plan *plan)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	nftplan_print(plan, f);
	fclose(f);
	return text;
}

static void test_print(void **state)
{
	(void)state;
	struct port_list defaults = { 0 }, expose = { 0 };
	assert_int_equal(port_list_parse("80,443,443/udp", &defaults, NULL), 0);
	struct fence_spec spec = { .default_ports = &defaults, .expose = &expose, .dns_filter = true };
	struct fence_dest d[] = {
		{ .ports = PORTS_DEFAULT }, { .ports = PORTS_DEFAULT }, { .ports = PORTS_ONE, .port = 8443 },
		{ .ports = PORTS_ALL },
	};
	assert_int_equal(net_parse("192.0.2.1", true, &d[0].net, NULL), 0);
	assert_int_equal(net_parse("10.0.0.0/8", true, &d[1].net, NULL), 0);
	assert_int_equal(net_parse("10.1.0.0/16", true, &d[2].net, NULL), 0);
	assert_int_equal(net_parse("2001:db8::/32", true, &d[3].net, NULL), 0);
	struct fence_plan plan;
	struct perr err = PERR_INIT;
	assert_int_equal(fence_plan_build(d, 4, &spec, true, &plan, &err), 0);
	/* As the DNS filter adds it (the set is sorted: 10/8, then 192.0.2.1). */
	assert_int_equal(plan.sets[0][SET_DEFAULT].n, 2);
	plan.sets[0][SET_DEFAULT].v[1].timeout = 90;
	char *text = print(&plan);
	assert_non_null(strstr(text,
		"table ip palisade {\n"
		"\tset default_host {\n"
		"\t\ttype ipv4_addr\n"
		"\t\tflags timeout\n"
		"\t\telements = { 192.0.2.1 timeout 1m30s }\n"
		"\t}\n\n"
		"\tset default_net {\n"
		"\t\ttype ipv4_addr\n"
		"\t\tflags interval\n"
		"\t\telements = { 10.0.0.0/8 }\n"
		"\t}\n\n"
		"\tset port_host {\n"
		"\t\ttype ipv4_addr . inet_proto . inet_service\n"
		"\t\tflags timeout\n"
		"\t}\n\n"
		"\tset port_net {\n"
		"\t\ttype ipv4_addr . inet_proto . inet_service\n"
		"\t\tflags interval\n"
		"\t\telements = { 10.1.0.0/16 . tcp . 8443,\n"
		"\t\t\t     10.1.0.0/16 . udp . 8443 }\n"
		"\t}\n\n"));
	assert_non_null(strstr(text,
		"\tchain input {\n"
		"\t\ttype filter hook input priority filter; policy drop;\n"
		"\t\tct state established,related accept\n"
		"\t\tiifname \"lo\" accept\n"
		"\t}\n\n"
		"\tchain forward {\n"
		"\t\ttype filter hook forward priority filter; policy drop;\n"
		"\t}\n\n"
		"\tchain output {\n"
		"\t\ttype filter hook output priority filter; policy drop;\n"
		"\t\tmeta skuid >= 0 fib saddr type != local drop\n"
		"\t\tct state established,related accept\n"));
	/* Each set lookup twice, hosts first. */
	assert_non_null(strstr(text,
		"\t\tip daddr @default_host tcp dport 80 accept\n"
		"\t\tip daddr @default_host tcp dport 443 accept\n"
		"\t\tip daddr @default_net tcp dport 80 accept\n"
		"\t\tip daddr @default_net tcp dport 443 accept\n"
		"\t\tip daddr @default_host udp dport 443 accept\n"
		"\t\tip daddr @default_net udp dport 443 accept\n"
		"\t\tip daddr . meta l4proto . th dport @port_host accept\n"
		"\t\tip daddr . meta l4proto . th dport @port_net accept\n"
		"\t\tip daddr @all_host accept\n"
		"\t\tip daddr @all_net accept\n"
		"\t\tlog prefix \"palisade-refused\" group 1953\n"
		"\t\treject with tcp reset\n"
		"\t\treject with icmp admin-prohibited\n"
		"\t}\n"
		"}\n"
		"table ip6 palisade {\n"));
	assert_non_null(strstr(text, "\tset all_net {\n"
				     "\t\ttype ipv6_addr\n"
				     "\t\tflags interval\n"
				     "\t\telements = { 2001:db8::/32 }\n"));
	assert_non_null(strstr(text, "\t\tip6 daddr @all_net accept\n"));
	assert_non_null(strstr(text, "\t\treject with icmpv6 admin-prohibited\n\t}\n}\n"));
	assert_null(strstr(text, "not installed"));
	free(text);

	/* Without IPv6: no ip6 table, and a comment that says so. */
	fence_plan_free(&plan);
	assert_int_equal(fence_plan_build(d, 4, &spec, false, &plan, &err), 0);
	text = print(&plan);
	assert_null(strstr(text, "table ip6 palisade {"));
	assert_non_null(strstr(text, "# table ip6 palisade: not installed (no IPv6 in this container)\n"));
	free(text);

	/* A plan the sets cannot hold: the error, as a comment. */
	plan.sets[0][SET_ALL].v = realloc(plan.sets[0][SET_ALL].v, sizeof(struct set_elem));
	assert_non_null(plan.sets[0][SET_ALL].v);
	plan.sets[0][SET_ALL].v[0] = (struct set_elem){ .net = d[1].net, .timeout = 5 };
	plan.sets[0][SET_ALL].n = 1;
	text = print(&plan);
	assert_string_equal(text, "# nftables sets: set palisade4-all: network 10.0.0.0/8 has a "
			    "timeout, but networks are permanent\n");
	free(text);
	fence_plan_free(&plan);
}

static void test_timeouts(void **state)
{
	(void)state;
	struct fence_plan plan;
	plan_init(&plan, false);
	add(&plan, SET_DEFAULT, "192.0.2.1", 0, 0, 86400 + 3600 + 60 + 1);
	add(&plan, SET_DEFAULT, "192.0.2.2", 0, 0, 7200);
	add(&plan, SET_DEFAULT, "192.0.2.3", 0, 0, 59);
	char *text = print(&plan);
	assert_non_null(strstr(text, "\t\telements = { 192.0.2.1 timeout 1d1h1m1s,\n"
				     "\t\t\t     192.0.2.2 timeout 2h,\n"
				     "\t\t\t     192.0.2.3 timeout 59s }\n"));
	free(text);
	fence_plan_free(&plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overlapping_nets_merge),
		cmocka_unit_test(test_adjacent_nets_merge),
		cmocka_unit_test(test_ports_do_not_merge),
		cmocka_unit_test(test_v6_end_of_space),
		cmocka_unit_test(test_next_addr),
		cmocka_unit_test(test_zero_prefix),
		cmocka_unit_test(test_hosts_stay_hosts),
		cmocka_unit_test(test_duplicates_collapse),
		cmocka_unit_test(test_refused_members),
		cmocka_unit_test(test_unfenced_family_left_out),
		cmocka_unit_test(test_rule_render),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_timeouts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
