/* SPDX-License-Identifier: MIT */
/* The collectors' side of the queue: samples go into their shards' rings,
 * waiting for room (queue_append_wait) or dropping the oldest
 * (queue_append); while resharding, into the staging ring. And the marks
 * that tell the registry when what it queued has left. */
#include "queue/queue.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "queue/internal.h"

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

/* ---- ring sizes ------------------------------------------------------ *
 * A ring holds what is queued, not what capacity allows: it starts at a
 * batch or two, doubles (up to capacity) when full, and once empty after a
 * busy period that used less than a quarter of it, halves back towards
 * that. capacity sized for an outage costs its memory during one only. */
#define RING_MIN_SLOTS 1024

size_t ring_first_cap(const struct queue *q)
{
	size_t n = 2 * q->batch_max > RING_MIN_SLOTS ? 2 * q->batch_max : RING_MIN_SLOTS;

	return n < q->capacity ? n : q->capacity;
}

/* To cap slots, keeping the samples in order: a wrapped ring's run from
 * head moves to the end of the bigger array. Under sh->mu. 0, or -1 on
 * ENOMEM (the ring is unchanged). */
static int ring_resize(struct shard *sh, size_t cap)
{
	size_t old = sh->ring_cap;
	struct sample *ring = realloc(sh->ring, cap * sizeof(*ring));

	if (!ring)
		return -1;
	if (cap > old && sh->head + sh->count > old) {
		size_t run = old - sh->head;

		memmove(ring + cap - run, ring + sh->head, run * sizeof(*ring));
		sh->head = cap - run;
	}
	sh->ring = ring;
	sh->ring_cap = cap;
	return 0;
}

/* The ring is empty: the next samples start at its first slot (the pages
 * a round touches stay the same), and a ring the last busy period used
 * under a quarter of shrinks. Under sh->mu. */
static void ring_idle(struct shard *sh)
{
	size_t want = ring_first_cap(sh->q);

	sh->head = 0;
	while (want < 2 * sh->ring_peak && want < sh->ring_cap)
		want *= 2;
	if (2 * want < sh->ring_cap && ring_resize(sh, want) == 0) /* else kept */
		atomic_store_explicit(&sh->q->trim_wanted, true, memory_order_relaxed);
	sh->ring_peak = 0;
}

int shard_push(struct shard *sh, const struct sample *s)
{
	size_t cap = sh->q->capacity;

	/* Doubling: a rare realloc, none in steady state. Without memory the
	 * ring stays as it is and drops its oldest, counted as queue_full. */
	if (sh->count == sh->ring_cap && sh->ring_cap < cap)
		ring_resize(sh, 2 * sh->ring_cap < cap ? 2 * sh->ring_cap : cap);
	sh->pushed++;
	return ring_push(sh->ring, sh->ring_cap, &sh->head, &sh->count, s);
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
 * unless its sender is stalled. to_disk (not NULL: the disk tier takes
 * what would be dropped): a full ring takes what it has room for and sets
 * *to_disk if the rest is the disk's. Otherwise a full ring drops its
 * oldest (queue_full). */
static size_t shard_append(struct shard *sh, const struct sample *samples, size_t n,
			   int64_t now, bool wait, bool *was_full, bool *to_disk)
{
	struct queue *q = sh->q;
	size_t before, take = n, full = 0;
	bool stalled;

	pthread_mutex_lock(&sh->mu);
	if (atomic_load(&q->stopping)) {
		pthread_mutex_unlock(&sh->mu);
		add(&q->c.dropped[DROP_SHUTDOWN], n);
		return n;
	}
	before = sh->count;
	*was_full = n > q->capacity - before;
	stalled = *was_full && sender_stalled(sh, now);
	if (*was_full && ((wait && !stalled) || to_disk))
		take = q->capacity - before;
	if (*was_full && to_disk && (!wait || stalled))
		*to_disk = true;
	if (before == 0 && take > 0) {
		sh->oldest_ms = now;
		ring_idle(sh);
	}
	for (size_t i = 0; i < take; i++)
		full += (size_t)shard_push(sh, &samples[i]);
	if (sh->count > sh->ring_peak)
		sh->ring_peak = sh->count;
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
		timed_wait_ms(&sh->room, &sh->mu, now + APPEND_RECHECK_MS < until_ms ?
				now + APPEND_RECHECK_MS : until_ms);
	sh->room_waiting = false;
	pthread_mutex_unlock(&sh->mu);
	pthread_mutex_lock(&q->route_mu);
}

/* Shards needed for rings to hold `demand` samples at BURST_FILL. */
unsigned burst_need(const struct queue *q, uint64_t demand)
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
	bool disk_ok;                /* what a full ring would drop goes to disk */
	bool to_disk;                /* route stopped: the rest is the disk's */
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
			timed_wait_ms(&q->route_cv, &q->route_mu, a->until_ms);
			now = mono_ms();
			continue;
		}
		sh = shard_for(q, a->s[i].series, ns);
		for (j = i + 1; j < a->n && shard_for(q, a->s[j].series, ns) == sh; j++)
			;
		put = shard_append(sh, a->s + i, j - i, now, a->wait, &full,
				   a->disk_ok ? &a->to_disk : NULL);
		i += put;
		in += put;
		if (full && !a->poked) /* overflow is demand: more shards hold more */
			poke_manager(q, a->demand);
		a->poked |= full;
		if (i == j)
			continue;
		if (a->to_disk)
			break;
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

static size_t route_locked(struct queue *q, struct append_call *a)
{
	size_t done;

	pthread_mutex_lock(&q->route_mu);
	a->disk_ok = q->disk && !q->disk_degraded;
	a->to_disk = false;
	done = route(q, a);
	pthread_mutex_unlock(&q->route_mu);
	return done;
}

/* The disk tier first, when the endpoint is behind (spill.c); then the
 * rings; and what a full ring would drop, to disk again if it can. */
static size_t append_samples(struct queue *q, struct append_call *a)
{
	size_t done = q->disk ? spill_append(q, a->s, a->n, false) : 0, more;

	if (done == a->n)
		return done;
	a->s += done;
	a->n -= done;
	more = route_locked(q, a);
	done += more;
	if (a->to_disk && more < a->n) {
		size_t spilled = spill_append(q, a->s + more, a->n - more, true);

		done += spilled;
		a->s += more + spilled;
		a->n -= more + spilled;
		if (a->n > 0) { /* the disk failed: the rings drop their oldest */
			a->wait = false;
			done += route_locked(q, a);
		}
	}
	return done;
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
	done = append_samples(q, a);
	warn_if_overflowing(q, mono_ms());
	return done;
}

void queue_append(struct queue *q, const struct sample *samples, size_t n)
{
	struct append_call a = {samples, n, 0, false, 0, false, false, false};

	append(q, &a);
}

size_t queue_append_wait(struct queue *q, const struct sample *samples, size_t n,
			 int64_t until_ms)
{
	struct append_call a = {samples, n, until_ms, true, 0, false, false, false};

	return append(q, &a);
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

/* Copies the n oldest samples of a ring of cap slots from head to out. */
void ring_copy(const struct sample *ring, size_t cap, size_t head, size_t n,
		      struct sample *out)
{
	size_t first = cap - head < n ? cap - head : n;

	memcpy(out, ring + head, first * sizeof(*out));
	memcpy(out + first, ring, (n - first) * sizeof(*out));
}
