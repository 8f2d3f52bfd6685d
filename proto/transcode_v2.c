/* SPDX-License-Identifier: MIT */
/* Reading a 2.0 Request back: its sample counts, and its 1.0 translation
 * for a receiver that speaks only 1.0.
 *
 * 2.0 -> 1.0, field by field (proto/write_v2.proto -> remote.proto,
 * types.proto):
 *   Request.symbols (4) + TimeSeries.labels_refs (1) -> TimeSeries.labels (1)
 *   TimeSeries.samples (2)    -> TimeSeries.samples (2), bytes unchanged
 *   TimeSeries.histograms (3) -> TimeSeries.histograms (4), bytes unchanged
 *   metadata (5), created_timestamp (6), exemplars (4): dropped
 * The input may come from a disk record, so every length is checked: a
 * malformed body is EINVAL. Symbols are collected first, wherever they
 * sit in the body. */
#include "proto/encode_v2.h"

#include <errno.h>
#include <stdlib.h>

#include "proto/pbread.h"
#include "proto/pbwire.h"

enum { REQ_SYMBOLS = 4, REQ_TIMESERIES = 5 };
enum { TS_LABELS_REFS = 1, TS_SAMPLES = 2, TS_HISTOGRAMS = 3 };
enum { V1_TIMESERIES = 1, V1_LABELS = 1, V1_SAMPLES = 2, V1_HISTOGRAMS = 4 };

struct symbol {
	const uint8_t *str;
	size_t len;
};

struct transcoder {
	struct symbol *syms;
	size_t nsyms, syms_cap;
	uint32_t *refs; /* the current TimeSeries' label refs */
	size_t nrefs, refs_cap;
};

static int einval(void)
{
	errno = EINVAL;
	return -1;
}

/* Calls fn for each field of data[0..len); stops at fn's first nonzero. */
static int for_each_field(const uint8_t *data, size_t len,
			  int (*fn)(const struct pb_field *f, void *arg), void *arg)
{
	struct pb_reader r = pb_reader_of(data, len);
	struct pb_field f;
	int rc;

	while ((rc = pb_read_field(&r, &f)) > 0)
		if ((rc = fn(&f, arg)) != 0)
			return rc;
	return rc < 0 ? einval() : 0;
}

static int count_in_series(const struct pb_field *f, void *arg)
{
	uint64_t *counts = arg;

	if ((f->num == TS_SAMPLES || f->num == TS_HISTOGRAMS) && f->type != PB_LEN)
		return einval();
	if (f->num == TS_SAMPLES)
		counts[0]++;
	else if (f->num == TS_HISTOGRAMS)
		counts[1]++;
	return 0;
}

static int count_in_request(const struct pb_field *f, void *arg)
{
	if (f->num != REQ_TIMESERIES)
		return 0;
	if (f->type != PB_LEN)
		return einval();
	return for_each_field(f->data, f->len, count_in_series, arg);
}

int v2_request_counts(const uint8_t *v2, size_t len, uint64_t *samples, uint64_t *histograms)
{
	uint64_t counts[2] = {0, 0};

	if (for_each_field(v2, len, count_in_request, counts) < 0)
		return -1;
	*samples = counts[0];
	*histograms = counts[1];
	return 0;
}

static int collect_symbol(const struct pb_field *f, void *arg)
{
	struct transcoder *t = arg;

	if (f->num == REQ_TIMESERIES && f->type != PB_LEN)
		return einval();
	if (f->num != REQ_SYMBOLS)
		return 0;
	if (f->type != PB_LEN)
		return einval();
	if (grow_array((void **)&t->syms, &t->syms_cap, t->nsyms + 1, sizeof(*t->syms)) < 0)
		return -1;
	t->syms[t->nsyms++] = (struct symbol){f->data, f->len};
	return 0;
}

static int push_ref(struct transcoder *t, uint64_t ref)
{
	if (ref >= t->nsyms)
		return einval();
	if (grow_array((void **)&t->refs, &t->refs_cap, t->nrefs + 1, sizeof(*t->refs)) < 0)
		return -1;
	t->refs[t->nrefs++] = (uint32_t)ref;
	return 0;
}

/* Collects label refs (packed or not) and checks the samples' and
 * histograms' bytes are well-formed messages. */
static int read_series_field(const struct pb_field *f, void *arg)
{
	struct transcoder *t = arg;
	struct pb_reader r;
	uint64_t ref;

	if (f->num == TS_SAMPLES || f->num == TS_HISTOGRAMS)
		return f->type == PB_LEN && pb_check_fields(f->data, f->len) == 0 ? 0 : einval();
	if (f->num != TS_LABELS_REFS)
		return 0;
	if (f->type == PB_VARINT)
		return push_ref(t, f->varint);
	if (f->type != PB_LEN)
		return einval();
	r = pb_reader_of(f->data, f->len);
	while (r.p < r.end) {
		if (pb_read_varint(&r, &ref) < 0)
			return einval();
		if (push_ref(t, ref) < 0)
			return -1;
	}
	return 0;
}

static size_t label_body_size(const struct symbol *name, const struct symbol *value)
{
	return (name->len ? pb_len_field_size(1, name->len) : 0) +
	       (value->len ? pb_len_field_size(2, value->len) : 0);
}

/* Size of the 1.0 TimeSeries for the 2.0 one in ts (refs already read). */
static size_t v1_series_size(const struct transcoder *t, const struct pb_field *ts)
{
	struct pb_reader r = pb_reader_of(ts->data, ts->len);
	struct pb_field f;
	size_t size = 0;

	for (size_t i = 0; i < t->nrefs; i += 2)
		size += pb_len_field_size(V1_LABELS, label_body_size(&t->syms[t->refs[i]],
								     &t->syms[t->refs[i + 1]]));
	while (pb_read_field(&r, &f) > 0) {
		if (f.num == TS_SAMPLES)
			size += pb_len_field_size(V1_SAMPLES, f.len);
		else if (f.num == TS_HISTOGRAMS)
			size += pb_len_field_size(V1_HISTOGRAMS, f.len);
	}
	return size;
}

static uint8_t *put_labels(const struct transcoder *t, uint8_t *p)
{
	for (size_t i = 0; i < t->nrefs; i += 2) {
		const struct symbol *name = &t->syms[t->refs[i]];
		const struct symbol *value = &t->syms[t->refs[i + 1]];

		p = pb_put_varint(p, pb_tag(V1_LABELS, PB_LEN));
		p = pb_put_varint(p, label_body_size(name, value));
		if (name->len)
			p = pb_put_len_field(p, 1, name->str, name->len);
		if (value->len)
			p = pb_put_len_field(p, 2, value->str, value->len);
	}
	return p;
}

/* Copies the fields numbered from of the 2.0 TimeSeries as field to. */
static uint8_t *put_copies(const struct pb_field *ts, uint8_t *p, unsigned from, unsigned to)
{
	struct pb_reader r = pb_reader_of(ts->data, ts->len);
	struct pb_field f;

	while (pb_read_field(&r, &f) > 0)
		if (f.num == from)
			p = pb_put_len_field(p, to, f.data, f.len);
	return p;
}

static int transcode_series(struct transcoder *t, const struct pb_field *ts, struct buf *v1)
{
	size_t body;
	uint8_t *p;

	t->nrefs = 0;
	if (for_each_field(ts->data, ts->len, read_series_field, t) < 0)
		return -1;
	if (t->nrefs % 2)
		return einval();
	body = v1_series_size(t, ts);
	if (buf_reserve(v1, pb_len_field_size(V1_TIMESERIES, body)) < 0)
		return -1;
	p = v1->data + v1->len;
	p = pb_put_varint(p, pb_tag(V1_TIMESERIES, PB_LEN));
	p = pb_put_varint(p, body);
	p = put_labels(t, p);
	p = put_copies(ts, p, TS_SAMPLES, V1_SAMPLES);
	p = put_copies(ts, p, TS_HISTOGRAMS, V1_HISTOGRAMS);
	v1->len = (size_t)(p - v1->data);
	return 0;
}

static int transcode_field(const struct pb_field *f, void *arg)
{
	void **args = arg;

	if (f->num != REQ_TIMESERIES)
		return 0;
	return transcode_series(args[0], f, args[1]);
}

int transcode_v2_to_v1(const uint8_t *v2, size_t len, struct buf *v1)
{
	struct transcoder t = {0};
	void *args[2] = {&t, v1};
	int rc;

	buf_reset(v1);
	rc = for_each_field(v2, len, collect_symbol, &t);
	if (rc == 0)
		rc = for_each_field(v2, len, transcode_field, args);
	free(t.syms);
	free(t.refs);
	return rc < 0 ? -1 : 0;
}
