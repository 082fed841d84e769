#include "refusallog.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fw/rules.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/text.h"

#define RECENT_MAX 128          /* refused packets remembered, for repeats */
#define REFUSED_RECENT_MAX 64   /* refused answers remembered, for repeats */

/* A packet refused lately: logged once in REFUSALLOG_REPEAT_SEC. */
struct recent {
	uint8_t proto;
	uint16_t port;
	struct net_addr addr;
	uint64_t at;
};

/* An answer the answer policy refused lately: logged once in
 * REFUSALLOG_REPEAT_SEC. */
struct refused_recent {
	uint32_t name_hash;
	struct net_addr addr;
	uint64_t at;
};

struct refusal_log {
	bool json, audit;
	double tokens;
	uint64_t tokens_at_ms;
	unsigned long long suppressed;
	uint64_t suppressed_at;
	struct recent recent[RECENT_MAX];
	size_t recent_next;
	struct refused_recent refused_recent[REFUSED_RECENT_MAX];
	size_t refused_next;
};

struct refusal_log *refusal_log_new(bool json, bool audit)
{
	struct refusal_log *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->json = json;
	l->audit = audit;
	return l;
}

void refusal_log_free(struct refusal_log *l)
{
	free(l);
}

enum packet_cause packet_cause(const struct pktlog_event *ev, bool *audit)
{
	*audit = strncmp(ev->prefix, NFLOG_PREFIX_AUDIT, strlen(NFLOG_PREFIX_AUDIT)) == 0;
	if (strcmp(ev->prefix, NFLOG_PREFIX_DNS) == 0 ||
	    strcmp(ev->prefix, NFLOG_PREFIX_AUDIT_DNS) == 0)
		return PACKET_DNS;
	if (strcmp(ev->prefix, NFLOG_PREFIX_LOOPBACK) == 0 ||
	    strcmp(ev->prefix, NFLOG_PREFIX_AUDIT_LOOPBACK) == 0)
		return PACKET_LOOPBACK;
	return PACKET_NOT_ALLOWED;
}

/* ---- the rate limit ---- */

static bool log_allowed(struct refusal_log *l)
{
	uint64_t now = clock_ms();
	if (l->tokens_at_ms == 0) {
		l->tokens = REFUSALLOG_BURST;
	} else {
		l->tokens += (double)(now - l->tokens_at_ms) * REFUSALLOG_PER_SEC / 1000.0;
		if (l->tokens > REFUSALLOG_BURST)
			l->tokens = REFUSALLOG_BURST;
	}
	l->tokens_at_ms = now;
	if (l->tokens < 1) {
		l->suppressed++;
		return false;
	}
	l->tokens -= 1;
	return true;
}

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* True when the same answer was refused in a line less than
 * REFUSALLOG_REPEAT_SEC ago. */
static bool answer_repeated(struct refusal_log *l, const char *name, const struct net_addr *a)
{
	uint64_t now = clock_ms() / 1000;
	uint32_t h = str_hash(name);
	for (size_t i = 0; i < REFUSED_RECENT_MAX; i++) {
		struct refused_recent *r = &l->refused_recent[i];
		if (r->at && now - r->at < REFUSALLOG_REPEAT_SEC && r->name_hash == h &&
		    net_equal(&r->addr, a)) {
			l->suppressed++;
			return true;
		}
	}
	l->refused_recent[l->refused_next] = (struct refused_recent){ .name_hash = h, .addr = *a,
								       .at = now };
	l->refused_next = (l->refused_next + 1) % REFUSED_RECENT_MAX;
	return false;
}

/* True when the same packet (protocol, port, destination) was refused in a
 * line less than REFUSALLOG_REPEAT_SEC ago. */
static bool packet_repeated(struct refusal_log *l, const struct pktlog_event *ev)
{
	uint64_t now = clock_ms() / 1000;
	for (size_t i = 0; i < RECENT_MAX; i++) {
		struct recent *r = &l->recent[i];
		if (r->at && now - r->at < REFUSALLOG_REPEAT_SEC && r->proto == ev->proto &&
		    r->port == ev->dport && net_equal(&r->addr, &ev->dst)) {
			l->suppressed++;
			return true;
		}
	}
	l->recent[l->recent_next] = (struct recent){ .proto = ev->proto, .port = ev->dport,
						     .addr = ev->dst, .at = now };
	l->recent_next = (l->recent_next + 1) % RECENT_MAX;
	return false;
}

void refusal_log_tick(struct refusal_log *l)
{
	uint64_t now = clock_ms();
	if (l->suppressed && now - l->suppressed_at >= 10000) {
		log_info("%llu more refusals not shown (repeats, or more than %d a second)",
			 l->suppressed, REFUSALLOG_PER_SEC);
		l->suppressed = 0;
		l->suppressed_at = now;
	}
}

/* ---- the lines ---- */

/* JSON string contents: names and prefixes are printable ASCII already;
 * anything else is escaped anyway. */
static void json_str(struct text *t, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			textf(t, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			textf(t, "\\u%04x", c);
		else
			textf(t, "%c", c);
	}
}

/* ,"key":"value" with value escaped. */
static void json_field(struct text *t, const char *key, const char *value)
{
	textf(t, ",\"%s\":\"", key);
	json_str(t, value);
	textf(t, "\"");
}

static const char *proto_text(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	default: return "ip";
	}
}

static const char *qtype_text(uint16_t t, char *buf, size_t len)
{
	switch (t) {
	case DNS_TYPE_A: return "A";
	case DNS_TYPE_AAAA: return "AAAA";
	case DNS_TYPE_CNAME: return "CNAME";
	case 15: return "MX";
	case 16: return "TXT";
	case 12: return "PTR";
	case 33: return "SRV";
	case 65: return "HTTPS";
	default: snprintf(buf, len, "TYPE%u", t); return buf;
	}
}

void refusal_log_query(struct refusal_log *l, const char *name, uint16_t qtype, bool audited)
{
	if (!log_allowed(l))
		return;
	char tb[16];
	const char *type = qtype_text(qtype, tb, sizeof(tb));
	if (audited) {
		log_info("audit: DNS query for %s (%s) would be refused", name, type);
	} else if (l->json) {
		char buf[512];
		struct text t;
		text_init(&t, buf, sizeof(buf));
		textf(&t, "{\"event\":\"dns-refused\",\"name\":\"");
		json_str(&t, name);
		textf(&t, "\",\"type\":\"%s\"}", type);
		fprintf(stderr, "%s\n", buf);
	} else {
		log_info("refused DNS query for %s (%s): not in the allowlist", name, type);
	}
}

void refusal_log_answer(struct refusal_log *l, const char *name, const struct dns_refusal *r)
{
	if (answer_repeated(l, name, &r->addr) || !log_allowed(l))
		return;
	char m[REBIND_MSG_MAX];
	rebind_message(name, &r->addr, r->verdict, r->why, m, sizeof(m));
	if (l->audit) {
		log_info("audit: %s (let through: audit mode)", m);
		return;
	}
	if (l->json) {
		char buf[REBIND_MSG_MAX + 256], t[NET_ADDR_STRLEN];
		struct text tx;
		net_format(&r->addr, t, sizeof(t));
		text_init(&tx, buf, sizeof(buf));
		textf(&tx, "{\"event\":\"answer-refused\",\"name\":\"");
		json_str(&tx, name);
		textf(&tx, "\",\"addr\":\"%s\",\"why\":\"", t);
		json_str(&tx, r->why);
		textf(&tx, "\",\"verdict\":\"%s\"}", r->verdict == REBIND_PRIVATE ? "private" : "never");
		fprintf(stderr, "%s\n", buf);
		return;
	}
	log_info("%s", m);
}

void refusal_log_packet(struct refusal_log *l, const struct pktlog_event *ev, const char *name)
{
	if (packet_repeated(l, ev) || !log_allowed(l))
		return;
	bool audit;
	enum packet_cause cause = packet_cause(ev, &audit);
	char a[NET_ADDR_STRLEN];
	net_format(&ev->dst, a, sizeof(a));
	bool ports = ev->proto == IPPROTO_TCP || ev->proto == IPPROTO_UDP;
	if (l->json) {
		char buf[768];
		struct text t;
		text_init(&t, buf, sizeof(buf));
		textf(&t, "{\"event\":\"%s\",\"proto\":\"%s\",\"dst\":\"%s\"",
		      audit ? "audit" : cause == PACKET_DNS ? "dns-bypass-refused" :
		      cause == PACKET_LOOPBACK ? "loopback-refused" : "refused",
		      proto_text(ev->proto), a);
		if (ports)
			textf(&t, ",\"port\":%u", ev->dport);
		if (name)
			json_field(&t, "name", name);
		if (ev->has_uid)
			textf(&t, ",\"uid\":%u", ev->uid);
		textf(&t, "}");
		fprintf(stderr, "%s\n", buf);
		return;
	}
	char what[DNS_NAME_MAX + NET_ADDR_STRLEN + 64];
	struct text t;
	text_init(&t, what, sizeof(what));
	textf(&t, "%s to %s", proto_text(ev->proto), a);
	if (ports)
		textf(&t, " port %u", ev->dport);
	if (name)
		textf(&t, " (%s)", name);
	if (ev->has_uid)
		textf(&t, " from uid %u", ev->uid);
	if (audit)
		log_info("audit: %s would be refused", what);
	else if (cause == PACKET_DNS)
		log_info("refused %s: DNS goes only through palisade's resolver", what);
	else if (cause == PACKET_LOOPBACK)
		log_info("refused %s: of the loopback addresses only 127.0.0.1 and ::1 are open "
			 "to the agent", what);
	else
		log_info("refused %s: not in the allowlist", what);
}

void refusal_log_failed(struct refusal_log *l, const char *name, const char *why)
{
	if (log_allowed(l))
		log_warn("DNS query for %s failed: %s; the agent gets SERVFAIL", name, why);
}

/* Something from the upstream's address and port that is not the answer:
 * a broken resolver, or someone forging its answers. */
void refusal_log_dropped(struct refusal_log *l, const char *name, const char *why)
{
	if (log_allowed(l))
		log_warn("DNS filter: dropped a reply for %s that does not answer palisade's "
			 "query (%s): a broken or forged answer; still waiting for the upstream's",
			 name, why);
}

void refusal_log_name(struct refusal_log *l, uint8_t proto, const struct net_addr *dst,
		      uint16_t port, const char *name, const char *why)
{
	/* Repeats are of the same name at the same address. */
	if (answer_repeated(l, name ? name : "", dst) || !log_allowed(l))
		return;
	char a[NET_ADDR_STRLEN];
	net_format(dst, a, sizeof(a));
	if (l->json) {
		char buf[1024];
		struct text t;
		text_init(&t, buf, sizeof(buf));
		textf(&t, "{\"event\":\"%s\",\"proto\":\"%s\",\"dst\":\"%s\",\"port\":%u",
		      l->audit ? "audit-name" : "name-refused", proto_text(proto), a, port);
		if (name)
			json_field(&t, "server_name", name);
		json_field(&t, "why", why);
		textf(&t, "}");
		fprintf(stderr, "%s\n", buf);
		return;
	}
	char what[DNS_NAME_MAX + NET_ADDR_STRLEN + 64];
	struct text t;
	text_init(&t, what, sizeof(what));
	textf(&t, "%s to %s port %u", proto_text(proto), a, port);
	if (name)
		textf(&t, " naming %s", name);
	if (l->audit)
		log_info("audit: %s would be refused: %s", what, why);
	else
		log_info("refused %s: %s", what, why);
}
