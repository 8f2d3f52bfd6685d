/* SPDX-License-Identifier: MIT */
/* encode_v2: Remote Write 2.0 Requests decoded with protobuf-c's code
 * generated from proto/write_v2.proto (a different encoder than ours),
 * checked for the specification's invariants and re-packed byte for byte;
 * the 1.0 metadata request; the 2.0 -> 1.0 transcoder against
 * encode_write_request; malformed bodies. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "remote.pb-c.h"
#include "types.pb-c.h"
#include "write_v2.pb-c.h"

#include "lib/buf.h"
#include "proto/encode.h"
#include "proto/encode_v2.h"
#include "proto/sample.h"

typedef Io__Prometheus__Write__V2__Request V2Request;
typedef Io__Prometheus__Write__V2__TimeSeries V2Series;

/* ---- fixtures ----------------------------------------------------------- */

#define MAX_LABELS 8

struct test_series {
	const char *kv[2 * MAX_LABELS]; /* name, value, ...; sorted by name */
	struct buf pb;
	struct wire_series ws;
};

static void series_init(struct test_series *ts, const struct wire_meta *meta, int64_t start_ms,
			bool native)
{
	memset(&ts->pb, 0, sizeof(ts->pb));
	for (size_t i = 0; ts->kv[i]; i += 2)
		assert_int_equal(encode_label(&ts->pb, ts->kv[i], strlen(ts->kv[i]), ts->kv[i + 1],
					      strlen(ts->kv[i + 1])), 0);
	ts->ws = (struct wire_series){.labels_pb = ts->pb.data, .labels_len = (uint32_t)ts->pb.len,
				      .native_histogram = native, .meta = meta,
				      .start_ms = start_ms};
}

static const struct wire_meta counter_meta = {"node_cpu_seconds", "Seconds the CPUs spent.",
					      "seconds", WIRE_TYPE_COUNTER};
static const struct wire_meta gauge_meta = {"node_load1", "1m load average.", "",
					    WIRE_TYPE_GAUGE};
static const struct wire_meta hist_meta = {"biolatency_seconds", "Block I/O latency.",
					   "seconds", WIRE_TYPE_HISTOGRAM};

/* A native histogram's fields 1..14, packed by protobuf-c (no timestamp). */
static struct wire_hist *make_hist(uint64_t count, double sum)
{
	Prometheus__Histogram h = PROMETHEUS__HISTOGRAM__INIT;
	Prometheus__BucketSpan span = PROMETHEUS__BUCKET_SPAN__INIT, *spans[1] = {&span};
	int64_t deltas[3] = {(int64_t)count - 2, -1, 1};
	struct wire_hist *wh;

	h.count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
	h.count_int = count;
	h.sum = sum;
	h.schema = 0;
	h.zero_threshold = 0x1p-20;
	h.zero_count_case = PROMETHEUS__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_INT;
	h.zero_count_int = 1;
	span.offset = -19;
	span.length = 3;
	h.n_positive_spans = 1;
	h.positive_spans = spans;
	h.n_positive_deltas = 3;
	h.positive_deltas = deltas;
	wh = malloc(sizeof(*wh) + prometheus__histogram__get_packed_size(&h));
	assert_non_null(wh);
	wh->len = (uint32_t)prometheus__histogram__pack(&h, wh->pb);
	return wh;
}

/* Three series: a counter, a gauge, a native histogram; sample runs. */
struct fixture {
	struct test_series cpu, load, lat;
	struct wire_hist *h1, *h2;
	struct sample s[6];
	struct v2_encoder *e;
	struct buf out, v1, want;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*f = (struct fixture){
		.cpu = {.kv = {"__name__", "node_cpu_seconds_total", "cpu", "0", "mode", "idle"}},
		.load = {.kv = {"__name__", "node_load1", "instance", "host:9100"}},
		.lat = {.kv = {"__name__", "biolatency_seconds", "device", "sda"}},
	};
	series_init(&f->cpu, &counter_meta, 1700000000000, false);
	series_init(&f->load, &gauge_meta, 0, false);
	series_init(&f->lat, &hist_meta, 1700000000500, true);
	f->h1 = make_hist(10, 0.5);
	f->h2 = make_hist(12, 0.625);
	f->s[0] = (struct sample){&f->cpu.ws, 1700000001000, {.value = 12.5}};
	f->s[1] = (struct sample){&f->cpu.ws, 1700000002000, {.value = 13.0}};
	f->s[2] = (struct sample){&f->load.ws, 1700000001000, {.value = 0.0}};
	f->s[3] = (struct sample){&f->lat.ws, 1700000001000, {.hist = f->h1}};
	f->s[4] = (struct sample){&f->lat.ws, 1700000002000, {.hist = f->h2}};
	f->s[5] = (struct sample){&f->cpu.ws, 1700000003000, {.value = 14.0}};
	f->e = v2_encoder_new();
	assert_non_null(f->e);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	buf_free(&f->cpu.pb);
	buf_free(&f->load.pb);
	buf_free(&f->lat.pb);
	free(f->h1);
	free(f->h2);
	v2_encoder_free(f->e);
	buf_free(&f->out);
	buf_free(&f->v1);
	buf_free(&f->want);
	free(f);
	return 0;
}

/* ---- the invariants a 2.0 receiver checks --------------------------------- */

static const char *sym(const V2Request *r, uint32_t ref)
{
	assert_true(ref < r->n_symbols);
	return r->symbols[ref];
}

/* symbols[0] is "", each string once, every ref in range, label pairs
 * sorted by name, never floats and histograms in one series, created
 * timestamp not after the samples. Returns the decoded request. */
static V2Request *decode_checked(const struct buf *out)
{
	V2Request *r = io__prometheus__write__v2__request__unpack(NULL, out->len, out->data);

	assert_non_null(r);
	assert_true(r->n_symbols >= 1);
	assert_string_equal(r->symbols[0], "");
	for (size_t i = 0; i < r->n_symbols; i++)
		for (size_t j = i + 1; j < r->n_symbols; j++)
			assert_string_not_equal(r->symbols[i], r->symbols[j]);
	for (size_t i = 0; i < r->n_timeseries; i++) {
		const V2Series *ts = r->timeseries[i];

		assert_int_equal(ts->n_labels_refs % 2, 0);
		for (size_t k = 0; k < ts->n_labels_refs; k++)
			(void)sym(r, ts->labels_refs[k]);
		for (size_t k = 2; k < ts->n_labels_refs; k += 2)
			assert_true(strcmp(sym(r, ts->labels_refs[k - 2]),
					   sym(r, ts->labels_refs[k])) < 0);
		assert_false(ts->n_samples && ts->n_histograms);
		if (ts->metadata) {
			(void)sym(r, ts->metadata->help_ref);
			(void)sym(r, ts->metadata->unit_ref);
		}
		for (size_t k = 0; ts->created_timestamp && k < ts->n_samples; k++)
			assert_true(ts->created_timestamp <= ts->samples[k]->timestamp);
		for (size_t k = 0; ts->created_timestamp && k < ts->n_histograms; k++)
			assert_true(ts->created_timestamp <= ts->histograms[k]->timestamp);
	}
	return r;
}

/* The series' labels, resolved, equal kv. */
static void assert_labels(const V2Request *r, const V2Series *ts, const struct test_series *want)
{
	size_t n = 0;

	while (want->kv[n])
		n++;
	assert_int_equal(ts->n_labels_refs, n);
	for (size_t k = 0; k < n; k++)
		assert_string_equal(sym(r, ts->labels_refs[k]), want->kv[k]);
}

static void assert_meta(const V2Request *r, const V2Series *ts, const struct wire_meta *m)
{
	assert_non_null(ts->metadata);
	assert_int_equal(ts->metadata->type, m->type);
	assert_string_equal(sym(r, ts->metadata->help_ref), m->help);
	assert_string_equal(sym(r, ts->metadata->unit_ref), m->unit);
}

/* Our bytes equal protobuf-c's pack of what it decoded from them. */
static void assert_repacks(const V2Request *r, const struct buf *out)
{
	size_t len = io__prometheus__write__v2__request__get_packed_size(r);
	uint8_t *pb = malloc(len ? len : 1);

	assert_non_null(pb);
	assert_int_equal(io__prometheus__write__v2__request__pack(r, pb), len);
	assert_int_equal(len, out->len);
	assert_memory_equal(pb, out->data, len);
	free(pb);
}

/* ---- 2.0 requests ---------------------------------------------------------- */

static void test_request_decodes_with_protobuf_c(void **state)
{
	struct fixture *f = *state;
	V2Request *r;

	assert_int_equal(encode_v2_request(f->e, f->s, 6, &f->out), 0);
	r = decode_checked(&f->out);
	assert_int_equal(r->n_timeseries, 4); /* cpu, load, lat, cpu again */
	assert_labels(r, r->timeseries[0], &f->cpu);
	assert_labels(r, r->timeseries[1], &f->load);
	assert_labels(r, r->timeseries[2], &f->lat);
	assert_labels(r, r->timeseries[3], &f->cpu);
	assert_int_equal(r->timeseries[0]->n_samples, 2);
	assert_true(r->timeseries[0]->samples[1]->value == 13.0);
	assert_int_equal(r->timeseries[0]->samples[1]->timestamp, 1700000002000);
	assert_int_equal(r->timeseries[1]->n_samples, 1);
	assert_true(r->timeseries[1]->samples[0]->value == 0.0);
	assert_int_equal(r->timeseries[2]->n_samples, 0);
	assert_int_equal(r->timeseries[2]->n_histograms, 2);
	assert_int_equal(r->timeseries[2]->histograms[1]->count_int, 12);
	assert_true(r->timeseries[2]->histograms[1]->sum == 0.625);
	assert_int_equal(r->timeseries[2]->histograms[1]->timestamp, 1700000002000);
	assert_int_equal(r->timeseries[2]->histograms[0]->n_positive_deltas, 3);
	assert_int_equal(r->timeseries[2]->histograms[0]->positive_spans[0]->offset, -19);
	assert_meta(r, r->timeseries[0], &counter_meta);
	assert_meta(r, r->timeseries[1], &gauge_meta);
	assert_meta(r, r->timeseries[2], &hist_meta);
	assert_repacks(r, &f->out);
	io__prometheus__write__v2__request__free_unpacked(r, NULL);
}

static void test_created_timestamp_for_counters_only(void **state)
{
	struct fixture *f = *state;
	V2Request *r;

	f->load.ws.start_ms = 1700000000000; /* a gauge: never sent */
	assert_int_equal(encode_v2_request(f->e, f->s, 6, &f->out), 0);
	r = decode_checked(&f->out);
	assert_int_equal(r->timeseries[0]->created_timestamp, 1700000000000);
	assert_int_equal(r->timeseries[1]->created_timestamp, 0);
	assert_int_equal(r->timeseries[2]->created_timestamp, 1700000000500);
	io__prometheus__write__v2__request__free_unpacked(r, NULL);

	/* A start after the sample (a clock step): left out, not sent wrong. */
	f->cpu.ws.start_ms = 1700000001500;
	assert_int_equal(encode_v2_request(f->e, f->s, 2, &f->out), 0);
	r = decode_checked(&f->out);
	assert_int_equal(r->timeseries[0]->created_timestamp, 0);
	io__prometheus__write__v2__request__free_unpacked(r, NULL);
}

static void test_symbols_once_and_no_metadata_when_unknown(void **state)
{
	struct fixture *f = *state;
	V2Request *r;
	size_t n = 0;

	f->load.ws.meta = NULL;
	assert_int_equal(encode_v2_request(f->e, f->s, 6, &f->out), 0);
	r = decode_checked(&f->out);
	assert_null(r->timeseries[1]->metadata);
	for (size_t i = 0; i < r->n_symbols; i++)
		n += !strcmp(r->symbols[i], "__name__") + !strcmp(r->symbols[i], "seconds");
	assert_int_equal(n, 2); /* shared by three series, and two units */
	assert_repacks(r, &f->out);
	io__prometheus__write__v2__request__free_unpacked(r, NULL);
}

static void test_empty_request_and_special_values(void **state)
{
	struct fixture *f = *state;
	uint64_t stale = STALE_NAN_BITS, got;
	V2Request *r;

	assert_int_equal(encode_v2_request(f->e, f->s, 0, &f->out), 0);
	r = decode_checked(&f->out);
	assert_int_equal(r->n_symbols, 1);
	assert_int_equal(r->n_timeseries, 0);
	io__prometheus__write__v2__request__free_unpacked(r, NULL);

	memcpy(&f->s[2].value, &stale, sizeof(stale));
	f->s[2].timestamp_ms = 0;
	assert_int_equal(encode_v2_request(f->e, &f->s[2], 1, &f->out), 0);
	r = decode_checked(&f->out);
	memcpy(&got, &r->timeseries[0]->samples[0]->value, sizeof(got));
	assert_int_equal(got, STALE_NAN_BITS);
	assert_repacks(r, &f->out);
	io__prometheus__write__v2__request__free_unpacked(r, NULL);
}

/* Thousands of distinct strings grow the symbol table; the next, small
 * request holds only its own symbols (none left over from the last). */
static void test_encoder_reused_across_sizes(void **state)
{
	struct fixture *f = *state;
	enum { N = 5000 };
	struct test_series *many = calloc(N, sizeof(*many));
	struct sample *s = calloc(N, sizeof(*s));
	char (*val)[16] = calloc(N, sizeof(*val));
	V2Request *r;

	for (size_t i = 0; i < N; i++) {
		snprintf(val[i], sizeof(val[i]), "v%zu", i);
		many[i].kv[0] = "__name__";
		many[i].kv[1] = "m";
		many[i].kv[2] = "id";
		many[i].kv[3] = val[i];
		series_init(&many[i], &gauge_meta, 0, false);
		s[i] = (struct sample){&many[i].ws, 1, {.value = (double)i}};
	}
	for (int round = 0; round < 3; round++) {
		assert_int_equal(encode_v2_request(f->e, s, N, &f->out), 0);
		r = decode_checked(&f->out);
		assert_int_equal(r->n_symbols, N + 5); /* "", __name__, m, id, help, ids */
		assert_labels(r, r->timeseries[N - 1], &many[N - 1]);
		io__prometheus__write__v2__request__free_unpacked(r, NULL);
		assert_int_equal(encode_v2_request(f->e, f->s, 1, &f->out), 0);
		r = decode_checked(&f->out);
		assert_int_equal(r->n_symbols, 9);
		io__prometheus__write__v2__request__free_unpacked(r, NULL);
	}
	for (size_t i = 0; i < N; i++)
		buf_free(&many[i].pb);
	free(many);
	free(s);
	free(val);
}

static void test_counts(void **state)
{
	struct fixture *f = *state;
	uint64_t floats = 99, hists = 99;

	assert_int_equal(encode_v2_request(f->e, f->s, 6, &f->out), 0);
	assert_int_equal(v2_request_counts(f->out.data, f->out.len, &floats, &hists), 0);
	assert_int_equal(floats, 4);
	assert_int_equal(hists, 2);
	assert_int_equal(v2_request_counts(f->out.data, f->out.len - 1, &floats, &hists), -1);
	assert_int_equal(errno, EINVAL);
}

/* ---- 2.0 -> 1.0 ------------------------------------------------------------ */

/* Float samples: the transcoded request is exactly encode_write_request's. */
static void test_transcode_equals_v1_encoder(void **state)
{
	struct fixture *f = *state;
	struct sample floats[4] = {f->s[0], f->s[1], f->s[2], f->s[5]};

	assert_int_equal(encode_v2_request(f->e, floats, 4, &f->out), 0);
	assert_int_equal(transcode_v2_to_v1(f->out.data, f->out.len, &f->v1), 0);
	assert_int_equal(encode_write_request(floats, 4, &f->want), 0);
	assert_int_equal(f->v1.len, f->want.len);
	assert_memory_equal(f->v1.data, f->want.data, f->want.len);
}

/* Histograms arrive as 1.0's TimeSeries.histograms, timestamps included. */
static void test_transcode_histograms(void **state)
{
	struct fixture *f = *state;
	Prometheus__WriteRequest *w;
	Prometheus__TimeSeries *ts;

	assert_int_equal(encode_v2_request(f->e, f->s, 6, &f->out), 0);
	assert_int_equal(transcode_v2_to_v1(f->out.data, f->out.len, &f->v1), 0);
	w = prometheus__write_request__unpack(NULL, f->v1.len, f->v1.data);
	assert_non_null(w);
	assert_int_equal(w->n_timeseries, 4);
	assert_int_equal(w->n_metadata, 0);
	ts = w->timeseries[2];
	assert_int_equal(ts->n_labels, 2);
	assert_string_equal(ts->labels[0]->name, "__name__");
	assert_string_equal(ts->labels[0]->value, "biolatency_seconds");
	assert_string_equal(ts->labels[1]->value, "sda");
	assert_int_equal(ts->n_samples, 0);
	assert_int_equal(ts->n_histograms, 2);
	assert_int_equal(ts->histograms[0]->count_int, 10);
	assert_int_equal(ts->histograms[0]->timestamp, 1700000001000);
	assert_int_equal(ts->histograms[1]->zero_count_int, 1);
	assert_true(ts->histograms[1]->zero_threshold == 0x1p-20);
	assert_int_equal(ts->histograms[1]->positive_deltas[1], -1);
	assert_int_equal(w->timeseries[3]->n_samples, 1);
	assert_true(w->timeseries[3]->samples[0]->value == 14.0);
	prometheus__write_request__free_unpacked(w, NULL);
}

struct body {
	const char *what;
	const char *bytes;
	size_t len;
	int rc;        /* transcode_v2_to_v1's */
	int counts_rc; /* v2_request_counts', which reads only down to the series */
};

#define BODY(what, lit, rc, counts_rc) {what, lit, sizeof(lit) - 1, rc, counts_rc}

static const struct body bodies[] = {
	BODY("label ref past the symbols", "\x22\x00\x2a\x04\x0a\x02\x00\x01", -1, 0),
	BODY("odd number of label refs", "\x22\x00\x22\x01" "a\x2a\x03\x0a\x01\x01", -1, 0),
	BODY("timeseries as a varint", "\x22\x00\x28\x01", -1, -1),
	BODY("symbol as a varint", "\x20\x00", -1, 0),
	BODY("length past the end", "\x22\x05" "a", -1, -1),
	BODY("varint of eleven bytes", "\x2a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", -1, -1),
	BODY("a group", "\x2b\x2c", -1, -1),
	BODY("field number 0", "\x02\x00", -1, -1),
	BODY("sample cut short", "\x22\x00\x2a\x04\x12\x02\x09\x01", -1, 0),
	BODY("refs cut inside a varint", "\x22\x00\x2a\x03\x0a\x01\x80", -1, 0),
	BODY("unpacked refs, symbols last",
	     "\x2a\x04\x08\x01\x08\x02\x22\x00\x22\x01" "a\x22\x01" "b", 0, 0),
	BODY("unknown fields skipped", "\x22\x00\x38\x05\x2a\x02\x38\x01", 0, 0),
	BODY("empty body", "", 0, 0),
};

static void test_transcode_malformed(void **state)
{
	struct fixture *f = *state;
	uint64_t a, b;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		const struct body *t = &bodies[i];
		int rc = transcode_v2_to_v1((const uint8_t *)t->bytes, t->len, &f->v1);

		if (rc != t->rc)
			fail_msg("%s: %d, want %d", t->what, rc, t->rc);
		if (rc < 0)
			assert_int_equal(errno, EINVAL);
		rc = v2_request_counts((const uint8_t *)t->bytes, t->len, &a, &b);
		if (rc != t->counts_rc)
			fail_msg("%s: counts %d, want %d", t->what, rc, t->counts_rc);
	}
	/* The unpacked refs resolve to the label a="b". */
	assert_int_equal(transcode_v2_to_v1((const uint8_t *)bodies[10].bytes, bodies[10].len,
					    &f->v1), 0);
	assert_int_equal(f->v1.len, 10);
	assert_memory_equal(f->v1.data, "\x0a\x08\x0a\x06\x0a\x01" "a\x12\x01" "b", 10);
}

/* Every prefix and every byte changed: an answer, never a read past the
 * body (ASan watches). Each 1.0 output that comes back decodes. */
static void test_transcode_truncated_and_corrupt(void **state)
{
	struct fixture *f = *state;
	uint8_t *copy;
	uint64_t a, b;

	assert_int_equal(encode_v2_request(f->e, f->s, 6, &f->out), 0);
	for (size_t len = 0; len < f->out.len; len++) {
		copy = malloc(len ? len : 1); /* exactly len: ASan sees any overread */
		memcpy(copy, f->out.data, len);
		if (transcode_v2_to_v1(copy, len, &f->v1) == 0)
			prometheus__write_request__free_unpacked(
				prometheus__write_request__unpack(NULL, f->v1.len, f->v1.data), NULL);
		(void)v2_request_counts(copy, len, &a, &b);
		free(copy);
	}
	copy = malloc(f->out.len);
	for (size_t at = 0; at < f->out.len; at++) {
		static const uint8_t flips[] = {0x01, 0x80, 0xff, 0x7f};

		for (size_t k = 0; k < sizeof(flips); k++) {
			memcpy(copy, f->out.data, f->out.len);
			copy[at] ^= flips[k];
			(void)transcode_v2_to_v1(copy, f->out.len, &f->v1);
			(void)v2_request_counts(copy, f->out.len, &a, &b);
		}
	}
	free(copy);
}

/* ---- 1.0 metadata ------------------------------------------------------------ */

static void test_metadata_request(void **state)
{
	struct fixture *f = *state;
	static const struct wire_meta bare = {"up", "", "", WIRE_TYPE_UNKNOWN};
	const struct wire_meta *m[4] = {&counter_meta, &gauge_meta, &hist_meta, &bare};
	Prometheus__WriteRequest *w;
	uint8_t *pb;
	size_t len;

	assert_int_equal(encode_metadata_request(m, 4, &f->out), 0);
	w = prometheus__write_request__unpack(NULL, f->out.len, f->out.data);
	assert_non_null(w);
	assert_int_equal(w->n_timeseries, 0);
	assert_int_equal(w->n_metadata, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(w->metadata[i]->type, m[i]->type);
		assert_string_equal(w->metadata[i]->metric_family_name, m[i]->family);
		assert_string_equal(w->metadata[i]->help, m[i]->help);
		assert_string_equal(w->metadata[i]->unit, m[i]->unit);
	}
	len = prometheus__write_request__get_packed_size(w);
	pb = malloc(len);
	assert_int_equal(prometheus__write_request__pack(w, pb), f->out.len);
	assert_memory_equal(pb, f->out.data, len);
	free(pb);
	prometheus__write_request__free_unpacked(w, NULL);
	assert_int_equal(encode_metadata_request(m, 0, &f->out), 0);
	assert_int_equal(f->out.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_request_decodes_with_protobuf_c),
		T(test_created_timestamp_for_counters_only),
		T(test_symbols_once_and_no_metadata_when_unknown),
		T(test_empty_request_and_special_values),
		T(test_encoder_reused_across_sizes),
		T(test_counts),
		T(test_transcode_equals_v1_encoder),
		T(test_transcode_histograms),
		T(test_transcode_malformed),
		T(test_transcode_truncated_and_corrupt),
		T(test_metadata_request),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
