/* SPDX-License-Identifier: MIT */
/* The senders' side of the disk tier (docs/design.md, "The disk tier"): in
 * DISK mode each shard's thread claims the oldest record it may send and
 * posts it as it would a batch of its ring (batch.c: retries, backoff,
 * counting); the disk's barriers keep each series in order across
 * records sent side by side. And the endpoint's rate_limit. */
#include "queue/queue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "queue/disk.h"
#include "queue/internal.h"

/* rate_limit lets a burst of this much time's budget through at once. */
#define RATE_BURST_US 1000000

bool replay_holds(const struct shard *sh)
{
	const struct queue *q = sh->q;

	if (!q->disk || atomic_load(&q->mode) != QMODE_DISK)
		return false;
	/* drained (nothing on disk, no batch on its way there): the ring is next */
	return !disk_empty(q->disk) || atomic_load(&q->surrendered_busy) > 0;
}

bool replay_claim(struct shard *sh, bool *hold)
{
	struct queue *q = sh->q;

	*hold = replay_holds(sh);
	if (!*hold || disk_empty(q->disk) || atomic_load(&q->surrendered_busy) > 0 ||
	    mono_ms() < atomic_load(&q->replay_after_ms))
		return false;
	if (disk_claim(q->disk, &sh->body, &sh->rec, &sh->ticket) != 1)
		return false;
	sh->replaying = true;
	sh->body_v2 = sh->rec.v2; /* a fallback transcodes it before it is sent */
	sh->batch_n = sh->rec.samples;
	sh->batch_first = UINT64_MAX; /* it holds no series of the registry */
	sh->busy = true;
	sh->phase = PH_REPLAY;
	sh->taken_ms = mono_ms();
	return true;
}

bool replay_too_old(struct shard *sh)
{
	int64_t limit = sh->q->cfg->queue.sample_age_limit_ms;

	if (limit <= 0 || sh->rec.newest_ms >= wall_ms() - limit)
		return false;
	add(&sh->q->c.dropped[DROP_TOO_OLD], sh->batch_n);
	disk_ack(sh->q->disk, &sh->ticket);
	return true;
}

/* A virtual clock: each send books its bytes' share of time after the
 * last booking (no earlier than a burst's worth before now), and waits
 * until its booking starts. Fair between shards, and one lock per send. */
int64_t rate_reserve(struct queue *q, size_t bytes)
{
	int64_t now = (int64_t)(mono_ns() / 1000), start, cost;

	cost = (int64_t)((double)bytes * 1e6 / (double)q->cfg->queue.rate_limit);
	pthread_mutex_lock(&q->rl_mu);
	start = q->rl_next_us > now - RATE_BURST_US ? q->rl_next_us : now - RATE_BURST_US;
	q->rl_next_us = start + cost;
	pthread_mutex_unlock(&q->rl_mu);
	return start > now ? (start - now + 999) / 1000 : 0;
}
