/* SPDX-License-Identifier: MIT */
/* sample: what the queue carries. The registry owns the series; a series'
 * labels are encoded once, as the protobuf bytes of its prompb Label fields
 * (the repeated field 1 of a TimeSeries, tags included), so the queue never
 * looks at label strings and never encodes them per sample.
 *
 * A queued sample holds a plain pointer to its series: the registry frees
 * a series it forgot only once every queue has let go of the samples
 * appended before it was forgotten (queue_mark, queue_mark_passed). */
#ifndef BPFPUSH_SAMPLE_H
#define BPFPUSH_SAMPLE_H

#include <stdint.h>

struct wire_series {
	const uint8_t *labels_pb; /* encoded Label fields, sorted by name */
	uint32_t labels_len;
	uint64_t hash;            /* of the label set; picks the shard */
};

struct sample {
	const struct wire_series *series;
	int64_t timestamp_ms;
	double value;
};

/* The NaN Prometheus uses as a staleness marker. */
#define STALE_NAN_BITS 0x7ff0000000000002ULL

#endif
