#include "peek.h"

#include <stdio.h>
#include <string.h>

#define NAME_LEN_MAX (PEEK_NAME_MAX - 1)
#define LABEL_MAX 63

void peek_quote(const uint8_t *p, size_t len, char out[PEEK_QUOTE_MAX])
{
	/* Room for the longest form of one byte, "...", and the NUL. */
	const size_t stop = PEEK_QUOTE_MAX - 4 - 4;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (o >= stop) {
			memcpy(out + o, "...", 4);
			return;
		}
		uint8_t c = p[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
	}
	out[o] = '\0';
}

/* Writes the checked name to out; returns NULL, or why it is no name. */
static const char *host_name(const uint8_t *p, size_t len, char out[PEEK_NAME_MAX])
{
	size_t n = len;
	if (n > 0 && p[n - 1] == '.')
		n--;
	if (n == 0)
		return "is an empty host name";
	if (n > NAME_LEN_MAX)
		return "is longer than a host name (253 characters)";
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '.') {
			if (label == 0)
				return "has an empty label";
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			   c == '_') {
			label++;
		} else if (c >= 'A' && c <= 'Z') {
			c = (uint8_t)(c - 'A' + 'a');
			label++;
		} else {
			return "has a character that is not a letter, digit, '.', '-' or '_'";
		}
		if (label > LABEL_MAX)
			return "has a label longer than 63 characters";
		out[i] = (char)c;
	}
	if (label == 0)
		return "has an empty label";
	out[n] = '\0';
	return NULL;
}

int peek_host_name(const uint8_t *p, size_t len, char out[PEEK_NAME_MAX], const char *what,
		   struct perr *err)
{
	const char *why = host_name(p, len, out);
	if (!why)
		return 0;
	out[0] = '\0';
	char q[PEEK_QUOTE_MAX];
	peek_quote(p, len, q);
	return perr_set(err, "%s \"%s\" %s", what, q, why);
}
