/* SPDX-License-Identifier: MIT */
/* Remote Write 1.0 metadata (metadata_config): every send_interval (the
 * first one after the start, as Prometheus) the agent hands over every family's type, help and unit
 * (queue_put_metadata); they are encoded at once into 1.0 WriteRequests
 * holding only metadata, max_samples_per_send entries each, and posted by
 * a thread of their own on a connection of their own, retried with the
 * queue's backoff: samples never wait for metadata. A newer set replaces
 * an older one that is still unsent (or being retried): metadata is a
 * state, not a stream, and only the latest matters. 2.0 carries metadata
 * inline: nothing is sent here while the endpoint speaks 2.0. */
#include "queue/queue.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "proto/encode.h"
#include "proto/encode_v2.h"
#include "queue/internal.h"
#include "queue/sender.h"

/* One set of requests: bodies back to back, and where each ends. */
struct meta_part {
	size_t end;                  /* offset just past its body in bodies */
	uint32_t entries;
};

struct meta_set {
	struct buf bodies;
	struct meta_part *parts;
	size_t n, alloc;
};

struct metadata_sender {
	struct queue *q;
	pthread_mutex_t mu;
	pthread_cond_t cv;           /* a new set, stop */
	bool stop, has_pending;      /* under mu */
	struct meta_set sets[3];
	struct meta_set *fill;       /* the appender's, outside mu */
	struct meta_set *pending;    /* under mu */
	struct meta_set *cur;        /* the thread's, outside mu */
	pthread_t thread;
	bool running;
	struct sender *sender;
	int64_t last_put_ms;         /* the appender's: the last put, or the start */
	struct buf pb, body;         /* the appender's */
	bool failing;                /* the thread's: said once per failing spell */
};

/* Waits for backoff_ms; false when stopping or a newer set arrived. */
static bool meta_backoff(struct metadata_sender *m, int64_t backoff_ms)
{
	int64_t until = mono_ms() + backoff_ms;
	bool go_on;

	pthread_mutex_lock(&m->mu);
	while (!m->stop && !m->has_pending && mono_ms() < until)
		timed_wait_ms(&m->cv, &m->mu, until);
	go_on = !m->stop && !m->has_pending;
	pthread_mutex_unlock(&m->mu);
	return go_on;
}

static void meta_log_failure(struct metadata_sender *m, const struct send_outcome *o,
			     const char *what)
{
	char text[SENDER_BODY_KEEP * 4 + 3];
	const char *t = o->http_status ? o->body : o->error;
	size_t len = o->http_status ? o->body_len : strlen(o->error);

	log_msg(LOG_WARN, what, "remote_name=%s url=%s status=%ld %s=%s", m->q->log_name,
		m->q->log_url, o->http_status, o->http_status ? "body" : "err",
		log_quote(t, len, text, sizeof(text)));
}

/* One request until it is accepted or refused; false when stopping or a
 * newer set replaced this one. */
static bool meta_post(struct metadata_sender *m, const uint8_t *body, size_t len,
		      uint32_t entries)
{
	const struct queue_config *qc = &m->q->cfg->queue;
	int64_t backoff = qc->min_backoff_ms > 0 ? qc->min_backoff_ms : 1;
	struct send_outcome out;

	for (;;) {
		enum send_result r = sender_post(m->sender, body, len, &out);

		if (r == SEND_OK) {
			add(&m->q->c.meta_sent, entries);
			m->failing = false;
			return true;
		}
		if (r == SEND_DROP) {
			add(&m->q->c.meta_failed, entries);
			meta_log_failure(m, &out, "remote_write metadata refused by the receiver, "
				      "dropped");
			return true;
		}
		if (!m->failing)
			meta_log_failure(m, &out, "remote_write metadata send failed, retrying");
		m->failing = true;
		if (!meta_backoff(m, backoff))
			return false;
		add(&m->q->c.meta_retried, entries);
		backoff = backoff > qc->max_backoff_ms / 2 ? qc->max_backoff_ms : backoff * 2;
	}
}

static void *meta_main(void *arg)
{
	struct metadata_sender *m = arg;

	for (;;) {
		struct meta_set *s;
		size_t start = 0;

		pthread_mutex_lock(&m->mu);
		while (!m->stop && !m->has_pending)
			pthread_cond_wait(&m->cv, &m->mu);
		if (m->stop) {
			pthread_mutex_unlock(&m->mu);
			return NULL;
		}
		s = m->pending;
		m->pending = m->cur;
		m->cur = s;
		m->has_pending = false;
		pthread_mutex_unlock(&m->mu);
		for (size_t i = 0; i < s->n; start = s->parts[i++].end)
			if (!meta_post(m, s->bodies.data + start, s->parts[i].end - start,
				       s->parts[i].entries))
				break;
	}
}

int metadata_start(struct queue *q)
{
	struct metadata_sender *m;
	int rc;

	if (!q->cfg->metadata.send)
		return 0;
	if (!(m = calloc(1, sizeof(*m))))
		return -1;
	m->q = q;
	m->fill = &m->sets[0];
	m->pending = &m->sets[1];
	m->cur = &m->sets[2];
	m->last_put_ms = mono_ms(); /* the first send_interval after the start,
				     * as Prometheus: the collectors have run */
	q->meta = m;
	if (pthread_mutex_init(&m->mu, NULL) || cond_init_monotonic(&m->cv) ||
	    !(m->sender = sender_create(q->cfg, &q->shared)))
		return -1;
	rc = pthread_create(&m->thread, NULL, meta_main, m);
	if (rc) {
		log_msg(LOG_ERROR, "remote_write: cannot start the metadata thread",
			"remote_name=%s err=\"%s\"", q->log_name, strerror(rc));
		return -1;
	}
	m->running = true;
	return 0;
}

void metadata_stop(struct queue *q)
{
	struct metadata_sender *m = q->meta;

	if (!m || !m->running)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	sender_abort_at(m->sender, mono_ms()); /* metadata is not worth a flush */
	pthread_join(m->thread, NULL);
	m->running = false;
}

void metadata_free(struct queue *q)
{
	struct metadata_sender *m = q->meta;

	if (!m)
		return;
	metadata_stop(q);
	sender_destroy(m->sender);
	for (int i = 0; i < 3; i++) {
		buf_free(&m->sets[i].bodies);
		free(m->sets[i].parts);
	}
	buf_free(&m->pb);
	buf_free(&m->body);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	free(m);
	q->meta = NULL;
}

bool queue_metadata_due(struct queue *q)
{
	struct metadata_sender *m = q->meta;

	return m && m->running && !atomic_load(&q->stopping) && !proto_v2_now(q) &&
	       mono_ms() - m->last_put_ms >= q->cfg->metadata.send_interval_ms;
}

/* Encodes meta[0..n) into m->fill, as requests of at most `per` entries. */
static int meta_encode(struct metadata_sender *m, const struct wire_meta *const *meta, size_t n,
		       size_t per)
{
	struct meta_set *s = m->fill;

	buf_reset(&s->bodies);
	s->n = 0;
	for (size_t i = 0; i < n; i += per) {
		size_t k = n - i < per ? n - i : per;

		if (encode_metadata_request(meta + i, k, &m->pb) < 0 ||
		    snappy_compress_block(&m->pb, &m->body) < 0 ||
		    buf_append(&s->bodies, m->body.data, m->body.len) < 0 ||
		    grow_array((void **)&s->parts, &s->alloc, s->n + 1, sizeof(*s->parts)) < 0)
			return -1;
		s->parts[s->n++] = (struct meta_part){s->bodies.len, (uint32_t)k};
	}
	return 0;
}

void queue_put_metadata(struct queue *q, const struct wire_meta *const *meta, size_t n)
{
	struct metadata_sender *m = q->meta;
	struct meta_set *s;

	if (!m || !m->running)
		return;
	m->last_put_ms = mono_ms();
	if (n == 0)
		return;
	if (meta_encode(m, meta, n, (size_t)q->cfg->metadata.max_samples_per_send) < 0) {
		log_msg(LOG_ERROR, "remote_write: cannot encode metadata", "remote_name=%s",
			q->log_name);
		return;
	}
	pthread_mutex_lock(&m->mu);
	s = m->pending;
	m->pending = m->fill;
	m->fill = s;
	m->has_pending = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}
