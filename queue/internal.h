/* SPDX-License-Identifier: MIT */
/* The queue's private face, shared by its files and by nothing else:
 *   queue.c    create, start, stop, destroy, stats
 *   ring.c     rings, appending (and waiting for room), marks
 *   batch.c    a shard's sender thread: batch, encode, post, retry, backoff
 *   reshard.c  the manager thread: rates, desired shards, the hand-over
 *   spill.c    the disk tier, appender's side: when, and memory to disk
 *   replay.c   the disk tier, senders' side: records claimed and sent
 *   disk.c     the disk tier's files
 * The way Prometheus does it: storage/remote/queue_manager.go.
 *
 * Locking, outermost first:
 *   route_mu  queue_append holds it for one call (one appender: never
 *             contended but by a reshard's two short critical sections); it
 *             guards n_shards' writes, `resharding` and the staging ring.
 *   mgr_mu    the manager's sleeps: ticks and the pause barrier.
 *   shard mu  one shard's ring and flags; held only to copy samples in or
 *             out, never across encoding or the network. The hand-over
 *             holds every shard's, taken in index order.
 * Counters are relaxed atomics, so stats can be read from any thread.
 */
#ifndef BPFPUSH_QUEUE_INTERNAL_H
#define BPFPUSH_QUEUE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "proto/encode_v2.h"
#include "proto/sample.h"
#include "queue/disk.h"
#include "queue/queue.h"
#include "queue/sender.h"

/* Ticks over which the largest round is remembered (a minute at 10 s), so
 * that rounds less frequent than ticks keep their shards. */
#define BURST_TICKS 6

struct counters {
	_Atomic uint64_t in, sent, failed, retried, pending, bytes, requests;
	_Atomic uint64_t batches_failed, connections;
	_Atomic uint64_t fallbacks;   /* 2.0 -> 1.0 (protocol.c) */
	/* The 1.0 metadata requests' entries (metadata.c): */
	_Atomic uint64_t meta_sent, meta_failed, meta_retried;
	_Atomic uint64_t dropped[DROP_REASONS];
	_Atomic uint64_t req_failed[REQUEST_FAILURES];
	_Atomic int64_t highest_ts;
	/* For the resharding rates: */
	_Atomic uint64_t out;         /* samples in batches whose send ended */
	_Atomic uint64_t out_ns;      /* wall time of those sends, retries included */
	_Atomic int64_t highest_in_ts; /* newest timestamp appended */
	_Atomic int64_t last_ok_ms;   /* monotonic time of the last 2xx */
	/* Request durations: */
	_Atomic uint64_t dur_counts[QUEUE_DURATION_BUCKETS + 1];
	_Atomic uint64_t dur_ns;
	/* Gauges and the reshard count: */
	_Atomic unsigned shards_desired;
	_Atomic uint64_t reshards;
};

/* Prometheus' ewmaRate: alpha-weighted, first non-zero tick sets it. */
struct ewma {
	double rate;
	bool init;
	uint64_t last;               /* the cumulative counter at the last tick */
};

/* Where a shard's batch is, for moving memory to disk (spill.c): its body
 * can be copied while it is posted or backing off, not while it is being
 * encoded. */
enum batch_phase {
	PH_PREP,                     /* taken, being encoded */
	PH_POST,                     /* encoded: posting */
	PH_BACKOFF,                  /* encoded: waiting to retry */
	PH_DONE,                     /* its outcome is being counted */
	PH_REPLAY,                   /* a record from disk: stays there */
};

/* Where an endpoint's appends go. */
enum queue_mode {
	QMODE_MEMORY,                /* the rings; nothing touches the disk */
	QMODE_DISK,                  /* the disk, until the senders drained it */
};

/* One of max_shards slots, allocated up front so pointers stay stable; the
 * ring, batch and sender exist only while the slot is active. */
struct shard {
	struct queue *q;
	unsigned idx;
	pthread_mutex_t mu;
	pthread_cond_t cv;           /* appends, stop, pause, retire, backoff */
	pthread_cond_t room;         /* a waiting appender: a batch taken, a
				      * hand-over, stopping */
	bool room_waiting;           /* the appender waits on `room` */
	int64_t taken_ms;            /* monotonic time the last batch was taken */
	atomic_bool retrying;        /* the last request failed (retryable) */
	struct sample *ring;         /* ring_cap slots, up to q->capacity (ring.c) */
	size_t ring_cap, ring_peak;  /* ring_peak: most held since it was last empty */
	size_t head, count;
	int64_t oldest_ms;           /* monotonic append time of the oldest unsent */
	bool busy;                   /* a batch is taken and its send not ended */
	enum batch_phase phase;      /* while busy */
	bool surrendered;            /* the batch in flight was written to disk:
				      * its sender leaves it there */
	bool pause;                  /* resharding: take no new batch (until
				      * the hand-over ends, or stopping) */
	bool retire;                 /* resharding: exit once empty */
	/* For queue_mark: samples ever pushed into the ring (pushed - count
	 * have left it, FIFO), where the batch in flight starts, the mark. */
	uint64_t pushed, batch_first, mark;
	/* Owned by the shard's thread, outside the lock: */
	struct sample *batch;        /* q->batch_max slots */
	size_t batch_n;
	struct buf pb, body;
	bool body_v2;                /* body is a 2.0 Request (else 1.0) */
	struct v2_encoder *v2enc;    /* made at the first 2.0 batch */
	struct buf scratch;          /* a 2.0 body uncompressed, to transcode */
	struct sender *sender;
	struct send_outcome out;
	uint64_t conns_seen;
	uint64_t rng;
	bool failing;                /* retrying: log when the endpoint recovers */
	bool replaying;              /* the batch is a record claimed from disk */
	bool stop_spilled;           /* stopping put its batch on disk: exit, the
				      * ring follows it there (queue_stop) */
	struct disk_ticket ticket;   /* the record's, when replaying */
	struct disk_record_info rec; /* the record's, when replaying */
	/* Owned by whoever starts and stops shards (queue_start, the manager,
	 * then queue_stop once the manager is joined): */
	bool slot_ready;             /* mu and cv initialised */
	bool active;                 /* ring, batch and sender allocated */
	pthread_t thread;
	bool running;
};

struct queue {
	const struct remote_write_config *cfg;
	struct sender_shared shared; /* the endpoint's token or role, its senders' */
	char *name, *masked_url;
	char *log_name, *log_url;    /* logfmt-quoted */
	size_t capacity, batch_max;
	unsigned min_shards, max_shards;
	struct shard *shards;        /* max_shards slots */
	/* Written under route_mu by the manager only; read under route_mu by
	 * queue_append, freely by the manager, relaxed by stats. */
	_Atomic unsigned n_shards;
	pthread_mutex_t route_mu;
	bool route_ready;
	bool resharding;             /* appends go to staging (under route_mu) */
	uint64_t handovers;          /* under route_mu: a mark before one is void */
	uint64_t mark_handovers;     /* the appender's own: handovers at the mark */
	bool mark_void;              /* the mark was taken while resharding */
	pthread_cond_t route_cv;     /* resharding ended, stopping (route_mu) */
	/* A round's demand on the rings: the largest `pending + n` an append
	 * met since the last tick (appender: max; manager: takes it), and the
	 * manager's window of those per tick. */
	_Atomic uint64_t demand_peak;
	uint64_t demand_win[BURST_TICKS];
	unsigned demand_pos;
	atomic_bool burst_poke;      /* a round did not fit: reconsider now */
	/* Memory was freed that malloc keeps unless asked (a ring shrank, a
	 * reshard ended): the manager's next tick gives it back. */
	atomic_bool trim_wanted;
	/* The appender's own: when it last said that rings overflowed. */
	int64_t full_logged_ms;
	uint64_t full_logged_total;
	struct sample *staging;      /* st_alloc slots, st_cap of them in use */
	size_t st_alloc, st_cap, st_head, st_count;
	int64_t st_since_ms;         /* when staging started: its oldest append */
	/* The hand-over's copy of the old rings: sc_alloc slots, the manager's
	 * own (used under route_mu and every shard lock). */
	struct sample *scratch;
	size_t sc_alloc;
	/* The manager: */
	pthread_mutex_t mgr_mu;
	pthread_cond_t mgr_cv;       /* stop, and paused shards ending their batch */
	bool mgr_ready, mgr_running;
	pthread_t mgr;
	int64_t reshard_interval_ms;
	struct ewma in_rate, out_rate, dropped_rate, out_dur_rate;
	bool skip_logged;            /* "skipping resharding" said once per outage */
	_Atomic int64_t deadline_ms; /* set before stopping */
	atomic_bool stopping;
	/* The stopping thread's own: */
	bool stop_begun, stopped;
	uint64_t shutdown_before;    /* dropped[DROP_SHUTDOWN] when stopping began */
	/* The disk tier (spill.c, replay.c); disk NULL: memory only. */
	struct disk *disk;
	_Atomic int mode;            /* enum queue_mode */
	bool disk_degraded;          /* under route_mu: a write failed; appends go
				      * to the rings, held until the disk drains */
	int64_t disk_retry_ms;       /* under route_mu: when to try it again */
	bool move_owed;              /* under route_mu: memory holds samples that a
				      * failed move left: they go first */
	struct buf sp_pb, sp_body;   /* under route_mu: encoding for the disk */
	struct v2_encoder *sp_v2enc; /* under route_mu: the same, for 2.0 */
	struct sample *sp_copy;      /* under route_mu: a ring's contents */
	size_t sp_alloc;
	_Atomic unsigned surrendered_busy; /* surrendered batches not yet ended:
					    * replay waits (their sends may
					    * still be on the wire) */
	_Atomic int64_t replay_after_ms; /* catch-up jitter: no claim before */
	_Atomic uint64_t replayed;   /* samples of records sent from disk */
	pthread_mutex_t rl_mu;       /* rate_limit: the next free send time */
	bool rl_ready;
	int64_t rl_next_us;
	_Atomic int proto;           /* enum rw_protocol spoken now (protocol.c) */
	atomic_bool partial_logged;  /* a partial write was warned about, and
				      * no full write came since */
	struct metadata_sender *meta; /* metadata.c; NULL: none */
	struct counters c;
};

static inline void add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline void sub(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_sub_explicit(c, n, memory_order_relaxed);
}

static inline uint64_t get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static inline unsigned shards_now(const struct queue *q)
{
	return atomic_load_explicit(&q->n_shards, memory_order_relaxed);
}

/* The one place that maps a series to a shard, for n shards: per-series
 * order holds as long as a series is in one ring at a time. */
static inline struct shard *shard_for(const struct queue *q, const struct wire_series *ws,
			       unsigned n)
{
	return &q->shards[ws->hash % n];
}

static inline void drop(struct queue *q, enum drop_reason r, uint64_t n)
{
	add(&q->c.dropped[r], n);
	sub(&q->c.pending, n);
}

static inline void atomic_max(_Atomic int64_t *v, int64_t x)
{
	int64_t cur = atomic_load_explicit(v, memory_order_relaxed);

	while (x > cur && !atomic_compare_exchange_weak_explicit(
				  v, &cur, x, memory_order_relaxed, memory_order_relaxed))
		;
}


static inline void timed_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t until_ms)
{
	struct timespec ts = {until_ms / 1000, (until_ms % 1000) * 1000000};

	pthread_cond_timedwait(cv, mu, &ts);
}

/* queue.c: a slot's ring, batch and sender, allocated and freed. */
int shard_activate(struct shard *sh);
void shard_release(struct shard *sh);

/* ring.c */
int shard_push(struct shard *sh, const struct sample *s);
/* A new ring's slots: what a batch or two needs, not capacity. */
size_t ring_first_cap(const struct queue *q);
void ring_copy(const struct sample *ring, size_t cap, size_t head, size_t n,
	       struct sample *out);
unsigned burst_need(const struct queue *q, uint64_t demand);

/* spill.c. Samples of an append call to disk, when the endpoint is
 * behind (or force: a ring would have dropped); returns how many (0: the
 * rings take them). */
size_t spill_append(struct queue *q, const struct sample *s, size_t n, bool force);
/* A sender's request failed (it is about to back off), not holding its
 * shard's lock: the endpoint is behind now, so memory moves to disk at
 * once, its own batch included, rather than at the next append: a crash
 * meanwhile would lose what memory holds. */
void spill_on_failure(struct queue *q);
/* queue_begin_stop: when behind, memory moves to disk; true if it did. */
bool spill_on_stop(struct queue *q);
/* A sender stopping with its batch unsent: the batch to disk. 0 or -1. */
int spill_batch_at_stop(struct shard *sh);
/* queue_stop, senders joined: the rings to disk; returns the samples. */
size_t spill_rings_at_stop(struct queue *q);
/* The catch-up jitter: no record is claimed for a random while. */
void replay_hold(struct queue *q);
void spill_free(struct queue *q);

/* replay.c. Under sh->mu: in DISK mode, claims a record for sh (true);
 * *hold: the ring must not be sent yet (older samples are on disk). */
bool replay_claim(struct shard *sh, bool *hold);
/* Whether the disk tier holds records (or a batch on its way there) that
 * go before the ring's samples: the ring must wait for them, or follow
 * them to disk when stopping. */
bool replay_holds(const struct shard *sh);
/* sample_age_limit on a claimed record (its newest sample decides): true
 * when it was too old, dropped and acknowledged. */
bool replay_too_old(struct shard *sh);
/* rate_limit: the wait before sending bytes (ms), the bytes reserved. */
int64_t rate_reserve(struct queue *q, size_t bytes);

/* protocol.c. Whether batches are encoded as 2.0 now. */
bool proto_v2_now(const struct queue *q);
/* samples[0..n) encoded in the endpoint's protocol now (*v2 says which;
 * *enc is made at the first 2.0 request) into pb, compressed into body. */
int proto_encode(struct queue *q, struct v2_encoder **enc, const struct sample *s, size_t n,
		 struct buf *pb, struct buf *body, bool *v2);
/* A 2.0 request's outcome that shows a receiver speaking only 1.0. */
bool proto_says_v1(const struct send_outcome *o, enum send_result r);
/* The endpoint speaks 1.0 from now on (logged and counted the first time). */
void proto_fall_back(struct queue *q, const struct send_outcome *o);
/* A compressed 2.0 body replaced by its 1.0 transcoding (pb and scratch:
 * working memory). 0, or -1 with errno (EINVAL: malformed). */
int proto_transcode(struct buf *body, struct buf *pb, struct buf *scratch);
/* Of `samples` sent in an accepted request, how many the receiver wrote:
 * 2.0's Samples-Written plus Histograms-Written, when it says; a partial
 * write is logged (a warning once per spell of them). */
uint64_t proto_written(struct queue *q, const struct send_outcome *o, bool v2,
		       uint64_t samples);

/* metadata.c: the 1.0 metadata sender's thread, started and stopped with
 * the queue (metadata_config.send); freed by queue_destroy. */
int metadata_start(struct queue *q);
void metadata_stop(struct queue *q);
void metadata_free(struct queue *q);

/* queue.c: a condition variable whose timed waits run on CLOCK_MONOTONIC,
 * so that a wall-clock step stretches no deadline or backoff. 0 or -1. */
int cond_init_monotonic(pthread_cond_t *cv);

/* batch.c: starts a shard's sender thread. 0 or -1. */
int shard_start(struct shard *sh);

/* reshard.c: the manager thread, started with min_shards < max_shards. */
void *manager_main(void *arg);

#endif
