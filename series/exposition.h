/* SPDX-License-Identifier: MIT */
/* exposition: samples written in the Prometheus text exposition format,
 * grouped by family with their HELP and TYPE (what --dry-run prints).
 * Stale markers are not representable in the text format and are skipped.
 * Nor is a native histogram (0.0.4 has no form for one): it is a comment,
 * "# native histogram NAME{LABELS} count=N sum=S", which parsers skip; with
 * histograms: both its classic series are printed as usual. */
#ifndef BPFPUSH_EXPOSITION_H
#define BPFPUSH_EXPOSITION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/sample.h"

/* Timestamps are printed only where they differ from round_ts_ms (the
 * client-side timestamps of textfile samples). Returns 0 or -1 (EIO). */
int exposition_write(FILE *out, const struct sample *samples, size_t n, int64_t round_ts_ms);

#endif
