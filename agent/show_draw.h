/* SPDX-License-Identifier: MIT */
/* show_draw: what `bpfpush show` prints, as text lines: a histogram the
 * way bcc's runqlat draws one (a row per log2 slot: its range in human
 * units, the count, a bar of '*'), the headline counters' top series, a
 * collector that is not running and why. Lines may be longer than the
 * terminal: show_clip_line cuts them where the terminal does, escape
 * sequences (colour) not counted. */
#ifndef BPFPUSH_SHOW_DRAW_H
#define BPFPUSH_SHOW_DRAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "series/histview.h"

struct show_style {
	int width;   /* columns */
	bool colour; /* ANSI colour on */
};

/* v with counts[i] observations in bucket i during the interval, sum_delta
 * their sum (NAN: unknown). */
void show_draw_histogram(FILE *out, const struct show_style *st, const struct hist_view *v,
			 const double *counts, double sum_delta);

/* One line naming the histograms of family that saw nothing this interval. */
void show_draw_quiet(FILE *out, const struct show_style *st, const char *family, size_t n);

struct show_row {
	const char *labels; /* `k="v",...`, "" when none */
	double delta;       /* during the interval */
};

/* A counter family: its total during the interval, its top rows (by delta,
 * largest first) and how many more series changed. */
void show_draw_counters(FILE *out, const struct show_style *st, const char *family,
			double total, const struct show_row *rows, size_t n_rows, size_t n_more);

/* A collector that does not run, and why. */
void show_draw_off(FILE *out, const struct show_style *st, const char *name, const char *why);

/* The first width visible columns of line[0..len) into out (escape
 * sequences kept whole, a colour reset added when one was cut); returns
 * the bytes written. */
size_t show_clip_line(const char *line, size_t len, int width, char *out, size_t size);

/* v's value in human units: "512ns", "2.048ms", "4KiB", "1.5e+06". */
void show_human(double v, const char *family, char *out, size_t size);

#endif
