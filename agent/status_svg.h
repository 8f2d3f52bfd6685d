/* SPDX-License-Identifier: MIT */
/* status_svg: the status page's drawing: text escaped for HTML, values in
 * human units, and a histogram as an inline SVG in the manner of bcc's
 * runqlat: one row per log2 slot from the first non-empty one to the
 * last, its range, its count, and a bar (one rect.bar per non-empty slot,
 * its data-le the bucket's le as /metrics spells it). */
#ifndef BPFPUSH_STATUS_SVG_H
#define BPFPUSH_STATUS_SVG_H

#include <stdio.h>

#include "series/histview.h"

/* s with & < > " ' as entities. */
void html_escape(FILE *out, const char *s);

enum unit { UNIT_NONE, UNIT_SECONDS, UNIT_BYTES };

/* The unit of a family, from its name's suffix. */
enum unit unit_of(const char *family);
/* v in that unit, e.g. "512 us", "4 KiB", "1.5e+03". */
void format_human(double v, enum unit u, char *out, size_t size);

/* One histogram: its heading and its SVG; slots[i] the observations in
 * bucket i alone. */
void svg_histogram(FILE *out, const struct hist_view *v, const double *slots);

#endif
