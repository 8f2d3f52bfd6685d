/* SPDX-License-Identifier: MIT */
/* log: logfmt lines on stderr. A leaf utility: every module may use it.
 *
 *   ts=2026-11-21T05:33:39.123Z level=info msg="remote_write started" url=...
 *
 * Key/value pairs are passed as a printf-style tail that the caller writes
 * already in logfmt; log_quote() helps with values that need quoting. */
#ifndef BPFPUSH_LOG_H
#define BPFPUSH_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Returns 0 and sets the level from "debug", "info", "warn" or "error";
 * -1 for anything else. */
int log_set_level_name(const char *name);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

/* msg is quoted for you; fmt (may be NULL) is the logfmt tail, e.g.
 * log_msg(LOG_WARN, "batch dropped", "status=%d url=%s", 400, url); */
void log_msg(enum log_level level, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes value into out (size outsz) as a logfmt value: quoted and escaped
 * when it holds spaces, quotes, '=' or control bytes. Returns out. */
const char *log_quote(const char *value, size_t len, char *out, size_t outsz);

/* A tap sees every line at warn and error, whatever the level set (the
 * status page keeps why a collector is off): msg and the logfmt tail
 * ("" when none). One tap at a time, set before other threads start; it
 * is called on the logging thread, so it must be thread-safe. */
typedef void (*log_tap_fn)(enum log_level level, const char *msg, const char *tail);
void log_set_tap(log_tap_fn tap);

#endif
