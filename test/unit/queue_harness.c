/* SPDX-License-Identifier: MIT */
/* The queue tests' fixture and checks: see queue_harness.h. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/encode.h"
#include "lib/clock.h"
#include "queue_harness.h"
#include "receiver.h"

/* ---- test fixtures ----------------------------------------------------- */

int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct queue_config *qc = &f->cfg.queue;

	f->rx = receiver_new();
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u/api/v1/write", f->rx->port);
	f->cfg.url = f->url;
	f->cfg.name = "test";
	f->cfg.remote_timeout_ms = 5000;
	qc->capacity = 1000;
	qc->max_shards = 1;
	qc->min_shards = 1;
	qc->max_samples_per_send = 10;
	qc->batch_send_deadline_ms = 50;
	qc->min_backoff_ms = 20;
	qc->max_backoff_ms = 100;
	qc->max_retry_after_ms = 60000;
	qc->retry_on_http_429 = true;
	for (int i = 0; i < MAX_SERIES; i++) {
		char v[16];
		int n = snprintf(v, sizeof(v), "%d", i);

		assert_int_equal(encode_label(&f->labels[i], "__name__", 8, "test_metric", 11), 0);
		assert_int_equal(encode_label(&f->labels[i], "series", 6, v, (size_t)n), 0);
		f->series[i] = (struct wire_series){.labels_pb = f->labels[i].data,
						    .labels_len = (uint32_t)f->labels[i].len,
						    .hash = (uint64_t)i};
	}
	f->base_ts = wall_ms();
	*state = f;
	return 0;
}

int teardown(void **state)
{
	struct fixture *f = *state;

	receiver_free(f->rx);
	for (int i = 0; i < MAX_SERIES; i++)
		buf_free(&f->labels[i]);
	free(f);
	return 0;
}

/* Appends samples first..first+n-1 of series s: value = sequence number. */
void append_seq(struct fixture *f, struct queue *q, int s, int first, int n)
{
	struct sample *smp = calloc((size_t)n, sizeof(*smp));

	for (int i = 0; i < n; i++)
		smp[i] = (struct sample){&f->series[s], f->base_ts + first + i, {first + i}};
	queue_append(q, smp, (size_t)n);
	free(smp);
}

struct queue *start_queue(struct fixture *f)
{
	struct queue *q = queue_create(&f->cfg, "test");

	assert_non_null(q);
	receiver_start(f->rx);
	assert_int_equal(queue_start(q), 0);
	return q;
}

void stats_of(struct queue *q, struct queue_stats *st)
{
	queue_get_stats(q, st);
}

/* Every sample offered is accounted for exactly once. */
void assert_balanced(const struct queue_stats *st)
{
	uint64_t dropped = 0;

	for (int r = 0; r < DROP_REASONS; r++)
		dropped += st->samples_dropped[r];
	assert_int_equal(st->samples_in,
			 st->samples_sent + st->samples_failed + dropped + st->samples_pending);
}

void assert_values_in_order(struct receiver *r, size_t from, size_t n, int first)
{
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(r->accepted[from + i].value, first + (int)i);
		assert_int_equal(r->accepted[from + i].ts - r->accepted[from].ts, (int64_t)i);
	}
	pthread_mutex_unlock(&r->mu);
}

uint64_t stop_now(struct queue *q, int ms)
{
	return queue_stop(q, mono_ms() + ms);
}

/* ---- log capture --------------------------------------------------------- */

void capture_start(struct capture *c)
{
	int fd;

	snprintf(c->path, sizeof(c->path), "/tmp/test_queue_log.XXXXXX");
	fd = mkstemp(c->path);
	assert_true(fd >= 0);
	c->saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

char *capture_end(struct capture *c)
{
	FILE *fp = fopen(c->path, "r");
	char *text = calloc(1, 1 << 20);

	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	assert_non_null(fp);
	(void)!fread(text, 1, (1 << 20) - 1, fp);
	fclose(fp);
	unlink(c->path);
	return text;
}

int count_lines_with(const char *text, const char *a, const char *b)
{
	int n = 0;

	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char *copy = strndup(line, len);

		if (strstr(copy, a) && (!b || strstr(copy, b)))
			n++;
		free(copy);
		line += len + (nl ? 1 : 0);
	}
	return n;
}

/* The load of the reshard tests: per round, `per` samples of each of
 * n_series series, timestamps following the round's wall time and strictly
 * increasing per series, rounds every 100 ms. Appends one round. */
uint64_t append_round(struct fixture *f, struct queue *q, int round, int n_series,
			     int per)
{
	struct sample *smp = calloc((size_t)(n_series * per), sizeof(*smp));
	size_t n = 0;

	assert_true(per < 100);
	for (int k = 0; k < per; k++)
		for (int s = 0; s < n_series; s++)
			smp[n++] = (struct sample){&f->series[s], f->base_ts + round * 100 + k,
						   {round * 100 + k}};
	queue_append(q, smp, n);
	free(smp);
	return n;
}

/* Sleeps until round `round` is due (100 ms apart from t0). */
void pace(int64_t t0, int round)
{
	int64_t wait = t0 + (int64_t)round * 100 - mono_ms();

	if (wait > 0)
		sleep_ms((int)wait);
}

struct queue *start_reshard_queue(struct fixture *f, int64_t interval_ms)
{
	struct queue *q = queue_create(&f->cfg, "test");

	assert_non_null(q);
	queue_set_reshard_interval(q, interval_ms);
	receiver_start(f->rx);
	assert_int_equal(queue_start(q), 0);
	return q;
}

/* The whole captured log so far, without ending the capture. */
bool log_has(const struct capture *c, const char *needle)
{
	FILE *fp = fopen(c->path, "r");
	char *text = calloc(1, 1 << 20);
	bool found;

	assert_non_null(fp);
	(void)!fread(text, 1, (1 << 20) - 1, fp);
	fclose(fp);
	found = strstr(text, needle) != NULL;
	free(text);
	return found;
}

void print_reshard_lines(const char *test, const char *log)
{
	if (!getenv("TEST_QUEUE_VERBOSE"))
		return;
	for (const char *line = log; *line;) {
		const char *nl = strchr(line, '\n');
		int len = nl ? (int)(nl - line) : (int)strlen(line);

		if (memmem(line, (size_t)len, "resharding", 10) ||
		    memmem(line, (size_t)len, "level=warn", 10) ||
		    memmem(line, (size_t)len, "level=error", 11))
			printf("  %s| %.*s\n", test, len, line);
		line += len + (nl ? 1 : 0);
	}
}

/* Every series' timestamps strictly increase at the receiver, over the
 * whole run; returns how many samples it got. */
size_t assert_series_increasing(struct receiver *r)
{
	int64_t last[MAX_SERIES];
	struct got_sample *got;
	size_t n;

	/* A copy: a failed assertion must not leave mu locked. */
	pthread_mutex_lock(&r->mu);
	n = r->n_accepted;
	got = malloc((n + 1) * sizeof(*got));
	memcpy(got, r->accepted, n * sizeof(*got));
	pthread_mutex_unlock(&r->mu);
	for (int s = 0; s < MAX_SERIES; s++)
		last[s] = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		const struct got_sample g = got[i];

		if (g.series < 0 || g.series >= MAX_SERIES || g.ts <= last[g.series]) {
			size_t p = i;

			while (p > 0 && got[p - 1].series != g.series)
				p--;
			print_message("series %d: ts %lld (request %u) after %lld (request %u), "
				      "sample %zu\n", g.series, (long long)g.ts, g.req,
				      (long long)last[g.series], p > 0 ? got[p - 1].req : 0, i);
			free(got);
			fail();
		}
		last[g.series] = g.ts;
	}
	free(got);
	assert_true(n < MAX_ACCEPTED);
	return n;
}

uint64_t all_dropped(const struct queue_stats *st)
{
	uint64_t d = 0;

	for (int r = 0; r < DROP_REASONS; r++)
		d += st->samples_dropped[r];
	return d;
}

/* After queue_stop: every sample offered was received, dropped or refused,
 * exactly once. */
void assert_exact(struct fixture *f, const struct queue_stats *st)
{
	assert_int_equal(st->samples_pending, 0);
	assert_int_equal(st->samples_sent, accepted_count(f->rx));
	assert_int_equal(st->samples_in,
			 accepted_count(f->rx) + all_dropped(st) + st->samples_failed);
}

void reshard_config(struct fixture *f, int min, int max)
{
	struct queue_config *qc = &f->cfg.queue;

	qc->capacity = 20000;
	qc->min_shards = min;
	qc->max_shards = max;
	qc->max_samples_per_send = 50;
	qc->batch_send_deadline_ms = 500;
}


int queue_tests_run(const char *group, const struct CMUnitTest *tests, size_t n)
{
	int rc;

	if (queue_global_init() < 0)
		return 1;
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	rc = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
	queue_global_cleanup();
	return rc;
}
