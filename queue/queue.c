/* SPDX-License-Identifier: MIT */
/* Sharded remote-write queue: bounded rings filled by collectors, drained
 * by one sender thread per shard, and a manager thread that changes the
 * number of shards the way Prometheus does (storage/remote/queue_manager.go).
 * This file: the queue's life, from create to destroy, and its stats; see
 * internal.h for the locking and the other files. */
#include "queue/queue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "queue/internal.h"
#include "queue/aws_sts.h"
#include "queue/oauth2.h"
#include "queue/sender.h"

/* Prometheus' shardUpdateDuration. */
#define RESHARD_INTERVAL_MS 10000
#define MAX_SHARDS_LIMIT 1024

const double queue_batch_duration_bounds[QUEUE_DURATION_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 120, 300};

const char *drop_reason_name(enum drop_reason r)
{
	static const char *const names[DROP_REASONS] = {
		[DROP_QUEUE_FULL] = "queue_full",
		[DROP_TOO_OLD] = "too_old",
		[DROP_SHUTDOWN] = "shutdown",
		[DROP_DISK_FULL] = "disk_full",
		[DROP_PARTIAL_WRITE] = "partial_write",
	};

	return (unsigned)r < DROP_REASONS ? names[r] : "unknown";
}

const char *request_failure_name(enum request_failure f)
{
	static const char *const names[REQUEST_FAILURES] = {
		[FAIL_TIMEOUT] = "timeout",
		[FAIL_CONNECT] = "connect",
		[FAIL_RESOLVE] = "resolve",
		[FAIL_TLS] = "tls",
		[FAIL_CONNECTION] = "connection",
		[FAIL_PROTOCOL] = "protocol",
		[FAIL_STATUS_5XX] = "status_5xx",
		[FAIL_STATUS_429] = "status_429",
		[FAIL_STATUS_OTHER] = "status_other",
		[FAIL_OTHER] = "other",
	};

	return (unsigned)f < REQUEST_FAILURES ? names[f] : "unknown";
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

int cond_init_monotonic(pthread_cond_t *cv)
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
void shard_release(struct shard *sh)
{
	free(sh->ring);
	free(sh->batch);
	buf_free(&sh->pb);
	buf_free(&sh->body);
	buf_free(&sh->scratch);
	v2_encoder_free(sh->v2enc);
	sh->v2enc = NULL;
	sender_destroy(sh->sender);
	sh->ring = sh->batch = NULL;
	sh->sender = NULL;
	sh->active = false;
}

/* Gives an idle slot its ring, batch buffer and sender. */
int shard_activate(struct shard *sh)
{
	struct queue *q = sh->q;

	sh->head = sh->count = sh->batch_n = 0;
	sh->busy = sh->pause = sh->retire = sh->failing = false;
	sh->surrendered = sh->replaying = sh->stop_spilled = false;
	sh->conns_seen = 0;
	sh->room_waiting = false;
	sh->taken_ms = 0;
	atomic_store(&sh->retrying, false);
	sh->rng = ((uint64_t)mono_ms() << 16) ^ (0x9e3779b97f4a7c15ULL * (sh->idx + 1));
	sh->ring_cap = ring_first_cap(q);
	sh->ring_peak = 0;
	sh->ring = calloc(sh->ring_cap, sizeof(*sh->ring));
	sh->batch = calloc(q->batch_max, sizeof(*sh->batch));
	sh->sender = sender_create(q->cfg, &q->shared);
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
	if (pthread_mutex_init(&q->rl_mu, NULL))
		return -1;
	q->rl_ready = true;
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
	atomic_init(&q->proto, (int)cfg->protobuf_message);
	if (queue_init_names(q, name) < 0 || queue_init_sync(q) < 0)
		goto oom;
	if (cfg->has_oauth2 && !(q->shared.oauth2 = oauth2_create(cfg, q->log_name)))
		goto oom;
	if (cfg->has_sigv4 && cfg->sigv4.role_arn &&
	    !(q->shared.sts = aws_sts_create(cfg, q->log_name)))
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
	metadata_free(q);
	oauth2_destroy(q->shared.oauth2); /* after the senders that use them */
	aws_sts_destroy(q->shared.sts);
	spill_free(q);
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
	if (q->rl_ready)
		pthread_mutex_destroy(&q->rl_mu);
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

int queue_start(struct queue *q)
{
	unsigned n = shards_now(q);
	int rc = 0;

	for (unsigned i = 0; i < n && rc == 0; i++)
		rc = shard_start(&q->shards[i]);
	/* With min_shards == max_shards there is nothing to decide. */
	if (rc == 0 && metadata_start(q) < 0)
		rc = -1;
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
	metadata_stop(q);
	/* Behind, with a disk tier: memory goes to disk and the senders stop
	 * now; waiting out the deadline would only end in drops. */
	if (spill_on_stop(q) && deadline_ms > mono_ms())
		deadline_ms = mono_ms();
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
	size_t staged, spilled;

	if (q->stopped)
		return 0;
	q->stopped = true;
	queue_begin_stop(q, deadline_ms);
	join_all(q);
	spilled = spill_rings_at_stop(q);
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
	if (q->disk) {
		struct disk_stats ds;

		disk_get_stats(q->disk, &ds);
		spilled = ds.samples; /* what the next start sends first */
	}
	log_msg(dropped ? LOG_WARN : LOG_INFO, "remote_write stopped",
		"remote_name=%s url=%s sent=%llu failed=%llu shutdown_dropped=%llu "
		"on_disk=%zu shards=%u",
		q->log_name, q->log_url, (unsigned long long)get(&q->c.sent),
		(unsigned long long)get(&q->c.failed), (unsigned long long)dropped, spilled,
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
	for (int f = 0; f < REQUEST_FAILURES; f++)
		out->requests_failed[f] = get(&c->req_failed[f]);
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
	out->disk_enabled = q->disk != NULL;
	if (q->disk) {
		disk_get_stats(q->disk, &out->disk);
		out->samples_dropped[DROP_DISK_FULL] = out->disk.samples_dropped_full;
	}
	out->disk_samples_replayed = get(&q->replayed);
	out->protocol_v2 = proto_v2_now(q);
	out->protocol_fallbacks = get(&c->fallbacks);
	out->metadata_sent = get(&c->meta_sent);
	out->metadata_failed = get(&c->meta_failed);
	out->metadata_retried = get(&c->meta_retried);
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
