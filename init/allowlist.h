/* The allowlist: what the agent may reach. Entries come from the command
 * line, the environment, root-owned files and built-in presets. Parsing is
 * pure; only allowlist_read_file touches the file system. */
#ifndef PALISADE_ALLOWLIST_H
#define PALISADE_ALLOWLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../fw/net.h"
#include "../lib/err.h"

enum entry_kind {
	ENTRY_DOMAIN,   /* api.anthropic.com */
	ENTRY_WILDCARD, /* *.example.com: name holds "example.com" */
	ENTRY_NET,      /* an address or a CIDR */
};

#define DOMAIN_MAX 253
#define ORIGIN_MAX 160

struct entry {
	enum entry_kind kind;
	enum port_scope ports; /* host, host:PORT, host:* */
	uint16_t port;
	bool tls;              /* host:PORT/tls: the name check reads PORT too */
	char name[DOMAIN_MAX + 1];
	struct net_addr net;
	char origin[ORIGIN_MAX]; /* "--allow", "/etc/palisade/allow line 3", "@npm" */
};

struct allowlist_index;

/* A name that may resolve to private addresses (--allow-private NAME,
 * PALISADE_ALLOW_PRIVATE, a "private NAME" line): kind ENTRY_DOMAIN or,
 * written explicitly, ENTRY_WILDCARD. */
struct private_name {
	enum entry_kind kind;
	char name[DOMAIN_MAX + 1];
	char origin[ORIGIN_MAX];
};

struct allowlist {
	struct entry *v;
	size_t n, cap;
	struct allowlist_index *index; /* finds duplicates */
	struct private_name *priv;     /* names opted in to private addresses */
	size_t npriv, privcap;
};

/* Longest line of an allowlist file, and longest entry anywhere. */
#define ALLOW_LINE_MAX 1024

/* Parses one entry (no surrounding blanks). "@name" is not an entry: the
 * caller expands presets. Returns 0, or -1 with err (EINVAL) saying why, in
 * the form `"exa mple.com" is not a domain, address or CIDR`. */
int entry_parse(const char *text, struct entry *out, struct perr *err);

/* Checks a host name: labels of letters, digits, '-' and '_', 1-63 long, not
 * starting or ending with '-', 253 at most, and not all-numeric at the end. */
bool domain_valid(const char *name);

/* Writes the entry as a user would write it: "example.com:443",
 * "[2001:db8::1]:22", "*.example.com", "10.0.0.0/8:*". */
void entry_format(const struct entry *e, char *buf, size_t len);

/* Whether the entry allows the name (lowercase, no final dot): a domain
 * entry its name alone, "*.example.com" every name strictly under
 * example.com ("a.example.com", "a.b.example.com", not "example.com" nor
 * "badexample.com"). An address or network allows no name. */
bool entry_matches(const struct entry *e, const char *name);

void allowlist_init(struct allowlist *l);
void allowlist_free(struct allowlist *l);

/* Adds one item ("@preset" or an entry) from origin; an entry already there
 * is dropped silently. Returns 0 or -1 with `origin: "text" ...` in err. */
int allowlist_add(struct allowlist *l, const char *text, const char *origin,
		  struct perr *err);

/* Adds every item of a list separated by commas, spaces, tabs or newlines
 * (PALISADE_ALLOW). origin names the source, e.g. "PALISADE_ALLOW". */
int allowlist_add_list(struct allowlist *l, const char *text,
		       const char *origin, struct perr *err);

/* Opts a name in to private addresses: "db.corp.example" or, explicitly,
 * "*.corp.example" (every name under it). An address, a network or a port
 * is refused: those are written as entries and mean what they say. The
 * name is not allowed by this alone. Returns 0 or -1 with
 * `origin: "text" ...` in err. */
int allowlist_add_private(struct allowlist *l, const char *text, const char *origin,
			  struct perr *err);

/* Every item of a list separated by commas, spaces, tabs or newlines
 * (PALISADE_ALLOW_PRIVATE), each opted in. */
int allowlist_add_private_list(struct allowlist *l, const char *text, const char *origin,
			       struct perr *err);

/* Whether an answer for name (lowercase, no final dot) may be a private
 * address: name is an opted-in name or under an opted-in *.suffix. */
bool allowlist_private_ok(const struct allowlist *l, const char *name);

/* Checks that each opted-in name is one that an entry allows (a typo would
 * otherwise go unnoticed): "db.corp.example" needs the entry
 * db.corp.example or a wildcard over it; "*.corp.example" needs the same
 * wildcard, a wider one, or a name under corp.example. */
int allowlist_check_private(const struct allowlist *l, struct perr *err);

/* Adds every line of buf (len bytes, not NUL-terminated): one item a line,
 * blank lines and '#' comments allowed. A line "private NAME" opts NAME in
 * to private addresses (allowlist_add_private). Lines longer than
 * ALLOW_LINE_MAX and NUL bytes are refused with the line number. origin is
 * the file name. */
int allowlist_add_text(struct allowlist *l, const char *buf, size_t len,
		       const char *origin, struct perr *err);

/* Reads an allowlist file after checking that only root can have written
 * it (see safefile.h). */
int allowlist_read_file(struct allowlist *l, const char *path, struct perr *err);

/* Keeps only the names (domains and wildcards), in their order, and gives
 * the memory of the rest back: once the fence holds the addresses and
 * networks, PID 1 needs only the names. No entry may be added afterwards. */
void allowlist_keep_names(struct allowlist *l);

#endif
