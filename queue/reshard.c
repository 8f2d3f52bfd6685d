/* SPDX-License-Identifier: MIT */
/* The manager thread: every tick, Prometheus' rates (EWMA) give the
 * shards needed, and the rings' demand adds its own; a change of count is
 * a hand-over.
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

#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "queue/internal.h"

/* Prometheus' shardToleranceFraction, ewma alpha. */
#define RESHARD_TOLERANCE 0.3
#define EWMA_ALPHA 0.2
/* Prometheus: no downsharding while more than this far behind. */
#define RESHARD_MAX_DELAY_S 10.0
/* How often an early reshard, wanted for a round that did not fit, looks
 * again for the first successful send it must wait for. */
#define BURST_RETRY_MS 100

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

/* After a hand-over: staging and the copy of the old rings are as big as
 * capacity times the shard count, and their pages touched in proportion to
 * the backlog moved; they are made again at the next reshard (rare) rather
 * than kept at an outage's high-water mark. Not in use: resharding ended. */
static void handover_release(struct queue *q)
{
	pthread_mutex_lock(&q->route_mu);
	free(q->staging);
	free(q->scratch);
	q->staging = q->scratch = NULL;
	q->st_alloc = q->sc_alloc = 0;
	q->st_cap = 0;
	pthread_mutex_unlock(&q->route_mu);
	atomic_store_explicit(&q->trim_wanted, true, memory_order_relaxed);
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

/* Hand-over, step (c), with every shard's lock held: the old rings'
 * samples move, each ring in ring order, to their shards under the new
 * count, then the staged ones in order; a full ring drops its oldest
 * (counted in h->full). Returns the oldest append time among them. */
static int64_t move_samples(struct queue *q, unsigned from, unsigned to,
			    struct handover *h)
{
	int64_t oldest = INT64_MAX;
	size_t n = 0, cap = q->st_cap;

	for (unsigned i = 0; i < from; i++) {
		struct shard *sh = &q->shards[i];

		if (sh->count > 0 && sh->oldest_ms < oldest)
			oldest = sh->oldest_ms;
		ring_copy(sh->ring, sh->ring_cap, sh->head, sh->count, q->scratch + n);
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
	return oldest;
}

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
	bool ok = false;

	for (unsigned i = 0; i < top; i++)
		pthread_mutex_lock(&q->shards[i].mu);
	/* Under every lock: no sender can have taken a batch because of a
	 * stop this does not see. */
	if (atomic_load(&q->stopping))
		goto out;
	oldest = move_samples(q, from, to, h);
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
	handover_release(q);
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

/* Freed memory inside the heap stays resident until malloc is asked for it
 * (only its top is trimmed by itself; each thread's arena likewise): after
 * an outage the rings and hand-over buffers of the backlog stayed as the
 * process's high-water mark. It walks malloc's free lists (about 15 ms with
 * 200,000 free chunks), so only on a tick that follows such an event. */
static void give_back_freed(struct queue *q)
{
	if (!atomic_exchange(&q->trim_wanted, false))
		return;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
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

void *manager_main(void *arg)
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
		give_back_freed(q);
		pthread_mutex_lock(&q->mgr_mu);
	}
	pthread_mutex_unlock(&q->mgr_mu);
	return NULL;
}
