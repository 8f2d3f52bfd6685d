/* SPDX-License-Identifier: MIT */
/* offlog: why a collector is off, as the one warning that said so put it
 * ("bpf collector disabled: kernel lacks its hook", "collector disabled:
 * init failed", with its fields), kept for the status page. A log tap
 * (lib/log.h) catches those lines on whatever thread logs them. */
#ifndef BPFPUSH_OFFLOG_H
#define BPFPUSH_OFFLOG_H

#include <stdbool.h>
#include <stddef.h>

/* Installs the tap; before the collectors load. */
void offlog_start(void);

/* The last reason logged for collector, its collector= field left out,
 * into buf; false when none was. Any thread. */
bool offlog_reason(const char *collector, char *buf, size_t size);

/* Calls fn for each collector with a reason, in the order first logged
 * (under the table's lock: fn must not log or call offlog). */
void offlog_each(void (*fn)(void *arg, const char *collector, const char *reason), void *arg);

#endif
