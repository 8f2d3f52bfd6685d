/* SPDX-License-Identifier: MIT */
#include "agent/status_svg.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "lib/numfmt.h"

/* Row geometry (px): the range, then the count, then the bar. */
#define ROW_H 16
#define RANGE_W 150
#define COUNT_W 90
#define BAR_X (RANGE_W + COUNT_W + 10)
#define BAR_W 400
#define SVG_W (BAR_X + BAR_W + 10)

static void escape_n(FILE *out, const char *s, size_t n)
{
	for (const char *end = s + n; s < end; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
	}
}

void html_escape(FILE *out, const char *s)
{
	escape_n(out, s, strlen(s));
}

static bool agents_own(const char *name, size_t len)
{
	return (len == 3 && !strncmp(name, "job", 3)) || (len == 8 && !strncmp(name, "instance", 8));
}

/* labels (k="v",... as the text format spells them) in braces, without
 * job and instance: the agent's own, the same on every histogram. */
static void write_labels(FILE *out, const char *labels)
{
	bool first = true;

	for (const char *p = labels; *p;) {
		const char *eq = strchr(p, '='), *q;

		if (!eq || eq[1] != '"') { /* not the text format: as it is */
			fputs(first ? "{" : ",", out);
			html_escape(out, p);
			first = false;
			break;
		}
		for (q = eq + 2; *q && *q != '"'; q++)
			if (*q == '\\' && q[1])
				q++;
		q += *q ? 1 : 0; /* past the closing quote */
		if (!agents_own(p, (size_t)(eq - p))) {
			fputs(first ? "{" : ",", out);
			escape_n(out, p, (size_t)(q - p));
			first = false;
		}
		p = *q == ',' ? q + 1 : q;
	}
	if (!first)
		fputs("}", out);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

enum unit unit_of(const char *family)
{
	if (ends_with(family, "_seconds"))
		return UNIT_SECONDS;
	if (ends_with(family, "_bytes"))
		return UNIT_BYTES;
	return UNIT_NONE;
}

static void scaled(double v, const char *const *names, const double *scales, size_t n,
		   char *out, size_t size)
{
	size_t i = 0;

	while (i + 1 < n && fabs(v) >= scales[i + 1])
		i++;
	snprintf(out, size, "%.4g %s", v / scales[i], names[i]);
}

void format_human(double v, enum unit u, char *out, size_t size)
{
	static const char *const time_names[] = {"ns", "us", "ms", "s"};
	static const double time_scales[] = {1e-9, 1e-6, 1e-3, 1};
	static const char *const byte_names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	static const double byte_scales[] = {1, 1024, 1048576, 1073741824.0, 1099511627776.0};

	if (isinf(v) || isnan(v) || v == 0 || u == UNIT_NONE) {
		if (u == UNIT_NONE || v != 0)
			snprintf(out, size, "%.4g", v);
		else
			snprintf(out, size, "0");
		return;
	}
	if (u == UNIT_SECONDS)
		scaled(v, time_names, time_scales, 4, out, size);
	else
		scaled(v, byte_names, byte_scales, 5, out, size);
}

/* The first and last non-empty slot; false when all are empty. */
static bool span(const double *slots, size_t n, size_t *first, size_t *last, double *max)
{
	bool any = false;

	*max = 0;
	for (size_t i = 0; i < n; i++) {
		if (slots[i] <= 0)
			continue;
		if (!any)
			*first = i;
		*last = i;
		any = true;
		*max = slots[i] > *max ? slots[i] : *max;
	}
	return any;
}

/* Row i: "lo - hi", the count, and the bar when the slot holds any. */
static void svg_row(FILE *out, const struct hist_view *v, const double *slots, size_t i,
		    double y, double max)
{
	enum unit u = unit_of(v->family);
	char lo[32], hi[32], le[40];
	double lower = i ? v->buckets[i - 1].le : 0;

	format_human(lower, u, lo, sizeof(lo));
	format_human(v->buckets[i].le, u, hi, sizeof(hi));
	fprintf(out, "<text x=\"%d\" y=\"%.0f\" text-anchor=\"end\">%s &#8211; %s</text>",
		RANGE_W, y + ROW_H - 4, lo, isinf(v->buckets[i].le) ? "&#8734;" : hi);
	/* Digits past 12 would run into the range: then 1.235e+13. */
	fprintf(out, "<text x=\"%d\" y=\"%.0f\" text-anchor=\"end\">%.*g</text>",
		RANGE_W + COUNT_W, y + ROW_H - 4, slots[i] < 1e12 ? 12 : 4, slots[i]);
	if (slots[i] <= 0) {
		fputs("\n", out);
		return;
	}
	format_double(v->buckets[i].le, le, sizeof(le));
	/* A slot far below the largest still shows: one pixel at least. */
	fprintf(out, "<rect class=\"bar\" data-le=\"%s\" data-count=\"%.0f\" x=\"%d\" y=\"%.0f\" "
		"width=\"%.1f\" height=\"%d\"/>\n", le, slots[i], BAR_X, y + 2,
		fmax(1.0, slots[i] / max * BAR_W), ROW_H - 4);
}

static void svg_heading(FILE *out, const struct hist_view *v)
{
	enum unit u = unit_of(v->family);
	char sum[32], mean[32];

	format_human(v->sum, u, sum, sizeof(sum));
	format_human(v->count > 0 ? v->sum / v->count : 0, u, mean, sizeof(mean));
	fputs("<h3>", out);
	html_escape(out, v->family);
	write_labels(out, v->labels);
	fprintf(out, "</h3>\n<p class=\"note\">%.0f observations so far, "
		"sum %s, mean %s</p>\n", v->count, sum, mean);
}

void svg_histogram(FILE *out, const struct hist_view *v, const double *slots)
{
	size_t first = 0, last = 0;
	double max;
	int rows;

	svg_heading(out, v);
	fputs("<svg class=\"hist\" data-family=\"", out);
	html_escape(out, v->family);
	fputs("\" data-labels=\"", out);
	html_escape(out, v->labels);
	if (!span(slots, v->n_buckets, &first, &last, &max)) {
		fprintf(out, "\" width=\"%d\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">"
			"<text x=\"0\" y=\"14\">no observations yet</text></svg>\n", SVG_W, ROW_H);
		return;
	}
	rows = (int)(last - first + 1);
	fprintf(out, "\" width=\"%d\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\" "
		"role=\"img\">\n", SVG_W, rows * ROW_H);
	for (size_t i = first; i <= last; i++)
		svg_row(out, v, slots, i, (double)(i - first) * ROW_H, max);
	fputs("</svg>\n", out);
}
