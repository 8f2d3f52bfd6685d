/* SPDX-License-Identifier: MIT */
/* The appender's side of the disk tier (docs/design.md, "The disk tier"):
 * when an endpoint falls behind, memory moves to disk in order and every
 * round after it is written there, until the senders have drained it.
 *
 * Order: a series lives in one shard, and a shard's samples are, oldest
 * first, its batch in flight, then its ring; staging (a reshard's) holds
 * what came after every ring. The move writes them in that order, then
 * the round: what the disk holds of a series is in order, and nothing of
 * it is left in memory. Records written by one append call hold one round
 * (each series at most once), so only its first is a barrier: the rest may
 * be sent side by side. A ring's contents may hold several rounds: each of
 * its records is a barrier. */
#include "queue/queue.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/hashmap.h"
#include "lib/log.h"
#include "proto/encode_v2.h"
#include "queue/disk.h"
#include "queue/internal.h"

/* A disk that failed a write is tried again this often: ENOSPC passes once
 * something frees space, and the tier resumes by itself. */
#define DISK_RETRY_MS 10000
/* How long moving memory to disk waits for the batches senders have in
 * flight to end (sent, or failed: then they move): a healthy receiver
 * answers within it (APPEND_STALL_MS in ring.c says the same). */
#define BATCH_WAIT_MS 1000

/* ---- where, and opening ---------------------------------------------- */

/* DATA_DIR/queue/<name, [A-Za-z0-9._-] kept, the rest '_'>-<hash of the
 * masked url>: readable, and two endpoints never share one (names are
 * unique, and a changed URL is a new directory: not replayed elsewhere). */
static int endpoint_dir(const struct queue *q, const char *data_dir, char *out, size_t size)
{
	char name[65];
	size_t i;
	int n;

	for (i = 0; q->name[i] && i < sizeof(name) - 1; i++) {
		char c = q->name[i];

		name[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'
			  ? c : '_';
	}
	name[i] = '\0';
	n = snprintf(out, size, "%s/queue/%s-%08llx", data_dir, name,
		     (unsigned long long)(hashmap_hash(q->masked_url, strlen(q->masked_url)) &
					  0xffffffffULL));
	return n > 0 && (size_t)n < size ? 0 : -1;
}

static uint64_t jitter_ms(struct queue *q)
{
	int64_t max = q->cfg->queue.catchup_jitter_ms;
	uint64_t x = (uint64_t)mono_ms() * 0x9e3779b97f4a7c15ULL ^ (uintptr_t)q;

	x ^= x >> 31;
	return max > 0 ? x % ((uint64_t)max + 1) : 0;
}

void replay_hold(struct queue *q)
{
	atomic_store(&q->replay_after_ms, mono_ms() + (int64_t)jitter_ms(q));
}

int queue_attach_disk(struct queue *q, const char *data_dir)
{
	char dir[PATH_MAX];
	struct disk_stats st;

	if (endpoint_dir(q, data_dir, dir, sizeof(dir)) < 0) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	q->disk = disk_open(dir, q->log_name, (uint64_t)q->cfg->queue.max_disk_bytes);
	if (!q->disk)
		goto fail;
	disk_get_stats(q->disk, &st);
	if (!disk_empty(q->disk)) {
		atomic_store(&q->mode, QMODE_DISK);
		replay_hold(q); /* a fleet restarting together must not drain together */
		log_msg(LOG_INFO, "remote_write: replaying what the last run left on disk",
			"remote_name=%s samples=%llu bytes=%llu segments=%llu", q->log_name,
			(unsigned long long)st.samples, (unsigned long long)st.bytes,
			(unsigned long long)st.segments);
	}
	return 0;
fail:
	log_msg(LOG_WARN, "remote_write: no disk tier, memory only: an outage may drop samples",
		"remote_name=%s dir=%s err=\"%s\"", q->log_name, dir, strerror(errno));
	return -1;
}

/* ---- writing records ------------------------------------------------- */

static void time_range(const struct sample *s, size_t n, struct disk_record_info *info)
{
	info->oldest_ms = INT64_MAX;
	info->newest_ms = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		if (s[i].timestamp_ms < info->oldest_ms)
			info->oldest_ms = s[i].timestamp_ms;
		if (s[i].timestamp_ms > info->newest_ms)
			info->newest_ms = s[i].timestamp_ms;
	}
}

/* Appends an encoded body: counts what the disk dropped to make room, and
 * marks the tier degraded on failure (logged once per failure spell). */
static int put_body(struct queue *q, const struct buf *body, const struct disk_record_info *info)
{
	uint64_t dropped = 0;
	/* dropped: counted by the disk (queue_get_stats reads it there) */
	int rc = disk_append(q->disk, body->data, body->len, info, &dropped);

	if (rc == 0)
		return 0;
	if (!q->disk_degraded)
		log_msg(LOG_WARN, "remote_write: disk write failed, buffering in memory",
			"remote_name=%s err=\"%s\" retry_in_ms=%d", q->log_name, strerror(errno),
			DISK_RETRY_MS);
	q->disk_degraded = true;
	q->disk_retry_ms = mono_ms() + DISK_RETRY_MS;
	/* What the disk did not take stays in memory: nothing more may go to
	 * disk before it (it would be sent first), and the retry moves it. */
	q->move_owed = true;
	return -1;
}

/* Writes samples[0..n) as records of at most batch_max samples. Returns
 * how many were written (all, unless the disk failed). */
static size_t put_samples(struct queue *q, const struct sample *s, size_t n, bool all_barriers)
{
	size_t done = 0;

	while (done < n) {
		size_t k = n - done < q->batch_max ? n - done : q->batch_max;
		struct disk_record_info info = {.samples = (uint32_t)k};

		info.barrier = all_barriers || done == 0;
		time_range(s + done, k, &info);
		if (proto_encode(q, &q->sp_v2enc, s + done, k, &q->sp_pb, &q->sp_body,
				 &info.v2) < 0 ||
		    put_body(q, &q->sp_body, &info) < 0)
			break;
		done += k;
	}
	return done;
}

/* ---- moving memory to disk ------------------------------------------- */

/* The batch sh has in flight goes to disk first; its sender learns it at
 * its next look (settle, in batch.c) and leaves it there. A batch being
 * encoded is waited for (its body is not ready), and so is one on the
 * wire, until `until`: it most likely ends sent, and a copy on disk would
 * be sent twice. One still on the wire then (a hung receiver) is copied
 * anyway: a duplicate beats a loss. Under sh->mu. -1: not moved. */
static int surrender_batch(struct queue *q, struct shard *sh, int64_t until)
{
	struct disk_record_info info = {.barrier = true};

	while (sh->busy && (sh->phase == PH_PREP || sh->phase == PH_POST) && mono_ms() < until)
		timed_wait_ms(&sh->room, &sh->mu, until);
	if (!sh->busy || sh->surrendered || sh->replaying || sh->phase == PH_DONE)
		return 0;
	if (sh->phase == PH_PREP)
		return -1;
	info.samples = (uint32_t)sh->batch_n;
	info.v2 = sh->body_v2;
	time_range(sh->batch, sh->batch_n, &info);
	if (put_body(q, &sh->body, &info) < 0)
		return -1;
	sh->surrendered = true;
	atomic_fetch_add(&q->surrendered_busy, 1);
	sub(&q->c.pending, sh->batch_n);
	pthread_cond_broadcast(&sh->cv); /* out of its backoff now */
	return 0;
}

/* Writes a ring's oldest samples to disk and takes them out of it, as
 * many as the disk took. 0 when the ring is empty after it. */
static int move_ring(struct queue *q, struct sample *ring, size_t cap, size_t *head,
		     size_t *count)
{
	size_t n = *count, put;

	if (n == 0)
		return 0;
	if (grow_array((void **)&q->sp_copy, &q->sp_alloc, n, sizeof(*q->sp_copy)) < 0)
		return -1;
	ring_copy(ring, cap, *head, n, q->sp_copy);
	put = put_samples(q, q->sp_copy, n, true);
	*head = (*head + put) % cap;
	*count -= put;
	sub(&q->c.pending, put);
	return put == n ? 0 : -1;
}

static int move_shard(struct queue *q, struct shard *sh, int64_t until)
{
	int rc;

	pthread_mutex_lock(&sh->mu);
	rc = surrender_batch(q, sh, until);
	if (rc == 0 && sh->count > 0) {
		/* What moved has left the ring, for queue_mark. */
		rc = move_ring(q, sh->ring, sh->ring_cap, &sh->head, &sh->count);
		if (sh->room_waiting)
			pthread_cond_broadcast(&sh->room);
	}
	pthread_mutex_unlock(&sh->mu);
	return rc;
}

/* Memory to disk, in order (see the top). Under route_mu. 0, or -1 when
 * the disk failed: what was written stays (it is the oldest), the rest
 * stays in memory, and the senders hold it until the disk is drained. */
static int move_memory(struct queue *q)
{
	unsigned n = shards_now(q);
	int64_t until = mono_ms() + BATCH_WAIT_MS; /* shared: senders end in parallel */

	for (unsigned i = 0; i < n; i++)
		if (move_shard(q, &q->shards[i], until) < 0)
			return -1;
	if (q->resharding && move_ring(q, q->staging, q->st_cap, &q->st_head, &q->st_count) < 0)
		return -1;
	return 0;
}

/* Senders in DISK mode look for records: tell them there are some. */
static void wake_senders(struct queue *q)
{
	for (unsigned i = 0; i < q->max_shards; i++) {
		struct shard *sh = &q->shards[i];

		if (!sh->active)
			continue;
		pthread_mutex_lock(&sh->mu);
		pthread_cond_broadcast(&sh->cv);
		pthread_mutex_unlock(&sh->mu);
	}
}

/* Enters DISK mode: memory moves to disk. Under route_mu. */
static int spill_begin(struct queue *q, const char *why)
{
	int rc;

	if (atomic_load(&q->mode) == QMODE_MEMORY)
		log_msg(LOG_INFO, "remote_write behind, buffering on disk", "remote_name=%s why=%s",
			q->log_name, why);
	atomic_store(&q->mode, QMODE_DISK);
	rc = move_memory(q);
	/* Until memory is empty, nothing may go to disk: it would be sent
	 * before the older samples memory still holds. */
	q->move_owed = rc != 0;
	if (rc == 0 && q->disk_degraded) {
		log_msg(LOG_INFO, "remote_write: disk writable again", "remote_name=%s",
			q->log_name);
		q->disk_degraded = false;
	}
	disk_sync(q->disk);
	wake_senders(q);
	return rc;
}

/* ---- when ------------------------------------------------------------ */

/* Behind: a sender's last request failed, or a ring holds more than one
 * batch that waited past batch_send_deadline. Under route_mu. */
static const char *behind(struct queue *q, int64_t now)
{
	int64_t bsd = q->cfg->queue.batch_send_deadline_ms;
	const char *why = NULL;

	for (unsigned i = 0; i < shards_now(q) && !why; i++) {
		struct shard *sh = &q->shards[i];

		if (atomic_load_explicit(&sh->retrying, memory_order_relaxed)) {
			why = "send_failed";
			break;
		}
		pthread_mutex_lock(&sh->mu);
		if (sh->count > q->batch_max && now - sh->oldest_ms > bsd)
			why = "backlog";
		pthread_mutex_unlock(&sh->mu);
	}
	return why;
}

/* DISK mode ends once the senders have drained the disk (nothing unread,
 * nothing claimed): memory holds nothing older than what comes next. */
static void maybe_leave_disk_mode(struct queue *q)
{
	if (atomic_load(&q->mode) != QMODE_DISK || !disk_empty(q->disk) ||
	    atomic_load(&q->surrendered_busy) > 0)
		return;
	atomic_store(&q->mode, QMODE_MEMORY);
	q->move_owed = false;
	log_msg(LOG_INFO, "remote_write caught up, disk drained", "remote_name=%s",
		q->log_name);
}

/* The appender's decision for a call: true when its samples go to disk.
 * force: a ring was full and would have dropped. Memory moves to disk
 * first (entering DISK mode, or after a move that failed); a disk that
 * failed a write is tried again every DISK_RETRY_MS. Under route_mu. */
static bool use_disk(struct queue *q, bool force)
{
	int64_t now = mono_ms();
	const char *why = force ? "rings_full" : NULL;
	bool memory;

	if (!q->disk || atomic_load(&q->stopping))
		return false;
	maybe_leave_disk_mode(q);
	memory = atomic_load(&q->mode) == QMODE_MEMORY;
	if (memory && !why && !(why = behind(q, now)))
		return false;
	if (!memory && !q->move_owed)
		return true;
	if (q->disk_degraded && now < q->disk_retry_ms)
		return false;
	return spill_begin(q, why ? why : "retry") == 0;
}

size_t spill_append(struct queue *q, const struct sample *s, size_t n, bool force)
{
	size_t put = 0;

	pthread_mutex_lock(&q->route_mu);
	if (use_disk(q, force)) {
		put = put_samples(q, s, n, false);
		disk_sync(q->disk);
		add(&q->c.in, put);
	}
	pthread_mutex_unlock(&q->route_mu);
	if (put)
		wake_senders(q);
	return put;
}

/* ---- a sender that failed -------------------------------------------- */

void spill_on_failure(struct queue *q)
{
	if (!q->disk || atomic_load(&q->mode) != QMODE_MEMORY || atomic_load(&q->stopping))
		return;
	pthread_mutex_lock(&q->route_mu);
	if (atomic_load(&q->mode) == QMODE_MEMORY && !atomic_load(&q->stopping) &&
	    !(q->disk_degraded && mono_ms() < q->disk_retry_ms))
		spill_begin(q, "send_failed");
	pthread_mutex_unlock(&q->route_mu);
}

/* ---- stopping -------------------------------------------------------- */

bool spill_on_stop(struct queue *q)
{
	bool moved;

	if (!q->disk)
		return false;
	pthread_mutex_lock(&q->route_mu);
	moved = atomic_load(&q->mode) == QMODE_DISK || behind(q, mono_ms());
	if (moved && spill_begin(q, "stopping") < 0)
		moved = false;
	pthread_mutex_unlock(&q->route_mu);
	return moved;
}

int spill_batch_at_stop(struct shard *sh)
{
	struct queue *q = sh->q;
	int rc = 0;

	if (!q->disk)
		return -1;
	pthread_mutex_lock(&q->route_mu);
	pthread_mutex_lock(&sh->mu);
	if (!sh->surrendered) {
		rc = surrender_batch(q, sh, mono_ms());
		rc = rc == 0 && sh->surrendered ? 0 : -1;
	}
	pthread_mutex_unlock(&sh->mu);
	pthread_mutex_unlock(&q->route_mu);
	return rc;
}

size_t spill_rings_at_stop(struct queue *q)
{
	size_t before = get(&q->c.pending);

	if (!q->disk)
		return 0;
	pthread_mutex_lock(&q->route_mu);
	for (unsigned i = 0; i < q->max_shards; i++) {
		struct shard *sh = &q->shards[i];

		if (!sh->active)
			continue;
		pthread_mutex_lock(&sh->mu);
		move_ring(q, sh->ring, sh->ring_cap, &sh->head, &sh->count);
		pthread_mutex_unlock(&sh->mu);
	}
	move_ring(q, q->staging, q->st_cap, &q->st_head, &q->st_count);
	disk_sync(q->disk);
	pthread_mutex_unlock(&q->route_mu);
	return before - get(&q->c.pending);
}

void spill_free(struct queue *q)
{
	disk_close(q->disk);
	q->disk = NULL;
	buf_free(&q->sp_pb);
	buf_free(&q->sp_body);
	v2_encoder_free(q->sp_v2enc);
	free(q->sp_copy);
}
