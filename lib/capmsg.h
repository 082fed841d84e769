/* How palisade says that it lacks a capability: the capability by name and
 * the flag that gives it, for docker run, podman run and Kubernetes alike,
 * the same at every failure. */
#ifndef PALISADE_CAPMSG_H
#define PALISADE_CAPMSG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "text.h"

/* A capability's name as the flags spell it: "NET_ADMIN" for
 * CAP_NET_ADMIN; NULL for a number the kernel headers do not name. */
const char *cap_name(int cap);

/* The process's effective capabilities as a mask of 1 << CAP_*. Returns -1
 * when the kernel does not say. */
int cap_effective(uint64_t *mask);

/* Whether the process holds cap in its effective set: 1, 0, or -1 when the
 * kernel does not say. */
int cap_held(int cap);

/* Appends the fix for the capabilities caps[0..n): 'run the container with
 * --cap-add A --cap-add B (docker run, podman run; Kubernetes:
 * securityContext.capabilities.add: ["A", "B"])'. Pure. */
void cap_fix(struct text *t, const int *caps, size_t n);

/* The message for an operation (what) that the kernel refused with EPERM
 * or EACCES and that needs cap; held is cap_held's answer. Without the
 * capability: "WHAT: permission denied: palisade lacks CAP_X; run the
 * container with ..."; with it, what else refuses. err->err is EPERM.
 * Returns -1. Pure. */
int cap_refused(struct perr *err, int cap, int held, const char *what);

/* The message for an operation (what) that the kernel refused with EPERM,
 * which it says both when cap is lacking and when another socket owns
 * what was asked for (a netfilter log group, a packet queue); other says
 * that ("another program holds that queue"). Asks cap_held: without cap,
 * cap_refused's message; with it, "WHAT: OTHER; stop it" and err->err
 * EBUSY; when the kernel does not say, both. Returns -1. */
int cap_refused_or_taken(struct perr *err, int cap, const char *what, const char *other);

#endif
