/* SPDX-License-Identifier: MIT */
/* caps: the capabilities the agent keeps once its BPF programs are loaded
 * and attached and its files are open: by default none. */
#ifndef BPFPUSH_CAPS_H
#define BPFPUSH_CAPS_H

#include <stddef.h>
#include <stdint.h>

#include "series/registry.h"

/* A set of capabilities: bit n is capability n (CAP_BPF is 39). */
typedef uint64_t caps_mask;

/* --capabilities-keep: comma-separated names, "bpf", "cap_bpf" or
 * "CAP_BPF" alike; "" or "none" is the empty set. 0, or -1 with the
 * unknown name in err. */
int caps_parse_list(const char *list, caps_mask *out, char *err, size_t errsz);

/* Drops every capability not in keep from the effective, permitted,
 * inheritable and ambient sets of every thread of the process, and from
 * the bounding set where CAP_SETPCAP allows it; sets no_new_privs; logs
 * what was kept. 0, or -1 (logged) when the main thread could not drop. */
int caps_drop(caps_mask keep);

/* bpfpush_capabilities{set,capability} 1 for each capability held after
 * caps_drop, in the effective, permitted and bounding sets. */
void caps_emit(struct registry *reg);

#endif
