/* Sharded remote-write queue: bounded rings filled by collectors, drained
 * by one sender thread per shard, and a manager thread that changes the
 * number of shards the way Prometheus does (storage/remote/queue_manager.go).
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
 *
 * Resharding is a hand-over, not a drain: appends go to a staging ring;
 * every current shard finishes the batch it has in flight (its retries
 * included) and then takes no new one (paused); once none has a batch in
 * flight, with route_mu and every shard's lock held, the samples still in
 * the old rings move, each ring in order, to their shards under the new
 * count (hash % new count), the staged samples follow in order, the count
 * changes and the shards resume. It costs at most one request time,
 * whatever the backlog. A series lives in exactly one old ring, its batch
 * in flight was sent before the pause ended, and its moved and staged
 * samples land in one new ring in order: per-series order holds across the
 * change, nothing is lost (but what overflows a ring, counted as
 * queue_full), and queue_append never waits for the network. */
#include "queue/queue.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "lib/log.h"
#include "lib/buf.h"
#include "proto/encode.h"
#include "queue/sender.h"
#include "lib/clock.h"

/* Room for a logfmt-quoted 1 KiB body: every byte may become "\xNN". */
#define QUOTED_BODY_MAX (SENDER_BODY_KEEP * 4 + 3)

/* Prometheus' shardUpdateDuration, shardToleranceFraction, ewma alpha. */
#define RESHARD_INTERVAL_MS 10000
#define RESHARD_TOLERANCE 0.3
#define EWMA_ALPHA 0.2
/* Prometheus: no downsharding while more than this far behind. */
#define RESHARD_MAX_DELAY_S 10.0
#define MAX_SHARDS_LIMIT 1024
/* A waiting appender (queue_append_wait) gives up on a shard whose request
 * in flight has taken longer than this, or whose last request failed: the
 * receiver is down, hung or too slow, and the ring drops its oldest as
 * queue_append does. A healthy receiver answers a batch well within it. */
#define APPEND_STALL_MS 1000
/* A waiting appender looks again at least this often (a sender that began
 * retrying wakes nobody). */
#define APPEND_RECHECK_MS 100
/* Rings are sized for a round to fill them to this fraction at most. */
#define BURST_FILL 0.8
/* Ticks over which the largest round is remembered (a minute at 10 s), so
 * that rounds less frequent than ticks keep their shards. */
#define BURST_TICKS 6
/* How often an early reshard, wanted for a round that did not fit, looks
 * again for the first successful send it must wait for. */
#define BURST_RETRY_MS 100

const double queue_batch_duration_bounds[QUEUE_DURATION_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 120, 300};

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

static void add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void sub(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_sub_explicit(c, n, memory_order_relaxed);
}

static uint64_t get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

const char *drop_reason_name(enum drop_reason r)
{
	static const char *const names[DROP_REASONS] = {
		[DROP_QUEUE_FULL] = "queue_full",
		[DROP_TOO_OLD] = "too_old",
		[DROP_SHUTDOWN] = "shutdown",
	};

	return (unsigned)r < DROP_REASONS ? names[r] : "unknown";
}

int queue_global_init(void)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK) {
		log_msg(LOG_ERROR, "libcurl initialisation failed", "err=\"%s\"",
			curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

void queue_global_cleanup(void)
{
	curl_global_cleanup();
}

static unsigned shards_now(const struct queue *q)
{
	return atomic_load_explicit(&q->n_shards, memory_order_relaxed);
}

/* The one place that maps a series to a shard, for n shards: per-series
 * order holds as long as a series is in one ring at a time. */
static struct shard *shard_for(const struct queue *q, const struct wire_series *ws,
			       unsigned n)
{
	return &q->shards[ws->hash % n];
}

static void drop(struct queue *q, enum drop_reason r, uint64_t n)
{
	add(&q->c.dropped[r], n);
	sub(&q->c.pending, n);
}

static int cond_init_monotonic(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	int rc;

	if (pthread_condattr_init(&ca))
		return -1;
	/* Timed waits on the monotonic clock: wall-clock steps must not
	 * stretch a batch deadline, a backoff or a tick. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
	return rc ? -1 : 0;
}

/* ---- shard lifetime --------------------------------------------------- */

/* Every slot gets its lock and condvar at queue_create, so that waking or
 * locking any slot is always safe. */
static int slot_init(struct queue *q, struct shard *sh, unsigned idx)
{
	sh->q = q;
	sh->idx = idx;
	if (cond_init_monotonic(&sh->cv) < 0)
		return -1;
	if (cond_init_monotonic(&sh->room) < 0) {
		pthread_cond_destroy(&sh->cv);
		return -1;
	}
	if (pthread_mutex_init(&sh->mu, NULL)) {
		pthread_cond_destroy(&sh->cv);
		pthread_cond_destroy(&sh->room);
		return -1;
	}
	sh->slot_ready = true;
	return 0;
}

/* Frees what an active slot holds; the slot's thread is not running. */
static void shard_release(struct shard *sh)
{
	free(sh->ring);
	free(sh->batch);
	buf_free(&sh->pb);
	buf_free(&sh->body);
	sender_destroy(sh->sender);
	sh->ring = sh->batch = NULL;
	sh->sender = NULL;
	sh->active = false;
}

/* Gives an idle slot its ring, batch buffer and sender. */
static int shard_activate(struct shard *sh)
{
	struct queue *q = sh->q;

	sh->head = sh->count = sh->batch_n = 0;
	sh->busy = sh->pause = sh->retire = sh->failing = false;
	sh->conns_seen = 0;
	sh->room_waiting = false;
	sh->taken_ms = 0;
	atomic_store(&sh->retrying, false);
	sh->rng = ((uint64_t)mono_ms() << 16) ^ (0x9e3779b97f4a7c15ULL * (sh->idx + 1));
	sh->ring = calloc(q->capacity, sizeof(*sh->ring));
	sh->batch = calloc(q->batch_max, sizeof(*sh->batch));
	sh->sender = sender_create(q->cfg);
	sh->active = true;
	if (sh->ring && sh->batch && sh->sender)
		return 0;
	shard_release(sh);
	return -1;
}

static void slot_fini(struct shard *sh)
{
	if (sh->active)
		shard_release(sh);
	if (!sh->slot_ready)
		return;
	pthread_mutex_destroy(&sh->mu);
	pthread_cond_destroy(&sh->cv);
	pthread_cond_destroy(&sh->room);
	sh->slot_ready = false;
}

static char *quote_dup(const char *s)
{
	size_t len = strlen(s), sz = len * 4 + 3;
	char *out = malloc(sz);

	return out ? (char *)log_quote(s, len, out, sz) : NULL;
}

static int check_config(const struct remote_write_config *cfg)
{
	const struct queue_config *qc = &cfg->queue;

	if (!cfg->url || qc->capacity < 1 || qc->min_shards < 1 ||
	    qc->max_shards < qc->min_shards || qc->max_shards > MAX_SHARDS_LIMIT ||
	    qc->max_samples_per_send < 1 ||
	    qc->batch_send_deadline_ms < 0 || qc->min_backoff_ms < 0 ||
	    qc->max_backoff_ms < qc->min_backoff_ms) {
		log_msg(LOG_ERROR, "remote_write: invalid queue configuration", NULL);
		return -1;
	}
	return 0;
}

static int queue_init_names(struct queue *q, const char *name)
{
	size_t sz = strlen(q->cfg->url) + 16;

	q->name = strdup(name ? name : "");
	q->masked_url = malloc(sz);
	if (!q->name || !q->masked_url)
		return -1;
	config_mask_url(q->cfg->url, q->masked_url, sz);
	q->log_name = quote_dup(q->name);
	q->log_url = quote_dup(q->masked_url);
	return q->log_name && q->log_url ? 0 : -1;
}

static int queue_init_sync(struct queue *q)
{
	if (pthread_mutex_init(&q->route_mu, NULL))
		return -1;
	if (cond_init_monotonic(&q->route_cv) < 0) {
		pthread_mutex_destroy(&q->route_mu);
		return -1;
	}
	q->route_ready = true;
	if (pthread_mutex_init(&q->mgr_mu, NULL))
		return -1;
	if (cond_init_monotonic(&q->mgr_cv) < 0) {
		pthread_mutex_destroy(&q->mgr_mu);
		return -1;
	}
	q->mgr_ready = true;
	return 0;
}

struct queue *queue_create(const struct remote_write_config *cfg, const char *name)
{
	struct queue *q;

	if (check_config(cfg) < 0)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (!q) {
		log_msg(LOG_ERROR, "remote_write: cannot create queue", NULL);
		return NULL;
	}
	q->cfg = cfg;
	q->capacity = (size_t)cfg->queue.capacity;
	/* A batch can never outgrow the ring it is taken from. */
	q->batch_max = (size_t)cfg->queue.max_samples_per_send;
	if (q->batch_max > q->capacity)
		q->batch_max = q->capacity;
	q->min_shards = (unsigned)cfg->queue.min_shards;
	q->max_shards = (unsigned)cfg->queue.max_shards;
	q->reshard_interval_ms = RESHARD_INTERVAL_MS;
	atomic_init(&q->n_shards, q->min_shards);
	atomic_init(&q->deadline_ms, INT64_MAX);
	atomic_init(&q->c.highest_ts, 0);
	atomic_init(&q->c.highest_in_ts, INT64_MIN);
	atomic_init(&q->c.last_ok_ms, INT64_MIN);
	atomic_init(&q->c.shards_desired, q->min_shards);
	if (queue_init_names(q, name) < 0 || queue_init_sync(q) < 0)
		goto oom;
	q->shards = calloc(q->max_shards, sizeof(*q->shards));
	if (!q->shards)
		goto oom;
	for (unsigned i = 0; i < q->max_shards; i++)
		if (slot_init(q, &q->shards[i], i) < 0)
			goto oom;
	for (unsigned i = 0; i < q->min_shards; i++)
		if (shard_activate(&q->shards[i]) < 0)
			goto oom;
	return q;
oom:
	log_msg(LOG_ERROR, "remote_write: cannot create queue", "remote_name=%s",
		q->log_name ? q->log_name : "?");
	q->stopped = true;
	queue_destroy(q);
	return NULL;
}

void queue_destroy(struct queue *q)
{
	if (!q)
		return;
	if (!q->stopped)
		queue_stop(q, mono_ms());
	for (unsigned i = 0; q->shards && i < q->max_shards; i++)
		slot_fini(&q->shards[i]);
	free(q->shards);
	free(q->staging);
	free(q->scratch);
	if (q->route_ready) {
		pthread_mutex_destroy(&q->route_mu);
		pthread_cond_destroy(&q->route_cv);
	}
	if (q->mgr_ready) {
		pthread_mutex_destroy(&q->mgr_mu);
		pthread_cond_destroy(&q->mgr_cv);
	}
	free(q->name);
	free(q->masked_url);
	free(q->log_name);
	free(q->log_url);
	free(q);
}

void queue_set_reshard_interval(struct queue *q, int64_t interval_ms)
{
	q->reshard_interval_ms = interval_ms > 0 ? interval_ms : RESHARD_INTERVAL_MS;
}

/* ---- the collectors' side ------------------------------------------- */

/* Pushes s at the tail of a ring of cap slots holding *count from *head.
 * Returns 1 when the ring was full and its oldest sample was overwritten. */
static int ring_push(struct sample *ring, size_t cap, size_t *head, size_t *count,
		     const struct sample *s)
{
	size_t tail;
	int dropped = 0;

	if (*count == cap) {
		*head = *head + 1 == cap ? 0 : *head + 1;
		(*count)--;
		dropped = 1;
	}
	tail = *head + *count;
	ring[tail >= cap ? tail - cap : tail] = *s;
	(*count)++;
	return dropped;
}

static int shard_push(struct shard *sh, const struct sample *s)
{
	sh->pushed++;
	return ring_push(sh->ring, sh->q->capacity, &sh->head, &sh->count, s);
}

/* The sender of a full ring is not worth waiting for: its last request
 * failed (it is backing off), or the one in flight has taken too long.
 * Under sh->mu. */
static bool sender_stalled(const struct shard *sh, int64_t now)
{
	return atomic_load_explicit(&sh->retrying, memory_order_relaxed) ||
	       (sh->busy && now - sh->taken_ms > APPEND_STALL_MS);
}

/* Pushes samples[0..n), all of one shard, under one lock, and returns how
 * many went in, and in *was_full whether they did not all fit. wait: a
 * full ring takes only what it has room for (the caller waits for more),
 * unless its sender is stalled; otherwise (and then) a full ring drops its
 * oldest (queue_full). */
static size_t shard_append(struct shard *sh, const struct sample *samples, size_t n,
			   int64_t now, bool wait, bool *was_full)
{
	struct queue *q = sh->q;
	size_t before, take = n, full = 0;

	pthread_mutex_lock(&sh->mu);
	if (atomic_load(&q->stopping)) {
		pthread_mutex_unlock(&sh->mu);
		add(&q->c.dropped[DROP_SHUTDOWN], n);
		return n;
	}
	before = sh->count;
	*was_full = n > q->capacity - before;
	if (wait && *was_full && !sender_stalled(sh, now))
		take = q->capacity - before;
	if (before == 0 && take > 0)
		sh->oldest_ms = now;
	for (size_t i = 0; i < take; i++)
		full += (size_t)shard_push(sh, &samples[i]);
	/* Wake the sender only on the edges it waits for: the first sample
	 * (to arm the batch deadline) and a full batch. */
	if (take > 0 && (before == 0 || (before < q->batch_max && sh->count >= q->batch_max)))
		pthread_cond_signal(&sh->cv);
	pthread_mutex_unlock(&sh->mu);
	add(&q->c.pending, take - full);
	if (full)
		add(&q->c.dropped[DROP_QUEUE_FULL], full);
	return take;
}

/* While resharding: into the staging ring, oldest dropped when full.
 * Under route_mu. */
static void staging_append(struct queue *q, const struct sample *samples, size_t n)
{
	size_t full = 0;

	for (size_t i = 0; i < n; i++)
		full += (size_t)ring_push(q->staging, q->st_cap, &q->st_head, &q->st_count,
					  &samples[i]);
	add(&q->c.pending, n - full);
	add(&q->c.dropped[DROP_QUEUE_FULL], full);
}

static void atomic_max(_Atomic int64_t *v, int64_t x)
{
	int64_t cur = atomic_load_explicit(v, memory_order_relaxed);

	while (x > cur && !atomic_compare_exchange_weak_explicit(
				  v, &cur, x, memory_order_relaxed, memory_order_relaxed))
		;
}

/* Loss must never be silent: when rings overflowed since the last word
 * about it, say so, at most every 10 s, with what to change. */
static void warn_if_overflowing(struct queue *q, int64_t now)
{
	uint64_t total = get(&q->c.dropped[DROP_QUEUE_FULL]);

	if (total == q->full_logged_total || now - q->full_logged_ms < 10000)
		return;
	log_msg(LOG_WARN, "remote_write queue full: oldest samples dropped",
		"remote_name=%s url=%s dropped=%llu dropped_total=%llu capacity=%zu shards=%u "
		"hint=\"the endpoint is down or too slow, or a round outgrew capacity*max_shards "
		"(raise queue_config.capacity or max_shards)\"",
		q->log_name, q->log_url, (unsigned long long)(total - q->full_logged_total),
		(unsigned long long)total, q->capacity, shards_now(q));
	q->full_logged_total = total;
	q->full_logged_ms = now;
}

static void timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t until_ms)
{
	struct timespec ts = {until_ms / 1000, (until_ms % 1000) * 1000000};

	pthread_cond_timedwait(cv, mu, &ts);
}

/* Waits, with route_mu held on entry and on return (dropped meanwhile, so
 * that a reshard can go on), until sh's ring has room, its sender stalls,
 * stopping begins or until_ms. A hand-over empties the old rings and wakes
 * `room`: the caller routes again under the count it finds. */
static void room_wait(struct queue *q, struct shard *sh, int64_t until_ms)
{
	int64_t now;

	pthread_mutex_lock(&sh->mu);
	pthread_mutex_unlock(&q->route_mu);
	sh->room_waiting = true;
	while (sh->count >= q->capacity && !atomic_load(&q->stopping) &&
	       (now = mono_ms()) < until_ms && !sender_stalled(sh, now))
		timed_wait(&sh->room, &sh->mu, now + APPEND_RECHECK_MS < until_ms ?
				now + APPEND_RECHECK_MS : until_ms);
	sh->room_waiting = false;
	pthread_mutex_unlock(&sh->mu);
	pthread_mutex_lock(&q->route_mu);
}

/* Shards needed for rings to hold `demand` samples at BURST_FILL. */
static unsigned burst_need(const struct queue *q, uint64_t demand)
{
	double d = ceil((double)demand / ((double)q->capacity * BURST_FILL));

	return d >= q->max_shards ? q->max_shards : d < 1 ? 1 : (unsigned)d;
}

/* A ring was full: if the rings together would hold the round with more
 * shards, the manager reconsiders now rather than at its next tick (the
 * first large round would otherwise wait up to 10 s, or be dropped). */
static void poke_manager(struct queue *q, uint64_t demand)
{
	if (q->min_shards == q->max_shards || burst_need(q, demand) <= shards_now(q) ||
	    atomic_exchange(&q->burst_poke, true))
		return;
	pthread_mutex_lock(&q->mgr_mu);
	pthread_cond_broadcast(&q->mgr_cv);
	pthread_mutex_unlock(&q->mgr_mu);
}

struct append_call {
	const struct sample *s;
	size_t n;
	int64_t until_ms;            /* wait for room until then */
	bool wait;                   /* false: never wait, drop the oldest */
	uint64_t demand;             /* pending + n when the call began */
	bool poked;
};

/* Routes a->s[i..n) run by run (a run: samples of one shard), under
 * route_mu; returns how many went in. Waiting (a->wait), a full ring or a
 * reshard's hand-over waits (route_mu dropped) until a->until_ms; once that
 * passed, the rest is returned to the caller. */
static size_t route(struct queue *q, struct append_call *a)
{
	int64_t now = mono_ms(); /* per call, not per sample; again after a wait */
	size_t i = 0, j, put, in = 0, rest = 0; /* rest: shut out or staged, taken too */
	bool full = false;

	while (i < a->n) {
		unsigned ns = shards_now(q);
		struct shard *sh;

		if (atomic_load(&q->stopping)) {
			rest = a->n - i;
			add(&q->c.dropped[DROP_SHUTDOWN], rest);
			break;
		}
		if (q->resharding && !a->wait) {
			rest = a->n - i;
			staging_append(q, a->s + i, rest);
			break;
		}
		if (q->resharding) { /* at most one request time */
			if (now >= a->until_ms)
				break;
			timed_wait(&q->route_cv, &q->route_mu, a->until_ms);
			now = mono_ms();
			continue;
		}
		sh = shard_for(q, a->s[i].series, ns);
		for (j = i + 1; j < a->n && shard_for(q, a->s[j].series, ns) == sh; j++)
			;
		put = shard_append(sh, a->s + i, j - i, now, a->wait, &full);
		i += put;
		in += put;
		if (full && !a->poked) /* overflow is demand: more shards hold more */
			poke_manager(q, a->demand);
		a->poked |= full;
		if (i == j)
			continue;
		if (now >= a->until_ms)
			break;
		add(&q->c.in, in);
		in = 0;
		room_wait(q, sh, a->until_ms);
		now = mono_ms();
	}
	/* Not what is handed back: the caller offers that again. */
	add(&q->c.in, in + rest);
	return i + rest;
}

static size_t append(struct queue *q, struct append_call *a)
{
	int64_t newest = INT64_MIN;
	uint64_t peak;
	size_t done;

	if (a->n == 0)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (a->s[i].timestamp_ms > newest)
			newest = a->s[i].timestamp_ms;
	atomic_max(&q->c.highest_in_ts, newest);
	a->demand = get(&q->c.pending) + a->n;
	peak = get(&q->demand_peak);
	while (a->demand > peak && !atomic_compare_exchange_weak(&q->demand_peak, &peak,
								 a->demand))
		;
	pthread_mutex_lock(&q->route_mu);
	done = route(q, a);
	pthread_mutex_unlock(&q->route_mu);
	warn_if_overflowing(q, mono_ms());
	return done;
}

void queue_append(struct queue *q, const struct sample *samples, size_t n)
{
	struct append_call a = {samples, n, 0, false, 0, false};

	append(q, &a);
}

size_t queue_append_wait(struct queue *q, const struct sample *samples, size_t n,
			 int64_t until_ms)
{
	struct append_call a = {samples, n, until_ms, true, 0, false};

	return append(q, &a);
}

/* Stopping, or a reshard that stopping cut short: a waiting appender
 * returns (the rest of its samples are refused and counted). */
static void wake_appender(struct queue *q)
{
	pthread_mutex_lock(&q->route_mu);
	pthread_cond_broadcast(&q->route_cv);
	pthread_mutex_unlock(&q->route_mu);
	for (unsigned i = 0; i < q->max_shards; i++) {
		struct shard *sh = &q->shards[i];

		pthread_mutex_lock(&sh->mu);
		pthread_cond_broadcast(&sh->room);
		pthread_mutex_unlock(&sh->mu);
	}
}

/* Every ring is FIFO (an overflow drops its oldest): the samples pushed
 * before the mark have left a ring once its head has passed the mark, and
 * its batch in flight, if any, starts at or after it. */
void queue_mark(struct queue *q)
{
	pthread_mutex_lock(&q->route_mu);
	q->mark_void = q->resharding;
	q->mark_handovers = q->handovers;
	for (unsigned i = 0; !q->mark_void && i < shards_now(q); i++) {
		struct shard *sh = &q->shards[i];

		pthread_mutex_lock(&sh->mu);
		sh->mark = sh->pushed;
		pthread_mutex_unlock(&sh->mu);
	}
	pthread_mutex_unlock(&q->route_mu);
}

bool queue_mark_passed(struct queue *q)
{
	bool passed, moved;

	pthread_mutex_lock(&q->route_mu);
	moved = q->mark_void || q->mark_handovers != q->handovers;
	passed = !moved;
	for (unsigned i = 0; passed && i < shards_now(q); i++) {
		struct shard *sh = &q->shards[i];

		pthread_mutex_lock(&sh->mu);
		passed = sh->pushed - sh->count >= sh->mark &&
			 (!sh->busy || sh->batch_first >= sh->mark);
		pthread_mutex_unlock(&sh->mu);
	}
	pthread_mutex_unlock(&q->route_mu);
	if (moved)
		queue_mark(q); /* covers whatever the old mark covered */
	return passed;
}

/* ---- the sender side --------------------------------------------------- */

/* Waits on the shard's condvar until until_ms (INT64_MAX: no limit). */
static void wait_until(struct shard *sh, int64_t until_ms)
{
	struct timespec ts;

	if (until_ms == INT64_MAX) {
		pthread_cond_wait(&sh->cv, &sh->mu);
		return;
	}
	ts.tv_sec = until_ms / 1000;
	ts.tv_nsec = (until_ms % 1000) * 1000000;
	pthread_cond_timedwait(&sh->cv, &sh->mu, &ts);
}

static int64_t stop_deadline(const struct queue *q)
{
	/* stopping is stored after deadline_ms, so this sees the deadline. */
	if (!atomic_load(&q->stopping))
		return INT64_MAX;
	return atomic_load(&q->deadline_ms);
}

/* Copies the n oldest samples of a ring of cap slots from head to out. */
static void ring_copy(const struct sample *ring, size_t cap, size_t head, size_t n,
		      struct sample *out)
{
	size_t first = cap - head < n ? cap - head : n;

	memcpy(out, ring + head, first * sizeof(*out));
	memcpy(out + first, ring, (n - first) * sizeof(*out));
}

static void take_batch(struct shard *sh)
{
	size_t cap = sh->q->capacity, n = sh->count;

	if (n > sh->q->batch_max)
		n = sh->q->batch_max;
	ring_copy(sh->ring, cap, sh->head, n, sh->batch);
	sh->batch_first = sh->pushed - sh->count;
	sh->head = (sh->head + n) % cap;
	sh->count -= n;
	sh->batch_n = n;
	sh->taken_ms = mono_ms();
	if (sh->room_waiting)
		pthread_cond_broadcast(&sh->room);
	/* What is left keeps the old oldest_ms: its real append time is not
	 * tracked, and erring early beats holding samples past the deadline. */
}

/* Waits until a batch is due and takes it. false: the thread must exit
 * (stopping with nothing left, the stop deadline passed, or retired). While
 * paused (a reshard's hand-over) no batch is taken, unless stopping: the
 * hand-over is then abandoned and every shard flushes its own ring. */
static bool next_batch(struct shard *sh)
{
	struct queue *q = sh->q;
	int64_t bsd = q->cfg->queue.batch_send_deadline_ms;
	bool go = false;

	pthread_mutex_lock(&sh->mu);
	for (;;) {
		int64_t deadline = stop_deadline(q), now = mono_ms(), until;

		if (now >= deadline)
			break;
		if (sh->pause && deadline == INT64_MAX) {
			wait_until(sh, INT64_MAX);
			continue;
		}
		if (sh->count >= q->batch_max ||
		    (sh->count > 0 && (deadline != INT64_MAX || now >= sh->oldest_ms + bsd))) {
			go = true;
			break;
		}
		if (sh->count == 0 && (deadline != INT64_MAX || sh->retire))
			break;
		until = sh->count > 0 ? sh->oldest_ms + bsd : INT64_MAX;
		wait_until(sh, until < deadline ? until : deadline);
	}
	if (go) {
		take_batch(sh);
		sh->busy = true;
	}
	pthread_mutex_unlock(&sh->mu);
	return go;
}

/* Backoff between attempts. Stopping cuts it short: the shard wakes and
 * makes its last attempt now, rather than sleep through the flush deadline
 * with the receiver maybe back. was_stopping: whether stopping had begun
 * when the delay was chosen. false: the stop deadline has passed. */
static bool backoff_wait(struct shard *sh, int64_t ms, bool was_stopping)
{
	int64_t until = mono_ms() + ms;
	bool ok;

	pthread_mutex_lock(&sh->mu);
	for (;;) {
		int64_t deadline = stop_deadline(sh->q), now = mono_ms();

		if (now >= deadline) {
			ok = false;
			break;
		}
		if (now >= until || (!was_stopping && deadline != INT64_MAX)) {
			ok = true;
			break;
		}
		wait_until(sh, until < deadline ? until : deadline);
	}
	pthread_mutex_unlock(&sh->mu);
	return ok;
}

static uint64_t next_random(struct shard *sh)
{
	uint64_t x = sh->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	sh->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Equal jitter (half fixed, half random) so that shards that failed
 * together do not retry together, yet never sooner than half the backoff;
 * and never sooner than the receiver's Retry-After, up to max_retry_after:
 * one bad response must not silence the endpoint for an hour. While
 * stopping, Retry-After is not honoured past max_backoff: waiting longer
 * than that only makes the flush deadline drop the batch unsent. */
static int64_t backoff_delay(struct shard *sh, int64_t backoff, int64_t retry_after,
			     bool stopping)
{
	const struct queue_config *qc = &sh->q->cfg->queue;
	int64_t half = backoff / 2, cap = qc->max_retry_after_ms;
	int64_t d = half + (int64_t)(next_random(sh) % (uint64_t)(backoff - half + 1));

	if (cap < qc->max_backoff_ms || stopping)
		cap = qc->max_backoff_ms;
	if (retry_after > cap)
		retry_after = cap;
	return retry_after > d ? retry_after : d;
}

/* Drops samples older than sample_age_limit (wall clock). true if any. */
static bool drop_too_old(struct shard *sh)
{
	int64_t limit = sh->q->cfg->queue.sample_age_limit_ms, oldest_ok;
	size_t kept = 0;

	if (limit <= 0)
		return false;
	oldest_ok = wall_ms() - limit;
	for (size_t i = 0; i < sh->batch_n; i++)
		if (sh->batch[i].timestamp_ms >= oldest_ok)
			sh->batch[kept++] = sh->batch[i];
	if (kept == sh->batch_n)
		return false;
	drop(sh->q, DROP_TOO_OLD, sh->batch_n - kept);
	sh->batch_n = kept;
	return true;
}

static int encode_batch(struct shard *sh)
{
	if (encode_write_request(sh->batch, sh->batch_n, &sh->pb) == 0 &&
	    snappy_compress_block(&sh->pb, &sh->body) == 0)
		return 0;
	log_msg(LOG_ERROR, "remote_write: cannot encode batch, dropped",
		"remote_name=%s shard=%u samples=%zu err=\"%s\"", sh->q->log_name,
		sh->idx, sh->batch_n, strerror(errno));
	add(&sh->q->c.failed, sh->batch_n);
	add(&sh->q->c.batches_failed, 1);
	sub(&sh->q->c.pending, sh->batch_n);
	return -1;
}

static void on_sent(struct shard *sh, unsigned attempts)
{
	struct queue *q = sh->q;
	int64_t highest = INT64_MIN;

	for (size_t i = 0; i < sh->batch_n; i++)
		if (sh->batch[i].timestamp_ms > highest)
			highest = sh->batch[i].timestamp_ms;
	atomic_max(&q->c.highest_ts, highest);
	atomic_store_explicit(&q->c.last_ok_ms, mono_ms(), memory_order_relaxed);
	add(&q->c.sent, sh->batch_n);
	add(&q->c.bytes, sh->body.len);
	sub(&q->c.pending, sh->batch_n);
	if (sh->failing)
		log_msg(LOG_INFO, "remote_write endpoint recovered",
			"remote_name=%s url=%s shard=%u attempts=%u", q->log_name,
			q->log_url, sh->idx, attempts);
	sh->failing = false;
}

static void on_refused(struct shard *sh)
{
	struct queue *q = sh->q;
	char body[QUOTED_BODY_MAX];

	add(&q->c.failed, sh->batch_n);
	add(&q->c.batches_failed, 1);
	sub(&q->c.pending, sh->batch_n);
	log_msg(LOG_WARN, "remote_write batch refused by the receiver, dropped",
		"remote_name=%s url=%s shard=%u status=%ld samples=%zu body=%s",
		q->log_name, q->log_url, sh->idx, sh->out.http_status, sh->batch_n,
		log_quote(sh->out.body, sh->out.body_len, body, sizeof(body)));
}

/* What went wrong, for the log: curl's error, or the response body. */
static const char *failure_text(struct shard *sh, char *out, size_t outsz)
{
	const struct send_outcome *o = &sh->out;

	if (o->http_status == 0)
		return log_quote(o->error, strlen(o->error), out, outsz);
	return log_quote(o->body, o->body_len, out, outsz);
}

static void log_retry(struct shard *sh, unsigned attempt, int64_t delay)
{
	struct queue *q = sh->q;
	char text[QUOTED_BODY_MAX];

	failure_text(sh, text, sizeof(text));
	/* One warn line per batch, however long the outage lasts. */
	if (attempt == 1)
		log_msg(LOG_WARN, "remote_write send failed, retrying",
			"remote_name=%s url=%s shard=%u status=%ld %s=%s samples=%zu",
			q->log_name, q->log_url, sh->idx, sh->out.http_status,
			sh->out.http_status ? "body" : "err", text, sh->batch_n);
	log_msg(LOG_DEBUG, "remote_write attempt failed",
		"remote_name=%s shard=%u attempt=%u status=%ld %s=%s retry_after_ms=%lld backoff_ms=%lld",
		q->log_name, sh->idx, attempt, sh->out.http_status,
		sh->out.http_status ? "body" : "err", text,
		(long long)sh->out.retry_after_ms, (long long)delay);
}

static unsigned duration_bucket(double s)
{
	unsigned b = 0;

	while (b < QUEUE_DURATION_BUCKETS && s > queue_batch_duration_bounds[b])
		b++;
	return b; /* QUEUE_DURATION_BUCKETS: +Inf */
}

static enum send_result post_once(struct shard *sh)
{
	struct queue *q = sh->q;
	enum send_result r;
	uint64_t conns;

	r = sender_post(sh->sender, sh->body.data, sh->body.len, &sh->out);
	/* For a waiting appender: a failing endpoint is not waited for. */
	atomic_store_explicit(&sh->retrying, r == SEND_RETRY, memory_order_relaxed);
	conns = sender_connections_opened(sh->sender);
	add(&q->c.connections, conns - sh->conns_seen);
	sh->conns_seen = conns;
	add(&q->c.requests, 1);
	add(&q->c.dur_counts[duration_bucket(sh->out.duration_s)], 1);
	add(&q->c.dur_ns, (uint64_t)(sh->out.duration_s * 1e9 + 0.5));
	return r;
}

/* Retries resend the encoded body; only an age limit re-encodes (after
 * dropping samples), reading the series again. Without one, the batch
 * holds no series any more: an outage's batch in flight, retried for as
 * long as it lasts, must not keep queue_mark from passing. */
static void batch_encoded(struct shard *sh)
{
	if (sh->q->cfg->queue.sample_age_limit_ms > 0)
		return;
	pthread_mutex_lock(&sh->mu);
	sh->batch_first = UINT64_MAX;
	pthread_mutex_unlock(&sh->mu);
}

/* Sends the batch until it is accepted, refused, or the stop deadline
 * passes. Retries resend the same bytes unless samples aged out. */
static void try_batch(struct shard *sh)
{
	const struct queue_config *qc = &sh->q->cfg->queue;
	int64_t backoff = qc->min_backoff_ms > 0 ? qc->min_backoff_ms : 1;
	unsigned attempt = 0;

	drop_too_old(sh);
	if (sh->batch_n == 0 || encode_batch(sh) < 0)
		return;
	batch_encoded(sh);
	for (;;) {
		enum send_result r = post_once(sh);
		int64_t delay;
		bool stopping;

		attempt++;
		if (r == SEND_OK) {
			on_sent(sh, attempt);
			return;
		}
		if (r == SEND_DROP) {
			on_refused(sh);
			return;
		}
		if (mono_ms() >= stop_deadline(sh->q))
			break; /* cut short by the stop deadline: not worth a warning */
		sh->failing = true;
		stopping = stop_deadline(sh->q) != INT64_MAX;
		delay = backoff_delay(sh, backoff, sh->out.retry_after_ms, stopping);
		log_retry(sh, attempt, delay);
		backoff = backoff > qc->max_backoff_ms / 2 ? qc->max_backoff_ms : backoff * 2;
		if (backoff < 1)
			backoff = 1; /* a zero max_backoff must not spin */
		if (!backoff_wait(sh, delay, stopping))
			break;
		if (drop_too_old(sh) && (sh->batch_n == 0 || encode_batch(sh) < 0))
			return;
		add(&sh->q->c.retried, sh->batch_n);
	}
	drop(sh->q, DROP_SHUTDOWN, sh->batch_n);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One batch, for the resharding rates: Prometheus' samples out (whatever
 * the outcome) and the wall time from its start to its end, backoff
 * included. */
static void send_batch(struct shard *sh)
{
	uint64_t t0 = mono_ns();

	try_batch(sh);
	add(&sh->q->c.out, sh->batch_n);
	add(&sh->q->c.out_ns, mono_ns() - t0);
}

/* The batch is done: a reshard may be waiting for this paused shard to
 * have nothing in flight. */
static void batch_done(struct shard *sh)
{
	struct queue *q = sh->q;
	bool paused;

	pthread_mutex_lock(&sh->mu);
	sh->busy = false;
	paused = sh->pause;
	pthread_mutex_unlock(&sh->mu);
	if (paused) {
		pthread_mutex_lock(&q->mgr_mu);
		pthread_cond_broadcast(&q->mgr_cv);
		pthread_mutex_unlock(&q->mgr_mu);
	}
}

static void *shard_main(void *arg)
{
	struct shard *sh = arg;

	while (next_batch(sh)) {
		send_batch(sh);
		batch_done(sh);
	}
	return NULL;
}

/* ---- resharding ------------------------------------------------------- */

static void ewma_tick(struct ewma *e, uint64_t total, double secs)
{
	uint64_t n = total - e->last;
	double instant = secs > 0 ? (double)n / secs : 0;

	e->last = total;
	if (e->init)
		e->rate += EWMA_ALPHA * (instant - e->rate);
	else if (n > 0) {
		e->init = true;
		e->rate = instant;
	}
}

/* Samples that need no sending, for kept_ratio: Prometheus counts the ones
 * dropped before they are queued. Ours are the too-old ones; a full ring
 * is not counted here, or a queue too slow for its input would see a lower
 * kept_ratio, ask for fewer shards and never catch up. */
static uint64_t not_needed(const struct queue *q)
{
	return get(&q->c.dropped[DROP_TOO_OLD]);
}

static void tick_rates(struct queue *q, double secs)
{
	ewma_tick(&q->in_rate, get(&q->c.in), secs);
	ewma_tick(&q->out_rate, get(&q->c.out), secs);
	ewma_tick(&q->dropped_rate, not_needed(q), secs);
	ewma_tick(&q->out_dur_rate, get(&q->c.out_ns), secs);
	q->demand_win[q->demand_pos++ % BURST_TICKS] = atomic_exchange(&q->demand_peak, 0);
}

/* The shards whose rings hold the largest round of the last BURST_TICKS
 * ticks (and of this one so far). Prometheus needs no such term: its
 * reader blocks on the WAL, which holds any round; here the rings are
 * the buffer, so a round that outgrows them is demand even when one shard
 * sends fast enough. */
static unsigned burst_shards(const struct queue *q)
{
	uint64_t peak = get(&q->demand_peak);

	for (unsigned i = 0; i < BURST_TICKS; i++)
		if (q->demand_win[i] > peak)
			peak = q->demand_win[i];
	return burst_need(q, peak);
}

static unsigned clamp_shards(const struct queue *q, double d)
{
	if (d >= q->max_shards)
		return q->max_shards;
	if (d <= q->min_shards)
		return q->min_shards;
	return (unsigned)d;
}

/* Prometheus' calculateDesiredShards: enough shards to send what comes in
 * plus 5 % of the backlog per second, given the time one sample takes.
 * samples in counts every sample offered, those a full ring dropped or
 * kept waiting included: overflow is demand. -1: nothing sent yet. */
static double rate_shards(struct queue *q, double *delay)
{
	double in = q->in_rate.rate, out = q->out_rate.rate;
	double kept, pending, catchup, tps, desired;
	int64_t sent_ts = atomic_load_explicit(&q->c.highest_ts, memory_order_relaxed);
	int64_t in_ts = atomic_load_explicit(&q->c.highest_in_ts, memory_order_relaxed);

	*delay = 0;
	if (out <= 0)
		return -1;
	kept = out / (out + q->dropped_rate.rate);
	/* Nothing accepted yet: no delay to speak of (Prometheus would take
	 * the newest timestamp as the delay). */
	*delay = sent_ts > 0 && in_ts > sent_ts ? (double)(in_ts - sent_ts) / 1000.0 : 0;
	pending = *delay * in * kept;
	catchup = 0.05 * pending;
	tps = q->out_dur_rate.rate / 1e9 / out;
	desired = ceil(tps * (in * kept + catchup));
	log_msg(LOG_DEBUG, "remote_write resharding calculation",
		"remote_name=%s in_rate=%.1f out_rate=%.1f dropped_rate=%.1f kept_ratio=%.3f "
		"out_duration_rate=%.3f time_per_sample=%.6f delay=%.3f pending=%.0f "
		"desired=%.0f burst_shards=%u shards=%u",
		q->log_name, in, out, q->dropped_rate.rate, kept, q->out_dur_rate.rate / 1e9,
		tps, *delay, pending, desired, burst_shards(q), shards_now(q));
	return desired;
}

/* The larger of the rates' answer and the rings' (burst_shards), inside
 * Prometheus' dead band; no downsharding while far behind, nor while the
 * rings hold more than half of what fewer shards could take over. */
static unsigned desired_shards(struct queue *q)
{
	unsigned cur = shards_now(q), want, burst = burst_shards(q);
	double delay, desired = rate_shards(q, &delay);

	if (desired < 0 && burst <= cur) {
		atomic_store(&q->c.shards_desired, cur);
		return cur;
	}
	if (desired < burst)
		desired = burst;
	want = clamp_shards(q, desired);
	atomic_store(&q->c.shards_desired, want);
	if (cur * (1 - RESHARD_TOLERANCE) <= desired && desired <= cur * (1 + RESHARD_TOLERANCE))
		return cur;
	if (want < cur && delay > RESHARD_MAX_DELAY_S) {
		log_msg(LOG_DEBUG, "remote_write not downsharding: too far behind",
			"remote_name=%s delay=%.3f", q->log_name, delay);
		return cur;
	}
	if (want < cur && get(&q->c.pending) > want * q->capacity / 2)
		return cur;
	return want;
}

/* Prometheus' shouldReshard: not while the endpoint is failing. */
static bool should_reshard(struct queue *q, unsigned want)
{
	int64_t last = atomic_load_explicit(&q->c.last_ok_ms, memory_order_relaxed);
	int64_t limit = 2 * q->cfg->queue.batch_send_deadline_ms, now = mono_ms();

	if (want == shards_now(q))
		return false;
	if (last == INT64_MIN || now - last > limit) {
		log_msg(q->skip_logged ? LOG_DEBUG : LOG_WARN,
			"remote_write skipping resharding, last successful send too old",
			"remote_name=%s url=%s shards=%u desired=%u last_success_ago_ms=%lld",
			q->log_name, q->log_url, shards_now(q), want,
			last == INT64_MIN ? -1LL : (long long)(now - last));
		q->skip_logged = true;
		return false;
	}
	q->skip_logged = false;
	return true;
}

/* Room for a reshard from `from` to `to` shards: the staging ring and the
 * hand-over's copy of the old rings; both kept for the next one. */
static int handover_reserve(struct queue *q, unsigned from, unsigned to)
{
	size_t st_need = q->capacity * to, sc_need = q->capacity * from;

	if (q->st_alloc < st_need) {
		struct sample *st = calloc(st_need, sizeof(*st));

		if (!st)
			return -1;
		free(q->staging); /* not in use: resharding is false */
		q->staging = st;
		q->st_alloc = st_need;
	}
	if (q->sc_alloc < sc_need) {
		struct sample *sc = calloc(sc_need, sizeof(*sc));

		if (!sc)
			return -1;
		free(q->scratch);
		q->scratch = sc;
		q->sc_alloc = sc_need;
	}
	return 0;
}

static int shard_start(struct shard *sh)
{
	int rc = pthread_create(&sh->thread, NULL, shard_main, sh);

	if (rc) {
		log_msg(LOG_ERROR, "remote_write: cannot start sender thread",
			"remote_name=%s err=\"%s\"", sh->q->log_name, strerror(rc));
		return -1;
	}
	sh->running = true;
	return 0;
}

/* Stops an idle shard that no sample maps to any more, and frees it. */
static void shard_retire(struct shard *sh)
{
	pthread_mutex_lock(&sh->mu);
	sh->retire = true;
	pthread_cond_broadcast(&sh->cv);
	pthread_mutex_unlock(&sh->mu);
	if (sh->running)
		pthread_join(sh->thread, NULL);
	sh->running = false;
	shard_release(sh);
}

static bool shard_busy(struct shard *sh)
{
	bool busy;

	pthread_mutex_lock(&sh->mu);
	busy = sh->busy;
	pthread_mutex_unlock(&sh->mu);
	return busy;
}

/* Hand-over, step (b): shards [0, n) finish the batch they have in flight,
 * retries included, and take no new one; waits until none of them has a
 * batch in flight. At most one request time (or one outage: a reshard
 * starts only while sends succeed). false: queue_stop was called, and takes
 * over. */
static bool pause_shards(struct queue *q, unsigned n)
{
	bool done = false;

	for (unsigned i = 0; i < n; i++) {
		struct shard *sh = &q->shards[i];

		/* No wake-up needed: a sender re-reads `pause` under mu
		 * before it takes a batch. */
		pthread_mutex_lock(&sh->mu);
		sh->pause = true;
		pthread_mutex_unlock(&sh->mu);
	}
	pthread_mutex_lock(&q->mgr_mu);
	while (!atomic_load(&q->stopping)) {
		unsigned i = 0;

		while (i < n && !shard_busy(&q->shards[i]))
			i++;
		if (i == n) {
			done = true;
			break;
		}
		/* batch_done and queue_begin_stop broadcast under mgr_mu. */
		pthread_cond_wait(&q->mgr_cv, &q->mgr_mu);
	}
	pthread_mutex_unlock(&q->mgr_mu);
	return done;
}

struct handover {
	size_t moved, staged, full;
};

/* Hand-over, steps (c) and (d): under route_mu, with shards [0, from)
 * paused and nothing in flight and shards [from, to) started and empty.
 * With every shard's lock held, the old rings' samples move, each ring in
 * ring order, to their shards under the new count, then the staged ones in
 * order; a full ring drops its oldest (queue_full). Then the new count
 * takes effect, resharding ends and every shard resumes. false: stopping
 * began (a shard may already be flushing its own ring): nothing moves, the
 * count stays, queue_stop drops the staged samples. */
static bool hand_over(struct queue *q, unsigned from, unsigned to, struct handover *h)
{
	unsigned top = from > to ? from : to;
	int64_t oldest = INT64_MAX;
	size_t n = 0, cap = q->st_cap;
	bool ok = false;

	for (unsigned i = 0; i < top; i++)
		pthread_mutex_lock(&q->shards[i].mu);
	/* Under every lock: no sender can have taken a batch because of a
	 * stop this does not see. */
	if (atomic_load(&q->stopping))
		goto out;
	for (unsigned i = 0; i < from; i++) {
		struct shard *sh = &q->shards[i];

		if (sh->count > 0 && sh->oldest_ms < oldest)
			oldest = sh->oldest_ms;
		ring_copy(sh->ring, q->capacity, sh->head, sh->count, q->scratch + n);
		n += sh->count;
		sh->head = sh->count = 0;
	}
	for (size_t k = 0; k < n; k++)
		h->full += (size_t)shard_push(shard_for(q, q->scratch[k].series, to),
					      &q->scratch[k]);
	if (q->st_count > 0 && q->st_since_ms < oldest)
		oldest = q->st_since_ms;
	for (size_t k = 0; k < q->st_count; k++) {
		size_t at = q->st_head + k;
		const struct sample *s = &q->staging[at >= cap ? at - cap : at];

		h->full += (size_t)shard_push(shard_for(q, s->series, to), s);
	}
	h->moved = n;
	h->staged = q->st_count;
	q->st_head = q->st_count = 0;
	atomic_store_explicit(&q->n_shards, to, memory_order_relaxed);
	q->resharding = false;
	ok = true;
out:
	for (unsigned i = top; i-- > 0;) {
		struct shard *sh = &q->shards[i];

		/* The oldest append time among what a ring received: erring
		 * early, as take_batch does. */
		if (ok && sh->count > 0)
			sh->oldest_ms = oldest;
		sh->pause = false;
		pthread_cond_broadcast(&sh->cv);
		pthread_cond_broadcast(&sh->room); /* route again, under the new count */
		pthread_mutex_unlock(&sh->mu);
	}
	if (ok)
		pthread_cond_broadcast(&q->route_cv); /* under route_mu */
	drop(q, DROP_QUEUE_FULL, h->full);
	return ok;
}

/* Changes the shard count without losing a sample or reordering a series:
 * (a) new shards start, idle (nothing maps to them yet), and appends go to
 * staging; (b) the current shards finish their batch in flight and pause;
 * (c) their rings and staging move to the shards of the new count; (d) the
 * count changes, the shards resume, and those beyond the new count stop.
 * queue_append waits only for the two critical sections under route_mu,
 * the second one as long as copying the rings takes. */
static void reshard(struct queue *q, unsigned to)
{
	unsigned from = shards_now(q), i;
	struct handover h = {0, 0, 0};
	int64_t t0;

	if (handover_reserve(q, from, to) < 0) {
		log_msg(LOG_ERROR, "remote_write: cannot reshard, out of memory",
			"remote_name=%s", q->log_name);
		return;
	}
	for (i = from; i < to; i++) {
		if (shard_activate(&q->shards[i]) < 0 || shard_start(&q->shards[i]) < 0) {
			if (q->shards[i].active)
				shard_release(&q->shards[i]);
			log_msg(LOG_ERROR, "remote_write: cannot start a new shard",
				"remote_name=%s shard=%u", q->log_name, i);
			break;
		}
	}
	to = i < to ? i : to;
	if (to == from)
		return;
	log_msg(LOG_INFO, "remote_write resharding", "remote_name=%s url=%s from=%u to=%u",
		q->log_name, q->log_url, from, to);
	t0 = mono_ms();
	pthread_mutex_lock(&q->route_mu);
	q->resharding = true;
	q->handovers++;
	q->st_cap = q->capacity * to;
	q->st_head = q->st_count = 0;
	q->st_since_ms = t0;
	pthread_mutex_unlock(&q->route_mu);

	/* Stopping: queue_stop drops what is left, staging included; the
	 * shards flush their own rings, paused or not. */
	if (!pause_shards(q, from))
		return;
	pthread_mutex_lock(&q->route_mu);
	if (!hand_over(q, from, to, &h)) {
		pthread_mutex_unlock(&q->route_mu);
		return;
	}
	pthread_mutex_unlock(&q->route_mu);
	for (i = to; i < from; i++)
		shard_retire(&q->shards[i]);
	add(&q->c.reshards, 1);
	log_msg(LOG_DEBUG, "remote_write reshard complete",
		"remote_name=%s shards=%u moved=%zu staged=%zu dropped=%zu took_ms=%lld",
		q->log_name, to, h.moved, h.staged, h.full, (long long)(mono_ms() - t0));
}

/* A round outgrew the rings (poke_manager): grow now, not at the next
 * tick, if sends succeed (none while backing off, as at a tick). false:
 * no successful send lately (the first round's may not have ended yet):
 * look again in BURST_RETRY_MS, until the tick takes over. */
static bool burst_reshard(struct queue *q)
{
	unsigned cur = shards_now(q), want = burst_shards(q);
	int64_t last = atomic_load_explicit(&q->c.last_ok_ms, memory_order_relaxed);

	if (want <= cur * (1 + RESHARD_TOLERANCE))
		return true;
	if (last == INT64_MIN || mono_ms() - last > 2 * q->cfg->queue.batch_send_deadline_ms)
		return false;
	atomic_store(&q->c.shards_desired, want);
	log_msg(LOG_INFO, "remote_write a round outgrew the rings, resharding now",
		"remote_name=%s shards=%u desired=%u capacity=%zu", q->log_name, cur, want,
		q->capacity);
	reshard(q, want);
	return true;
}

/* Between ticks, under mgr_mu: handles a pending poke, or sleeps until
 * the tick, a poke or the poke's next look. */
static void manager_wait(struct queue *q, int64_t next, int64_t *poke_at)
{
	bool poked = atomic_load(&q->burst_poke);
	int64_t until = poked && *poke_at < next ? *poke_at : next;
	struct timespec ts = {until / 1000, (until % 1000) * 1000000};

	if (poked && mono_ms() >= *poke_at) {
		pthread_mutex_unlock(&q->mgr_mu);
		if (burst_reshard(q))
			atomic_store(&q->burst_poke, false);
		else
			*poke_at = mono_ms() + BURST_RETRY_MS;
		pthread_mutex_lock(&q->mgr_mu);
		return;
	}
	pthread_cond_timedwait(&q->mgr_cv, &q->mgr_mu, &ts);
}

static void *manager_main(void *arg)
{
	struct queue *q = arg;
	int64_t last = mono_ms(), next = last + q->reshard_interval_ms, poke_at = 0;

	pthread_mutex_lock(&q->mgr_mu);
	for (;;) {
		int64_t now;
		unsigned want;

		if (atomic_load(&q->stopping))
			break;
		if (mono_ms() < next) {
			manager_wait(q, next, &poke_at);
			continue;
		}
		pthread_mutex_unlock(&q->mgr_mu);
		/* Rates over the time that really passed: a reshard's hand-over
		 * (up to one request time) may have made this tick late. */
		now = mono_ms();
		tick_rates(q, (double)(now - last) / 1000.0);
		last = now;
		next += q->reshard_interval_ms;
		if (next <= now)
			next = now + q->reshard_interval_ms;
		atomic_store(&q->burst_poke, false); /* the tick sees the round too */
		want = desired_shards(q);
		if (should_reshard(q, want))
			reshard(q, want);
		pthread_mutex_lock(&q->mgr_mu);
	}
	pthread_mutex_unlock(&q->mgr_mu);
	return NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

/* Slots, not n_shards: a reshard cut short by queue_stop leaves started
 * shards beyond it. Only once the manager is joined (or never started). */
static void wake_all(struct queue *q)
{
	for (unsigned i = 0; i < q->max_shards; i++) {
		struct shard *sh = &q->shards[i];

		if (!sh->active)
			continue;
		sender_abort_at(sh->sender, atomic_load(&q->deadline_ms));
		pthread_mutex_lock(&sh->mu);
		pthread_cond_broadcast(&sh->cv);
		pthread_mutex_unlock(&sh->mu);
	}
}

static void join_all(struct queue *q)
{
	for (unsigned i = 0; i < q->max_shards; i++) {
		if (q->shards[i].running)
			pthread_join(q->shards[i].thread, NULL);
		q->shards[i].running = false;
	}
}

static void stop_manager(struct queue *q)
{
	pthread_mutex_lock(&q->mgr_mu);
	pthread_cond_broadcast(&q->mgr_cv);
	pthread_mutex_unlock(&q->mgr_mu);
	if (q->mgr_running)
		pthread_join(q->mgr, NULL);
	q->mgr_running = false;
}

int queue_start(struct queue *q)
{
	unsigned n = shards_now(q);
	int rc = 0;

	for (unsigned i = 0; i < n && rc == 0; i++)
		rc = shard_start(&q->shards[i]);
	/* With min_shards == max_shards there is nothing to decide. */
	if (rc == 0 && q->min_shards < q->max_shards) {
		rc = pthread_create(&q->mgr, NULL, manager_main, q);
		if (rc)
			log_msg(LOG_ERROR, "remote_write: cannot start the resharding thread",
				"remote_name=%s err=\"%s\"", q->log_name, strerror(rc));
		q->mgr_running = rc == 0;
	}
	if (rc) {
		queue_begin_stop(q, mono_ms());
		join_all(q);
		return -1;
	}
	log_msg(LOG_INFO, "remote_write started",
		"remote_name=%s url=%s shards=%u min_shards=%u max_shards=%u", q->log_name,
		q->log_url, n, q->min_shards, q->max_shards);
	return 0;
}

void queue_begin_stop(struct queue *q, int64_t deadline_ms)
{
	if (q->stop_begun)
		return;
	q->stop_begun = true;
	q->shutdown_before = get(&q->c.dropped[DROP_SHUTDOWN]);
	atomic_store(&q->deadline_ms, deadline_ms);
	atomic_store(&q->stopping, true);
	/* First the manager, so that the set of shards stops changing: it
	 * never waits for the network, and a hand-over it was waiting for
	 * ends at once. Then every shard flushes, paused or not. */
	stop_manager(q);
	wake_all(q);
	wake_appender(q);
}

void queue_end_flush_now(struct queue *q)
{
	int64_t now = mono_ms();

	if (!atomic_load(&q->stopping) || atomic_load(&q->deadline_ms) <= now)
		return;
	atomic_store(&q->deadline_ms, now);
	wake_all(q);
}

uint64_t queue_stop(struct queue *q, int64_t deadline_ms)
{
	uint64_t dropped;
	size_t staged;

	if (q->stopped)
		return 0;
	q->stopped = true;
	queue_begin_stop(q, deadline_ms);
	join_all(q);
	for (unsigned i = 0; i < q->max_shards; i++) {
		struct shard *sh = &q->shards[i];
		size_t left;

		if (!sh->active)
			continue;
		pthread_mutex_lock(&sh->mu);
		left = sh->count;
		sh->count = 0;
		pthread_mutex_unlock(&sh->mu);
		drop(q, DROP_SHUTDOWN, left);
	}
	pthread_mutex_lock(&q->route_mu);
	staged = q->st_count;
	q->st_head = q->st_count = 0;
	pthread_mutex_unlock(&q->route_mu);
	drop(q, DROP_SHUTDOWN, staged);
	dropped = get(&q->c.dropped[DROP_SHUTDOWN]) - q->shutdown_before;
	log_msg(dropped ? LOG_WARN : LOG_INFO, "remote_write stopped",
		"remote_name=%s url=%s sent=%llu failed=%llu shutdown_dropped=%llu shards=%u",
		q->log_name, q->log_url, (unsigned long long)get(&q->c.sent),
		(unsigned long long)get(&q->c.failed), (unsigned long long)dropped,
		shards_now(q));
	return dropped;
}

void queue_get_stats(const struct queue *q, struct queue_stats *out)
{
	const struct counters *c = &q->c;

	memset(out, 0, sizeof(*out));
	out->samples_in = get(&c->in);
	out->samples_sent = get(&c->sent);
	out->samples_failed = get(&c->failed);
	out->samples_retried = get(&c->retried);
	for (int r = 0; r < DROP_REASONS; r++)
		out->samples_dropped[r] = get(&c->dropped[r]);
	out->samples_pending = get(&c->pending);
	out->bytes_sent = get(&c->bytes);
	out->requests_total = get(&c->requests);
	out->batches_failed = get(&c->batches_failed);
	out->connections_opened = get(&c->connections);
	out->highest_sent_timestamp_ms = atomic_load_explicit(&c->highest_ts,
							      memory_order_relaxed);
	out->shards = shards_now(q);
	out->shards_desired = atomic_load_explicit(&c->shards_desired, memory_order_relaxed);
	out->shards_min = q->min_shards;
	out->shards_max = q->max_shards;
	out->shard_capacity = q->capacity;
	out->reshards = get(&c->reshards);
	for (int b = 0; b <= QUEUE_DURATION_BUCKETS; b++) {
		out->batch_duration_counts[b] = get(&c->dur_counts[b]);
		out->batch_duration_count += out->batch_duration_counts[b];
	}
	out->batch_duration_sum = (double)get(&c->dur_ns) / 1e9;
}

const char *queue_name(const struct queue *q)
{
	return q->name;
}

const char *queue_masked_url(const struct queue *q)
{
	return q->masked_url;
}

const struct remote_write_config *queue_remote_write_config(const struct queue *q)
{
	return q->cfg;
}
