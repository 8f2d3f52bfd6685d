/* SPDX-License-Identifier: MIT */
/* encode: our hand-written WriteRequest must equal protobuf-c's pack of the
 * same message byte for byte, and decode back to what went in. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "remote.pb-c.h"
#include "types.pb-c.h"

#include "lib/buf.h"
#include "proto/encode.h"
#include "proto/sample.h"

/* ---- fixtures ----------------------------------------------------------- */

#define MAX_LABELS 8

struct test_series {
	const char *names[MAX_LABELS];
	const char *values[MAX_LABELS];
	size_t n;
	struct buf pb;
	struct wire_series ws;
};

static void series_encode(struct test_series *ts)
{
	memset(&ts->pb, 0, sizeof(ts->pb));
	for (size_t i = 0; i < ts->n; i++)
		assert_int_equal(encode_label(&ts->pb, ts->names[i], strlen(ts->names[i]),
					      ts->values[i], strlen(ts->values[i])), 0);
	ts->ws.labels_pb = ts->pb.data;
	ts->ws.labels_len = (uint32_t)ts->pb.len;
	ts->ws.hash = 0;
}

static double bits_to_double(uint64_t bits)
{
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

static uint64_t double_bits(double d)
{
	uint64_t bits;

	memcpy(&bits, &d, sizeof(bits));
	return bits;
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* The protobuf-c message for samples, grouped as the encoder must group. */
struct pc_request {
	Prometheus__WriteRequest req;
	Prometheus__TimeSeries *ts, **tsp;
	Prometheus__Sample *smp, **smpp;
	Prometheus__Label *lab, **labp;
};

static void pc_build(struct pc_request *pc, const struct sample *samples, size_t n,
		     struct test_series *const *owner)
{
	size_t groups = 0, nl = 0;

	pc->ts = calloc(n + 1, sizeof(*pc->ts));
	pc->tsp = calloc(n + 1, sizeof(*pc->tsp));
	pc->smp = calloc(n + 1, sizeof(*pc->smp));
	pc->smpp = calloc(n + 1, sizeof(*pc->smpp));
	pc->lab = calloc(n * MAX_LABELS + 1, sizeof(*pc->lab));
	pc->labp = calloc(n * MAX_LABELS + 1, sizeof(*pc->labp));
	prometheus__write_request__init(&pc->req);
	for (size_t i = 0; i < n; i++) {
		Prometheus__TimeSeries *t;

		if (i == 0 || samples[i].series != samples[i - 1].series) {
			t = &pc->ts[groups];
			prometheus__time_series__init(t);
			pc->tsp[groups++] = t;
			t->labels = &pc->labp[nl];
			for (size_t l = 0; l < owner[i]->n; l++) {
				prometheus__label__init(&pc->lab[nl]);
				pc->lab[nl].name = (char *)owner[i]->names[l];
				pc->lab[nl].value = (char *)owner[i]->values[l];
				pc->labp[nl] = &pc->lab[nl];
				nl++;
			}
			t->n_labels = owner[i]->n;
			t->samples = &pc->smpp[i];
		}
		t = pc->tsp[groups - 1];
		prometheus__sample__init(&pc->smp[i]);
		pc->smp[i].value = samples[i].value;
		pc->smp[i].timestamp = samples[i].timestamp_ms;
		pc->smpp[i] = &pc->smp[i];
		t->n_samples++;
	}
	pc->req.n_timeseries = groups;
	pc->req.timeseries = pc->tsp;
}

static void pc_free(struct pc_request *pc)
{
	free(pc->ts);
	free(pc->tsp);
	free(pc->smp);
	free(pc->smpp);
	free(pc->lab);
	free(pc->labp);
}

static void assert_same_value(double want, double got)
{
	/* proto3 cannot carry -0.0 (protobuf-c omits any value == 0). */
	if (want == 0.0)
		assert_true(got == 0.0);
	else
		assert_int_equal(double_bits(want), double_bits(got));
}

/* Encodes samples, compares with protobuf-c's bytes, decodes and checks. */
static void check_request(const struct sample *samples, size_t n,
			  struct test_series *const *owner)
{
	struct buf out = {0};
	struct pc_request pc;
	Prometheus__WriteRequest *dec;
	uint8_t *want;
	size_t want_len, i = 0;

	assert_int_equal(encode_write_request(samples, n, &out), 0);
	pc_build(&pc, samples, n, owner);
	want_len = prometheus__write_request__get_packed_size(&pc.req);
	want = malloc(want_len + 1);
	assert_int_equal(prometheus__write_request__pack(&pc.req, want), want_len);
	assert_int_equal(out.len, want_len);
	assert_memory_equal(out.data, want, want_len);

	dec = prometheus__write_request__unpack(NULL, out.len, out.data);
	assert_non_null(dec);
	assert_int_equal(dec->n_timeseries, pc.req.n_timeseries);
	for (size_t g = 0; g < dec->n_timeseries; g++) {
		Prometheus__TimeSeries *t = dec->timeseries[g];

		assert_int_equal(t->n_labels, owner[i]->n);
		for (size_t l = 0; l < t->n_labels; l++) {
			assert_string_equal(t->labels[l]->name, owner[i]->names[l]);
			assert_string_equal(t->labels[l]->value, owner[i]->values[l]);
		}
		for (size_t s = 0; s < t->n_samples; s++, i++) {
			assert_ptr_equal(samples[i].series, samples[i - s].series);
			assert_same_value(samples[i].value, t->samples[s]->value);
			assert_int_equal(t->samples[s]->timestamp, samples[i].timestamp_ms);
		}
	}
	assert_int_equal(i, n);
	prometheus__write_request__free_unpacked(dec, NULL);
	free(want);
	pc_free(&pc);
	buf_free(&out);
}

/* ---- labels ------------------------------------------------------------- */

static void test_label_bytes(void **state)
{
	static const uint8_t want[] = {0x0a, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, 'b'};
	struct buf b = {0};

	(void)state;
	assert_int_equal(encode_label(&b, "a", 1, "b", 1), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	buf_free(&b);
}

static void test_long_label_multibyte_varints(void **state)
{
	char *name = repeat('n', 200), *value = repeat('v', 20000);
	struct test_series s = {.names = {name}, .values = {value}, .n = 1};
	struct test_series *owner[1] = {&s};
	struct sample smp = {.series = &s.ws, .timestamp_ms = 1, .value = 1};

	(void)state;
	series_encode(&s);
	/* field tag, then a 3-byte varint: 1 + 2 + 200 + 1 + 3 + 20000 */
	assert_int_equal(s.pb.data[0], 0x0a);
	assert_int_equal(s.pb.len, 1 + 3 + 20207);
	check_request(&smp, 1, owner);
	buf_free(&s.pb);
	free(name);
	free(value);
}

/* Around the one-byte length fast path (name + value + 4 < 128), and with
 * an empty value (omitted field): the bytes protobuf-c packs. */
static void test_label_lengths_around_one_byte(void **state)
{
	static const size_t lens[] = {0, 1, 60, 61, 62, 63, 64, 122, 123, 124, 127, 128};

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char *value = repeat('v', lens[i]);
		struct test_series s = {.names = {"__name__", "n"}, .values = {"m", value}, .n = 2};
		struct test_series *owner[1] = {&s};
		struct sample smp = {.series = &s.ws, .timestamp_ms = 1, .value = 1};

		series_encode(&s);
		check_request(&smp, 1, owner);
		buf_free(&s.pb);
		free(value);
	}
}

/* ---- write requests ------------------------------------------------------ */

static void test_request_matches_protobuf_c(void **state)
{
	char *long_name = repeat('x', 130), *long_value = repeat('y', 300);
	struct test_series a = {
		.names = {"__name__", "city", "job"},
		.values = {"temp_celsius", "Zürich ☃ 東京", "bpfpush"},
		.n = 3,
	};
	struct test_series b = {
		.names = {"__name__", long_name},
		.values = {"long_labels", long_value},
		.n = 2,
	};
	struct test_series c = {.names = {"__name__"}, .values = {"up"}, .n = 1};
	struct sample smp[] = {
		{&a.ws, 1700000000000, {21.5}},
		{&a.ws, 1700000015000, {0.0}},       /* value omitted on the wire */
		{&b.ws, 0, {1.0}},                   /* timestamp omitted */
		{&b.ws, -1, {-0.0}},                 /* 10-byte varint; -0.0 omitted too */
		{&a.ws, INT64_MIN, {INFINITY}},      /* same series again: new TimeSeries */
		{&c.ws, INT64_MAX, {-INFINITY}},
		{&c.ws, 1700000030000, {0.0}},
		{&c.ws, 1700000045000, {5e-324}},    /* denormal */
		{&c.ws, 0, {0.0}},                   /* empty Sample message */
	};
	struct test_series *owner[] = {&a, &a, &b, &b, &a, &c, &c, &c, &c};

	(void)state;
	series_encode(&a);
	series_encode(&b);
	series_encode(&c);
	smp[6].value = bits_to_double(STALE_NAN_BITS);
	check_request(smp, sizeof(smp) / sizeof(smp[0]), owner);
	buf_free(&a.pb);
	buf_free(&b.pb);
	buf_free(&c.pb);
	free(long_name);
	free(long_value);
}

static void test_stale_marker_bits_preserved(void **state)
{
	struct test_series s = {.names = {"__name__"}, .values = {"gone"}, .n = 1};
	struct sample smp = {.series = &s.ws, .timestamp_ms = 42};
	struct buf out = {0};
	Prometheus__WriteRequest *dec;

	(void)state;
	series_encode(&s);
	smp.value = bits_to_double(STALE_NAN_BITS);
	assert_int_equal(encode_write_request(&smp, 1, &out), 0);
	dec = prometheus__write_request__unpack(NULL, out.len, out.data);
	assert_non_null(dec);
	assert_int_equal(double_bits(dec->timeseries[0]->samples[0]->value), STALE_NAN_BITS);
	prometheus__write_request__free_unpacked(dec, NULL);
	buf_free(&out);
	buf_free(&s.pb);
}

static void test_consecutive_samples_share_a_series(void **state)
{
	struct test_series s = {.names = {"__name__"}, .values = {"m"}, .n = 1};
	struct test_series t = {.names = {"__name__"}, .values = {"n"}, .n = 1};
	struct sample smp[100];
	struct test_series *owner[100];
	struct buf out = {0};
	Prometheus__WriteRequest *dec;

	(void)state;
	series_encode(&s);
	series_encode(&t);
	for (int i = 0; i < 100; i++) {
		struct test_series *o = i < 60 || i >= 90 ? &s : &t;
		smp[i] = (struct sample){&o->ws, 1000 + i, {i}};
		owner[i] = o;
	}
	check_request(smp, 100, owner);
	assert_int_equal(encode_write_request(smp, 100, &out), 0);
	dec = prometheus__write_request__unpack(NULL, out.len, out.data);
	assert_int_equal(dec->n_timeseries, 3);
	assert_int_equal(dec->timeseries[0]->n_samples, 60);
	assert_int_equal(dec->timeseries[1]->n_samples, 30);
	assert_int_equal(dec->timeseries[2]->n_samples, 10);
	prometheus__write_request__free_unpacked(dec, NULL);
	buf_free(&out);
	buf_free(&s.pb);
	buf_free(&t.pb);
}

static void test_empty_request(void **state)
{
	struct buf out = {0};

	(void)state;
	assert_int_equal(buf_append(&out, "junk", 4), 0);
	assert_int_equal(encode_write_request(NULL, 0, &out), 0);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

static void test_buffer_reused_without_realloc(void **state)
{
	struct test_series s = {.names = {"__name__"}, .values = {"m"}, .n = 1};
	struct sample smp[500];
	struct buf out = {0};
	uint8_t *first;
	size_t cap;

	(void)state;
	series_encode(&s);
	for (int i = 0; i < 500; i++)
		smp[i] = (struct sample){&s.ws, 1700000000000 + i, {i * 0.5}};
	assert_int_equal(encode_write_request(smp, 500, &out), 0);
	first = out.data;
	cap = out.cap;
	for (int round = 0; round < 10; round++) {
		assert_int_equal(encode_write_request(smp, (size_t)(50 * round), &out), 0);
		assert_ptr_equal(out.data, first);
		assert_int_equal(out.cap, cap);
	}
	buf_free(&out);
	buf_free(&s.pb);
}

/* ---- snappy ---------------------------------------------------------------- */

static size_t read_varint(const uint8_t *p, size_t len, uint64_t *v)
{
	size_t i = 0;

	*v = 0;
	for (; i < len && i < 10; i++) {
		*v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80))
			return i + 1;
	}
	return 0;
}

static void snappy_round_trip(const uint8_t *data, size_t len)
{
	struct buf in = {0}, z = {0}, back = {0};
	uint64_t ulen;

	assert_int_equal(buf_append(&in, data, len), 0);
	assert_int_equal(snappy_compress_block(&in, &z), 0);
	/* A block starts with the uncompressed length; a framed stream would
	 * start with the 0xff stream identifier chunk. */
	assert_true(z.len > 0);
	assert_int_not_equal(z.data[0], 0xff);
	assert_int_not_equal(read_varint(z.data, z.len, &ulen), 0);
	assert_int_equal(ulen, len);
	assert_int_equal(snappy_uncompress_block(z.data, z.len, &back), 0);
	assert_int_equal(back.len, len);
	if (len)
		assert_memory_equal(back.data, data, len);
	buf_free(&in);
	buf_free(&z);
	buf_free(&back);
}

static void test_snappy_round_trips(void **state)
{
	size_t sizes[] = {1, 127, 128, 4096, 100000};
	uint8_t *data = malloc(100000);
	uint32_t x = 12345;

	(void)state;
	snappy_round_trip(NULL, 0);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (size_t i = 0; i < sizes[s]; i++) {
			x = x * 1103515245u + 12345u;
			data[i] = (uint8_t)(x >> 16);
		}
		snappy_round_trip(data, sizes[s]);
		memset(data, 'a', sizes[s]); /* compressible too */
		snappy_round_trip(data, sizes[s]);
	}
	free(data);
}

static void test_snappy_empty_is_one_byte(void **state)
{
	struct buf in = {0}, z = {0};

	(void)state;
	assert_int_equal(snappy_compress_block(&in, &z), 0);
	assert_int_equal(z.len, 1);
	assert_int_equal(z.data[0], 0);
	buf_free(&z);
}

static void test_snappy_rejects_garbage(void **state)
{
	static const uint8_t bad[] = {0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y'};
	static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
	struct buf out = {0};

	(void)state;
	assert_int_equal(snappy_uncompress_block(bad, sizeof(bad), &out), -1);
	assert_int_equal(snappy_uncompress_block(huge, sizeof(huge), &out), -1);
	buf_free(&out);
}

/* ---- buf --------------------------------------------------------------------- */

static void test_buf(void **state)
{
	struct buf b = {0};

	(void)state;
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_int_equal(b.len, 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_append(&b, "abc", 3), 0);
	assert_int_equal(b.len, 3000);
	assert_true(b.cap >= 3000);
	assert_memory_equal(b.data + 2997, "abc", 3);
	/* len + extra overflowing size_t is refused before any allocation. */
	assert_int_equal(buf_reserve(&b, SIZE_MAX), -1);
	assert_int_equal(b.len, 3000);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_bytes),
		cmocka_unit_test(test_long_label_multibyte_varints),
		cmocka_unit_test(test_label_lengths_around_one_byte),
		cmocka_unit_test(test_request_matches_protobuf_c),
		cmocka_unit_test(test_stale_marker_bits_preserved),
		cmocka_unit_test(test_consecutive_samples_share_a_series),
		cmocka_unit_test(test_empty_request),
		cmocka_unit_test(test_buffer_reused_without_realloc),
		cmocka_unit_test(test_snappy_round_trips),
		cmocka_unit_test(test_snappy_empty_is_one_byte),
		cmocka_unit_test(test_snappy_rejects_garbage),
		cmocka_unit_test(test_buf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
