/* SPDX-License-Identifier: MIT */
/* status_html: the status page (GET /) as HTML, from a round's samples,
 * the way /metrics is: per remote_write endpoint its queue (pending in
 * memory and on disk, shards, last successful send, errors by class,
 * bytes per sample), per collector its last duration and success (one
 * that is off says why: agent/offlog.h), per BPF program its cost per
 * event between the last two pages, and every classic histogram as an
 * inline SVG. No script, no external asset; a meta refresh reloads it. */
#ifndef BPFPUSH_STATUS_HTML_H
#define BPFPUSH_STATUS_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/sample.h"

struct status_html;

struct status_html *status_html_new(void);
void status_html_free(struct status_html *h);

/* The page of the round samples[0..n) into out, reloading itself every
 * refresh_s seconds. On the thread that owns the registry (series' labels
 * are read). 0, or -1 on ENOMEM or a failed write. Memory is reused: a
 * round of the same shape as the last allocates nothing. */
int status_html_write(struct status_html *h, FILE *out, const struct sample *samples, size_t n,
		      int64_t round_ts_ms, int refresh_s);

/* The page before the first round. */
void status_html_write_waiting(FILE *out);

#endif
