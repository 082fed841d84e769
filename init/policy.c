#include "policy.h"

#include <stdlib.h>
#include <string.h>

#include "../fw/hostnet.h"
#include "../lib/log.h"
#include "../lib/text.h"

/* Docker's embedded resolver (127.0.0.11) forwards from the container's own
 * namespace, as root, to upstreams that Docker before 25 does not write
 * into resolv.conf: palisade cannot name them, so root's DNS may go
 * anywhere. The agent never runs as root, and reaches 127.0.0.11 only
 * through palisade's filter. */
static bool docker_forwards(const struct resolvers *r)
{
	if (r->n_ext > 0)
		return false;
	struct net_addr own = net_loopback(NET_V4);
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].family == NET_V4 && net_is_loopback(&r->v[i]) &&
		    !net_equal(&r->v[i], &own))
			return true;
	return false;
}

/* The answer policy at start: each name keeps the addresses it may bring
 * into the fence; the others are recorded, to be logged. */
static int keep_answers(struct policy *p, const struct config *c, struct perr *err)
{
	size_t total = 0;
	for (size_t i = 0; i < p->nnames; i++)
		total += p->resolved[i].naddrs;
	p->refused = calloc(total ? total : 1, sizeof(*p->refused));
	if (!p->refused)
		return perr_code(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < p->nnames; i++) {
		struct resolved *r = &p->resolved[i];
		bool opted_in = allowlist_private_ok(&c->allow, p->names[i]);
		size_t kept = 0, refused = 0;
		for (size_t k = 0; k < r->naddrs; k++) {
			struct refused_answer *x = &p->refused[p->nrefused];
			enum rebind_verdict v = rebind_classify(&r->addrs[k], &p->host, x->why,
								sizeof(x->why));
			if (rebind_allowed(v, opted_in)) {
				r->addrs[kept++] = r->addrs[k];
				continue;
			}
			x->name = p->names[i];
			x->addr = r->addrs[k];
			x->verdict = v;
			p->nrefused++;
			refused++;
		}
		r->naddrs = kept;
		if (kept == 0 && refused && c->strict) {
			const struct refused_answer *x = &p->refused[p->nrefused - 1];
			char m[REBIND_MSG_MAX];
			rebind_message(x->name, &x->addr, x->verdict, x->why, m, sizeof(m));
			return perr_set(err, "%s resolves only to addresses that a name may not "
					"bring into the fence (%s), and --strict is set", x->name, m);
		}
	}
	return 0;
}

int policy_build(struct policy *p, const struct config *c, bool v6, struct perr *err)
{
	memset(p, 0, sizeof(*p));
	p->no_v6 = !v6;
	if (resolvconf_read(RESOLV_CONF, &p->resolvers, err) < 0)
		return perr_prefix(err, "the container's resolvers");
	/* palisade's DNS filter listens on 127.0.0.1 and ::1: the upstreams
	 * must be elsewhere, or it would forward to itself. */
	for (size_t i = 0; i < p->resolvers.n; i++) {
		const struct net_addr *a = &p->resolvers.v[i];
		struct net_addr own = net_loopback(a->family);
		if (net_equal(a, &own)) {
			char t[NET_ADDR_STRLEN];
			net_format(a, t, sizeof(t));
			return perr_set(err, "%s names %s as a resolver, where palisade serves DNS "
					"itself; give the container another DNS server (docker run "
					"--dns ...)", RESOLV_CONF, t);
		}
	}

	/* What the container's neighbourhood is: no name may bring its own
	 * addresses, gateways, broadcast addresses or resolvers into the
	 * fence. */
	hostnet_init(&p->host);
	if (hostnet_read(&p->host, err) < 0)
		return -1;
	for (size_t i = 0; i < p->resolvers.n; i++)
		if (hostnet_add(&p->host, &p->resolvers.v[i], HOST_RESOLVER, NULL) < 0)
			return perr_code(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < p->resolvers.n_ext; i++)
		if (hostnet_add(&p->host, &p->resolvers.ext[i], HOST_RESOLVER, NULL) < 0)
			return perr_code(err, ENOMEM, "out of memory");

	/* Domain names, once each (the same name may come with other ports). */
	p->names = calloc(c->allow.n ? c->allow.n : 1, sizeof(*p->names));
	if (!p->names)
		return perr_code(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < c->allow.n; i++) {
		const struct entry *e = &c->allow.v[i];
		if (e->kind != ENTRY_DOMAIN)
			continue;
		bool seen = false;
		for (size_t j = 0; j < p->nnames && !seen; j++)
			seen = strcmp(p->names[j], e->name) == 0;
		if (!seen)
			p->names[p->nnames++] = e->name;
	}
	p->resolved = calloc(p->nnames ? p->nnames : 1, sizeof(*p->resolved));
	if (!p->resolved)
		return perr_code(err, ENOMEM, "out of memory");
	if (resolve_names(p->names, p->nnames, p->resolvers.v, p->resolvers.n,
			  c->resolve_timeout_ms, p->resolved, err) < 0)
		return -1;
	for (size_t i = 0; i < p->nnames; i++) {
		if (p->resolved[i].status == 0)
			continue;
		p->unresolved++;
		if (c->strict)
			return perr_set(err, "%s did not resolve (%s), and --strict is set; fix the "
					"name or the resolver in %s", p->names[i], p->resolved[i].why,
					RESOLV_CONF);
	}
	if (keep_answers(p, c, err) < 0)
		return -1;

	/* Destinations: literal addresses and networks, and every address of
	 * every name, each with its entry's ports. */
	size_t cap = 0;
	for (size_t i = 0; i < c->allow.n; i++) {
		const struct entry *e = &c->allow.v[i];
		if (e->kind == ENTRY_NET) {
			cap++;
		} else if (e->kind == ENTRY_DOMAIN) {
			for (size_t j = 0; j < p->nnames; j++)
				if (strcmp(p->names[j], e->name) == 0)
					cap += p->resolved[j].naddrs;
		}
	}
	struct fence_dest *d = calloc(cap ? cap : 1, sizeof(*d));
	if (!d)
		return perr_code(err, ENOMEM, "out of memory");
	size_t n = 0;
	for (size_t i = 0; i < c->allow.n; i++) {
		const struct entry *e = &c->allow.v[i];
		if (e->kind == ENTRY_NET) {
			d[n++] = (struct fence_dest){ .net = e->net, .ports = e->ports, .port = e->port };
		} else if (e->kind == ENTRY_DOMAIN) {
			for (size_t j = 0; j < p->nnames; j++) {
				if (strcmp(p->names[j], e->name) != 0)
					continue;
				for (size_t k = 0; k < p->resolved[j].naddrs; k++)
					d[n++] = (struct fence_dest){ .net = p->resolved[j].addrs[k],
								      .ports = e->ports, .port = e->port };
			}
		}
	}

	/* DNS goes to the resolvers of resolv.conf, and to the upstreams of
	 * Docker's embedded resolver, which forwards from this namespace. */
	struct net_addr servers[2 * RESOLVERS_MAX];
	size_t ns = 0;
	for (size_t i = 0; i < p->resolvers.n; i++)
		servers[ns++] = p->resolvers.v[i];
	for (size_t i = 0; i < p->resolvers.n_ext; i++)
		servers[ns++] = p->resolvers.ext[i];
	struct fence_spec spec = {
		.resolvers = servers,
		.nresolvers = ns,
		.default_ports = &c->default_ports,
		.expose = &c->expose,
		.dns_filter = true,
		.root_dns_anywhere = docker_forwards(&p->resolvers),
		.audit = c->audit,
		.checked_ports = c->no_name_check ? NULL : &c->checked_ports,
	};
	int rc = fence_plan_build(d, n, &spec, v6, &p->plan, err);
	free(d);
	return rc;
}

void policy_log_refused(const struct policy *p, bool audit)
{
	for (size_t i = 0; i < p->nrefused && i < POLICY_LOG_REFUSED; i++) {
		const struct refused_answer *x = &p->refused[i];
		char m[REBIND_MSG_MAX];
		rebind_message(x->name, &x->addr, x->verdict, x->why, m, sizeof(m));
		if (audit)
			log_warn("audit: %s (let through: audit mode)", m);
		else
			log_warn("%s", m);
	}
	if (p->nrefused > POLICY_LOG_REFUSED)
		log_warn("%zu more answers refused; palisade --check lists them all",
			 p->nrefused - POLICY_LOG_REFUSED);
}

void policy_free(struct policy *p)
{
	hostnet_free(&p->host);
	free(p->refused);
	if (p->resolved)
		resolved_free(p->resolved, p->nnames);
	free(p->resolved);
	free(p->names);
	fence_plan_free(&p->plan);
	memset(p, 0, sizeof(*p));
}

void policy_print(const struct policy *p, FILE *out)
{
	fprintf(out, "resolvers:");
	for (size_t i = 0; i < p->resolvers.n; i++) {
		char a[NET_ADDR_STRLEN];
		net_format(&p->resolvers.v[i], a, sizeof(a));
		fprintf(out, " %s", a);
	}
	if (p->resolvers.n == 0)
		fprintf(out, " (none in %s)", RESOLV_CONF);
	for (size_t i = 0; i < p->resolvers.n_ext; i++) {
		char a[NET_ADDR_STRLEN];
		net_format(&p->resolvers.ext[i], a, sizeof(a));
		fprintf(out, "%s%s", i ? " " : "; upstreams of Docker's resolver: ", a);
	}
	fprintf(out, "\nresolved:\n");
	for (size_t i = 0; i < p->nnames; i++) {
		const struct resolved *r = &p->resolved[i];
		fprintf(out, "  %-32s", r->name);
		if (r->status != 0)
			fprintf(out, " did not resolve: %s", r->why);
		for (size_t k = 0; k < r->naddrs; k++) {
			char a[NET_ADDR_STRLEN];
			net_format(&r->addrs[k], a, sizeof(a));
			fprintf(out, " %s", a);
		}
		fprintf(out, "\n");
		for (size_t k = 0; k < p->nrefused; k++) {
			const struct refused_answer *x = &p->refused[k];
			if (x->name != r->name)
				continue;
			char m[REBIND_MSG_MAX];
			rebind_message(x->name, &x->addr, x->verdict, x->why, m, sizeof(m));
			fprintf(out, "    %s\n", m);
		}
	}
	if (p->nnames == 0)
		fprintf(out, "  (no names)\n");
	fence_plan_print(&p->plan, out);
}

static int addr_cmp(const void *pa, const void *pb)
{
	const struct net_addr *a = pa, *b = pb;
	int c = memcmp(a->bytes, b->bytes, 16);
	return c ? c : a->prefix - b->prefix;
}

/* Distinct hosts and networks in a family's sets. */
static void count_family(const struct fence_plan *plan, int f, size_t *hosts, size_t *nets)
{
	size_t total = 0;
	for (int k = 0; k < SET_KINDS; k++)
		total += plan->sets[f][k].n;
	*hosts = *nets = 0;
	struct net_addr *all = malloc((total ? total : 1) * sizeof(*all));
	if (!all)
		return;
	size_t n = 0;
	for (int k = 0; k < SET_KINDS; k++)
		for (size_t i = 0; i < plan->sets[f][k].n; i++)
			all[n++] = plan->sets[f][k].v[i].net;
	qsort(all, n, sizeof(*all), addr_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i && addr_cmp(&all[i], &all[i - 1]) == 0)
			continue;
		net_is_host(&all[i]) ? (*hosts)++ : (*nets)++;
	}
	free(all);
}

void policy_summary(const struct policy *p, struct text *t)
{
	textf(t, "fenced:");
	for (int f = 0; f < NET_FAMILIES; f++) {
		enum net_family fam = net_family_at(f);
		if (f == 1 && p->no_v6) {
			textf(t, "; IPv6: not present in this container");
			continue;
		}
		size_t names = 0, hosts, nets;
		for (size_t i = 0; i < p->nnames; i++) {
			bool has = false;
			for (size_t k = 0; k < p->resolved[i].naddrs && !has; k++)
				has = p->resolved[i].addrs[k].family == fam;
			names += has;
		}
		count_family(&p->plan, f, &hosts, &nets);
		textf(t, "%s %s: %zu name%s, %zu address%s, %zu CIDR%s", f ? ";" : "",
		      f ? "IPv6" : "IPv4", names, names == 1 ? "" : "s", hosts,
		      hosts == 1 ? "" : "es", nets, nets == 1 ? "" : "s");
	}
	if (p->unresolved) {
		textf(t, "; did not resolve:");
		for (size_t i = 0; i < p->nnames; i++)
			if (p->resolved[i].status != 0)
				textf(t, " %s", p->names[i]);
	}
	if (p->nrefused)
		textf(t, "; %zu answer%s refused (the warnings above say why)", p->nrefused,
		      p->nrefused == 1 ? "" : "s");
}
