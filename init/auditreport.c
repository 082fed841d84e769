#include "auditreport.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../dns/dnsmsg.h"
#include "../lib/fdio.h"

void audit_report_init(struct audit_report *r)
{
	memset(r, 0, sizeof(*r));
}

void audit_report_free(struct audit_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

void audit_report_add(struct audit_report *r, const char *line)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i], line) == 0)
			return;
	if (r->n >= AUDITREPORT_MAX)
		return;
	char **v = realloc(r->v, (r->n + 1) * sizeof(*v));
	if (!v)
		return;
	r->v = v;
	if ((r->v[r->n] = strdup(line)))
		r->n++;
}

void audit_report_private(struct audit_report *r, const char *name)
{
	char line[DNS_NAME_MAX + 16];
	snprintf(line, sizeof(line), "private %s", name);
	audit_report_add(r, line);
}

static bool default_port(const struct config *cfg, uint8_t proto, uint16_t port)
{
	const struct port_list *l = &cfg->default_ports;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].proto == proto && l->v[i].port == port)
			return true;
	return false;
}

void audit_report_packet(struct audit_report *r, const struct config *cfg,
			 const struct hostnet *host, const struct pktlog_event *ev,
			 const char *name)
{
	char line[DNS_NAME_MAX + NET_ADDR_STRLEN + 16], a[NET_ADDR_STRLEN];
	if (name) {
		/* Allowing the name alone would not let this address through: a
		 * private one needs the name opted in too; one that no name may
		 * bring in is not put in the report as an entry (the user
		 * decides whether to write the address itself), only said in a
		 * comment. */
		char why[REBIND_WHY_MAX];
		enum rebind_verdict v = rebind_classify(&ev->dst, host, why, sizeof(why));
		if (v == REBIND_NEVER) {
			char m[REBIND_MSG_MAX], c[REBIND_MSG_MAX + 4];
			rebind_message(name, &ev->dst, v, why, m, sizeof(m));
			snprintf(c, sizeof(c), "# %s", m);
			audit_report_add(r, c);
			return;
		}
		if (v == REBIND_PRIVATE && !allowlist_private_ok(&cfg->allow, name))
			audit_report_private(r, name);
	}
	net_format(&ev->dst, a, sizeof(a));
	bool ports = ev->proto == IPPROTO_TCP || ev->proto == IPPROTO_UDP;
	bool dflt = ports && default_port(cfg, ev->proto, ev->dport);
	const char *dest = name ? name : a;
	/* An IPv6 address with a port is written [address]:port. */
	bool v6lit = !name && ev->dst.family == NET_V6;
	if (dflt)
		snprintf(line, sizeof(line), "%s", dest);
	else if (!ports)
		snprintf(line, sizeof(line), v6lit ? "[%s]:*" : "%s:*", dest);
	else
		snprintf(line, sizeof(line), v6lit ? "[%s]:%u" : "%s:%u", dest, ev->dport);
	audit_report_add(r, line);
}

int audit_report_write(const struct audit_report *r, const struct config *cfg, int fd,
		       struct perr *err)
{
	char line[ALLOW_LINE_MAX + 64];
	int rc = 0;
	snprintf(line, sizeof(line), "# palisade --audit report: an allowlist that lets this run "
		 "through.\n# Already allowed:\n");
	rc = write_full(fd, line, strlen(line));
	for (size_t i = 0; i < cfg->allow.n && rc == 0; i++) {
		char e[ALLOW_LINE_MAX];
		entry_format(&cfg->allow.v[i], e, sizeof(e));
		snprintf(line, sizeof(line), "%s\n", e);
		rc = write_full(fd, line, strlen(line));
	}
	for (size_t i = 0; i < cfg->allow.npriv && rc == 0; i++) {
		const struct private_name *p = &cfg->allow.priv[i];
		snprintf(line, sizeof(line), "private %s%s\n", p->kind == ENTRY_WILDCARD ? "*." : "",
			 p->name);
		rc = write_full(fd, line, strlen(line));
	}
	if (rc == 0) {
		snprintf(line, sizeof(line), "# Reached only because of --audit (%zu):\n", r->n);
		rc = write_full(fd, line, strlen(line));
	}
	for (size_t i = 0; i < r->n && rc == 0; i++) {
		snprintf(line, sizeof(line), "%s\n", r->v[i]);
		rc = write_full(fd, line, strlen(line));
	}
	int write_errno = rc < 0 ? errno : 0;
	/* Closed whatever happened; on a network file system, close is where
	 * a failed write shows. */
	if (close(fd) < 0 && write_errno == 0)
		return perr_sys(err, errno, "closing the audit report");
	if (write_errno)
		return perr_sys(err, write_errno, "writing the audit report");
	return 0;
}
