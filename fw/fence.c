#include "fence.h"

#include <errno.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/array.h"
#include "filtertable.h"
#include "nft.h"
#include "nftplan.h"

static bool fences(const struct fence_plan *plan, enum net_family f)
{
	return f == NET_V4 || plan->v6;
}

bool set_elem_equal(const struct set_elem *a, const struct set_elem *b)
{
	return net_equal(&a->net, &b->net) && a->proto == b->proto && a->port == b->port;
}

static int set_push(struct set_plan *s, const struct set_elem *e)
{
	if (s->n == s->cap) {
		struct set_elem *v = array_grow(s->v, &s->cap, sizeof(*v), 16);
		if (!v)
			return -1;
		s->v = v;
	}
	s->v[s->n++] = *e;
	return 0;
}

int set_elem_cmp(const void *pa, const void *pb)
{
	const struct set_elem *a = pa, *b = pb;
	if (a->net.family != b->net.family)
		return a->net.family - b->net.family;
	int c = memcmp(a->net.bytes, b->net.bytes, 16);
	if (c)
		return c;
	if (a->net.prefix != b->net.prefix)
		return a->net.prefix - b->net.prefix;
	if (a->proto != b->proto)
		return a->proto - b->proto;
	return (int)a->port - (int)b->port;
}

/* Sorts a set's members and drops duplicates (names that share addresses). */
static void set_unique(struct set_plan *s)
{
	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof(*s->v), set_elem_cmp);
	size_t k = 1;
	for (size_t i = 1; i < s->n; i++)
		if (!set_elem_equal(&s->v[i], &s->v[k - 1]))
			s->v[k++] = s->v[i];
	s->n = k;
}

size_t fence_dest_members(const struct fence_dest *d, uint32_t timeout, struct set_elem v[2],
			  enum set_kind *kind)
{
	v[0] = (struct set_elem){ .net = d->net, .timeout = timeout };
	switch (d->ports) {
	case PORTS_ONE:
		*kind = SET_PORT;
		v[1] = v[0];
		v[0].proto = PROTO_TCP;
		v[1].proto = PROTO_UDP;
		v[0].port = v[1].port = d->port;
		return 2;
	case PORTS_ALL:
		*kind = SET_ALL;
		return 1;
	case PORTS_DEFAULT:
	default:
		*kind = SET_DEFAULT;
		return 1;
	}
}

int fence_plan_build(const struct fence_dest *dests, size_t n,
		     const struct fence_spec *spec, bool v6, struct fence_plan *plan,
		     struct perr *err)
{
	memset(plan, 0, sizeof(*plan));
	plan->v6 = v6;
	for (int f = 0; f < NET_FAMILIES; f++) {
		for (int k = 0; k < SET_KINDS; k++) {
			plan->sets[f][k].name = set_name(net_family_at(f), (enum set_kind)k);
			plan->sets[f][k].kind = (enum set_kind)k;
			plan->sets[f][k].family = net_family_at(f);
		}
	}
	for (int f = 0; f < fence_families(plan); f++)
		if (ruleset_build(spec, net_family_at(f), &plan->rules[f]) < 0)
			return perr_set(err, "too many rules: fewer --expose ports or resolvers");
	for (size_t i = 0; i < n; i++) {
		const struct fence_dest *d = &dests[i];
		if (!fences(plan, d->net.family))
			continue;
		struct set_elem v[2];
		enum set_kind kind;
		size_t nv = fence_dest_members(d, 0, v, &kind);
		struct set_plan *s = &plan->sets[net_family_index(d->net.family)][kind];
		for (size_t k = 0; k < nv; k++)
			if (set_push(s, &v[k]) < 0)
				return perr_code(err, ENOMEM, "out of memory");
	}
	for (int f = 0; f < NET_FAMILIES; f++) {
		for (int k = 0; k < SET_KINDS; k++) {
			set_unique(&plan->sets[f][k]);
			if (plan->sets[f][k].n > SET_MAXELEM)
				return perr_set(err, "more than %u members for set %s",
						SET_MAXELEM, plan->sets[f][k].name);
		}
	}
	return 0;
}

static bool is_permanent(const struct set_plan *s, const struct set_elem *e)
{
	for (size_t i = 0; i < s->n; i++)
		if (set_elem_equal(&s->v[i], e))
			return true;
	return false;
}

size_t fence_allow_members(const struct fence_plan *plan, const struct fence_dest *d,
			   uint32_t timeout, struct set_elem out[2], const char **set)
{
	if (!fences(plan, d->net.family))
		return 0;
	struct set_elem v[2];
	enum set_kind kind;
	size_t nv = fence_dest_members(d, timeout, v, &kind);
	const struct set_plan *s = &plan->sets[net_family_index(d->net.family)][kind];
	size_t n = 0;
	for (size_t k = 0; k < nv; k++)
		if (!is_permanent(s, &v[k]))
			out[n++] = v[k];
	*set = s->name;
	return n;
}

struct fence_handle {
	enum fence_backend backend;
	struct ipset *is;
	struct nft *nft;
};

struct fence_handle *fence_open(const struct fence_plan *plan, struct perr *err)
{
	struct fence_handle *h = calloc(1, sizeof(*h));
	if (!h) {
		perr_code(err, ENOMEM, "out of memory");
		return NULL;
	}
	h->backend = plan->backend;
	if (h->backend == FENCE_BACKEND_NFT)
		h->nft = nft_open(err);
	else
		h->is = ipset_open(err);
	if (!h->nft && !h->is) {
		free(h);
		return NULL;
	}
	return h;
}

void fence_close(struct fence_handle *h)
{
	if (!h)
		return;
	nft_close(h->nft);
	ipset_close(h->is);
	free(h);
}

int fence_allow(struct fence_handle *h, const struct fence_plan *plan, const struct fence_dest *d,
		uint32_t timeout, struct perr *err)
{
	struct set_elem v[2];
	const char *set;
	size_t n = fence_allow_members(plan, d, timeout, v, &set);
	if (n == 0)
		return 0;
	if (h->backend != FENCE_BACKEND_NFT)
		return ipset_add(h->is, set, v, n, err);
	struct set_elem tmp[2];
	enum set_kind kind;
	fence_dest_members(d, timeout, tmp, &kind);
	return nft_allow(h->nft, d->net.family, kind, v, n, err);
}

void fence_plan_free(struct fence_plan *plan)
{
	for (int f = 0; f < NET_FAMILIES; f++)
		for (int k = 0; k < SET_KINDS; k++)
			free(plan->sets[f][k].v);
	memset(plan, 0, sizeof(*plan));
}

static void print_elem(const struct set_elem *e, FILE *out)
{
	char a[NET_ADDR_STRLEN];
	net_format(&e->net, a, sizeof(a));
	if (e->port)
		fprintf(out, "%s,%s:%u", a, e->proto == PROTO_TCP ? "tcp" : "udp", e->port);
	else
		fprintf(out, "%s", a);
}

void fence_plan_print(const struct fence_plan *plan, FILE *out)
{
	if (plan->backend == FENCE_BACKEND_NFT) {
		nftplan_print(plan, out);
		return;
	}
	for (int f = 0; f < fence_families(plan); f++) {
		for (int k = 0; k < SET_KINDS; k++) {
			const struct set_plan *s = &plan->sets[f][k];
			fprintf(out, "ipset %s (%s, %s): %zu member%s\n", s->name, set_type(s->kind),
				s->family == NET_V6 ? "inet6" : "inet", s->n, s->n == 1 ? "" : "s");
			for (size_t i = 0; i < s->n; i++) {
				fprintf(out, "  ");
				print_elem(&s->v[i], out);
				fprintf(out, "\n");
			}
		}
	}
	for (int f = 0; f < fence_families(plan); f++) {
		fprintf(out, "# %s\n", net_family_at(f) == NET_V6 ? "ip6tables" : "iptables");
		ruleset_render(&plan->rules[f], out);
	}
	if (!plan->v6)
		fprintf(out, "# ip6tables: not installed (no IPv6 in this container)\n");
}

bool fence_kernel_has_v6(void)
{
	int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0)
		close(s);
	return s >= 0 || errno != EAFNOSUPPORT;
}

const char *fence_backend_name(enum fence_backend b)
{
	switch (b) {
	case FENCE_BACKEND_NFT: return "nft";
	case FENCE_BACKEND_LEGACY: return "legacy";
	case FENCE_BACKEND_AUTO:
	default: return "auto";
	}
}

int fence_backend_parse(const char *text, enum fence_backend *out)
{
	static const enum fence_backend all[] = {
		FENCE_BACKEND_AUTO, FENCE_BACKEND_NFT, FENCE_BACKEND_LEGACY,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(text, fence_backend_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return -1;
}

enum fence_backend fence_backend_decide(enum fence_backend wanted, int nft_errno, char *why,
					size_t len)
{
	if (wanted != FENCE_BACKEND_AUTO) {
		snprintf(why, len, "asked for with --backend %s", fence_backend_name(wanted));
		return wanted;
	}
	if (nft_errno == 0) {
		snprintf(why, len, "auto: the kernel offers nf_tables");
		return FENCE_BACKEND_NFT;
	}
	/* Without NET_ADMIN neither backend works: nft's message says so. */
	if (nft_errno == EPERM || nft_errno == EACCES) {
		snprintf(why, len, "auto: nf_tables refused access (%s)", strerror(nft_errno));
		return FENCE_BACKEND_NFT;
	}
	snprintf(why, len, "auto: the kernel offers no nf_tables (%s)", strerror(nft_errno));
	return FENCE_BACKEND_LEGACY;
}

enum fence_backend fence_backend_choose(enum fence_backend wanted, int *nft_errno, char *why,
					size_t len)
{
	*nft_errno = wanted == FENCE_BACKEND_LEGACY ? 0 : nft_probe();
	return fence_backend_decide(wanted, *nft_errno, why, len);
}

int fence_probe(enum fence_backend wanted, bool *no_v6, enum fence_backend *chosen, char *why,
		size_t whylen, struct perr *err)
{
	*no_v6 = !fence_kernel_has_v6();
	int e;
	*chosen = fence_backend_choose(wanted, &e, why, whylen);
	if (*chosen == FENCE_BACKEND_NFT)
		return e ? nft_probe_error(err, e) : 0;
	bool absent;
	struct filter_table *t = filter_table_open(NET_V4, &absent, err);
	if (!t)
		return -1;
	filter_table_close(t);
	if (!*no_v6) {
		/* IPv6 is there, so its fence must be too: fail closed. */
		t = filter_table_open(NET_V6, &absent, err);
		if (!t)
			return perr_prefix(err, "this container has IPv6, so ip6tables must be "
					   "set up too");
		filter_table_close(t);
	}
	struct ipset *is = ipset_open(err);
	if (!is)
		return -1;
	ipset_close(is);
	return 0;
}

/* Fills a set completely before any rule can see it: a new set is created
 * and filled; an existing one is replaced by a filled twin, atomically
 * swapped in, so that rules referring to it never see it half-filled. */
static int replace_set(struct ipset *is, const struct set_plan *s, struct perr *err)
{
	int exists = ipset_exists(is, s->name, err);
	if (exists < 0)
		return -1;
	if (!exists) {
		if (ipset_create(is, s->name, set_type(s->kind), s->family, SET_MAXELEM, err) < 0 ||
		    ipset_add(is, s->name, s->v, s->n, err) < 0)
			return -1;
		return 0;
	}
	char tmp[IPSET_MAXNAMELEN];
	snprintf(tmp, sizeof(tmp), "%s.new", s->name);
	if (ipset_destroy(is, tmp, true, err) < 0 ||
	    ipset_create(is, tmp, set_type(s->kind), s->family, SET_MAXELEM, err) < 0 ||
	    ipset_add(is, tmp, s->v, s->n, err) < 0)
		return -1;
	if (ipset_swap(is, s->name, tmp, err) < 0)
		return perr_prefix(err, "replacing set %s from an earlier start (remove the "
				   "container and start a new one)", s->name);
	return ipset_destroy(is, tmp, false, err);
}

int fence_install(const struct fence_plan *plan, struct perr *err)
{
	if (plan->backend == FENCE_BACKEND_NFT)
		return nft_install(plan, err);
	int rc = -1;
	bool absent;
	struct filter_table *t[NET_FAMILIES] = { NULL, NULL };
	struct ipset *is = NULL;

	/* Open both tables first: a missing table fails before any change. */
	for (int f = 0; f < fence_families(plan); f++) {
		t[f] = filter_table_open(net_family_at(f), &absent, err);
		if (!t[f])
			goto out;
	}
	if (!(is = ipset_open(err)))
		goto out;
	for (int f = 0; f < fence_families(plan); f++) {
		for (int k = 0; k < SET_KINDS; k++)
			if (replace_set(is, &plan->sets[f][k], err) < 0)
				goto out;
	}
	for (int f = 0; f < fence_families(plan); f++)
		if (filter_table_install(t[f], &plan->rules[f], err) < 0)
			goto out;
	rc = 0;
out:
	ipset_close(is);
	filter_table_close(t[0]);
	filter_table_close(t[1]);
	return rc;
}

int fence_verify(const struct fence_plan *plan, struct perr *err)
{
	if (plan->backend == FENCE_BACKEND_NFT)
		return nft_verify(plan, err);
	for (int f = 0; f < fence_families(plan); f++) {
		if (filter_table_verify(net_family_at(f), &plan->rules[f], err) < 0)
			return -1;
	}
	struct ipset *is = ipset_open(err);
	if (!is)
		return -1;
	int rc = 0;
	for (int f = 0; f < fence_families(plan) && rc == 0; f++) {
		for (int k = 0; k < SET_KINDS && rc == 0; k++) {
			const struct set_plan *s = &plan->sets[f][k];
			struct set_elem *got = NULL;
			size_t n = 0;
			if (ipset_list(is, s->name, &got, &n, err) < 0) {
				rc = -1;
				break;
			}
			struct set_elem *want = malloc((s->n ? s->n : 1) * sizeof(*want));
			if (!want) {
				free(got);
				rc = perr_code(err, ENOMEM, "out of memory");
				break;
			}
			if (s->n) {
				memcpy(want, s->v, s->n * sizeof(*want));
				qsort(want, s->n, sizeof(*want), set_elem_cmp);
			}
			if (n > 1)
				qsort(got, n, sizeof(*got), set_elem_cmp);
			bool same = n == s->n;
			for (size_t i = 0; same && i < n; i++)
				same = set_elem_equal(&got[i], &want[i]);
			if (!same)
				rc = perr_set(err, "verification: set %s holds %zu members, the plan %zu, "
					      "or they differ", s->name, n, s->n);
			free(got);
			free(want);
		}
	}
	ipset_close(is);
	return rc;
}
