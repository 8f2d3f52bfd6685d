/* SPDX-License-Identifier: MIT */
/* meta: what a metric family says about itself on the wire (struct
 * wire_meta: type, help, unit) and when a series' counter started
 * counting. The registry keeps one wire_meta per family and points every
 * series at it; these are the rules it fills them by. */
#ifndef BPFPUSH_META_H
#define BPFPUSH_META_H

#include <stdbool.h>

#include "proto/sample.h"
#include "series/registry.h"

/* The unit a family name ends in, before the suffixes a type adds (_total,
 * and _bucket, _sum, _count, _created, _info): "seconds" for
 * node_cpu_seconds_total, "bytes" for node_memory_MemFree_bytes, "" when
 * the last word is no unit this knows. A static string. OpenMetrics wants
 * a family's unit to be a suffix of its name, so one that is not is never
 * claimed. */
const char *metric_unit(const char *family_name);

/* The MetricMetadata type number of a collector's type. */
enum wire_metric_type wire_metric_type_of(enum metric_type t);

/* Whether series of this type carry a start (created timestamp): counters,
 * histograms and summaries. */
bool metric_type_has_start(enum metric_type t);

#endif
