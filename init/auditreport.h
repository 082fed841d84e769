/* Audit mode's report: an allowlist that would have let the run through.
 * It starts with the entries already allowed, then lists what was reached
 * only because of --audit: names the allowlist did not allow, destinations
 * the fence would have refused (by name when the agent looked one up for
 * them), the private-address opt-ins a name needed, and, as comments,
 * what no entry may let through. Lines are gathered while the agent runs
 * and written once, at exit. */
#ifndef PALISADE_AUDITREPORT_H
#define PALISADE_AUDITREPORT_H

#include <stddef.h>

#include "../fw/pktlog.h"
#include "../fw/rebind.h"
#include "../lib/err.h"
#include "config.h"

#define AUDITREPORT_MAX 4096 /* lines at most; later ones are dropped */

struct audit_report {
	char **v;
	size_t n;
};

void audit_report_init(struct audit_report *r);
void audit_report_free(struct audit_report *r);

/* Adds a line unless it is there already (or out of memory: a report is
 * help, not a record). */
void audit_report_add(struct audit_report *r, const char *line);
/* "private NAME": the opt-in a name needed for a private answer. */
void audit_report_private(struct audit_report *r, const char *name);
/* The line that would let a packet through that the fence logged in audit
 * mode: its destination by name (name, what the agent last looked up for
 * it) or address, with its port unless it is a default one. A private
 * destination of a name not opted in adds the opt-in; one no name may
 * bring in (host: the container's neighbourhood) only a comment. */
void audit_report_packet(struct audit_report *r, const struct config *cfg,
			 const struct hostnet *host, const struct pktlog_event *ev,
			 const char *name);

/* Writes the report to fd: cfg's entries and opt-ins, then r. Closes fd,
 * also on failure; a failed write or close is an error. */
int audit_report_write(const struct audit_report *r, const struct config *cfg, int fd,
		       struct perr *err);

#endif
