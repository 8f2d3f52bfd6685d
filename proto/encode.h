/* SPDX-License-Identifier: MIT */
/* encode: prompb (remote write 1.0) WriteRequest, written directly from
 * pre-encoded series labels, and its snappy block compression.
 *
 * Byte-compatible with protobuf-c's encoding of prompb.WriteRequest (the unit
 * test decodes our output with protobuf-c). Consecutive samples of the same
 * series share one TimeSeries; samples keep their order. */
#ifndef BPFPUSH_ENCODE_H
#define BPFPUSH_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "proto/sample.h"

/* Appends the encoding of one prompb.Label (name = 1, value = 2), tag and
 * length included, as one element of TimeSeries.labels (field 1). The
 * registry uses it to build wire_series.labels_pb once per series. */
int encode_label(struct buf *out, const char *name, size_t name_len,
		 const char *value, size_t value_len);

/* Replaces out's content with the WriteRequest for samples[0..n). 0 or -1. */
int encode_write_request(const struct sample *samples, size_t n, struct buf *out);

/* Replaces out's content with the snappy block (not framed) of in. 0 or -1. */
int snappy_compress_block(const struct buf *in, struct buf *out);

/* For tests and the fault receiver: inverse of snappy_compress_block. */
int snappy_uncompress_block(const uint8_t *in, size_t len, struct buf *out);

#endif
