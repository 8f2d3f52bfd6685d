/* SPDX-License-Identifier: MIT */
/* Remote Write 2.0 Request written by hand (field numbers from
 * proto/write_v2.proto):
 *   Request.symbols = 4 (repeated string), Request.timeseries = 5
 *     TimeSeries.labels_refs = 1 (packed uint32), samples = 2,
 *     histograms = 3, metadata = 5, created_timestamp = 6
 *       Sample: value = 1 (double), timestamp = 2
 *       Histogram: the series' wire_hist bytes, then timestamp = 15
 *       Metadata: type = 1, help_ref = 3, unit_ref = 4
 *
 * Symbols come first on the wire (field order, as protobuf-c packs), so a
 * request is built in two passes: the first interns every string and
 * sizes every TimeSeries, the second writes into a buffer reserved once.
 * Scalars equal to their default are omitted with protobuf-c's tests (a
 * double by `0 == value`, so NaN is always written), as encode.c does. */
#include "proto/encode_v2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "proto/pbread.h"
#include "proto/pbwire.h"

enum { REQ_SYMBOLS = 4, REQ_TIMESERIES = 5 };
enum { TS_LABELS_REFS = 1, TS_SAMPLES = 2, TS_HISTOGRAMS = 3, TS_METADATA = 5,
       TS_CREATED = 6 };
enum { MD_TYPE = 1, MD_HELP_REF = 3, MD_UNIT_REF = 4 };
enum { SAMPLE_VALUE = 1, SAMPLE_TIMESTAMP = 2, HIST_TIMESTAMP = 15 };

#define SLOTS_MIN 1024

struct symbol {
	const uint8_t *str;
	size_t len;
};

/* An open-addressing slot; empty unless gen is the request's: starting a
 * request empties the table without touching it. */
struct slot {
	uint64_t hash;
	uint32_t gen;
	uint32_t ref;
};

/* One TimeSeries: a run of consecutive samples of one series. */
struct run {
	size_t end;     /* past its last sample */
	size_t refs_at; /* its label refs are refs[refs_at .. refs_at + nrefs) */
	size_t nrefs;
	uint32_t help_ref, unit_ref;
	int64_t created_ms; /* 0: not sent */
	size_t body;    /* size of the TimeSeries message */
};

struct v2_encoder {
	struct symbol *syms;
	size_t nsyms, syms_cap;
	struct slot *slots;
	size_t slots_cap; /* a power of two, at least twice nsyms */
	uint32_t gen;
	uint32_t *refs;
	size_t nrefs, refs_cap;
	struct run *runs;
	size_t nruns, runs_cap;
};

static const uint8_t empty_string[1];

static int einval(void)
{
	errno = EINVAL;
	return -1;
}

struct v2_encoder *v2_encoder_new(void)
{
	struct v2_encoder *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->slots = calloc(SLOTS_MIN, sizeof(*e->slots));
	if (!e->slots) {
		free(e);
		return NULL;
	}
	e->slots_cap = SLOTS_MIN;
	return e;
}

void v2_encoder_free(struct v2_encoder *e)
{
	if (!e)
		return;
	free(e->syms);
	free(e->slots);
	free(e->refs);
	free(e->runs);
	free(e);
}

static void slot_insert(struct slot *slots, size_t cap, uint32_t gen, uint64_t hash,
			uint32_t ref)
{
	size_t i = hash & (cap - 1);

	while (slots[i].gen == gen)
		i = (i + 1) & (cap - 1);
	slots[i] = (struct slot){.hash = hash, .gen = gen, .ref = ref};
}

/* Doubles the table, keeping this request's symbols. */
static int grow_slots(struct v2_encoder *e)
{
	size_t cap = e->slots_cap * 2;
	struct slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < e->slots_cap; i++)
		if (e->slots[i].gen == e->gen)
			slot_insert(slots, cap, e->gen, e->slots[i].hash, e->slots[i].ref);
	free(e->slots);
	e->slots = slots;
	e->slots_cap = cap;
	return 0;
}

/* *ref = the index of str in this request's symbols, adding it if new. */
static int intern(struct v2_encoder *e, const uint8_t *str, size_t len, uint32_t *ref)
{
	uint64_t hash = XXH3_64bits(str, len);
	size_t mask, i;

	if ((e->nsyms + 1) * 2 > e->slots_cap && grow_slots(e) < 0)
		return -1;
	mask = e->slots_cap - 1;
	for (i = hash & mask; e->slots[i].gen == e->gen; i = (i + 1) & mask) {
		const struct symbol *s = &e->syms[e->slots[i].ref];

		if (e->slots[i].hash == hash && s->len == len && !memcmp(s->str, str, len)) {
			*ref = e->slots[i].ref;
			return 0;
		}
	}
	if (e->nsyms >= UINT32_MAX)
		return einval();
	if (grow_array((void **)&e->syms, &e->syms_cap, e->nsyms + 1, sizeof(*e->syms)) < 0)
		return -1;
	e->syms[e->nsyms] = (struct symbol){str, len};
	e->slots[i] = (struct slot){.hash = hash, .gen = e->gen, .ref = (uint32_t)e->nsyms};
	*ref = (uint32_t)e->nsyms++;
	return 0;
}

static int begin_request(struct v2_encoder *e)
{
	uint32_t ref;

	if (++e->gen == 0) { /* wrapped: old stamps could match again */
		memset(e->slots, 0, e->slots_cap * sizeof(*e->slots));
		e->gen = 1;
	}
	e->nsyms = e->nrefs = e->nruns = 0;
	return intern(e, empty_string, 0, &ref); /* symbols[0] = "" */
}

/* A Label message's name (field 1) and value (field 2); absent ones "". */
static int parse_label(const struct pb_field *label, struct symbol out[2])
{
	struct pb_reader r = pb_reader_of(label->data, label->len);
	struct pb_field f;
	int rc;

	out[0] = out[1] = (struct symbol){empty_string, 0};
	while ((rc = pb_read_field(&r, &f)) > 0) {
		if ((f.num == 1 || f.num == 2) && f.type == PB_LEN)
			out[f.num - 1] = (struct symbol){f.data, f.len};
	}
	return rc < 0 ? einval() : 0;
}

/* Appends the series' label refs (name, value, name, value, ...) to refs. */
static int intern_labels(struct v2_encoder *e, const struct wire_series *ws,
			 struct run *run)
{
	struct pb_reader r = pb_reader_of(ws->labels_pb, ws->labels_len);
	struct pb_field f;
	struct symbol label[2];
	int rc;

	run->refs_at = e->nrefs;
	while ((rc = pb_read_field(&r, &f)) > 0) {
		if (f.num != 1 || f.type != PB_LEN || parse_label(&f, label) < 0)
			return einval();
		if (grow_array((void **)&e->refs, &e->refs_cap, e->nrefs + 2,
			       sizeof(*e->refs)) < 0)
			return -1;
		for (int k = 0; k < 2; k++)
			if (intern(e, label[k].str, label[k].len, &e->refs[e->nrefs++]) < 0)
				return -1;
	}
	if (rc < 0)
		return einval();
	run->nrefs = e->nrefs - run->refs_at;
	return 0;
}

static size_t float_body_size(const struct sample *s)
{
	return (s->value != 0.0 ? 1 + 8 : 0) +
	       (s->timestamp_ms ? 1 + pb_varint_size((uint64_t)s->timestamp_ms) : 0);
}

static size_t hist_body_size(const struct sample *s)
{
	return s->hist->len +
	       (s->timestamp_ms ? 1 + pb_varint_size((uint64_t)s->timestamp_ms) : 0);
}

static size_t sample_field_size(const struct sample *s)
{
	size_t body = s->series->native_histogram ? hist_body_size(s) : float_body_size(s);

	return 1 + pb_varint_size(body) + body; /* fields 2, 3: one-byte tags */
}

static size_t meta_body_size(const struct wire_meta *m, const struct run *run)
{
	return (m->type ? 1 + pb_varint_size(m->type) : 0) +
	       (run->help_ref ? 1 + pb_varint_size(run->help_ref) : 0) +
	       (run->unit_ref ? 1 + pb_varint_size(run->unit_ref) : 0);
}

static size_t refs_body_size(const struct v2_encoder *e, const struct run *run)
{
	size_t n = 0;

	for (size_t i = 0; i < run->nrefs; i++)
		n += pb_varint_size(e->refs[run->refs_at + i]);
	return n;
}

/* The series' start time as created_timestamp: only for the types that
 * count (a gauge has none), and only when not after the run's earliest
 * sample, which a receiver would reject. */
static int64_t created_ms(const struct wire_series *ws, int64_t earliest_ms)
{
	uint8_t type = ws->meta ? ws->meta->type : WIRE_TYPE_UNKNOWN;

	if (ws->start_ms <= 0 || ws->start_ms > earliest_ms)
		return 0;
	if (type == WIRE_TYPE_GAUGE || type == WIRE_TYPE_GAUGEHISTOGRAM ||
	    type == WIRE_TYPE_INFO || type == WIRE_TYPE_STATESET)
		return 0;
	return ws->start_ms;
}

/* Pass 1 for the run of samples from samples[i] sharing one series:
 * interns its strings and sizes its TimeSeries. */
static int plan_run(struct v2_encoder *e, const struct sample *samples, size_t n, size_t i)
{
	const struct wire_series *ws = samples[i].series;
	int64_t earliest_ms = samples[i].timestamp_ms;
	struct run *run;
	size_t refs;

	if (grow_array((void **)&e->runs, &e->runs_cap, e->nruns + 1, sizeof(*e->runs)) < 0)
		return -1;
	run = &e->runs[e->nruns++];
	*run = (struct run){0};
	if (intern_labels(e, ws, run) < 0)
		return -1;
	if (ws->meta && (intern(e, (const uint8_t *)ws->meta->help, strlen(ws->meta->help),
				&run->help_ref) < 0 ||
			 intern(e, (const uint8_t *)ws->meta->unit, strlen(ws->meta->unit),
				&run->unit_ref) < 0))
		return -1;
	refs = refs_body_size(e, run);
	run->body = run->nrefs ? pb_len_field_size(TS_LABELS_REFS, refs) : 0;
	for (; i < n && samples[i].series == ws; i++) {
		if (ws->native_histogram && !samples[i].hist)
			return einval();
		if (samples[i].timestamp_ms < earliest_ms)
			earliest_ms = samples[i].timestamp_ms;
		run->body += sample_field_size(&samples[i]);
	}
	run->end = i;
	if (ws->meta)
		run->body += pb_len_field_size(TS_METADATA, meta_body_size(ws->meta, run));
	run->created_ms = created_ms(ws, earliest_ms);
	if (run->created_ms)
		run->body += 1 + pb_varint_size((uint64_t)run->created_ms);
	return 0;
}

static uint8_t *put_varint_field(uint8_t *p, unsigned field, uint64_t v)
{
	p = pb_put_varint(p, pb_tag(field, PB_VARINT));
	return pb_put_varint(p, v);
}

static uint8_t *put_sample(uint8_t *p, const struct sample *s)
{
	uint64_t bits;

	if (s->series->native_histogram) {
		p = pb_put_varint(p, pb_tag(TS_HISTOGRAMS, PB_LEN));
		p = pb_put_varint(p, hist_body_size(s));
		memcpy(p, s->hist->pb, s->hist->len);
		p += s->hist->len;
		return s->timestamp_ms ? put_varint_field(p, HIST_TIMESTAMP,
							  (uint64_t)s->timestamp_ms) : p;
	}
	p = pb_put_varint(p, pb_tag(TS_SAMPLES, PB_LEN));
	p = pb_put_varint(p, float_body_size(s));
	if (s->value != 0.0) {
		memcpy(&bits, &s->value, sizeof(bits));
		p = pb_put_varint(p, pb_tag(SAMPLE_VALUE, PB_FIXED64));
		p = pb_put_fixed64(p, bits);
	}
	return s->timestamp_ms ? put_varint_field(p, SAMPLE_TIMESTAMP,
						  (uint64_t)s->timestamp_ms) : p;
}

static uint8_t *put_meta(uint8_t *p, const struct wire_meta *m, const struct run *run)
{
	p = pb_put_varint(p, pb_tag(TS_METADATA, PB_LEN));
	p = pb_put_varint(p, meta_body_size(m, run));
	if (m->type)
		p = put_varint_field(p, MD_TYPE, m->type);
	if (run->help_ref)
		p = put_varint_field(p, MD_HELP_REF, run->help_ref);
	if (run->unit_ref)
		p = put_varint_field(p, MD_UNIT_REF, run->unit_ref);
	return p;
}

/* Pass 2: one TimeSeries, its samples from samples[first]. */
static uint8_t *put_run(const struct v2_encoder *e, uint8_t *p, const struct sample *samples,
			size_t first, const struct run *run)
{
	const struct wire_series *ws = samples[first].series;

	p = pb_put_varint(p, pb_tag(REQ_TIMESERIES, PB_LEN));
	p = pb_put_varint(p, run->body);
	if (run->nrefs) {
		p = pb_put_varint(p, pb_tag(TS_LABELS_REFS, PB_LEN));
		p = pb_put_varint(p, refs_body_size(e, run));
		for (size_t k = 0; k < run->nrefs; k++)
			p = pb_put_varint(p, e->refs[run->refs_at + k]);
	}
	for (size_t i = first; i < run->end; i++)
		p = put_sample(p, &samples[i]);
	if (ws->meta)
		p = put_meta(p, ws->meta, run);
	if (run->created_ms)
		p = put_varint_field(p, TS_CREATED, (uint64_t)run->created_ms);
	return p;
}

int encode_v2_request(struct v2_encoder *e, const struct sample *samples, size_t n,
		      struct buf *out)
{
	size_t total = 0, i, r;
	uint8_t *p;

	if (begin_request(e) < 0)
		return -1;
	for (i = 0; i < n; i = e->runs[e->nruns - 1].end)
		if (plan_run(e, samples, n, i) < 0)
			return -1;
	for (i = 0; i < e->nsyms; i++)
		total += pb_len_field_size(REQ_SYMBOLS, e->syms[i].len);
	for (r = 0; r < e->nruns; r++)
		total += pb_len_field_size(REQ_TIMESERIES, e->runs[r].body);
	buf_reset(out);
	if (buf_reserve(out, total) < 0)
		return -1;
	p = out->data;
	for (i = 0; i < e->nsyms; i++)
		p = pb_put_len_field(p, REQ_SYMBOLS, e->syms[i].str, e->syms[i].len);
	for (r = 0, i = 0; r < e->nruns; i = e->runs[r++].end)
		p = put_run(e, p, samples, i, &e->runs[r]);
	out->len = (size_t)(p - out->data);
	return 0;
}
