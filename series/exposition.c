/* SPDX-License-Identifier: MIT */
#include "series/exposition.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/numfmt.h"
#include "series/native.h"
#include "series/registry.h"

struct entry {
	const struct series *series;
	size_t index; /* keeps emission order inside a family */
};

/* Families in name order, as node_exporter serves them. */
static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->series->family->name, y->series->family->name);

	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void write_escaped(FILE *out, const char *s, bool quote_too)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (quote_too && *s == '"')
			fputs("\\\"", out);
		else
			fputc(*s, out);
	}
}

static bool is_stale(const struct sample *smp)
{
	uint64_t bits;

	if (smp->series->native_histogram)
		return native_is_stale(smp->hist);
	memcpy(&bits, &smp->value, sizeof(bits));
	return bits == STALE_NAN_BITS;
}

/* A native histogram's count and sum, for its comment line. */
static void native_value(const struct sample *smp, char *out, size_t size)
{
	uint64_t count = 0;
	double sum = 0;
	char text[40];

	native_count_sum(smp->hist, &count, &sum);
	format_double(sum, text, sizeof(text));
	snprintf(out, size, "count=%llu sum=%s", (unsigned long long)count, text);
}

static void write_sample(FILE *out, const struct sample *smp, int64_t round_ts_ms,
			 struct label_set *set)
{
	const struct series *s = series_of(smp->series);
	char value[64];
	bool first = true;

	if (series_decode_labels(s, set) < 0)
		return;
	if (smp->series->native_histogram)
		fputs("# native histogram ", out);
	fputs(s->name, out);
	for (size_t i = 0; i < set->n; i++) {
		if (strcmp(set->labels[i].name, "__name__") == 0)
			continue;
		fprintf(out, "%s%s=\"", first ? "{" : ",", set->labels[i].name);
		write_escaped(out, set->labels[i].value, true);
		fputc('"', out);
		first = false;
	}
	if (smp->series->native_histogram)
		native_value(smp, value, sizeof(value));
	else
		format_double(smp->value, value, sizeof(value));
	fprintf(out, "%s %s", first ? "" : "}", value);
	if (smp->timestamp_ms != round_ts_ms)
		fprintf(out, " %lld", (long long)smp->timestamp_ms);
	fputc('\n', out);
}

int exposition_write(FILE *out, const struct sample *samples, size_t n, int64_t round_ts_ms)
{
	struct entry *entries = malloc((n ? n : 1) * sizeof(*entries));
	struct label_set set = {0};
	size_t m = 0;
	const struct family *current = NULL;

	if (!entries)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!is_stale(&samples[i]))
			entries[m++] = (struct entry){series_of(samples[i].series), i};
	qsort(entries, m, sizeof(*entries), cmp_entry);
	for (size_t i = 0; i < m; i++) {
		const struct family *f = entries[i].series->family;
		if (!current || strcmp(current->name, f->name) != 0) {
			fprintf(out, "# HELP %s ", f->name);
			write_escaped(out, f->help, false);
			fprintf(out, "\n# TYPE %s %s\n", f->name, metric_type_name(f->type));
			current = f;
		}
		write_sample(out, &samples[entries[i].index], round_ts_ms, &set);
	}
	label_set_free(&set);
	free(entries);
	return ferror(out) ? -1 : 0;
}
