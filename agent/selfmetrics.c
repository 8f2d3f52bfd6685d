/* SPDX-License-Identifier: MIT */
#include "agent/selfmetrics.h"

#include <stdio.h>

#include "agent/caps.h"
#include "lib/numfmt.h"

#define RS "bpfpush_remote_storage_"

static const struct metric_desc build_info = {
	"bpfpush_build_info", "A metric with a constant '1' value labeled by version.", METRIC_GAUGE};
static const struct metric_desc samples_in = {
	"bpfpush_samples_in_total", "Samples collected and handed to the remote_write queues.",
	METRIC_COUNTER};
static const struct metric_desc rounds = {
	"bpfpush_collection_rounds_total", "Collection rounds completed.", METRIC_COUNTER};
static const struct metric_desc round_seconds = {
	"bpfpush_collection_round_duration_seconds", "Duration of the last collection round.",
	METRIC_GAUGE};

static const struct metric_desc rs_samples = {
	RS "samples_total", "Samples sent to remote storage and accepted.", METRIC_COUNTER};
static const struct metric_desc rs_failed = {
	RS "samples_failed_total",
	"Samples that failed on send to remote storage with a non-recoverable error.",
	METRIC_COUNTER};
static const struct metric_desc rs_retried = {
	RS "samples_retried_total",
	"Samples that failed on send to remote storage with a recoverable error and were retried.",
	METRIC_COUNTER};
static const struct metric_desc rs_dropped = {
	RS "samples_dropped_total", "Samples dropped before they could be sent, by reason.",
	METRIC_COUNTER};
static const struct metric_desc rs_req_failed = {
	RS "requests_failed_total",
	"Requests (each attempt) to remote storage that did not end in a 2xx, by reason.",
	METRIC_COUNTER};
static const struct metric_desc rs_pending = {
	RS "samples_pending", "Samples queued or in flight, not yet accepted.", METRIC_GAUGE};
static const struct metric_desc rs_bytes = {
	RS "bytes_total", "Compressed bytes of requests accepted by remote storage.",
	METRIC_COUNTER};
static const struct metric_desc rs_shards = {
	RS "shards", "Shards currently used to send to remote storage.", METRIC_GAUGE};
static const struct metric_desc rs_shards_desired = {
	RS "shards_desired", "Shards the last resharding calculation asked for.", METRIC_GAUGE};
static const struct metric_desc rs_shards_min = {
	RS "shards_min", "Minimum number of shards (queue_config.min_shards).", METRIC_GAUGE};
static const struct metric_desc rs_shards_max = {
	RS "shards_max", "Maximum number of shards (queue_config.max_shards).", METRIC_GAUGE};
static const struct metric_desc rs_capacity = {
	RS "shard_capacity", "Samples one shard can hold (queue_config.capacity).", METRIC_GAUGE};
static const struct metric_desc rs_duration = {
	RS "sent_batch_duration_seconds", "Duration of remote_write requests, retries included.",
	METRIC_HISTOGRAM};
static const struct metric_desc rs_connections = {
	RS "connections_opened_total", "TCP connections opened to remote storage.",
	METRIC_COUNTER};
static const struct metric_desc rs_tls_insecure = {
	RS "tls_insecure_skip_verify",
	"1 when the receiver's TLS certificate is not verified (tls_config.insecure_skip_verify).",
	METRIC_GAUGE};
static const struct metric_desc rs_highest = {
	RS "queue_highest_sent_timestamp_seconds",
	"Timestamp of the newest sample remote storage accepted.", METRIC_GAUGE};

static const struct metric_desc rs_disk_bytes = {
	RS "disk_bytes", "Bytes the disk tier holds, not yet accepted.", METRIC_GAUGE};
static const struct metric_desc rs_disk_samples = {
	RS "disk_samples", "Samples the disk tier holds, not yet accepted.", METRIC_GAUGE};
static const struct metric_desc rs_disk_segments = {
	RS "disk_segments", "Segment files of the disk tier.", METRIC_GAUGE};
static const struct metric_desc rs_disk_oldest = {
	RS "disk_oldest_timestamp_seconds",
	"Timestamp of the oldest sample on disk; 0 when it holds none.", METRIC_GAUGE};
static const struct metric_desc rs_disk_written = {
	RS "disk_samples_written_total", "Samples written to the disk tier.", METRIC_COUNTER};
static const struct metric_desc rs_disk_replayed = {
	RS "disk_samples_replayed_total", "Samples sent from the disk tier and accepted.",
	METRIC_COUNTER};
static const struct metric_desc rs_disk_write_errors = {
	RS "disk_write_errors_total", "Failed writes to the disk tier (it fell back to memory).",
	METRIC_COUNTER};
static const struct metric_desc rs_disk_read_errors = {
	RS "disk_read_errors_total", "Failed reads from the disk tier.", METRIC_COUNTER};
static const struct metric_desc rs_disk_corrupt = {
	RS "disk_corrupt_records_total", "Records of the disk tier skipped: torn or corrupt.",
	METRIC_COUNTER};

static const struct metric_desc rs_fallbacks = {
	RS "protocol_fallbacks_total",
	"Times a Remote Write 2.0 endpoint fell back to 1.0 (a 415, or a 2xx without "
	"X-Prometheus-Remote-Write-Samples-Written).", METRIC_COUNTER};
static const struct metric_desc rs_protocol = {
	RS "protocol_version", "Remote Write protocol the endpoint is sent now: 1 or 2.",
	METRIC_GAUGE};
static const struct metric_desc rs_meta = {
	RS "metadata_total", "Metadata entries sent to remote storage (1.0) and accepted.",
	METRIC_COUNTER};
static const struct metric_desc rs_meta_failed = {
	RS "metadata_failed_total", "Metadata entries remote storage refused (4xx).",
	METRIC_COUNTER};
static const struct metric_desc rs_meta_retried = {
	RS "metadata_retried_total", "Metadata entries sent again after a recoverable error.",
	METRIC_COUNTER};

/* The protocol and the 1.0 metadata requests. */
static void emit_protocol(struct registry *reg, struct label *l, const struct queue_stats *st)
{
	registry_emit(reg, &rs_protocol, NULL, l, 2, st->protocol_v2 ? 2 : 1, 0);
	registry_emit(reg, &rs_fallbacks, NULL, l, 2, (double)st->protocol_fallbacks, 0);
	registry_emit(reg, &rs_meta, NULL, l, 2, (double)st->metadata_sent, 0);
	registry_emit(reg, &rs_meta_failed, NULL, l, 2, (double)st->metadata_failed, 0);
	registry_emit(reg, &rs_meta_retried, NULL, l, 2, (double)st->metadata_retried, 0);
}

/* The disk tier's figures, for endpoints that have one. */
static void emit_disk(struct registry *reg, struct label *l, const struct queue_stats *st)
{
	const struct disk_stats *d = &st->disk;

	if (!st->disk_enabled)
		return;
	registry_emit(reg, &rs_disk_bytes, NULL, l, 2, (double)d->bytes, 0);
	registry_emit(reg, &rs_disk_samples, NULL, l, 2, (double)d->samples, 0);
	registry_emit(reg, &rs_disk_segments, NULL, l, 2, (double)d->segments, 0);
	registry_emit(reg, &rs_disk_oldest, NULL, l, 2, (double)d->oldest_ms / 1000.0, 0);
	registry_emit(reg, &rs_disk_written, NULL, l, 2, (double)d->samples_written, 0);
	registry_emit(reg, &rs_disk_replayed, NULL, l, 2, (double)st->disk_samples_replayed, 0);
	registry_emit(reg, &rs_disk_write_errors, NULL, l, 2, (double)d->write_errors, 0);
	registry_emit(reg, &rs_disk_read_errors, NULL, l, 2, (double)d->read_errors, 0);
	registry_emit(reg, &rs_disk_corrupt, NULL, l, 2, (double)d->corrupt_records, 0);
}

/* Prometheus' classic histogram: cumulative _bucket{le}, _sum, _count. */
static void emit_duration_histogram(struct registry *reg, struct label *l,
				    const struct queue_stats *st)
{
	char le[32];
	uint64_t cumulative = 0;

	l[2].name = "le";
	l[2].value = le;
	for (int i = 0; i <= QUEUE_DURATION_BUCKETS; i++) {
		cumulative += st->batch_duration_counts[i];
		if (i < QUEUE_DURATION_BUCKETS)
			format_double(queue_batch_duration_bounds[i], le, sizeof(le));
		else
			snprintf(le, sizeof(le), "+Inf");
		registry_emit(reg, &rs_duration, RS "sent_batch_duration_seconds_bucket", l, 3,
			      (double)cumulative, 0);
	}
	registry_emit(reg, &rs_duration, RS "sent_batch_duration_seconds_sum", l, 2,
		      st->batch_duration_sum, 0);
	registry_emit(reg, &rs_duration, RS "sent_batch_duration_seconds_count", l, 2,
		      (double)st->batch_duration_count, 0);
}

static void emit_queue(struct registry *reg, struct queue *q)
{
	struct queue_stats st;
	struct label l[3] = {{"remote_name", queue_name(q)}, {"url", queue_masked_url(q)}, {0}};

	queue_get_stats(q, &st);
	registry_emit(reg, &rs_samples, NULL, l, 2, (double)st.samples_sent, 0);
	registry_emit(reg, &rs_failed, NULL, l, 2, (double)st.samples_failed, 0);
	registry_emit(reg, &rs_retried, NULL, l, 2, (double)st.samples_retried, 0);
	for (int r = 0; r < DROP_REASONS; r++) {
		l[2] = (struct label){"reason", drop_reason_name((enum drop_reason)r)};
		registry_emit(reg, &rs_dropped, NULL, l, 3, (double)st.samples_dropped[r], 0);
	}
	for (int f = 0; f < REQUEST_FAILURES; f++) {
		l[2] = (struct label){"reason", request_failure_name((enum request_failure)f)};
		registry_emit(reg, &rs_req_failed, NULL, l, 3, (double)st.requests_failed[f], 0);
	}
	registry_emit(reg, &rs_pending, NULL, l, 2, (double)st.samples_pending, 0);
	registry_emit(reg, &rs_bytes, NULL, l, 2, (double)st.bytes_sent, 0);
	registry_emit(reg, &rs_shards, NULL, l, 2, (double)st.shards, 0);
	registry_emit(reg, &rs_shards_desired, NULL, l, 2, (double)st.shards_desired, 0);
	registry_emit(reg, &rs_shards_min, NULL, l, 2, (double)st.shards_min, 0);
	registry_emit(reg, &rs_shards_max, NULL, l, 2, (double)st.shards_max, 0);
	registry_emit(reg, &rs_capacity, NULL, l, 2, (double)st.shard_capacity, 0);
	emit_duration_histogram(reg, l, &st);
	registry_emit(reg, &rs_connections, NULL, l, 2, (double)st.connections_opened, 0);
	registry_emit(reg, &rs_highest, NULL, l, 2, (double)st.highest_sent_timestamp_ms / 1000.0, 0);
	registry_emit(reg, &rs_tls_insecure, NULL, l, 2,
		      queue_remote_write_config(q)->tls.insecure_skip_verify ? 1 : 0, 0);
	emit_disk(reg, l, &st);
	emit_protocol(reg, l, &st);
}

void selfmetrics_emit(struct registry *reg, struct queue *const *queues, size_t n_queues,
		      const struct agent_totals *totals)
{
	struct label version = {"version", BPFPUSH_VERSION};

	registry_emit(reg, &build_info, NULL, &version, 1, 1, 0);
	registry_emit(reg, &samples_in, NULL, NULL, 0, (double)totals->samples_in, 0);
	registry_emit(reg, &rounds, NULL, NULL, 0, (double)totals->rounds, 0);
	registry_emit(reg, &round_seconds, NULL, NULL, 0, totals->last_round_seconds, 0);
	caps_emit(reg);
	for (size_t i = 0; i < n_queues; i++)
		emit_queue(reg, queues[i]);
}
