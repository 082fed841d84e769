#include "httphost.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "net.h"

#define METHOD_MAX 16
#define IPV6_TEXT_MAX 45 /* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" */
#define PORT_DIGITS_MAX 5

static enum peek_status bad(struct perr *err, const char *what, const uint8_t *p, size_t n)
{
	char q[PEEK_QUOTE_MAX];
	peek_quote(p, n, q);
	perr_set(err, "HTTP request: %s: \"%s\"", what, q);
	return PEEK_BAD;
}

/* RFC 9110 5.6.2 tchar. */
static bool tchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool upper(uint8_t c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is(const uint8_t *p, size_t n, const char *word)
{
	return n == strlen(word) && memcmp(p, word, n) == 0;
}

/* Why a bare LF or a NUL is wrong where it is; NULL for another byte. */
static const char *line_end(uint8_t c)
{
	if (c == '\n')
		return "a bare LF (line ends are CRLF)";
	if (c == '\0')
		return "a NUL byte";
	return NULL;
}

/* The request line at b[0..lim): PEEK_DONE with *pos after its CRLF. */
static enum peek_status request_line(const uint8_t *b, size_t lim, size_t *pos,
				     struct perr *err)
{
	size_t i = 0;
	for (; i < lim && b[i] != ' '; i++) {
		if (!upper(b[i])) {
			bool eol = b[i] == '\r' || b[i] == '\n';
			return bad(err, eol && i == 0 ? "the request does not start with a method" :
				   "the method is not a word of uppercase letters", b, i + 1);
		}
		if (i == METHOD_MAX)
			return bad(err, "the method is longer than 16 letters", b, i + 1);
	}
	if (i == lim)
		return PEEK_MORE;
	if (i == 0)
		return bad(err, "the request line starts with a space", b, 1);
	const uint8_t *method = b;
	size_t mlen = i;
	if (is(method, mlen, "CONNECT"))
		return bad(err, "CONNECT asks for a tunnel to the authority it names, not Host",
			   b, mlen + 1);

	size_t t = ++i;
	for (; i < lim && b[i] != ' '; i++) {
		uint8_t c = b[i];
		if (i == t && c != '/' && c != '*') {
			if (upper(c) || (c >= 'a' && c <= 'z'))
				return bad(err, "the target is in absolute-form, whose authority "
						"overrides Host; send \"/path\" and Host",
					   b + t, lim - t < 64 ? lim - t : 64);
			return bad(err, "the target does not start with '/'", b + t, 1);
		}
		if (c < 0x21 || c > 0x7e) {
			const char *why = "the target has a control byte, space or non-ASCII byte";
			if (c == '\r' || c == '\n')
				why = "the request line has no HTTP version";
			else if (c == '\0')
				why = line_end(c);
			return bad(err, why, b + t, i - t + 1);
		}
	}
	if (i == lim)
		return PEEK_MORE;
	if (i == t)
		return bad(err, "two spaces after the method", b, i + 1);
	if (b[t] == '*' && (i - t != 1 || !is(method, mlen, "OPTIONS")))
		return bad(err, "the target \"*\" is for OPTIONS alone", b, i);

	static const char version[] = "HTTP/1.x\r\n";
	size_t v = ++i;
	for (size_t k = 0; k < sizeof(version) - 1; k++, i++) {
		if (i == lim)
			return PEEK_MORE;
		bool ok = version[k] == 'x' ? b[i] == '0' || b[i] == '1' : b[i] == version[k];
		if (ok)
			continue;
		const char *why = "the version is not HTTP/1.0 or HTTP/1.1";
		if (version[k] == '\r' && b[i] == '\n')
			why = line_end(b[i]);
		else if (version[k] == '\n')
			why = "a bare CR (line ends are CRLF)";
		return bad(err, why, b + v, i - v + 1);
	}
	*pos = i;
	return PEEK_DONE;
}

/* A Host value without its surrounding OWS: host or host:port. */
static enum peek_status host_value(const uint8_t *v, size_t n, char out[PEEK_NAME_MAX],
				   struct perr *err)
{
	size_t hl; /* the host's length, brackets included */
	if (n > 0 && v[0] == '[') {
		const uint8_t *close = memchr(v, ']', n);
		if (!close)
			return bad(err, "the Host's IPv6 address has no ']'", v, n);
		hl = (size_t)(close - v) + 1;
		size_t al = hl - 2;
		if (al == 0 || al > IPV6_TEXT_MAX)
			return bad(err, "the Host's [...] is no IPv6 address", v, n);
		char text[IPV6_TEXT_MAX + 1];
		for (size_t i = 0; i < al; i++) {
			uint8_t c = v[1 + i];
			bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' ||
				  c == '.' || (c >= 'A' && c <= 'F');
			if (!ok)
				return bad(err, "the Host's [...] is no IPv6 address", v, n);
			text[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
		}
		text[al] = '\0';
		struct net_addr a;
		if (net_parse(text, false, &a, NULL) < 0 || a.family != NET_V6)
			return bad(err, "the Host's [...] is no IPv6 address", v, n);
		memcpy(out, text, al + 1);
	} else {
		const uint8_t *colon = memchr(v, ':', n);
		hl = colon ? (size_t)(colon - v) : n;
		if (peek_host_name(v, hl, out, "HTTP request: the Host", err) < 0)
			return PEEK_BAD;
		if (strspn(out, "0123456789.") == strlen(out)) {
			struct net_addr a;
			if (net_parse(out, false, &a, NULL) < 0 || a.family != NET_V4) {
				out[0] = '\0';
				return bad(err, "the Host is all digits and dots but no IPv4 address", v,
					   n);
			}
		}
	}
	if (hl == n)
		return PEEK_DONE;
	const uint8_t *port = v + hl + 1;
	size_t pl = n - hl - 1;
	unsigned value = 0;
	bool digits = v[hl] == ':' && pl >= 1 && pl <= PORT_DIGITS_MAX;
	for (size_t i = 0; digits && i < pl; i++) {
		digits = port[i] >= '0' && port[i] <= '9';
		if (digits)
			value = value * 10 + (unsigned)(port[i] - '0');
	}
	if (!digits || value < 1 || value > 65535) {
		out[0] = '\0';
		return bad(err, "the Host's port is not a number 1..65535 after ':'", v, n);
	}
	return PEEK_DONE;
}

/* One header line at b[*pos..lim), or the empty line that ends the head
 * (*end). A Host header's value goes to host; *hosts counts them. */
static enum peek_status header_line(const uint8_t *b, size_t lim, size_t *pos, bool *end,
				    unsigned *hosts, char host[PEEK_NAME_MAX], struct perr *err)
{
	size_t i = *pos;
	if (i == lim)
		return PEEK_MORE;
	if (b[i] == '\r') {
		if (i + 1 == lim)
			return PEEK_MORE;
		if (b[i + 1] != '\n')
			return bad(err, "a bare CR (line ends are CRLF)", b + i, 2);
		*pos = i + 2;
		*end = true;
		return PEEK_DONE;
	}
	if (b[i] == ' ' || b[i] == '\t')
		return bad(err, "a header line starts with whitespace (obs-fold, or a header "
				"hidden from some servers)", b + i, 1);

	size_t n0 = i;
	while (i < lim && tchar(b[i]))
		i++;
	if (i == lim)
		return PEEK_MORE;
	if (b[i] != ':') {
		const char *why;
		if (b[i] == ' ' || b[i] == '\t')
			why = "whitespace between a header name and its colon";
		else if (b[i] == '\r')
			why = "a header line has no colon";
		else if (line_end(b[i]))
			why = line_end(b[i]);
		else
			why = "a header name has a byte that is not a token character";
		return bad(err, why, b + n0, i - n0 + 1);
	}
	if (i == n0)
		return bad(err, "a header line has no name before its colon", b + i, 1);
	const uint8_t *name = b + n0;
	size_t nl = i - n0;

	size_t v0 = ++i;
	for (; i < lim && b[i] != '\r'; i++) {
		uint8_t c = b[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			const char *why = line_end(c);
			return bad(err, why ? why : "a control byte in a header value", name,
				   i - n0 + 1);
		}
	}
	if (i + 1 >= lim)
		return PEEK_MORE;
	if (b[i + 1] != '\n')
		return bad(err, "a bare CR (line ends are CRLF)", name, i - n0 + 2);
	*pos = i + 2;

	if (nl != 4 || strncasecmp((const char *)name, "host", 4) != 0)
		return PEEK_DONE;
	if (++*hosts > 1)
		return bad(err, "a second Host header (servers differ on which one counts)", name,
			   i - n0);
	size_t ve = i;
	while (v0 < ve && (b[v0] == ' ' || b[v0] == '\t'))
		v0++;
	while (ve > v0 && (b[ve - 1] == ' ' || b[ve - 1] == '\t'))
		ve--;
	if (v0 == ve)
		return bad(err, "the Host header is empty", name, i - n0);
	return host_value(b + v0, ve - v0, host, err);
}

enum peek_status httphost_parse(const uint8_t *buf, size_t len, char *host, size_t hostlen,
				struct perr *err)
{
	if (hostlen > 0)
		host[0] = '\0';
	size_t lim = len < HTTPHOST_MAX ? len : HTTPHOST_MAX;
	size_t pos = 0;
	char name[PEEK_NAME_MAX] = "";
	unsigned hosts = 0;
	enum peek_status st = request_line(buf, lim, &pos, err);
	for (bool end = false; st == PEEK_DONE && !end;)
		st = header_line(buf, lim, &pos, &end, &hosts, name, err);
	if (st == PEEK_MORE && len >= HTTPHOST_MAX) {
		perr_set(err, "HTTP request: no end of the request head (an empty line) in its first "
			      "%d bytes", HTTPHOST_MAX);
		return PEEK_BAD;
	}
	if (st != PEEK_DONE)
		return st;
	if (hosts == 0) {
		perr_set(err, "HTTP request: no Host header; the name check needs the host the request "
			      "is for");
		return PEEK_BAD;
	}
	size_t n = strlen(name);
	if (n >= hostlen) {
		perr_set(err, "HTTP request: the Host \"%s\" is longer than the %zu bytes it is read "
			      "into", name, hostlen);
		return PEEK_BAD;
	}
	memcpy(host, name, n + 1);
	return PEEK_DONE;
}
