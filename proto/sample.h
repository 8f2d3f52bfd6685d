/* SPDX-License-Identifier: MIT */
/* sample: what the queue carries. The registry owns the series; a series'
 * labels are encoded once, as the protobuf bytes of its prompb Label fields
 * (the repeated field 1 of a TimeSeries, tags included), so the queue never
 * looks at label strings and never encodes them per sample.
 *
 * A queued sample holds a plain pointer to its series: the registry frees
 * a series it forgot only once every queue has let go of the samples
 * appended before it was forgotten (queue_mark, queue_mark_passed). A
 * native histogram's value (struct wire_hist) lives as long, by the same
 * rule.
 *
 * Remote Write 2.0 and the 1.0 metadata requests need more than labels:
 * each series points to its family's metadata (type, help, unit) and
 * carries the time its counter started counting. */
#ifndef BPFPUSH_SAMPLE_H
#define BPFPUSH_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>

/* MetricMetadata.MetricType (1.0) and Metadata.MetricType (2.0) share
 * these numbers. */
enum wire_metric_type {
	WIRE_TYPE_UNKNOWN = 0,
	WIRE_TYPE_COUNTER = 1,
	WIRE_TYPE_GAUGE = 2,
	WIRE_TYPE_HISTOGRAM = 3,
	WIRE_TYPE_GAUGEHISTOGRAM = 4,
	WIRE_TYPE_SUMMARY = 5,
	WIRE_TYPE_INFO = 6,
	WIRE_TYPE_STATESET = 7,
};

/* One metric family's metadata, shared by its series; owned by the
 * registry. Strings are never NULL ("" when unknown). */
struct wire_meta {
	const char *family; /* metric family name (a histogram's base name) */
	const char *help;
	const char *unit;   /* "seconds", "bytes", ... or "" */
	uint8_t type;       /* enum wire_metric_type */
};

/* A native histogram sample's value: the encoded fields 1..14 of a
 * prompb Histogram (1.0's and 2.0's field numbers are the same), the
 * timestamp (field 15) left out: the encoder appends it. */
struct wire_hist {
	uint32_t len;
	uint8_t pb[];
};

struct wire_series {
	const uint8_t *labels_pb; /* encoded Label fields, sorted by name */
	uint32_t labels_len;
	bool native_histogram;    /* its samples carry .hist, never .value */
	uint64_t hash;            /* of the label set; picks the shard */
	const struct wire_meta *meta; /* NULL: none known */
	int64_t start_ms;         /* when its counter started counting (2.0's
				     created_timestamp); 0: unknown or a gauge */
};

struct sample {
	const struct wire_series *series;
	int64_t timestamp_ms;
	union {
		double value;                /* a float series */
		const struct wire_hist *hist; /* series->native_histogram */
	};
};

/* A series' start_ms changes (with a relaxed atomic store, on the
 * collection thread) when its collector starts counting over, while
 * samples of it may sit in a queue: other threads read it with this. A
 * start after a queued sample's timestamp is one of the new run's: an
 * encoder leaves the created timestamp out for that sample. */
static inline int64_t wire_series_start_ms(const struct wire_series *w)
{
	return __atomic_load_n(&w->start_ms, __ATOMIC_RELAXED);
}

/* The NaN Prometheus uses as a staleness marker (for a native histogram:
 * its sum). */
#define STALE_NAN_BITS 0x7ff0000000000002ULL

#endif
