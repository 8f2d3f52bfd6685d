/* SPDX-License-Identifier: MIT */
/* queue: one per remote_write endpoint. Samples go to shard
 * hash(series) % shards, each shard a bounded ring of `capacity` samples
 * drained by its own sender thread, which batches up to
 * max_samples_per_send samples or whatever is there when
 * batch_send_deadline has passed since the oldest unsent one, encodes,
 * compresses and POSTs them on the shard's own keep-alive connection.
 *
 * A full ring: the rings are the queue's only buffer (there is no WAL to
 * read again later, as Prometheus has), so a round must fit in them or
 * wait for room. queue_append_wait, the agent's way, waits for room like
 * the Prometheus agent's reader blocks on a full shard: the sender makes
 * room a batch at a time, so a healthy receiver takes any round. The wait
 * is bounded: by the caller's deadline (the agent: half the interval per
 * round, shared by every endpoint, in slices so that SIGTERM is seen), and
 * it is not waited for a shard whose sender is failing (backing off) or
 * whose request in flight has taken over a second. After that, and always
 * in queue_append, the oldest samples are dropped and counted (reason
 * "queue_full"): drops are for a receiver that is down or too slow, not
 * for a burst. queue_stop (or begin_stop) wakes a waiting appender.
 *
 * Sizing: capacity * shards is what the queue holds at once, so a round
 * that found a ring full is demand: besides Prometheus' rate formula the
 * queue keeps enough shards for the rings to hold the largest round of
 * the last minute at 80 % (at most max_shards), and grows for such a round
 * at once, not at the next 10 s tick. With the defaults (10,000 x 50) a
 * round of up to 400,000 samples fits without waiting.
 *
 * Retries: SEND_RETRY outcomes are retried with backoff from min_backoff
 * doubling to max_backoff (with jitter), honouring Retry-After up to
 * max_retry_after; stopping ends a backoff with one more attempt; SEND_DROP
 * drops the batch, counts it as failed and logs status and body once. */
#ifndef BPFPUSH_QUEUE_H
#define BPFPUSH_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "proto/sample.h"
#include "queue/disk.h"

enum drop_reason {
	DROP_QUEUE_FULL,
	DROP_TOO_OLD,
	DROP_SHUTDOWN,
	DROP_DISK_FULL,               /* the disk tier's oldest, past max_disk_bytes */
	DROP_PARTIAL_WRITE,           /* a 2.0 receiver accepted a request but wrote
				       * fewer than it held (Samples-Written) */
	DROP_REASONS
};

const char *drop_reason_name(enum drop_reason r); /* "queue_full", ... */

/* Why a request (an attempt: retries count again) did not end in a 2xx. */
enum request_failure {
	FAIL_TIMEOUT,                 /* remote_timeout passed */
	FAIL_CONNECT,                 /* refused or unreachable */
	FAIL_RESOLVE,                 /* the host (or the proxy) has no address */
	FAIL_TLS,                     /* handshake or certificate */
	FAIL_CONNECTION,              /* closed or reset before a whole answer */
	FAIL_PROTOCOL,                /* not HTTP, malformed, too many redirects */
	FAIL_STATUS_5XX,
	FAIL_STATUS_429,
	FAIL_STATUS_OTHER,            /* any other non-2xx status: refused */
	FAIL_OTHER,                   /* no request made (credentials), or aborted at stop */
	REQUEST_FAILURES
};

const char *request_failure_name(enum request_failure f); /* "timeout", ... */

/* Prometheus' sent_batch_duration_seconds buckets: DefBuckets plus 25, 60,
 * 120, 300 seconds. */
#define QUEUE_DURATION_BUCKETS 15
extern const double queue_batch_duration_bounds[QUEUE_DURATION_BUCKETS];

/* A snapshot of one queue's counters; every field is cumulative unless said. */
struct queue_stats {
	uint64_t samples_in;          /* offered to queue_append */
	uint64_t samples_sent;        /* accepted by the receiver (2xx) */
	uint64_t samples_failed;      /* in batches the receiver refused (4xx) */
	uint64_t samples_retried;     /* re-sent after a retryable failure */
	uint64_t samples_dropped[DROP_REASONS];
	uint64_t samples_pending;     /* gauge: in rings and in flight */
	uint64_t bytes_sent;          /* compressed bytes of accepted requests */
	uint64_t requests_total;      /* HTTP requests made, retries included */
	uint64_t requests_failed[REQUEST_FAILURES]; /* of those, not a 2xx */
	uint64_t batches_failed;      /* batches dropped on a 4xx */
	uint64_t connections_opened;
	int64_t highest_sent_timestamp_ms; /* gauge */
	uint32_t shards;              /* gauge */
	uint32_t shards_desired;      /* gauge: the last resharding calculation */
	uint32_t shards_min, shards_max; /* gauges: from the config */
	uint64_t shard_capacity;      /* gauge: samples one shard's ring holds */
	uint64_t reshards;            /* times the shard count changed */
	/* Duration of every HTTP request (retries included), as a histogram
	 * with bounds queue_batch_duration_bounds; counts are per bucket, not
	 * cumulative; the last bucket is +Inf. */
	uint64_t batch_duration_counts[QUEUE_DURATION_BUCKETS + 1];
	uint64_t batch_duration_count;
	double batch_duration_sum;
	/* The disk tier: */
	bool disk_enabled;
	struct disk_stats disk;       /* zeros without one */
	uint64_t disk_samples_replayed; /* sent from disk and accepted */
	/* The protocol (protobuf_message): */
	bool protocol_v2;             /* gauge: 2.0 now (else 1.0) */
	uint64_t protocol_fallbacks;  /* times 2.0 fell back to 1.0 */
	/* The 1.0 metadata requests (metadata_config), in metadata entries: */
	uint64_t metadata_sent, metadata_failed, metadata_retried;
};

struct queue;

/* libcurl's global state: call once per program, before any queue is
 * created and before other threads start; cleanup after the last queue is
 * destroyed. 0 or -1. */
int queue_global_init(void);
void queue_global_cleanup(void);

/* cfg must outlive the queue. name is the remote_name label. NULL on error. */
struct queue *queue_create(const struct remote_write_config *cfg, const char *name);

/* Gives the queue its disk tier, in a directory of its own under data_dir
 * (created if missing): what it holds from a previous run is sent first.
 * Before queue_start. 0, or -1 with a warning logged: the queue stays
 * memory-only (a read-only or unusable directory is not fatal). */
int queue_attach_disk(struct queue *q, const char *data_dir);

/* Starts the sender threads. 0 or -1. */
int queue_start(struct queue *q);

/* Copies samples into their shards' rings; a full ring drops its oldest
 * (queue_full). Never waits for room, nor on the network. */
void queue_append(struct queue *q, const struct sample *samples, size_t n);

/* Copies samples into their shards' rings, in order; a sample whose ring
 * is full waits for its sender to make room, until until_ms (a
 * CLOCK_MONOTONIC time in ms; a past one: no waiting), unless that sender
 * is failing or stuck (see above: then the ring drops its oldest). Returns
 * how many samples were taken: fewer than n only once until_ms passed;
 * the rest are the caller's, to offer again or to queue_append. From the
 * thread that owns the queue. */
size_t queue_append_wait(struct queue *q, const struct sample *samples, size_t n,
			 int64_t until_ms);

/* Stopping, in two steps, so that several queues flush at the same time
 * under one deadline (a dead endpoint must not use it all up before the
 * next queue is even told):
 *
 * queue_begin_stop stops accepting and makes every shard send what it
 * holds now, until deadline_ms (a CLOCK_MONOTONIC time in ms); it does not
 * wait for the network. A second call does nothing.
 *
 * queue_stop waits for the shards (at the latest until the deadline),
 * counts the samples still unsent as dropped, reason "shutdown", logs and
 * returns the number dropped since stopping began. It calls
 * queue_begin_stop(q, deadline_ms) first if that was not done; otherwise
 * its deadline_ms is ignored. A second call returns 0.
 *
 * Both from the thread that owns the queue (the one that appends). */
void queue_begin_stop(struct queue *q, int64_t deadline_ms);
uint64_t queue_stop(struct queue *q, int64_t deadline_ms);

/* Moves the deadline of a flush that queue_begin_stop began to now (a
 * second SIGTERM): requests in flight are aborted, backoffs end, and
 * queue_stop returns at once, counting what is unsent as dropped, reason
 * "shutdown". The one stopping call that may come from any thread: after
 * queue_begin_stop has returned, until queue_stop has; before, it does
 * nothing. */
void queue_end_flush_now(struct queue *q);

void queue_destroy(struct queue *q);

/* What the queue still holds, for whoever owns what samples point to (the
 * registry frees forgotten series): queue_mark notes the samples in the
 * queue now; queue_mark_passed is true once every one of them has left it
 * (sent, refused or dropped, its batch done). One mark at a time; a new
 * queue counts as marked and passed. A reshard moves samples between
 * rings: queue_mark_passed then marks again, which covers the old ones too.
 * From the thread that appends. */
void queue_mark(struct queue *q);
bool queue_mark_passed(struct queue *q);

void queue_get_stats(const struct queue *q, struct queue_stats *out);

/* A reload kept the endpoint: it speaks its configured protocol again
 * (a 2.0 endpoint that fell back to 1.0 tries 2.0 once more). */
void queue_reset_protocol(struct queue *q);

/* Remote Write 1.0 metadata (metadata_config): whether the endpoint wants
 * every family's metadata now: send is on, it speaks 1.0 (configured, or
 * fallen back), it is running, and send_interval has passed since the
 * last queue_put_metadata (or since queue_start). From the appending
 * thread. */
bool queue_metadata_due(struct queue *q);

/* Hands over the metadata of every family (n of them): encoded now, in
 * requests of at most metadata_config.max_samples_per_send entries (the
 * strings need only outlive the call), and sent by the queue's own
 * metadata thread on its own connection, retried with the queue's backoff,
 * never in the way of samples. A set not yet sent when the next arrives
 * is replaced by it. From the appending thread. */
void queue_put_metadata(struct queue *q, const struct wire_meta *const *meta, size_t n);

/* How often the shard count is reconsidered (Prometheus: 10 s, the
 * default). For tests and benchmarks; call before queue_start. */
void queue_set_reshard_interval(struct queue *q, int64_t interval_ms);
const char *queue_name(const struct queue *q);
const char *queue_masked_url(const struct queue *q);
/* The endpoint's configuration, as given to queue_create. */
const struct remote_write_config *queue_remote_write_config(const struct queue *q);

#endif
