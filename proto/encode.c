/* SPDX-License-Identifier: MIT */
/* prompb WriteRequest written by hand from pre-encoded labels.
 *
 * Wire layout (field numbers from proto/types.proto, remote.proto):
 *   WriteRequest.timeseries = 1 (0x0a, length-delimited)
 *     TimeSeries.labels  = 1: the series' labels_pb, copied verbatim
 *     TimeSeries.samples = 2 (0x12, length-delimited)
 *       Sample.value     = 1 (0x09, fixed64 double)
 *       Sample.timestamp = 2 (0x10, varint int64)
 *     TimeSeries.histograms = 4 (0x22, length-delimited), for a native
 *       histogram series: its wire_hist bytes (Histogram fields 1..14),
 *       then Histogram.timestamp = 15 (0x78, varint int64)
 *
 * proto3 omits a scalar equal to its default; protobuf-c tests doubles with
 * `0 == value` (so -0.0 is omitted too, NaN never is) and strings by
 * emptiness. We follow it so our bytes equal protobuf-c's pack. */
#include "proto/encode.h"

#include <errno.h>
#include <string.h>

#include <snappy-c.h>

#include "proto/pbwire.h"

#define TAG_LEN1   0x0a /* field 1, wire type 2 */
#define TAG_LEN2   0x12 /* field 2, wire type 2 */
#define TAG_FIX64  0x09 /* field 1, wire type 1 */
#define TAG_VARINT 0x10 /* field 2, wire type 0 */
#define TAG_HISTOGRAM 0x22 /* TimeSeries field 4, wire type 2 */
#define TAG_HIST_TS 0x78   /* Histogram field 15, wire type 0 */

/* Snappy's block header is a 32-bit length: refuse anything claiming more
 * than this, so a corrupt or hostile body cannot make us allocate 4 GiB. */
#define SNAPPY_MAX_UNCOMPRESSED (256u << 20)

/* Name and value both non-empty and under 128 bytes (one-byte lengths),
 * as nearly every label is: no varint loops. The caller reserved room. */
static uint8_t *put_short_label(uint8_t *p, const char *name, size_t name_len,
				const char *value, size_t value_len)
{
	*p++ = TAG_LEN1;
	*p++ = (uint8_t)(name_len + value_len + 4);
	*p++ = TAG_LEN1; /* Label.name = 1 */
	*p++ = (uint8_t)name_len;
	memcpy(p, name, name_len);
	p += name_len;
	*p++ = TAG_LEN2; /* Label.value = 2 */
	*p++ = (uint8_t)value_len;
	memcpy(p, value, value_len);
	return p + value_len;
}

int encode_label(struct buf *out, const char *name, size_t name_len,
		 const char *value, size_t value_len)
{
	size_t body = 0;
	uint8_t *p;

	/* body = name_len + value_len + 4 must fit one varint byte too. */
	if (name_len && value_len && name_len + value_len + 4 < 0x80) {
		if (out->cap - out->len < name_len + value_len + 6 &&
		    buf_reserve(out, name_len + value_len + 6) < 0)
			return -1;
		out->len = (size_t)(put_short_label(out->data + out->len, name, name_len, value,
						    value_len) - out->data);
		return 0;
	}
	if (name_len)
		body += 1 + pb_varint_size(name_len) + name_len;
	if (value_len)
		body += 1 + pb_varint_size(value_len) + value_len;
	if (buf_reserve(out, 1 + pb_varint_size(body) + body) < 0)
		return -1;
	p = out->data + out->len;
	*p++ = TAG_LEN1;
	p = pb_put_varint(p, body);
	if (name_len)
		p = pb_put_len_field(p, 1, name, name_len);
	if (value_len)
		p = pb_put_len_field(p, 2, value, value_len);
	out->len = (size_t)(p - out->data);
	return 0;
}

static size_t sample_body_size(const struct sample *s)
{
	size_t n = 0;

	if (s->timestamp_ms != 0)
		n += 1 + pb_varint_size((uint64_t)s->timestamp_ms);
	if (s->series->native_histogram) /* a Histogram: its fields, then the timestamp */
		return s->hist->len + n;
	if (s->value != 0.0)
		n += 1 + 8;
	return n;
}

/* Size of the TimeSeries body for the run of samples starting at samples[i]
 * that share one series; *end is set past the run. */
static size_t series_body_size(const struct sample *samples, size_t n, size_t i,
			       size_t *end)
{
	const struct wire_series *ws = samples[i].series;
	size_t size = ws->labels_len;

	for (; i < n && samples[i].series == ws; i++) {
		size_t sb = sample_body_size(&samples[i]);
		size += 1 + pb_varint_size(sb) + sb;
	}
	*end = i;
	return size;
}

static uint8_t *put_histogram(uint8_t *p, const struct sample *s)
{
	*p++ = TAG_HISTOGRAM;
	p = pb_put_varint(p, sample_body_size(s));
	memcpy(p, s->hist->pb, s->hist->len);
	p += s->hist->len;
	if (s->timestamp_ms != 0) {
		*p++ = TAG_HIST_TS;
		p = pb_put_varint(p, (uint64_t)s->timestamp_ms);
	}
	return p;
}

static uint8_t *put_sample(uint8_t *p, const struct sample *s)
{
	uint64_t bits;

	if (s->series->native_histogram)
		return put_histogram(p, s);
	*p++ = TAG_LEN2;
	p = pb_put_varint(p, sample_body_size(s));
	if (s->value != 0.0) {
		memcpy(&bits, &s->value, sizeof(bits));
		*p++ = TAG_FIX64;
		p = pb_put_fixed64(p, bits);
	}
	if (s->timestamp_ms != 0) {
		*p++ = TAG_VARINT;
		p = pb_put_varint(p, (uint64_t)s->timestamp_ms);
	}
	return p;
}

/* One pass: each TimeSeries' size is computed once, just before its bytes,
 * and the buffer is grown to fit it (a compare, the buffer being reused
 * from one batch to the next). */
int encode_write_request(const struct sample *samples, size_t n, struct buf *out)
{
	size_t end;

	buf_reset(out);
	for (size_t i = 0; i < n; i = end) {
		const struct wire_series *ws = samples[i].series;
		size_t body = series_body_size(samples, n, i, &end);
		uint8_t *p;

		if (buf_reserve(out, 1 + pb_varint_size(body) + body) < 0)
			return -1;
		p = out->data + out->len;
		*p++ = TAG_LEN1;
		p = pb_put_varint(p, body);
		if (ws->labels_len) {
			memcpy(p, ws->labels_pb, ws->labels_len);
			p += ws->labels_len;
		}
		for (size_t j = i; j < end; j++)
			p = put_sample(p, &samples[j]);
		out->len = (size_t)(p - out->data);
	}
	return 0;
}

int snappy_compress_block(const struct buf *in, struct buf *out)
{
	size_t max = snappy_max_compressed_length(in->len), len;

	buf_reset(out);
	if (buf_reserve(out, max) < 0)
		return -1;
	len = max;
	/* An empty buf may have no memory at all; snappy wants a pointer. */
	if (snappy_compress(in->data ? (const char *)in->data : "", in->len,
			    (char *)out->data, &len) != SNAPPY_OK) {
		errno = EINVAL;
		return -1;
	}
	out->len = len;
	return 0;
}

int snappy_uncompress_block(const uint8_t *in, size_t len, struct buf *out)
{
	size_t ulen;

	buf_reset(out);
	if (snappy_uncompressed_length((const char *)in, len, &ulen) != SNAPPY_OK ||
	    ulen > SNAPPY_MAX_UNCOMPRESSED) {
		errno = EINVAL;
		return -1;
	}
	/* Reserve at least one byte so snappy always gets a real pointer. */
	if (buf_reserve(out, ulen ? ulen : 1) < 0)
		return -1;
	if (snappy_uncompress((const char *)in, len, (char *)out->data, &ulen) != SNAPPY_OK) {
		errno = EINVAL;
		return -1;
	}
	out->len = ulen;
	return 0;
}
