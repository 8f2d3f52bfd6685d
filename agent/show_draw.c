/* SPDX-License-Identifier: MIT */
#include "agent/show_draw.h"

#include <math.h>
#include <string.h>

#define BOLD "\033[1m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define RESET "\033[0m"

/* Below this many columns a row is "<=hi count bar": the full one,
 * "lo -> hi : count |bar|", leaves no room for the bar. */
#define WIDE_ROW 50
#define MAX_BAR 200

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* v in units of unit, four significant digits: "2.048ms". */
static void scaled(double v, double unit, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%.4g%s", v / unit, name);
}

void show_human(double v, const char *family, char *out, size_t size)
{
	static const struct { double unit; const char *name; } secs[] = {
		{1, "s"}, {1e-3, "ms"}, {1e-6, "us"}, {1e-9, "ns"}};
	static const char *const bytes[] = {"B", "KiB", "MiB", "GiB", "TiB"};

	if (isinf(v)) {
		snprintf(out, size, "inf");
	} else if (ends_with(family, "_seconds") && v > 0) {
		size_t i = 0;
		while (i + 1 < sizeof(secs) / sizeof(secs[0]) && v < secs[i].unit)
			i++;
		scaled(v, secs[i].unit, secs[i].name, out, size);
	} else if (ends_with(family, "_bytes")) {
		size_t i = 0;
		while (i + 1 < sizeof(bytes) / sizeof(bytes[0]) && v >= ldexp(1, 10 * ((int)i + 1)))
			i++;
		scaled(v, ldexp(1, 10 * (int)i), bytes[i], out, size);
	} else {
		snprintf(out, size, "%.4g", v);
	}
}

static void count_text(double c, char *out, size_t size)
{
	if (c < 1e7)
		snprintf(out, size, "%.0f", c);
	else
		snprintf(out, size, "%.3g", c);
}

/* n of '*' (at least one for a count above zero) in a field of width. */
static void put_bar(FILE *out, const struct show_style *st, double c, double max, int width)
{
	int n = max > 0 ? (int)lround(c / max * width) : 0;

	if (c > 0 && n < 1)
		n = 1;
	if (n > width)
		n = width;
	if (st->colour)
		fputs(GREEN, out);
	for (int i = 0; i < n; i++)
		fputc('*', out);
	if (st->colour)
		fputs(RESET, out);
	fprintf(out, "%*s", width - n, "");
}

static void draw_row(FILE *out, const struct show_style *st, const struct hist_view *v,
		     size_t i, double c, double max)
{
	char lo[24], hi[24], cnt[24];
	double lower = i ? v->buckets[i - 1].le : 0;
	int bar;

	show_human(lower, v->family, lo, sizeof(lo));
	show_human(v->buckets[i].le, v->family, hi, sizeof(hi));
	count_text(c, cnt, sizeof(cnt));
	if (st->width < WIDE_ROW) {
		char range[32];
		snprintf(range, sizeof(range), "%s%s", isinf(v->buckets[i].le) ? ">" : "<=",
			 isinf(v->buckets[i].le) ? lo : hi);
		bar = st->width - 9 - 1 - 6 - 1;
		fprintf(out, "%9s %6s ", range, cnt);
		put_bar(out, st, c, max, bar < 1 ? 1 : bar);
		fputc('\n', out);
		return;
	}
	bar = st->width - (9 + 4 + 9 + 3 + 8) - 2;
	fprintf(out, "%9s -> %-9s : %-7s |", lo, hi, cnt);
	put_bar(out, st, c, max, bar > MAX_BAR ? MAX_BAR : bar);
	fputs("|\n", out);
}

static void draw_title(FILE *out, const struct show_style *st, const struct hist_view *v,
		       double total, double sum_delta)
{
	char avg[24] = "", cnt[24];

	if (total > 0 && !isnan(sum_delta) && sum_delta >= 0)
		show_human(sum_delta / total, v->family, avg, sizeof(avg));
	fprintf(out, "%s%s%s%s%s%s", st->colour ? BOLD : "", v->family, *v->labels ? "{" : "",
		v->labels, *v->labels ? "}" : "", st->colour ? RESET : "");
	count_text(total, cnt, sizeof(cnt));
	fprintf(out, "  %s events%s%s\n", cnt, *avg ? ", avg " : "", avg);
}

void show_draw_histogram(FILE *out, const struct show_style *st, const struct hist_view *v,
			 const double *counts, double sum_delta)
{
	size_t first = v->n_buckets, last = 0;
	double total = 0, max = 0;

	for (size_t i = 0; i < v->n_buckets; i++) {
		total += counts[i];
		if (counts[i] > max)
			max = counts[i];
		if (counts[i] > 0) {
			if (first == v->n_buckets)
				first = i;
			last = i;
		}
	}
	draw_title(out, st, v, total, sum_delta);
	if (first == v->n_buckets) {
		fputs("  (no events in this interval)\n", out);
		return;
	}
	if (st->width >= WIDE_ROW)
		fprintf(out, "%22s : %-7s  distribution\n", "range", "count");
	for (size_t i = first; i <= last; i++)
		draw_row(out, st, v, i, counts[i], max);
}

void show_draw_quiet(FILE *out, const struct show_style *st, const char *family, size_t n)
{
	(void)st;
	fprintf(out, "%s: %zu label sets without events this interval\n", family, n);
}

void show_draw_counters(FILE *out, const struct show_style *st, const char *family,
			double total, const struct show_row *rows, size_t n_rows, size_t n_more)
{
	char cnt[24];

	count_text(total, cnt, sizeof(cnt));
	fprintf(out, "%s%s%s  +%s\n", st->colour ? BOLD : "", family, st->colour ? RESET : "",
		cnt);
	for (size_t i = 0; i < n_rows; i++) {
		count_text(rows[i].delta, cnt, sizeof(cnt));
		fprintf(out, "  %8s  %s\n", cnt, *rows[i].labels ? rows[i].labels : "(no labels)");
	}
	if (n_more)
		fprintf(out, "  ... %zu more\n", n_more);
}

void show_draw_off(FILE *out, const struct show_style *st, const char *name, const char *why)
{
	fprintf(out, "%s%s: off: %s%s\n", st->colour ? YELLOW : "", name, why,
		st->colour ? RESET : "");
}

size_t show_clip_line(const char *line, size_t len, int width, char *out, size_t size)
{
	size_t o = 0;
	int cols = 0;
	bool cut = false, coloured = false;

	for (size_t i = 0; i < len && o + 1 < size; i++) {
		if (line[i] == '\033') { /* CSI: ESC [ params final */
			size_t j = i + 1;
			while (j < len && !(line[j] >= '@' && line[j] <= '~' && line[j] != '['))
				j++;
			if (j >= len || o + (j - i + 1) >= size)
				break;
			memcpy(out + o, line + i, j - i + 1);
			o += j - i + 1;
			coloured = !(j - i == 3 && line[i + 2] == '0');
			i = j;
		} else if (cols < width) {
			out[o++] = line[i];
			cols++;
		} else {
			cut = true;
		}
	}
	if (cut && coloured && o + sizeof(RESET) <= size) {
		memcpy(out + o, RESET, sizeof(RESET) - 1);
		o += sizeof(RESET) - 1;
	}
	return o;
}
