/* SPDX-License-Identifier: MIT */
/* The queue's private face, shared by its files and by nothing else:
 *   queue.c    create, start, stop, destroy, stats
 *   ring.c     rings, appending (and waiting for room), marks
 *   batch.c    a shard's sender thread: batch, encode, post, retry, backoff
 *   reshard.c  the manager thread: rates, desired shards, the hand-over
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
#include "proto/sample.h"
#include "queue/queue.h"
#include "queue/sender.h"

/* Ticks over which the largest round is remembered (a minute at 10 s), so
 * that rounds less frequent than ticks keep their shards. */
#define BURST_TICKS 6

struct counters {
	_Atomic uint64_t in, sent, failed, retried, pending, bytes, requests;
	_Atomic uint64_t batches_failed, connections;
	_Atomic uint64_t dropped[DROP_REASONS];
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
	struct sample *ring;         /* q->capacity slots */
	size_t head, count;
	int64_t oldest_ms;           /* monotonic append time of the oldest unsent */
	bool busy;                   /* a batch is taken and its send not ended */
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
	struct sender *sender;
	struct send_outcome out;
	uint64_t conns_seen;
	uint64_t rng;
	bool failing;                /* retrying: log when the endpoint recovers */
	/* Owned by whoever starts and stops shards (queue_start, the manager,
	 * then queue_stop once the manager is joined): */
	bool slot_ready;             /* mu and cv initialised */
	bool active;                 /* ring, batch and sender allocated */
	pthread_t thread;
	bool running;
};

struct queue {
	const struct remote_write_config *cfg;
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


/* queue.c: a slot's ring, batch and sender, allocated and freed. */
int shard_activate(struct shard *sh);
void shard_release(struct shard *sh);

/* ring.c */
int shard_push(struct shard *sh, const struct sample *s);
void ring_copy(const struct sample *ring, size_t cap, size_t head, size_t n,
	       struct sample *out);
unsigned burst_need(const struct queue *q, uint64_t demand);

/* batch.c: starts a shard's sender thread. 0 or -1. */
int shard_start(struct shard *sh);

/* reshard.c: the manager thread, started with min_shards < max_shards. */
void *manager_main(void *arg);

#endif
