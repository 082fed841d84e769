/* The iptables policy palisade installs, as data: built from the allowlist
 * and resolvers, rendered as iptables-save text for people, encoded into
 * kernel entries by filtertable.c. Building and rendering are pure. */
#ifndef PALISADE_RULES_H
#define PALISADE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "net.h"

enum chain { CHAIN_INPUT, CHAIN_FORWARD, CHAIN_OUTPUT };
#define CHAINS 3
extern const char *const chain_names[CHAINS];

enum verdict {
	VERDICT_ACCEPT,
	VERDICT_REJECT_TCP_RESET,   /* --reject-with tcp-reset */
	VERDICT_REJECT_PROHIBITED,  /* icmp-admin-prohibited / icmp6-adm-prohibited */
	VERDICT_NFLOG,              /* -j NFLOG --nflog-prefix P --nflog-group G, then go on */
	VERDICT_DROP,               /* -j DROP: for what no one may send, nothing to log */
	VERDICT_CONNMARK,           /* -j CONNMARK --set-xmark V/M, then go on */
	VERDICT_QUEUE,              /* -j NFQUEUE --queue-num NAMECHECK_QUEUE, no bypass */
};

/* The NFLOG group palisade's rules log to, and the prefixes that tell PID 1
 * why a packet was logged. */
#define NFLOG_GROUP 1953
#define NFLOG_PREFIX_REFUSED "palisade-refused"
#define NFLOG_PREFIX_DNS "palisade-dns"
#define NFLOG_PREFIX_AUDIT "palisade-audit"
#define NFLOG_PREFIX_AUDIT_DNS "palisade-audit-dns"
#define NFLOG_PREFIX_LOOPBACK "palisade-loopback"
#define NFLOG_PREFIX_AUDIT_LOOPBACK "palisade-audit-loopback"

#define PROTO_ICMPV6 58

/* The name check (init/namecheck.h). A new TCP connection to a port that
 * is checked gets MARK_NEED on its conntrack entry; each of its packets
 * from a socket then goes to PID 1 through queue NAMECHECK_QUEUE until PID
 * 1 answers for the connection: it sends the held packets back through
 * the chain (NF_REPEAT) with the packet mark MARK_OK or MARK_REFUSE, which
 * the rules copy to the connection: an allowed one is never queued again,
 * a refused one is reset (rejected, for UDP) by the kernel from then on.
 * A packet PID 1 cannot place (one of a connection it has decided, queued
 * before the decision reached the kernel, or of a new connection between
 * the same ports) it sends back with MARK_RECHECK alone, for the
 * connection's own mark to decide; one that comes back again belongs to
 * a connection still waiting: a new one. The agent cannot set a packet
 * mark (SO_MARK needs CAP_NET_ADMIN), nor a connection's. The queue has no
 * bypass: when PID 1 does not answer, the kernel drops. */
#define NAMECHECK_QUEUE 1953
#define MARK_MASK 0x03000000u
#define MARK_NEED 0x01000000u
#define MARK_OK 0x02000000u
#define MARK_REFUSE 0x03000000u
#define MARK_RECHECK 0x04000000u

/* One rule; the matches are applied in the order of the fields. */
struct rule {
	enum chain chain;
	const char *iface;       /* -i (INPUT) or -o (OUTPUT), or NULL */
	bool has_dst;
	struct net_addr dst;     /* -d */
	uint8_t proto;           /* -p, 0 for any */
	int owner_uid;           /* -m owner [!] --uid-owner N, or -1 */
	bool owner_invert;       /* also --socket-exists: a packet without a socket
				  * (a TCP reset the kernel sends for a refusal)
				  * is nobody's, and does not match */
	bool socket_exists;      /* -m owner --socket-exists, with no uid: sent
				  * from a socket, not made by netfilter itself */
	bool src_not_local;      /* -m addrtype ! --src-type LOCAL: from an address
				  * that is not one of the namespace's own */
	bool established;        /* -m conntrack --ctstate RELATED,ESTABLISHED */
	uint16_t ct_origdport;   /* -m conntrack --ctorigdstport N (the port before
				  * any DNAT, such as Docker's for 127.0.0.11), or 0 */
	int icmp6_type;          /* -m icmp6 --icmpv6-type N, or -1 */
	const char *set;         /* -m set --match-set NAME dst[,dst] */
	uint8_t set_dims;        /* 1: dst; 2: dst,dst (address and port) */
	uint16_t sport;          /* -m tcp/udp --sport, or 0 */
	uint16_t dport;          /* -m tcp/udp --dport, or 0 */
	size_t nports;           /* -m multiport --dports */
	uint16_t ports[PORT_LIST_MAX];
	uint32_t mark, mark_mask;      /* -m mark --mark V/M, when mark_mask is not 0 */
	uint32_t ctmark, ctmark_mask;  /* -m connmark --mark V/M, when ctmark_mask is not 0 */
	uint32_t set_ctmark, set_ctmark_mask; /* VERDICT_CONNMARK */
	enum verdict verdict;
	const char *nflog_prefix; /* VERDICT_NFLOG */
};

#define RULES_MAX 128

struct ruleset {
	enum net_family family;
	size_t n;
	struct rule v[RULES_MAX];
};

/* The sets a family's rules refer to. */
enum set_kind { SET_DEFAULT, SET_PORT, SET_ALL };
#define SET_KINDS 3
const char *set_name(enum net_family family, enum set_kind kind);
/* "hash:net" or "hash:net,port". */
const char *set_type(enum set_kind kind);

struct fence_spec {
	const struct net_addr *resolvers; /* DNS servers the fence lets through */
	size_t nresolvers;
	const struct port_list *default_ports;
	const struct port_list *expose;   /* incoming ports */
	/* palisade serves DNS on the loopback address: everyone may query it
	 * there; only root (palisade itself, and the container runtime's
	 * resolver forwarding from this namespace) may reach port 53 or 853
	 * anywhere else. */
	bool dns_filter;
	/* With dns_filter: root's DNS may go to any host, for a runtime's
	 * resolver on loopback (Docker's 127.0.0.11) that forwards, from this
	 * namespace, to upstreams palisade cannot see. */
	bool root_dns_anywhere;
	/* Log what would be refused, and let it through. */
	bool audit;
	/* The name check: new TCP connections to these ports (80, 443 and
	 * the ports of entries marked TLS) have their first data checked by
	 * PID 1, and so has UDP 443 to the default set. NULL: no check. */
	const struct port_list *checked_ports;
};

/* Builds one family's policy. Returns 0, or -1 when it would not fit. */
int ruleset_build(const struct fence_spec *spec, enum net_family family,
		  struct ruleset *out);

/* Appends one rule; -1 when the set is full. */
int ruleset_add(struct ruleset *rs, const struct rule *r);

/* An x_tables extension (a match or a target) that rules use, and the
 * kernel module that provides it. */
struct xt_ext {
	const char *name;   /* as the kernel lists it in /proc/net/ip_tables_* */
	bool target;
	const char *module;
};
#define XT_EXTS_MAX 16

/* The extensions rs uses that the kernel does not list: matches is the
 * text of /proc/net/ip_tables_matches (ip6_tables_matches for IPv6),
 * targets that of ..._targets, one name a line. Writes at most max of
 * them to out and returns how many. Pure. */
size_t ruleset_missing_ext(const struct ruleset *rs, const char *matches, const char *targets,
			   const struct xt_ext *out[], size_t max);

/* Writes the policy as iptables-save would print it, *filter to COMMIT. */
void ruleset_render(const struct ruleset *rs, FILE *out);
/* One rule's "-A CHAIN ..." line, without newline. */
void rule_render(const struct rule *r, enum net_family family, char *buf, size_t len);

#endif
