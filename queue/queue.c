/* Sharded remote-write queue: bounded rings filled by collectors, drained
 * by one sender thread per shard.
 *
 * Locking: each shard's mutex guards its ring and is held only to copy
 * samples in or out, never across encoding or the network. Counters are
 * relaxed atomics, so stats can be read from any thread without locks. */
#include "queue/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "agent/log.h"
#include "queue/buf.h"
#include "queue/encode.h"
#include "queue/sender.h"
#include "agent/clock.h"

/* Room for a logfmt-quoted 1 KiB body: every byte may become "\xNN". */
#define QUOTED_BODY_MAX (SENDER_BODY_KEEP * 4 + 3)

struct counters {
	_Atomic uint64_t in, sent, failed, retried, pending, bytes, requests;
	_Atomic uint64_t batches_failed, connections;
	_Atomic uint64_t dropped[DROP_REASONS];
	_Atomic int64_t highest_ts;
};

struct shard {
	struct queue *q;
	unsigned idx;
	pthread_mutex_t mu;
	pthread_cond_t cv;           /* appends, stop, and backoff wake-ups */
	struct sample *ring;         /* q->capacity slots */
	size_t head, count;
	int64_t oldest_ms;           /* monotonic append time of the oldest unsent */
	/* Owned by the shard's thread, outside the lock: */
	struct sample *batch;        /* q->batch_max slots */
	size_t batch_n;
	struct buf pb, body;
	struct sender *sender;
	struct send_outcome out;
	uint64_t conns_seen;
	uint64_t rng;
	bool failing;                /* retrying: log when the endpoint recovers */
	pthread_t thread;
	bool running;
};

struct queue {
	const struct remote_write_config *cfg;
	char *name, *masked_url;
	char *log_name, *log_url;    /* logfmt-quoted */
	size_t capacity, batch_max;
	struct shard *shards;
	unsigned n_shards;
	_Atomic int64_t deadline_ms; /* set before stopping */
	atomic_bool stopping;
	bool stopped;
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

/* The one place that maps a series to a shard: resharding will change it,
 * and per-series order holds as long as a series maps to one ring. */
static struct shard *shard_for(const struct queue *q, const struct wire_series *ws)
{
	return &q->shards[ws->hash % q->n_shards];
}

static void drop(struct queue *q, enum drop_reason r, uint64_t n)
{
	add(&q->c.dropped[r], n);
	sub(&q->c.pending, n);
}

/* ---- shard lifetime --------------------------------------------------- */

static int shard_init(struct queue *q, struct shard *sh, unsigned idx)
{
	pthread_condattr_t ca;
	int rc;

	sh->idx = idx;
	sh->rng = ((uint64_t)mono_ms() << 16) ^ (0x9e3779b97f4a7c15ULL * (idx + 1));
	if (pthread_condattr_init(&ca))
		return -1;
	/* Timed waits on the monotonic clock: wall-clock steps must not
	 * stretch a batch deadline or a backoff. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&sh->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (rc)
		return -1;
	if (pthread_mutex_init(&sh->mu, NULL)) {
		pthread_cond_destroy(&sh->cv);
		return -1;
	}
	sh->q = q; /* from here on shard_fini has something to undo */
	sh->ring = calloc(q->capacity, sizeof(*sh->ring));
	sh->batch = calloc(q->batch_max, sizeof(*sh->batch));
	sh->sender = sender_create(q->cfg);
	return sh->ring && sh->batch && sh->sender ? 0 : -1;
}

static void shard_fini(struct shard *sh)
{
	if (!sh->q)
		return; /* never initialised */
	pthread_mutex_destroy(&sh->mu);
	pthread_cond_destroy(&sh->cv);
	free(sh->ring);
	free(sh->batch);
	buf_free(&sh->pb);
	buf_free(&sh->body);
	sender_destroy(sh->sender);
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
	    qc->min_shards > 1024 || qc->max_samples_per_send < 1 ||
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
	sender_mask_url(q->cfg->url, q->masked_url, sz);
	q->log_name = quote_dup(q->name);
	q->log_url = quote_dup(q->masked_url);
	return q->log_name && q->log_url ? 0 : -1;
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
	q->n_shards = (unsigned)cfg->queue.min_shards;
	atomic_init(&q->deadline_ms, INT64_MAX);
	atomic_init(&q->c.highest_ts, 0);
	if (queue_init_names(q, name) < 0)
		goto oom;
	q->shards = calloc(q->n_shards, sizeof(*q->shards));
	if (!q->shards)
		goto oom;
	for (unsigned i = 0; i < q->n_shards; i++)
		if (shard_init(q, &q->shards[i], i) < 0)
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
	for (unsigned i = 0; q->shards && i < q->n_shards; i++)
		shard_fini(&q->shards[i]);
	free(q->shards);
	free(q->name);
	free(q->masked_url);
	free(q->log_name);
	free(q->log_url);
	free(q);
}

/* ---- the collectors' side ------------------------------------------- */

/* Returns 1 when the ring was full and its oldest sample was overwritten. */
static int ring_push(struct shard *sh, const struct sample *s)
{
	size_t cap = sh->q->capacity, tail;
	int dropped = 0;

	if (sh->count == cap) {
		sh->head = sh->head + 1 == cap ? 0 : sh->head + 1;
		sh->count--;
		dropped = 1;
	}
	tail = sh->head + sh->count;
	sh->ring[tail >= cap ? tail - cap : tail] = *s;
	sh->count++;
	return dropped;
}

/* Pushes samples[0..n), all of one shard, under one lock. */
static void shard_append(struct shard *sh, const struct sample *samples, size_t n,
			 int64_t now)
{
	struct queue *q = sh->q;
	size_t before, full = 0;

	pthread_mutex_lock(&sh->mu);
	if (atomic_load(&q->stopping)) {
		pthread_mutex_unlock(&sh->mu);
		add(&q->c.dropped[DROP_SHUTDOWN], n);
		return;
	}
	before = sh->count;
	if (before == 0)
		sh->oldest_ms = now;
	for (size_t i = 0; i < n; i++)
		full += (size_t)ring_push(sh, &samples[i]);
	/* Wake the sender only on the edges it waits for: the first sample
	 * (to arm the batch deadline) and a full batch. */
	if (before == 0 || (before < q->batch_max && sh->count >= q->batch_max))
		pthread_cond_signal(&sh->cv);
	pthread_mutex_unlock(&sh->mu);
	add(&q->c.pending, n - full);
	add(&q->c.dropped[DROP_QUEUE_FULL], full);
}

void queue_append(struct queue *q, const struct sample *samples, size_t n)
{
	int64_t now = mono_ms();
	size_t i = 0, j;

	add(&q->c.in, n);
	while (i < n) {
		struct shard *sh = shard_for(q, samples[i].series);

		for (j = i + 1; j < n && shard_for(q, samples[j].series) == sh; j++)
			;
		shard_append(sh, samples + i, j - i, now);
		i = j;
	}
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

static void take_batch(struct shard *sh)
{
	size_t cap = sh->q->capacity, n = sh->count, first;

	if (n > sh->q->batch_max)
		n = sh->q->batch_max;
	first = cap - sh->head < n ? cap - sh->head : n;
	memcpy(sh->batch, sh->ring + sh->head, first * sizeof(*sh->batch));
	memcpy(sh->batch + first, sh->ring, (n - first) * sizeof(*sh->batch));
	sh->head = (sh->head + n) % cap;
	sh->count -= n;
	sh->batch_n = n;
	/* What is left keeps the old oldest_ms: its real append time is not
	 * tracked, and erring early beats holding samples past the deadline. */
}

/* Waits until a batch is due and takes it. false: the thread must exit
 * (stopping with nothing left, or the stop deadline passed). */
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
		if (sh->count >= q->batch_max ||
		    (sh->count > 0 && (deadline != INT64_MAX || now >= sh->oldest_ms + bsd))) {
			go = true;
			break;
		}
		if (sh->count == 0 && deadline != INT64_MAX)
			break;
		until = sh->count > 0 ? sh->oldest_ms + bsd : INT64_MAX;
		wait_until(sh, until < deadline ? until : deadline);
	}
	if (go)
		take_batch(sh);
	pthread_mutex_unlock(&sh->mu);
	return go;
}

/* Backoff between attempts; wakes at the stop deadline. false: give up. */
static bool backoff_wait(struct shard *sh, int64_t ms)
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
		if (now >= until) {
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
 * and never sooner than the receiver's Retry-After. */
static int64_t backoff_delay(struct shard *sh, int64_t backoff, int64_t retry_after)
{
	int64_t half = backoff / 2;
	int64_t d = half + (int64_t)(next_random(sh) % (uint64_t)(backoff - half + 1));

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

static void atomic_max(_Atomic int64_t *v, int64_t x)
{
	int64_t cur = atomic_load_explicit(v, memory_order_relaxed);

	while (x > cur && !atomic_compare_exchange_weak_explicit(
				  v, &cur, x, memory_order_relaxed, memory_order_relaxed))
		;
}

static void on_sent(struct shard *sh, unsigned attempts)
{
	struct queue *q = sh->q;
	int64_t highest = INT64_MIN;

	for (size_t i = 0; i < sh->batch_n; i++)
		if (sh->batch[i].timestamp_ms > highest)
			highest = sh->batch[i].timestamp_ms;
	atomic_max(&q->c.highest_ts, highest);
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

static enum send_result post_once(struct shard *sh)
{
	struct queue *q = sh->q;
	enum send_result r;
	uint64_t conns;

	r = sender_post(sh->sender, sh->body.data, sh->body.len, &sh->out);
	conns = sender_connections_opened(sh->sender);
	add(&q->c.connections, conns - sh->conns_seen);
	sh->conns_seen = conns;
	add(&q->c.requests, 1);
	return r;
}

/* Sends the batch until it is accepted, refused, or the stop deadline
 * passes. Retries resend the same bytes unless samples aged out. */
static void send_batch(struct shard *sh)
{
	const struct queue_config *qc = &sh->q->cfg->queue;
	int64_t backoff = qc->min_backoff_ms > 0 ? qc->min_backoff_ms : 1;
	unsigned attempt = 0;

	drop_too_old(sh);
	if (sh->batch_n == 0 || encode_batch(sh) < 0)
		return;
	for (;;) {
		enum send_result r = post_once(sh);
		int64_t delay;

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
		delay = backoff_delay(sh, backoff, sh->out.retry_after_ms);
		log_retry(sh, attempt, delay);
		backoff = backoff > qc->max_backoff_ms / 2 ? qc->max_backoff_ms : backoff * 2;
		if (backoff < 1)
			backoff = 1; /* a zero max_backoff must not spin */
		if (!backoff_wait(sh, delay))
			break;
		if (drop_too_old(sh) && (sh->batch_n == 0 || encode_batch(sh) < 0))
			return;
		add(&sh->q->c.retried, sh->batch_n);
	}
	drop(sh->q, DROP_SHUTDOWN, sh->batch_n);
}

static void *shard_main(void *arg)
{
	struct shard *sh = arg;

	while (next_batch(sh))
		send_batch(sh);
	return NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void wake_all(struct queue *q)
{
	for (unsigned i = 0; i < q->n_shards; i++) {
		struct shard *sh = &q->shards[i];

		sender_abort_at(sh->sender, atomic_load(&q->deadline_ms));
		pthread_mutex_lock(&sh->mu);
		pthread_cond_broadcast(&sh->cv);
		pthread_mutex_unlock(&sh->mu);
	}
}

static void join_all(struct queue *q)
{
	for (unsigned i = 0; i < q->n_shards; i++) {
		if (q->shards[i].running)
			pthread_join(q->shards[i].thread, NULL);
		q->shards[i].running = false;
	}
}

int queue_start(struct queue *q)
{
	for (unsigned i = 0; i < q->n_shards; i++) {
		struct shard *sh = &q->shards[i];
		int rc = pthread_create(&sh->thread, NULL, shard_main, sh);

		if (rc) {
			log_msg(LOG_ERROR, "remote_write: cannot start sender thread",
				"remote_name=%s err=\"%s\"", q->log_name, strerror(rc));
			atomic_store(&q->deadline_ms, mono_ms());
			atomic_store(&q->stopping, true);
			wake_all(q);
			join_all(q);
			return -1;
		}
		sh->running = true;
	}
	log_msg(LOG_INFO, "remote_write started", "remote_name=%s url=%s shards=%u",
		q->log_name, q->log_url, q->n_shards);
	return 0;
}

uint64_t queue_stop(struct queue *q, int64_t deadline_ms)
{
	uint64_t before = get(&q->c.dropped[DROP_SHUTDOWN]), dropped;

	if (q->stopped)
		return 0;
	q->stopped = true;
	atomic_store(&q->deadline_ms, deadline_ms);
	atomic_store(&q->stopping, true);
	wake_all(q);
	join_all(q);
	for (unsigned i = 0; i < q->n_shards; i++) {
		struct shard *sh = &q->shards[i];
		size_t left;

		pthread_mutex_lock(&sh->mu);
		left = sh->count;
		sh->count = 0;
		pthread_mutex_unlock(&sh->mu);
		drop(q, DROP_SHUTDOWN, left);
	}
	dropped = get(&q->c.dropped[DROP_SHUTDOWN]) - before;
	log_msg(dropped ? LOG_WARN : LOG_INFO, "remote_write stopped",
		"remote_name=%s url=%s sent=%llu failed=%llu shutdown_dropped=%llu", q->log_name,
		q->log_url, (unsigned long long)get(&q->c.sent),
		(unsigned long long)get(&q->c.failed), (unsigned long long)dropped);
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
	out->shards = q->n_shards;
	out->shards_desired = q->n_shards;
}

const char *queue_name(const struct queue *q)
{
	return q->name;
}

const char *queue_masked_url(const struct queue *q)
{
	return q->masked_url;
}
