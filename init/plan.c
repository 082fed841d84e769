#include "plan.h"

#include <string.h>

#include "presets.h"

void plan_print_presets(FILE *out)
{
	for (size_t i = 0; i < presets_count; i++) {
		const struct preset *p = &presets[i];
		fprintf(out, "@%s: %s\n", p->name, p->what);
		for (const char *const *e = p->entries; *e; e++)
			fprintf(out, "    %s\n", *e);
	}
}

static void print_ports(FILE *out, const struct entry *e, const struct port_list *def)
{
	char buf[256];
	switch (e->ports) {
	case PORTS_DEFAULT:
		port_list_format(def, buf, sizeof(buf));
		fprintf(out, "%s", buf);
		break;
	case PORTS_ONE:
		fprintf(out, "tcp %u udp %u", e->port, e->port);
		break;
	case PORTS_ALL:
		fprintf(out, "every port and protocol");
		break;
	}
}

void plan_print_config(FILE *out, const struct config *c, const struct agent_user *u)
{
	fprintf(out, "user: %s (uid %u, gid %u, groups", u->name, (unsigned)u->uid,
		(unsigned)u->gid);
	for (size_t i = 0; i < u->ngroups; i++)
		fprintf(out, "%s%u", i ? "," : " ", (unsigned)u->groups[i]);
	fprintf(out, "), home %s%s\n", u->home, u->in_passwd ? "" : " (not in /etc/passwd)");

	fprintf(out, "command:");
	if (c->command)
		for (char **a = c->command; *a; a++)
			fprintf(out, " %s", *a);
	else
		fprintf(out, " (none given)");
	fprintf(out, "\n");

	fprintf(out, "allowlist: %zu entr%s\n", c->allow.n, c->allow.n == 1 ? "y" : "ies");
	for (size_t i = 0; i < c->allow.n; i++) {
		const struct entry *e = &c->allow.v[i];
		char text[DOMAIN_MAX + 64];
		entry_format(e, text, sizeof(text));
		fprintf(out, "  %-32s ", text);
		if (e->kind == ENTRY_WILDCARD)
			fprintf(out, "(wildcards take effect through the DNS filter)");
		else
			print_ports(out, e, &c->default_ports);
		fprintf(out, "  [%s]\n", e->origin);
	}
	for (size_t i = 0; i < c->allow.npriv; i++) {
		const struct private_name *p = &c->allow.priv[i];
		char text[DOMAIN_MAX + 16];
		snprintf(text, sizeof(text), "%s%s", p->kind == ENTRY_WILDCARD ? "*." : "", p->name);
		fprintf(out, "  private %-24s may resolve to private addresses  [%s]\n", text,
			p->origin);
	}
	if (c->expose.n) {
		char buf[256];
		port_list_format(&c->expose, buf, sizeof(buf));
		fprintf(out, "incoming: %s\n", buf);
	}
	if (c->no_name_check) {
		fprintf(out, "name check: off (--no-name-check): an allowed address serves every "
			     "name it hosts\n");
	} else {
		char buf[256];
		port_list_format(&c->checked_ports, buf, sizeof(buf));
		fprintf(out, "name check: the TLS server name (HTTP Host on port 80) of each new "
			     "connection to %s of a name's address must be allowed; QUIC (udp 443) "
			     "to a name's address is refused, so clients use TCP; addresses and "
			     "CIDRs of the allowlist are not checked\n", buf);
	}
}
