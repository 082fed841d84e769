#include "dnspolicy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The name an address was last an answer for, and until when an answer
 * keeps it in the sets. */
struct addr_name {
	bool used;
	struct net_addr addr;
	char name[DNS_NAME_MAX + 1];
	uint64_t until;         /* monotonic seconds */
};

struct dnspolicy {
	const struct config *cfg;
	const struct hostnet *host;
	dnspolicy_allow_fn allow;
	void *allow_ctx;
	size_t nnames;
	struct addr_name names[DNSPOLICY_NAMES_MAX];
};

struct dnspolicy *dnspolicy_new(const struct config *cfg, const struct hostnet *host,
				dnspolicy_allow_fn allow, void *allow_ctx)
{
	struct dnspolicy *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = cfg;
	p->host = host;
	p->allow = allow;
	p->allow_ctx = allow_ctx;
	return p;
}

void dnspolicy_free(struct dnspolicy *p)
{
	free(p);
}

/* ---- the names of addresses ---- */

static size_t addr_hash(const struct net_addr *a)
{
	uint32_t h = 2166136261u;
	size_t n = net_len(a->family);
	for (size_t i = 0; i < n; i++)
		h = (h ^ a->bytes[i]) * 16777619u;
	return h % DNSPOLICY_NAMES_MAX;
}

/* The slot of addr, or where it would go; -1 when the table is full. */
static long name_slot(const struct dnspolicy *p, const struct net_addr *a)
{
	size_t i = addr_hash(a);
	for (size_t k = 0; k < DNSPOLICY_NAMES_MAX; k++, i = (i + 1) % DNSPOLICY_NAMES_MAX) {
		const struct addr_name *s = &p->names[i];
		if (!s->used || net_equal(&s->addr, a))
			return (long)i;
	}
	return -1;
}

const char *dnspolicy_name_of(const struct dnspolicy *p, const struct net_addr *a)
{
	long i = name_slot(p, a);
	return i >= 0 && p->names[i].used ? p->names[i].name : NULL;
}

/* Records that addr is an answer for name until `until`; returns the later
 * of until and what was recorded before. *fresh says whether the sets must
 * be told: not when the same name already put addr there for at least as
 * long, as when a busy client asks for the same name many times a second
 * (a netlink round trip saved per answer). */
static uint64_t name_record(struct dnspolicy *p, const struct net_addr *a, const char *name,
			    uint64_t until, bool *fresh)
{
	*fresh = true;
	if (p->nnames >= DNSPOLICY_NAMES_MAX * 3 / 4) {
		/* Full: start again. Only names in log lines are lost; the sets
		 * keep their own timeouts. */
		memset(p->names, 0, sizeof(p->names));
		p->nnames = 0;
	}
	long i = name_slot(p, a);
	if (i < 0)
		return until;
	struct addr_name *s = &p->names[i];
	if (!s->used) {
		s->used = true;
		s->addr = *a;
		s->until = 0;
		p->nnames++;
	} else if (strcmp(s->name, name) == 0 && s->until >= until) {
		*fresh = false;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (s->until > until)
		until = s->until;
	s->until = until;
	return until;
}

/* The sets could not be told: the next answer tries again. */
static void name_unrecord(struct dnspolicy *p, const struct net_addr *a)
{
	long i = name_slot(p, a);
	if (i >= 0 && p->names[i].used)
		p->names[i].until = 0;
}

/* ---- decisions ---- */

static bool name_allowed(const struct dnspolicy *p, const char *name)
{
	for (size_t i = 0; i < p->cfg->allow.n; i++)
		if (entry_matches(&p->cfg->allow.v[i], name))
			return true;
	return false;
}

enum dns_decision dnspolicy_query(const struct dnspolicy *p, const char *name)
{
	if (name_allowed(p, name))
		return DNS_ALLOWED;
	return p->cfg->audit ? DNS_AUDITED : DNS_REFUSED;
}

/* Lets one address through for every entry that allows name. */
static int allow_addr(struct dnspolicy *p, const char *name, const struct net_addr *a,
		      uint32_t timeout, struct perr *err)
{
	for (size_t i = 0; i < p->cfg->allow.n; i++) {
		const struct entry *e = &p->cfg->allow.v[i];
		if (!entry_matches(e, name))
			continue;
		struct fence_dest d = { .net = *a, .ports = e->ports, .port = e->port };
		if (p->allow(p->allow_ctx, &d, timeout, err) < 0)
			return -1;
	}
	return 0;
}

int dnspolicy_answer(struct dnspolicy *p, const char *name, const struct dns_answer *a,
		     uint64_t now, struct dns_refusal *refused, size_t *nrefused,
		     struct perr *err)
{
	bool allowed = name_allowed(p, name);
	bool opted_in = allowlist_private_ok(&p->cfg->allow, name);
	*nrefused = 0;
	for (size_t i = 0; i < a->naddrs; i++) {
		const struct net_addr *addr = &a->addrs[i].addr;
		uint32_t ttl = a->addrs[i].ttl < DNSPOLICY_TTL_MAX ? a->addrs[i].ttl
								   : DNSPOLICY_TTL_MAX;
		bool fresh;
		struct dns_refusal *r = &refused[*nrefused];
		r->verdict = rebind_classify(addr, p->host, r->why, sizeof(r->why));
		if (!rebind_allowed(r->verdict, opted_in)) {
			/* Never in the sets for this name: remembered only to name
			 * a refused connection to it (an until of 0 leaves the time
			 * another name keeps it there unchanged). */
			name_record(p, addr, name, 0, &fresh);
			r->addr = *addr;
			(*nrefused)++;
			continue;
		}
		uint64_t until = name_record(p, addr, name, now + ttl + p->cfg->dns_grace, &fresh);
		if (!allowed || !fresh)
			continue; /* audit mode (remembered for naming only), or already there */
		if (allow_addr(p, name, addr, (uint32_t)(until - now), err) < 0) {
			name_unrecord(p, addr);
			return -1;
		}
	}
	return 0;
}
