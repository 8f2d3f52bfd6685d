/* SPDX-License-Identifier: MIT */
/* A shard's sender thread: takes a batch when one is due, encodes and
 * compresses it, POSTs it, and retries with backoff what may be retried. */
#include "queue/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "proto/encode.h"
#include "queue/internal.h"
#include "queue/response.h"
#include "queue/sender.h"

/* Room for a logfmt-quoted 1 KiB body: every byte may become "\xNN". */
#define QUOTED_BODY_MAX (SENDER_BODY_KEEP * 4 + 3)
/* A sender holding for the disk tier looks for records at least this
 * often (appends wake it; a barrier waits for another sender's ack). */
#define REPLAY_POLL_MS 100

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

static void take_batch(struct shard *sh)
{
	size_t cap = sh->ring_cap, n = sh->count;

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

/* Whether a batch is due now from sh's ring. Under sh->mu. */
static bool ring_batch_due(const struct shard *sh, int64_t now, int64_t deadline)
{
	const struct queue *q = sh->q;

	return sh->count >= q->batch_max ||
	       (sh->count > 0 &&
		(deadline != INT64_MAX ||
		 now >= sh->oldest_ms + q->cfg->queue.batch_send_deadline_ms));
}

/* Waits until a batch is due and takes it: a record from the disk tier
 * first (replay.c; while it holds any, the ring waits: its samples are
 * newer), else from the ring. false: the thread must exit (stopping with
 * nothing left, the stop deadline passed, or retired). While paused (a
 * reshard's hand-over) no batch is taken, unless stopping: the hand-over
 * is then abandoned and every shard flushes its own ring. */
static bool next_batch(struct shard *sh)
{
	struct queue *q = sh->q;
	bool go = false, hold = false;

	pthread_mutex_lock(&sh->mu);
	for (;;) {
		int64_t deadline = stop_deadline(q), now = mono_ms(), until;

		if (now >= deadline)
			break;
		if (sh->pause && deadline == INT64_MAX) {
			wait_until(sh, INT64_MAX);
			continue;
		}
		if (deadline == INT64_MAX && replay_claim(sh, &hold)) {
			pthread_mutex_unlock(&sh->mu);
			return true;
		}
		if (deadline != INT64_MAX)
			hold = replay_holds(sh); /* no claims once stopping */
		if (hold && deadline != INT64_MAX)
			break; /* the ring follows the disk's records to disk */
		if (!hold && ring_batch_due(sh, now, deadline)) {
			go = true;
			break;
		}
		if (!hold && sh->count == 0 && (deadline != INT64_MAX || sh->retire))
			break;
		until = hold ? now + REPLAY_POLL_MS
			     : sh->count > 0 ? sh->oldest_ms + q->cfg->queue.batch_send_deadline_ms
					     : INT64_MAX;
		wait_until(sh, until < deadline ? until : deadline);
	}
	if (go) {
		take_batch(sh);
		sh->busy = true;
		sh->phase = PH_PREP;
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
		if (now >= until || (!was_stopping && deadline != INT64_MAX) || sh->surrendered) {
			ok = true;
			break;
		}
		wait_until(sh, until < deadline ? until : deadline);
	}
	pthread_mutex_unlock(&sh->mu);
	return ok;
}

/* rate_limit: waits for the endpoint's byte budget to allow this body.
 * false: the stop deadline passed meanwhile. */
static bool rate_wait(struct shard *sh)
{
	int64_t ms;

	if (sh->q->cfg->queue.rate_limit <= 0)
		return true;
	ms = rate_reserve(sh->q, sh->body.len);
	return ms <= 0 || backoff_wait(sh, ms, true);
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
	if (proto_encode(sh->q, &sh->v2enc, sh->batch, sh->batch_n, &sh->pb, &sh->body,
			 &sh->body_v2) == 0)
		return 0;
	log_msg(LOG_ERROR, "remote_write: cannot encode batch, dropped",
		"remote_name=%s shard=%u samples=%zu err=\"%s\"", sh->q->log_name,
		sh->idx, sh->batch_n, strerror(errno));
	add(&sh->q->c.failed, sh->batch_n);
	add(&sh->q->c.batches_failed, 1);
	sub(&sh->q->c.pending, sh->batch_n);
	return -1;
}

/* The batch has left: memory's samples are no longer pending; a record
 * is acknowledged (the disk's cursor moves past it). */
static void batch_left(struct shard *sh)
{
	if (sh->replaying)
		disk_ack(sh->q->disk, &sh->ticket);
	else
		sub(&sh->q->c.pending, sh->batch_n);
}

static void on_sent(struct shard *sh, unsigned attempts)
{
	struct queue *q = sh->q;
	int64_t highest = sh->replaying ? sh->rec.newest_ms : INT64_MIN;
	uint64_t written;

	for (size_t i = 0; !sh->replaying && i < sh->batch_n; i++)
		if (sh->batch[i].timestamp_ms > highest)
			highest = sh->batch[i].timestamp_ms;
	atomic_max(&q->c.highest_ts, highest);
	atomic_store_explicit(&q->c.last_ok_ms, mono_ms(), memory_order_relaxed);
	written = proto_written(q, &sh->out, sh->body_v2, sh->batch_n);
	add(&q->c.sent, written);
	add(&q->c.dropped[DROP_PARTIAL_WRITE], sh->batch_n - written); /* not retried */
	add(&q->c.bytes, sh->body.len);
	if (sh->replaying)
		add(&q->replayed, written);
	batch_left(sh);
	if (sh->failing) {
		log_msg(LOG_INFO, "remote_write endpoint recovered",
			"remote_name=%s url=%s shard=%u attempts=%u", q->log_name,
			q->log_url, sh->idx, attempts);
		if (q->disk) /* a fleet back at once must not drain at once */
			replay_hold(q);
	}
	sh->failing = false;
}

static void on_refused(struct shard *sh)
{
	struct queue *q = sh->q;
	char body[QUOTED_BODY_MAX];

	add(&q->c.failed, sh->batch_n);
	add(&q->c.batches_failed, 1);
	batch_left(sh);
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

/* One warn line per batch, however long the outage lasts: at the first
 * failure that says why. A kept-alive connection the server closed while
 * idle (a reload, an idle timeout) fails the attempt that finds it, and the
 * next attempt, on a new connection, meets the real cause (a certificate
 * the server now presents, say): that first failure is not the line. */
static void log_retry(struct shard *sh, unsigned attempt, int64_t delay, bool *warned)
{
	struct queue *q = sh->q;
	char text[QUOTED_BODY_MAX];
	bool stale = sh->out.http_status == 0 && sh->out.reused_connection;

	failure_text(sh, text, sizeof(text));
	if (!*warned && !stale) {
		log_msg(LOG_WARN, "remote_write send failed, retrying",
			"remote_name=%s url=%s shard=%u status=%ld %s=%s samples=%zu",
			q->log_name, q->log_url, sh->idx, sh->out.http_status,
			sh->out.http_status ? "body" : "err", text, sh->batch_n);
		*warned = true;
	}
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
	if (r != SEND_OK)
		add(&q->c.req_failed[response_failure(&sh->out)], 1);
	add(&q->c.dur_counts[duration_bucket(sh->out.duration_s)], 1);
	add(&q->c.dur_ns, (uint64_t)(sh->out.duration_s * 1e9 + 0.5));
	return r;
}

/* Retries resend the encoded body; only an age limit re-encodes (after
 * dropping samples), reading the series again. Without one, the batch
 * holds no series any more: an outage's batch in flight, retried for as
 * long as it lasts, must not keep queue_mark from passing. Encoded, its
 * body may move to disk (spill.c). */
static void batch_encoded(struct shard *sh)
{
	pthread_mutex_lock(&sh->mu);
	if (sh->q->cfg->queue.sample_age_limit_ms <= 0)
		sh->batch_first = UINT64_MAX;
	sh->phase = PH_POST;
	pthread_cond_broadcast(&sh->room); /* a move to disk may wait for it */
	pthread_mutex_unlock(&sh->mu);
}

/* After an attempt, or before re-encoding: false when the batch was moved
 * to disk meanwhile (it is the disk's now: nothing more to count); else
 * sets the phase. */
static bool settle(struct shard *sh, enum batch_phase next)
{
	bool mine;

	pthread_mutex_lock(&sh->mu);
	mine = !sh->surrendered;
	if (mine && !sh->replaying)
		sh->phase = next;
	pthread_cond_broadcast(&sh->room); /* a move to disk may wait for it */
	pthread_mutex_unlock(&sh->mu);
	return mine;
}

/* The batch's 2.0 body becomes 1.0 (the endpoint fell back), out of the
 * disk tier's reach meanwhile (PH_PREP). false: the batch is over: moved
 * to disk meanwhile, or not transcodable (counted as failed). */
static bool batch_to_v1(struct shard *sh)
{
	int rc;

	if (!settle(sh, PH_PREP))
		return false;
	rc = proto_transcode(&sh->body, &sh->pb, &sh->scratch);
	if (rc == 0)
		sh->body_v2 = false;
	settle(sh, PH_POST); /* still ours: only PH_POST and later may move */
	if (rc == 0)
		return true;
	log_msg(LOG_ERROR, "remote_write: cannot transcode batch to 1.0, dropped",
		"remote_name=%s shard=%u samples=%zu err=\"%s\"", sh->q->log_name, sh->idx,
		sh->batch_n, strerror(errno));
	add(&sh->q->c.failed, sh->batch_n);
	add(&sh->q->c.batches_failed, 1);
	batch_left(sh);
	return false;
}

/* Samples aged out while retrying: re-encode what is left. false: the
 * batch is over (empty, unencodable, or moved to disk meanwhile). */
static bool reencode_aged(struct shard *sh)
{
	if (!sh->replaying && sh->phase == PH_PREP) { /* the first encoding */
		drop_too_old(sh);
		if (sh->batch_n == 0 || encode_batch(sh) < 0)
			return false;
		batch_encoded(sh);
		return true;
	}
	if (sh->replaying || sh->q->cfg->queue.sample_age_limit_ms <= 0)
		return true;
	if (!settle(sh, PH_PREP))
		return false;
	if (drop_too_old(sh) && (sh->batch_n == 0 || encode_batch(sh) < 0))
		return false;
	batch_encoded(sh);
	return true;
}

/* One attempt, in the endpoint's protocol: a 2.0 body goes as 1.0 once
 * the endpoint fell back. -1: the batch is over; 1: the receiver speaks
 * only 1.0, the batch goes again at once as 1.0 (no backoff, not a
 * retry); 0: *r says how it went. */
static int attempt_once(struct shard *sh, enum send_result *r)
{
	/* Waiting for the rate limit, a batch looks on the wire to a move to
	 * disk, which copies it after a while anyway: then it is the disk's,
	 * and posting it too would send it twice. */
	if (!settle(sh, PH_POST))
		return -1;
	if (sh->body_v2 && !proto_v2_now(sh->q) && !batch_to_v1(sh))
		return -1;
	sender_set_v2(sh->sender, sh->body_v2);
	*r = post_once(sh);
	if (!sh->body_v2 || !proto_says_v1(&sh->out, *r))
		return 0;
	proto_fall_back(sh->q, &sh->out);
	return 1;
}

/* Doubled up to max_backoff; a zero max_backoff must not spin. */
static int64_t next_backoff(int64_t backoff, int64_t max_backoff)
{
	backoff = backoff > max_backoff / 2 ? max_backoff : backoff * 2;
	return backoff < 1 ? 1 : backoff;
}

/* The stop deadline ended the batch unsent: a record stays on disk (the
 * next run sends it); memory's goes to disk when there is one, else it is
 * dropped. */
static void batch_unsent(struct shard *sh)
{
	if (sh->replaying)
		disk_unclaim(sh->q->disk, &sh->ticket);
	else if (spill_batch_at_stop(sh) == 0)
		sh->stop_spilled = true;
	else if (settle(sh, PH_DONE))
		drop(sh->q, DROP_SHUTDOWN, sh->batch_n);
}

/* Sends the batch (or the record) until it is accepted, refused, or the
 * stop deadline passes. Retries resend the same bytes unless samples aged
 * out. Stopping with a disk tier, a failure ends the batch at once: it
 * goes to disk rather than wait out the flush deadline. */
static void try_batch(struct shard *sh)
{
	const struct queue_config *qc = &sh->q->cfg->queue;
	int64_t backoff = qc->min_backoff_ms > 0 ? qc->min_backoff_ms : 1;
	unsigned attempt = 0;
	bool warned = false;

	if (!sh->replaying && !reencode_aged(sh))
		return;
	if (sh->replaying && replay_too_old(sh))
		return;
	for (;;) {
		enum send_result r;
		int64_t delay;
		bool stopping;
		int rc;

		if (!rate_wait(sh))
			break;
		if ((rc = attempt_once(sh, &r)) < 0)
			return;
		attempt++;
		if (rc > 0)
			continue;
		if (!settle(sh, r == SEND_RETRY ? PH_BACKOFF : PH_DONE))
			return;
		if (r == SEND_OK) {
			on_sent(sh, attempt);
			return;
		}
		if (r == SEND_DROP) {
			on_refused(sh);
			return;
		}
		stopping = stop_deadline(sh->q) != INT64_MAX;
		if (mono_ms() >= stop_deadline(sh->q) || (stopping && sh->q->disk))
			break; /* cut short by stopping: not worth a warning */
		sh->failing = true;
		delay = backoff_delay(sh, backoff, sh->out.retry_after_ms, stopping);
		log_retry(sh, attempt, delay, &warned);
		if (!sh->replaying)
			spill_on_failure(sh->q);
		backoff = next_backoff(backoff, qc->max_backoff_ms);
		if (!backoff_wait(sh, delay, stopping))
			break;
		if (!settle(sh, PH_POST) || !reencode_aged(sh))
			return;
		add(&sh->q->c.retried, sh->batch_n);
	}
	batch_unsent(sh);
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
	if (sh->surrendered) {
		sh->surrendered = false;
		atomic_fetch_sub(&q->surrendered_busy, 1);
	}
	sh->replaying = false;
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
		if (sh->stop_spilled)
			break; /* its ring goes to disk after its batch (queue_stop) */
	}
	return NULL;
}

int shard_start(struct shard *sh)
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
