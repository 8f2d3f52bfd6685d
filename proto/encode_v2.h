/* SPDX-License-Identifier: MIT */
/* encode_v2: Remote Write 2.0 (io.prometheus.write.v2.Request, see
 * proto/write_v2.proto), the 1.0 metadata-only WriteRequest, and the
 * 2.0 -> 1.0 transcoder a sender falls back on.
 *
 * 2.0 sends each string once, in Request.symbols (symbols[0] is ""), and
 * a series' labels as pairs of indexes into it (in labels_pb's order,
 * already sorted by name), with its family's metadata (type, help, unit)
 * and its counter's start time (created_timestamp) inline. Consecutive
 * samples of one series share one TimeSeries, as in 1.0; a native
 * histogram series' samples go to TimeSeries.histograms.
 *
 * All output is uncompressed protobuf (the caller snappy-compresses) and
 * replaces the out buffer's content. Every function returns 0, or -1 with
 * errno set (ENOMEM; EINVAL for a malformed input body). */
#ifndef BPFPUSH_ENCODE_V2_H
#define BPFPUSH_ENCODE_V2_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "proto/sample.h"

/* A 2.0 encoder's reusable memory (symbol table, refs, per-series sizes):
 * one per shard, used by one thread at a time. After a few requests of a
 * steady size, encoding allocates nothing. */
struct v2_encoder;

struct v2_encoder *v2_encoder_new(void); /* NULL on ENOMEM */
void v2_encoder_free(struct v2_encoder *e); /* NULL is fine */

/* The Request for samples[0..n). The series' labels_pb and meta strings
 * need only outlive the call. */
int encode_v2_request(struct v2_encoder *e, const struct sample *samples, size_t n,
		      struct buf *out);

/* How many float samples and native histogram samples an encoded 2.0
 * Request holds (what a receiver's X-Prometheus-Remote-Write-Samples-Written
 * and -Histograms-Written answer), for a batch or a disk record. */
int v2_request_counts(const uint8_t *v2, size_t len, uint64_t *samples,
		      uint64_t *histograms);

/* A 1.0 WriteRequest holding only metadata: one MetricMetadata (type,
 * metric_family_name, help, unit) for each of meta[0..n). */
int encode_metadata_request(const struct wire_meta *const *meta, size_t n,
			    struct buf *out);

/* The 1.0 WriteRequest carrying a 2.0 Request's samples and histograms
 * (labels resolved through the symbols). Metadata, created timestamps and
 * exemplars are dropped. Any malformed input (a truncated field, a symbol
 * ref out of range, an odd number of label refs) is EINVAL, never a read
 * past v2 + len. Our own Requests transcode to exactly the bytes
 * encode_write_request gives for the same samples. */
int transcode_v2_to_v1(const uint8_t *v2, size_t len, struct buf *v1);

#endif
