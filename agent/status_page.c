/* SPDX-License-Identifier: MIT */
#include "agent/status_page.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/offlog.h"
#include "agent/status_html.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/log.h"

/* As /metrics (agent/status.c): render while watched, bounded waiters. */
#define WATCH_MS (10 * 60 * 1000)
#define MAX_WAITERS 64
/* The meta refresh follows the interval between rounds, within these. */
#define REFRESH_MIN_S 1
#define REFRESH_MAX_S 60
#define REFRESH_UNKNOWN_S 15

#define HTML_TYPE "text/html; charset=utf-8"

/* The page is rendered into back, then swapped with front under the
 * lock; a response copies front (a page is tens of KiB, read by a person
 * every few seconds), so no page outlives a swap and both buffers keep
 * their size: a round allocates nothing once they have grown. */
struct status_page {
	struct status_html *html;
	FILE *render;            /* writes into back; publisher only */
	struct buf back;         /* publisher only */
	int64_t last_round_ms;   /* publisher only: for the refresh */
	pthread_mutex_t mu;      /* guards everything below */
	struct buf front;        /* the page of round page_round */
	uint64_t rounds, page_round;
	bool failed;             /* the last render failed (ENOMEM) */
	int64_t watched_until_ms;
	struct MHD_Connection *waiters[MAX_WAITERS];
	size_t n_waiters;
	bool stopping;
};

static ssize_t buf_write(void *cookie, const char *data, size_t size)
{
	struct buf *b = &((struct status_page *)cookie)->back;

	return buf_append(b, data, size) < 0 ? -1 : (ssize_t)size;
}

struct status_page *status_page_create(void)
{
	struct status_page *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	p->html = status_html_new();
	p->render = fopencookie(p, "w", (cookie_io_functions_t){.write = buf_write});
	if (!p->html || !p->render) {
		status_page_free(p);
		return NULL;
	}
	offlog_start();
	return p;
}

void status_page_free(struct status_page *p)
{
	if (!p)
		return;
	if (p->render)
		fclose(p->render);
	status_html_free(p->html);
	buf_free(&p->front);
	buf_free(&p->back);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static int refresh_seconds(struct status_page *p, int64_t round_ts_ms)
{
	int64_t gap = p->last_round_ms ? round_ts_ms - p->last_round_ms : 0;
	int s = (int)((gap + 999) / 1000);

	p->last_round_ms = round_ts_ms;
	if (gap <= 0)
		return REFRESH_UNKNOWN_S;
	return s < REFRESH_MIN_S ? REFRESH_MIN_S : s > REFRESH_MAX_S ? REFRESH_MAX_S : s;
}

static bool render(struct status_page *p, const struct sample *samples, size_t n,
		   int64_t round_ts_ms, int refresh_s)
{
	int rc;

	p->back.len = 0;
	clearerr(p->render);
	rc = status_html_write(p->html, p->render, samples, n, round_ts_ms, refresh_s);
	return rc == 0 && fflush(p->render) == 0;
}

void status_page_publish(struct status_page *p, const struct sample *samples, size_t n,
			 int64_t round_ts_ms)
{
	struct MHD_Connection *resume[MAX_WAITERS];
	struct buf unread = {0};
	int refresh_s;
	size_t n_resume = 0;
	bool wanted, ok = false;

	if (!p)
		return;
	refresh_s = refresh_seconds(p, round_ts_ms);
	pthread_mutex_lock(&p->mu);
	wanted = p->n_waiters > 0 || mono_ms() < p->watched_until_ms;
	pthread_mutex_unlock(&p->mu);
	if (wanted)
		ok = render(p, samples, n, round_ts_ms, refresh_s);
	pthread_mutex_lock(&p->mu);
	p->rounds++;
	if (wanted) {
		struct buf swap = p->front;

		if (ok) {
			p->front = p->back;
			p->back = swap;
		}
		p->failed = !ok;
		p->page_round = p->rounds;
		n_resume = p->n_waiters;
		memcpy(resume, p->waiters, n_resume * sizeof(*resume));
		p->n_waiters = 0;
	} else { /* nobody reads it: its memory goes back (no reader holds it) */
		unread = p->front;
		p->front = (struct buf){0};
	}
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < n_resume; i++)
		MHD_resume_connection(resume[i]);
	if (!wanted) {
		buf_free(&unread);
		buf_free(&p->back);
	}
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *text,
				 size_t len, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result send_waiting(struct MHD_Connection *conn)
{
	char text[512];
	FILE *f = fmemopen(text, sizeof(text), "w");

	if (!f)
		return MHD_NO;
	status_html_write_waiting(f);
	fclose(f);
	return send_text(conn, MHD_HTTP_OK, text, strnlen(text, sizeof(text)), HTML_TYPE);
}

static const char RETRY_TEXT[] = "no page for this round; retry\n";

enum MHD_Result status_page_serve(struct status_page *p, struct MHD_Connection *conn)
{
	enum MHD_Result rc = MHD_YES;
	bool waiting = false;

	pthread_mutex_lock(&p->mu);
	p->watched_until_ms = mono_ms() + WATCH_MS;
	if (p->stopping || (p->rounds && p->page_round == p->rounds && p->failed)) {
		rc = send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, RETRY_TEXT,
			       sizeof(RETRY_TEXT) - 1, "text/plain");
	} else if (p->rounds && p->page_round == p->rounds) {
		/* Copied under the lock: the publisher swaps only under it. */
		rc = send_text(conn, MHD_HTTP_OK, (const char *)p->front.data, p->front.len, HTML_TYPE);
	} else if (p->rounds == 0) {
		waiting = true;
	} else if (p->n_waiters < MAX_WAITERS) {
		/* Under the lock: publish resumes it only once it is suspended. */
		p->waiters[p->n_waiters++] = conn;
		MHD_suspend_connection(conn);
	} else {
		rc = send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, RETRY_TEXT,
			       sizeof(RETRY_TEXT) - 1, "text/plain");
	}
	pthread_mutex_unlock(&p->mu);
	return waiting ? send_waiting(conn) : rc;
}

void status_page_stop(struct status_page *p)
{
	struct MHD_Connection *resume[MAX_WAITERS];
	size_t n;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	n = p->n_waiters;
	memcpy(resume, p->waiters, n * sizeof(*resume));
	p->n_waiters = 0;
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < n; i++)
		MHD_resume_connection(resume[i]);
}
