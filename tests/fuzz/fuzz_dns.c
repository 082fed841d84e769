/* libFuzzer target for the DNS message parser and builders: every input is
 * read as a query and as a response, and what the parser hands back is
 * checked; a query is rebuilt for the upstream and read back, and an
 * answer to it is turned into the client's. A failed check aborts, so that
 * libFuzzer keeps the input. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../dns/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ID 0xabcd

/* "www.example.com" A IN, with an OPT record: the query the seed
 * responses of tests/fuzz/corpus answer. */
static const uint8_t fixed_msg[] = {
	0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	0x00, 0x01, 0x00, 0x01,
	0, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0, 0, 0x00, 0x00,
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* A text name as the parser must give it: at most DNS_NAME_MAX
 * characters, lowercase, printable, labels of 1..63 characters. */
static void check_name(const char *name)
{
	size_t len = strnlen(name, DNS_NAME_MAX + 1), label = 0;
	check(len <= DNS_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		check(c > 0x20 && c < 0x7f && !(c >= 'A' && c <= 'Z'));
		if (c == '.') {
			check(label >= 1);
			label = 0;
		} else {
			check(++label <= 63);
		}
	}
	check(len == 0 || label >= 1);
}

static void check_answer(const struct dns_answer *a, const struct dns_query *q)
{
	check(a->id == q->id);
	check(a->rcode <= 15);
	check(a->naddrs <= DNS_ADDRS_MAX);
	check(a->nchain <= DNS_CHAIN_MAX);
	for (size_t i = 0; i < a->naddrs; i++) {
		const struct net_addr *n = &a->addrs[i].addr;
		check((n->family == NET_V4 && n->prefix == 32) ||
		      (n->family == NET_V6 && n->prefix == 128));
		check(a->addrs[i].ttl < 0x80000000u);
	}
	for (size_t i = 0; i < a->nchain; i++) {
		check_name(a->chain[i]);
		check(strcmp(a->chain[i], q->name) != 0);
		for (size_t j = 0; j < i; j++)
			check(strcmp(a->chain[i], a->chain[j]) != 0);
		(void)dns_name_under("example.com", a->chain[i]);
	}
}

/* Reads msg as a response to q. When it is one and query is q's client
 * message, it must also become the client's answer: q's ID and question
 * bytes, and the same addresses read from it. */
static void response(const uint8_t *msg, size_t len, const struct dns_query *q,
		     const uint8_t *query)
{
	static struct dns_answer a, b;
	static uint8_t copy[DNS_UDP_MAX];
	struct perr why = PERR_INIT;
	if (dns_parse_response(msg, len, q, &a, &why) != 0) {
		check(why.err == EBADMSG && why.msg[0]);
		return;
	}
	check_answer(&a, q);
	if (!query)
		return;
	memcpy(copy, msg, len);
	check(dns_answer_client(copy, len, query, q) == 0);
	check((copy[0] << 8 | copy[1]) == q->id);
	check(memcmp(copy + DNS_HEADER_LEN, query + DNS_HEADER_LEN,
		     q->question_end - DNS_HEADER_LEN) == 0);
	check(memcmp(copy + q->question_end, msg + q->question_end, len - q->question_end) == 0);
	check(dns_parse_response(copy, len, q, &b, &why) == 0);
	check(b.naddrs == a.naddrs && b.nchain == a.nchain && b.rcode == a.rcode);
	check(memcmp(b.addrs, a.addrs, a.naddrs * sizeof(a.addrs[0])) == 0);
}

/* The query built for the upstream: bounded, nothing but the header, the
 * question in lowercase and palisade's OPT record, and read back as q. */
static void forward(const uint8_t *msg, const struct dns_query *q)
{
	static uint8_t out[DNS_FORWARD_MAX];
	ssize_t n = dns_build_query(q, 0x5aa5, out, sizeof(out));
	check(n > DNS_HEADER_LEN && n <= DNS_FORWARD_MAX);
	check(n == (ssize_t)(q->question_end + (q->has_opt ? 11 : 0)));
	check(dns_build_query(q, 0x5aa5, out, (size_t)n - 1) == -1);
	for (size_t i = DNS_HEADER_LEN; i < q->question_end - 4; i++) {
		uint8_t c = msg[i];
		check(out[i] == (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
	}
	check(memcmp(out + q->question_end - 4, msg + q->question_end - 4, 4) == 0);
	struct dns_query back;
	struct perr why = PERR_INIT;
	check(dns_parse_query(out, (size_t)n, &back, &why) == 0);
	check(back.id == 0x5aa5 && back.flags == (q->flags & (DNS_FLAG_RD | DNS_FLAG_CD)));
	check(strcmp(back.name, q->name) == 0 && back.qtype == q->qtype &&
	      back.qclass == q->qclass && back.has_opt == q->has_opt &&
	      back.edns_do == q->edns_do);
	check(!back.has_opt || back.udp_size == DNS_EDNS_UDP);
	check((out[10] << 8 | out[11]) == (q->has_opt ? 1 : 0));
}

/* The reply to a query must parse back as a response to it. */
static void reply(const uint8_t *msg, const struct dns_query *q)
{
	static uint8_t out[DNS_UDP_MAX];
	ssize_t n = dns_build_reply(msg, q, DNS_RCODE_REFUSED, out, sizeof(out));
	check(n == (ssize_t)(q->question_end + (q->has_opt ? 11 : 0)));
	check(dns_build_reply(msg, q, DNS_RCODE_REFUSED, out, (size_t)n - 1) == -1);

	static struct dns_answer a;
	struct perr why = PERR_INIT;
	check(dns_parse_response(out, (size_t)n, q, &a, &why) == 0);
	check(a.rcode == DNS_RCODE_REFUSED && a.naddrs == 0 && a.nchain == 0);
	check(dns_build_truncated(msg, q, DNS_RCODE_NOERROR, out, sizeof(out)) == n);
	check(dns_parse_response(out, (size_t)n, q, &a, &why) == 0);
	check(a.truncated && a.rcode == DNS_RCODE_NOERROR);
	dns_build_reply(msg, q, DNS_RCODE_REFUSED, out, sizeof(out));

	struct dns_query back;
	out[2] &= 0x7f; /* as a query again */
	out[3] = 0;
	check(dns_parse_query(out, (size_t)n, &back, &why) == 0);
	check(strcmp(back.name, q->name) == 0 && back.qtype == q->qtype &&
	      back.has_opt == q->has_opt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_query fixed;
	static bool ready;
	struct perr why = PERR_INIT;
	if (!ready) {
		check(dns_parse_query(fixed_msg, sizeof(fixed_msg), &fixed, &why) == 0);
		ready = true;
	}

	response(data, size, &fixed, fixed_msg);

	struct dns_query q;
	if (dns_parse_query(data, size, &q, &why) < 0) {
		check(why.err == EBADMSG && why.msg[0]);
		return 0;
	}
	check_name(q.name);
	check(q.question_end > DNS_HEADER_LEN && q.question_end <= size);
	check(q.udp_size >= 512);
	check(!dns_name_under(q.name, q.name));
	reply(data, &q);
	forward(data, &q);

	/* The input against its own question, and with QR set, so that the
	 * question is compared and the rest read. */
	response(data, size, &q, data);
	static uint8_t copy[DNS_UDP_MAX];
	memcpy(copy, data, size);
	copy[2] |= 0x80;
	response(copy, size, &q, data);
	return 0;
}
