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
#include <stdbool.h>
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

#define SLOTS_MIN 1024 /* slots per table, to start with */

struct symbol {
	const uint8_t *str;
	size_t len;
};

/* A Label message's bytes and the refs of its name and value: most
 * labels repeat from series to series (job, instance, mode="idle"), so
 * one hash of the pair saves parsing it and two lookups. */
struct pair {
	const uint8_t *bytes;
	size_t len;
	uint32_t refs[2];
};

/* An open-addressing slot; empty unless gen is the request's: starting a
 * request empties every table without touching it. */
struct slot {
	uint64_t hash;
	uint32_t gen;
	uint32_t ref; /* index into syms or pairs */
};

struct table {
	struct slot *slots;
	size_t cap; /* a power of two, at least twice the entries */
};

/* One TimeSeries: a run of consecutive samples of one series. */
struct run {
	size_t end;     /* past its last sample */
	size_t refs_at; /* its label refs are refs[refs_at .. refs_at + nrefs) */
	size_t nrefs, refs_size;
	uint32_t help_ref, unit_ref;
	int64_t created_ms; /* 0: not sent */
	size_t body;    /* size of the TimeSeries message */
};

struct v2_encoder {
	uint32_t gen;
	struct table sym_table, pair_table;
	struct symbol *syms;
	size_t nsyms, syms_cap;
	struct pair *pairs;
	size_t npairs, pairs_cap;
	uint32_t *refs;
	size_t nrefs, refs_cap;
	struct symbol *labels; /* labels[k]: the Label behind refs[2k], refs[2k + 1] */
	size_t labels_cap;
	struct run *runs;
	size_t nruns, runs_cap;
	const struct wire_meta *last_meta; /* and its refs, this request's */
	uint32_t last_help_ref, last_unit_ref;
};

static const uint8_t empty_string[1];

static int einval(void)
{
	errno = EINVAL;
	return -1;
}

static int table_init(struct table *t)
{
	t->slots = calloc(SLOTS_MIN, sizeof(*t->slots));
	t->cap = SLOTS_MIN;
	return t->slots ? 0 : -1;
}

struct v2_encoder *v2_encoder_new(void)
{
	struct v2_encoder *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	if (table_init(&e->sym_table) < 0 || table_init(&e->pair_table) < 0) {
		v2_encoder_free(e);
		return NULL;
	}
	return e;
}

void v2_encoder_free(struct v2_encoder *e)
{
	if (!e)
		return;
	free(e->sym_table.slots);
	free(e->pair_table.slots);
	free(e->syms);
	free(e->pairs);
	free(e->refs);
	free(e->labels);
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

/* Makes room for one more entry beside the n there are: doubles the
 * table, keeping this request's entries, when it would be half full. */
static int table_room(struct table *t, size_t n, uint32_t gen)
{
	size_t cap = t->cap * 2;
	struct slot *slots;

	if ((n + 1) * 2 <= t->cap)
		return 0;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].gen == gen)
			slot_insert(slots, cap, gen, t->slots[i].hash, t->slots[i].ref);
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

/* *ref = the index of str in this request's symbols, adding it if new. */
static int intern(struct v2_encoder *e, const uint8_t *str, size_t len, uint32_t *ref)
{
	uint64_t hash = XXH3_64bits(str, len);
	struct slot *slots;
	size_t mask, i;

	if (table_room(&e->sym_table, e->nsyms, e->gen) < 0)
		return -1;
	slots = e->sym_table.slots;
	mask = e->sym_table.cap - 1;
	for (i = hash & mask; slots[i].gen == e->gen; i = (i + 1) & mask) {
		const struct symbol *s = &e->syms[slots[i].ref];

		if (slots[i].hash == hash && s->len == len && !memcmp(s->str, str, len)) {
			*ref = slots[i].ref;
			return 0;
		}
	}
	if (e->nsyms >= UINT32_MAX)
		return einval();
	if (grow_array((void **)&e->syms, &e->syms_cap, e->nsyms + 1, sizeof(*e->syms)) < 0)
		return -1;
	e->syms[e->nsyms] = (struct symbol){str, len};
	slots[i] = (struct slot){.hash = hash, .gen = e->gen, .ref = (uint32_t)e->nsyms};
	*ref = (uint32_t)e->nsyms++;
	return 0;
}

static int begin_request(struct v2_encoder *e)
{
	uint32_t ref;

	if (++e->gen == 0) { /* wrapped: old stamps could match again */
		memset(e->sym_table.slots, 0, e->sym_table.cap * sizeof(struct slot));
		memset(e->pair_table.slots, 0, e->pair_table.cap * sizeof(struct slot));
		e->gen = 1;
	}
	e->nsyms = e->npairs = e->nrefs = e->nruns = 0;
	e->last_meta = NULL;
	return intern(e, empty_string, 0, &ref); /* symbols[0] = "" */
}

/* A Label message's name (field 1) and value (field 2); absent ones "". */
static int parse_label(const uint8_t *data, size_t len, struct symbol out[2])
{
	struct pb_reader r = pb_reader_of(data, len);
	struct pb_field f;
	int rc;

	out[0] = out[1] = (struct symbol){empty_string, 0};
	while ((rc = pb_read_field(&r, &f)) > 0) {
		if ((f.num == 1 || f.num == 2) && f.type == PB_LEN)
			out[f.num - 1] = (struct symbol){f.data, f.len};
	}
	return rc < 0 ? einval() : 0;
}

/* A new pair: parses the label, interns its strings. */
static int add_pair(struct v2_encoder *e, const uint8_t *data, size_t len, struct slot *slot,
		    uint64_t hash)
{
	struct symbol label[2];
	struct pair *p;

	if (parse_label(data, len, label) < 0 ||
	    grow_array((void **)&e->pairs, &e->pairs_cap, e->npairs + 1, sizeof(*e->pairs)) < 0)
		return -1;
	p = &e->pairs[e->npairs];
	*p = (struct pair){data, len, {0, 0}};
	if (intern(e, label[0].str, label[0].len, &p->refs[0]) < 0 ||
	    intern(e, label[1].str, label[1].len, &p->refs[1]) < 0)
		return -1;
	*slot = (struct slot){.hash = hash, .gen = e->gen, .ref = (uint32_t)e->npairs++};
	return 0;
}

/* The refs of one Label message's name and value. */
static int intern_pair(struct v2_encoder *e, const uint8_t *data, size_t len, uint32_t refs[2])
{
	uint64_t hash = XXH3_64bits(data, len);
	struct slot *slots;
	size_t mask, i;

	if (table_room(&e->pair_table, e->npairs, e->gen) < 0)
		return -1;
	slots = e->pair_table.slots;
	mask = e->pair_table.cap - 1;
	for (i = hash & mask; slots[i].gen == e->gen; i = (i + 1) & mask) {
		const struct pair *p = &e->pairs[slots[i].ref];

		if (slots[i].hash == hash && p->len == len && !memcmp(p->bytes, data, len))
			break;
	}
	if (slots[i].gen != e->gen && add_pair(e, data, len, &slots[i], hash) < 0)
		return -1;
	memcpy(refs, e->pairs[slots[i].ref].refs, 2 * sizeof(*refs));
	return 0;
}

/* *label equals the previous run's label k (same bytes): most series of a
 * family differ from the one before in one label, so this memcmp spares
 * most lookups. */
static bool same_as_prev(const struct v2_encoder *e, const struct run *run, size_t k,
			 const struct pb_field *label)
{
	const struct run *prev = run > e->runs ? run - 1 : NULL;
	const struct symbol *was;

	if (!prev || 2 * k >= prev->nrefs)
		return false;
	was = &e->labels[prev->refs_at / 2 + k];
	return was->len == label->len && !memcmp(was->str, label->data, label->len);
}

/* Appends the series' label refs (name, value, name, value, ...) to refs,
 * and the Label messages they came from to labels. */
static int intern_labels(struct v2_encoder *e, const struct wire_series *ws,
			 struct run *run)
{
	struct pb_reader r = pb_reader_of(ws->labels_pb, ws->labels_len);
	struct pb_field f;
	int rc;

	run->refs_at = e->nrefs;
	for (size_t k = 0; (rc = pb_read_field(&r, &f)) > 0; k++) {
		uint32_t *refs;

		if (f.num != 1 || f.type != PB_LEN)
			return einval();
		if (grow_array((void **)&e->refs, &e->refs_cap, e->nrefs + 2, sizeof(*e->refs)) < 0 ||
		    grow_array((void **)&e->labels, &e->labels_cap, e->nrefs / 2 + 1,
			       sizeof(*e->labels)) < 0)
			return -1;
		refs = &e->refs[e->nrefs];
		if (same_as_prev(e, run, k, &f))
			memcpy(refs, &e->refs[(run - 1)->refs_at + 2 * k], 2 * sizeof(*refs));
		else if (intern_pair(e, f.data, f.len, refs) < 0)
			return -1;
		e->labels[e->nrefs / 2] = (struct symbol){f.data, f.len};
		e->nrefs += 2;
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
 * sample, which a receiver would reject. The collection thread moves a
 * series' start (relaxed atomic store) when its collector starts over,
 * while older samples wait in a queue: read it once, atomically, so the
 * value tested is the value sent; a start after the samples belongs to
 * the new run, not to them. */
static int64_t created_ms(const struct wire_series *ws, int64_t earliest_ms)
{
	uint8_t type = ws->meta ? ws->meta->type : WIRE_TYPE_UNKNOWN;
	int64_t start_ms = __atomic_load_n(&ws->start_ms, __ATOMIC_RELAXED);

	if (start_ms <= 0 || start_ms > earliest_ms)
		return 0;
	if (type == WIRE_TYPE_GAUGE || type == WIRE_TYPE_GAUGEHISTOGRAM ||
	    type == WIRE_TYPE_INFO || type == WIRE_TYPE_STATESET)
		return 0;
	return start_ms;
}

/* The refs of the family's help and unit; consecutive series mostly
 * share one family. */
static int intern_meta(struct v2_encoder *e, const struct wire_meta *m, struct run *run)
{
	if (m != e->last_meta) {
		if (intern(e, (const uint8_t *)m->help, strlen(m->help), &e->last_help_ref) < 0 ||
		    intern(e, (const uint8_t *)m->unit, strlen(m->unit), &e->last_unit_ref) < 0)
			return -1;
		e->last_meta = m;
	}
	run->help_ref = e->last_help_ref;
	run->unit_ref = e->last_unit_ref;
	return 0;
}

/* Pass 1 for the run of samples from samples[i] sharing one series:
 * interns its strings and sizes its TimeSeries. */
static int plan_run(struct v2_encoder *e, const struct sample *samples, size_t n, size_t i)
{
	const struct wire_series *ws = samples[i].series;
	int64_t earliest_ms = samples[i].timestamp_ms;
	struct run *run;

	if (grow_array((void **)&e->runs, &e->runs_cap, e->nruns + 1, sizeof(*e->runs)) < 0)
		return -1;
	run = &e->runs[e->nruns++];
	*run = (struct run){0};
	if (intern_labels(e, ws, run) < 0)
		return -1;
	if (ws->meta && intern_meta(e, ws->meta, run) < 0)
		return -1;
	run->refs_size = refs_body_size(e, run);
	run->body = run->nrefs ? pb_len_field_size(TS_LABELS_REFS, run->refs_size) : 0;
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
		p = pb_put_varint(p, run->refs_size);
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
