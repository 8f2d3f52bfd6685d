/* queue and sender against a real, fault-injecting HTTP/1.1 receiver that
 * runs in a thread of this test: it decodes the real wire format (snappy
 * block + protobuf-c), checks the protocol headers, records what it got and
 * answers per a script, optionally after a delay (each connection on its
 * own timer, so N shards see N requests served at once).
 *
 * TEST_QUEUE_VERBOSE=1 prints the resharding (and warn) log lines of the
 * reshard tests; TEST_FILTER=pattern runs only the matching tests. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "remote.pb-c.h"

#include "lib/log.h"
#include "lib/buf.h"
#include "proto/encode.h"
#include "queue/queue.h"
#include "queue/sender.h"
#include "lib/clock.h"

/* ---- clocks ---------------------------------------------------------- */

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---- the receiver ------------------------------------------------------ */

#define MAX_CONNS 16
#define MAX_SCRIPT 16
#define MAX_RECORDS 4096
#define MAX_ACCEPTED (1 << 16)

struct reply {
	int status;
	const char *retry_after; /* header value, or NULL */
	size_t body_len;         /* body: "error: " then 'z's up to body_len */
};

struct got_sample {
	int series;
	int64_t ts;
	double value;
	unsigned req;          /* index of the request that brought it */
};

struct conn {
	int fd;
	struct buf in;
	bool waiting;          /* a reply is due at due_ms */
	int64_t due_ms;
	struct reply rep;
	Prometheus__WriteRequest *req; /* recorded when the reply goes out */
	unsigned req_idx;
};

struct receiver {
	int lfd, wake[2];
	uint16_t port;
	pthread_t thread;
	pthread_mutex_t mu;
	struct conn conns[MAX_CONNS];
	/* script, set before the queue starts (or under mu) */
	struct reply script[MAX_SCRIPT];
	size_t n_script;
	int64_t fail_until_ms; /* answer fail_status until then */
	int fail_status;
	bool hang;             /* read requests, never answer */
	int delay_ms;          /* answer this long after the request (under mu) */
	/* what happened, under mu */
	unsigned accepts, closes, requests, header_errors, decode_errors;
	int64_t request_ms[MAX_RECORDS];
	int status[MAX_RECORDS];
	size_t batch_len[MAX_RECORDS];
	struct got_sample accepted[MAX_ACCEPTED];
	size_t n_accepted;
	char authorization[256], org_id[256];
	bool saw_expect;
};

static const char *header_value(const char *hdrs, const char *name, char *out, size_t outsz)
{
	size_t nlen = strlen(name);

	for (const char *line = hdrs; line && *line; line = strstr(line, "\r\n")) {
		if (line[0] == '\r')
			line += 2;
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1, *end = strstr(v, "\r\n");
			size_t len;

			while (*v == ' ')
				v++;
			len = end ? (size_t)(end - v) : strlen(v);
			if (len >= outsz)
				len = outsz - 1;
			memcpy(out, v, len);
			out[len] = '\0';
			return out;
		}
	}
	return NULL;
}

static bool header_is(const char *hdrs, const char *name, const char *want)
{
	char v[256];

	return header_value(hdrs, name, v, sizeof(v)) && strcmp(v, want) == 0;
}

static bool check_headers(struct receiver *r, const char *hdrs)
{
	char v[256];
	bool ok = strncmp(hdrs, "POST /api/v1/write HTTP/1.1\r\n", 29) == 0 &&
		  header_is(hdrs, "Content-Encoding", "snappy") &&
		  header_is(hdrs, "Content-Type", "application/x-protobuf") &&
		  header_is(hdrs, "X-Prometheus-Remote-Write-Version", "0.1.0") &&
		  header_is(hdrs, "User-Agent", "bpfpush/" BPFPUSH_VERSION);

	r->saw_expect |= header_value(hdrs, "Expect", v, sizeof(v)) != NULL;
	if (header_value(hdrs, "Authorization", v, sizeof(v)))
		snprintf(r->authorization, sizeof(r->authorization), "%s", v);
	if (header_value(hdrs, "X-Scope-OrgID", v, sizeof(v)))
		snprintf(r->org_id, sizeof(r->org_id), "%s", v);
	return ok;
}

/* The label "series" holds the test's series number. */
static int series_number(const Prometheus__TimeSeries *t)
{
	for (size_t l = 0; l < t->n_labels; l++)
		if (strcmp(t->labels[l]->name, "series") == 0)
			return atoi(t->labels[l]->value);
	return -1;
}

static Prometheus__WriteRequest *decode(const uint8_t *body, size_t len)
{
	struct buf raw = {0};
	Prometheus__WriteRequest *req = NULL;

	if (snappy_uncompress_block(body, len, &raw) == 0)
		req = prometheus__write_request__unpack(NULL, raw.len, raw.data);
	buf_free(&raw);
	return req;
}

static void record_accepted(struct receiver *r, const Prometheus__WriteRequest *req,
			    unsigned idx)
{
	for (size_t t = 0; t < req->n_timeseries; t++) {
		const Prometheus__TimeSeries *ts = req->timeseries[t];

		for (size_t s = 0; s < ts->n_samples && r->n_accepted < MAX_ACCEPTED; s++)
			r->accepted[r->n_accepted++] = (struct got_sample){
				series_number(ts), ts->samples[s]->timestamp,
				ts->samples[s]->value, idx};
	}
}

static size_t count_samples(const Prometheus__WriteRequest *req)
{
	size_t n = 0;

	for (size_t t = 0; t < req->n_timeseries; t++)
		n += req->timeseries[t]->n_samples;
	return n;
}

static struct reply choose_reply(struct receiver *r, unsigned idx)
{
	if (mono_ms() < r->fail_until_ms)
		return (struct reply){.status = r->fail_status};
	if (idx < r->n_script)
		return r->script[idx];
	return (struct reply){.status = 200};
}

static void send_reply(int fd, const struct reply *rep)
{
	char head[256], *body = malloc(rep->body_len + 1);
	int n;

	memset(body, 'z', rep->body_len);
	memcpy(body, "error: ", rep->body_len < 7 ? rep->body_len : 7);
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nContent-Type: text/plain\r\n"
		     "%s%s%s\r\n",
		     rep->status, rep->body_len, rep->retry_after ? "Retry-After: " : "",
		     rep->retry_after ? rep->retry_after : "", rep->retry_after ? "\r\n" : "");
	(void)!write(fd, head, (size_t)n);
	for (size_t off = 0; off < rep->body_len;) {
		ssize_t w = write(fd, body + off, rep->body_len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(body);
}

static void handle_request(struct receiver *r, struct conn *c, const char *hdrs,
			   const uint8_t *body, size_t len)
{
	Prometheus__WriteRequest *req = decode(body, len);
	struct reply rep;
	unsigned idx;
	int delay;

	pthread_mutex_lock(&r->mu);
	idx = r->requests++;
	if (!check_headers(r, hdrs))
		r->header_errors++;
	rep = choose_reply(r, idx);
	if (!req) {
		r->decode_errors++;
		rep = (struct reply){.status = 400};
	}
	if (idx < MAX_RECORDS) {
		r->request_ms[idx] = mono_ms();
		r->status[idx] = rep.status;
		r->batch_len[idx] = req ? count_samples(req) : 0;
	}
	delay = r->hang ? 0 : r->delay_ms;
	/* Accepted means answered: a delayed answer records its samples
	 * when it goes out, so that one the client never sees is not counted. */
	if (req && rep.status / 100 == 2 && delay == 0)
		record_accepted(r, req, idx);
	pthread_mutex_unlock(&r->mu);
	if (delay > 0) {
		c->waiting = true;
		c->due_ms = mono_ms() + delay;
		c->rep = rep;
		c->req = req;
		c->req_idx = idx;
		return;
	}
	if (req)
		prometheus__write_request__free_unpacked(req, NULL);
	if (!r->hang)
		send_reply(c->fd, &rep);
}

static void conn_unstash(struct conn *c)
{
	if (c->req)
		prometheus__write_request__free_unpacked(c->req, NULL);
	c->req = NULL;
	c->waiting = false;
}

/* Handles every complete request in c->in. */
static void parse_requests(struct receiver *r, struct conn *c)
{
	for (;;) {
		char *hdrs = (char *)c->in.data, *end, cl[32];
		size_t hlen, blen, total;

		if (c->waiting || c->in.len == 0 || buf_reserve(&c->in, 1) < 0)
			return;
		c->in.data[c->in.len] = '\0';
		hdrs = (char *)c->in.data;
		end = strstr(hdrs, "\r\n\r\n");
		if (!end)
			return;
		hlen = (size_t)(end - hdrs) + 4;
		blen = header_value(hdrs, "Content-Length", cl, sizeof(cl)) ? strtoul(cl, NULL, 10) : 0;
		total = hlen + blen;
		if (c->in.len < total)
			return;
		end[2] = '\0'; /* headers end with their last CRLF */
		handle_request(r, c, hdrs, c->in.data + hlen, blen);
		memmove(c->in.data, c->in.data + total, c->in.len - total);
		c->in.len -= total;
	}
}

static void conn_close(struct receiver *r, struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	conn_unstash(c);
	buf_free(&c->in);
	pthread_mutex_lock(&r->mu);
	r->closes++;
	pthread_mutex_unlock(&r->mu);
}

static void conn_read(struct receiver *r, struct conn *c)
{
	ssize_t n;

	if (buf_reserve(&c->in, 65536) < 0) {
		conn_close(r, c);
		return;
	}
	n = read(c->fd, c->in.data + c->in.len, 65536);
	if (n <= 0) {
		conn_close(r, c);
		return;
	}
	c->in.len += (size_t)n;
	parse_requests(r, c);
}

static void accept_conn(struct receiver *r)
{
	int fd = accept(r->lfd, NULL, NULL);

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CONNS; i++) {
		if (r->conns[i].fd < 0) {
			r->conns[i].fd = fd;
			pthread_mutex_lock(&r->mu);
			r->accepts++;
			pthread_mutex_unlock(&r->mu);
			return;
		}
	}
	close(fd);
}

/* Sends the delayed replies that are due, then handles what those
 * connections sent meanwhile. Returns the poll timeout until the next. */
static int send_due_replies(struct receiver *r)
{
	int64_t now = mono_ms(), next = INT64_MAX;

	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &r->conns[i];

		if (c->fd < 0 || !c->waiting)
			continue;
		if (c->due_ms <= now) {
			pthread_mutex_lock(&r->mu);
			if (c->req && c->rep.status / 100 == 2)
				record_accepted(r, c->req, c->req_idx);
			pthread_mutex_unlock(&r->mu);
			conn_unstash(c);
			send_reply(c->fd, &c->rep);
			parse_requests(r, c);
		}
		if (c->fd >= 0 && c->waiting && c->due_ms < next)
			next = c->due_ms;
	}
	return next == INT64_MAX ? -1 : (int)(next > now ? next - now : 0);
}

static void *receiver_main(void *arg)
{
	struct receiver *r = arg;

	for (;;) {
		struct pollfd p[MAX_CONNS + 2];
		int idx[MAX_CONNS + 2], n = 2, timeout = send_due_replies(r);

		p[0] = (struct pollfd){.fd = r->wake[0], .events = POLLIN};
		p[1] = (struct pollfd){.fd = r->lfd, .events = POLLIN};
		for (int i = 0; i < MAX_CONNS; i++) {
			if (r->conns[i].fd >= 0) {
				idx[n] = i;
				p[n++] = (struct pollfd){.fd = r->conns[i].fd, .events = POLLIN};
			}
		}
		if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN)
			accept_conn(r);
		for (int i = 2; i < n; i++)
			if (p[i].revents)
				conn_read(r, &r->conns[idx[i]]);
	}
	return NULL;
}

static struct receiver *receiver_new(void)
{
	struct receiver *r = calloc(1, sizeof(*r));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);

	assert_non_null(r);
	for (int i = 0; i < MAX_CONNS; i++)
		r->conns[i].fd = -1;
	pthread_mutex_init(&r->mu, NULL);
	r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(r->lfd >= 0);
	assert_int_equal(bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(r->lfd, 16), 0);
	assert_int_equal(getsockname(r->lfd, (struct sockaddr *)&sa, &sl), 0);
	r->port = ntohs(sa.sin_port);
	assert_int_equal(pipe(r->wake), 0);
	return r;
}

static void receiver_start(struct receiver *r)
{
	assert_int_equal(pthread_create(&r->thread, NULL, receiver_main, r), 0);
}

static void receiver_free(struct receiver *r)
{
	(void)!write(r->wake[1], "x", 1);
	pthread_join(r->thread, NULL);
	for (int i = 0; i < MAX_CONNS; i++)
		if (r->conns[i].fd >= 0)
			conn_close(r, &r->conns[i]);
	close(r->lfd);
	close(r->wake[0]);
	close(r->wake[1]);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* A port nothing listens on: connections are refused. */
static uint16_t dead_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static unsigned rget(struct receiver *r, const unsigned *field)
{
	unsigned v;

	pthread_mutex_lock(&r->mu);
	v = *field;
	pthread_mutex_unlock(&r->mu);
	return v;
}

static size_t accepted_count(struct receiver *r)
{
	size_t v;

	pthread_mutex_lock(&r->mu);
	v = r->n_accepted;
	pthread_mutex_unlock(&r->mu);
	return v;
}

static bool wait_accepted(struct receiver *r, size_t n, int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;

	while (accepted_count(r) < n && mono_ms() < end)
		sleep_ms(5);
	return accepted_count(r) >= n;
}

static bool wait_requests(struct receiver *r, unsigned n, int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;

	while (rget(r, &r->requests) < n && mono_ms() < end)
		sleep_ms(5);
	return rget(r, &r->requests) >= n;
}

/* ---- test fixtures ----------------------------------------------------- */

#define N_SERIES 32
#define MAX_SERIES 128

struct fixture {
	struct receiver *rx;
	char url[128];
	struct remote_write_config cfg;
	struct buf labels[MAX_SERIES];
	struct wire_series series[MAX_SERIES];
	int64_t base_ts;
};

static int setup(void **state)
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
		f->series[i] = (struct wire_series){f->labels[i].data,
						    (uint32_t)f->labels[i].len, (uint64_t)i};
	}
	f->base_ts = wall_ms();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	receiver_free(f->rx);
	for (int i = 0; i < MAX_SERIES; i++)
		buf_free(&f->labels[i]);
	free(f);
	return 0;
}

/* Appends samples first..first+n-1 of series s: value = sequence number. */
static void append_seq(struct fixture *f, struct queue *q, int s, int first, int n)
{
	struct sample *smp = calloc((size_t)n, sizeof(*smp));

	for (int i = 0; i < n; i++)
		smp[i] = (struct sample){&f->series[s], f->base_ts + first + i, first + i};
	queue_append(q, smp, (size_t)n);
	free(smp);
}

static struct queue *start_queue(struct fixture *f)
{
	struct queue *q = queue_create(&f->cfg, "test");

	assert_non_null(q);
	receiver_start(f->rx);
	assert_int_equal(queue_start(q), 0);
	return q;
}

static void stats_of(struct queue *q, struct queue_stats *st)
{
	queue_get_stats(q, st);
}

/* Every sample offered is accounted for exactly once. */
static void assert_balanced(const struct queue_stats *st)
{
	uint64_t dropped = 0;

	for (int r = 0; r < DROP_REASONS; r++)
		dropped += st->samples_dropped[r];
	assert_int_equal(st->samples_in,
			 st->samples_sent + st->samples_failed + dropped + st->samples_pending);
}

static void assert_values_in_order(struct receiver *r, size_t from, size_t n, int first)
{
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(r->accepted[from + i].value, first + (int)i);
		assert_int_equal(r->accepted[from + i].ts - r->accepted[from].ts, (int64_t)i);
	}
	pthread_mutex_unlock(&r->mu);
}

static uint64_t stop_now(struct queue *q, int ms)
{
	return queue_stop(q, mono_ms() + ms);
}

/* ---- log capture --------------------------------------------------------- */

struct capture {
	int saved;
	char path[64];
};

static void capture_start(struct capture *c)
{
	int fd;

	snprintf(c->path, sizeof(c->path), "/tmp/test_queue_log.XXXXXX");
	fd = mkstemp(c->path);
	assert_true(fd >= 0);
	c->saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static char *capture_end(struct capture *c)
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

static int count_lines_with(const char *text, const char *a, const char *b)
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

/* ---- queue tests ------------------------------------------------------------ */

static void test_in_order_after_500(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	f->rx->script[0] = (struct reply){.status = 500};
	f->rx->n_script = 1;
	q = start_queue(f);
	append_seq(f, q, 3, 0, 50);
	assert_true(wait_accepted(f->rx, 50, 3000));
	assert_int_equal(stop_now(q, 1000), 0);
	stats_of(q, &st);
	assert_values_in_order(f->rx, 0, 50, 0);
	assert_int_equal(f->rx->n_accepted, 50);
	assert_int_equal(f->rx->requests, 6);
	assert_int_equal(f->rx->batch_len[0], 10);
	assert_int_equal(f->rx->batch_len[1], 10); /* the same batch again */
	assert_int_equal(st.samples_sent, 50);
	assert_int_equal(st.samples_retried, 10);
	assert_int_equal(st.requests_total, 6);
	assert_int_equal(st.samples_pending, 0);
	assert_int_equal(st.highest_sent_timestamp_ms, f->base_ts + 49);
	assert_true(st.bytes_sent > 0);
	assert_int_equal(f->rx->header_errors, 0);
	assert_int_equal(f->rx->decode_errors, 0);
	assert_false(f->rx->saw_expect);
	assert_balanced(&st);
	queue_destroy(q);
}

static void test_per_series_order_across_shards(void **state)
{
	struct fixture *f = *state;
	int64_t last[N_SERIES];
	struct queue_stats st;
	struct queue *q;

	f->cfg.queue.min_shards = f->cfg.queue.max_shards = 4;
	f->rx->fail_until_ms = mono_ms() + 150; /* retries on every shard */
	f->rx->fail_status = 503;
	q = start_queue(f);
	for (int round = 0; round < 20; round++)
		for (int s = 0; s < N_SERIES; s++)
			append_seq(f, q, s, round, 1);
	assert_true(wait_accepted(f->rx, 20 * N_SERIES, 5000));
	stop_now(q, 1000);
	stats_of(q, &st);
	assert_int_equal(st.shards, 4);
	assert_int_equal(st.samples_sent, 20 * N_SERIES);
	assert_true(f->rx->accepts >= 4);
	for (int s = 0; s < N_SERIES; s++)
		last[s] = INT64_MIN;
	for (size_t i = 0; i < f->rx->n_accepted; i++) {
		struct got_sample *g = &f->rx->accepted[i];

		assert_true(g->ts > last[g->series]);
		last[g->series] = g->ts;
	}
	assert_balanced(&st);
	queue_destroy(q);
}

static void test_400_dropped_not_resent(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	char *log;

	/* A body larger than what is kept: the rest must still be drained. */
	f->rx->script[0] = (struct reply){.status = 400, .body_len = 3000};
	f->rx->n_script = 1;
	capture_start(&cap);
	q = start_queue(f);
	append_seq(f, q, 1, 0, 10);
	assert_true(wait_requests(f->rx, 1, 2000));
	sleep_ms(100);
	append_seq(f, q, 1, 10, 10);
	assert_true(wait_accepted(f->rx, 10, 2000));
	stop_now(q, 1000);
	log = capture_end(&cap);
	stats_of(q, &st);
	assert_int_equal(f->rx->requests, 2);
	assert_int_equal(f->rx->accepts, 1);
	assert_values_in_order(f->rx, 0, 10, 10);
	assert_int_equal(st.samples_failed, 10);
	assert_int_equal(st.batches_failed, 1);
	assert_int_equal(st.samples_retried, 0);
	assert_int_equal(st.samples_sent, 10);
	assert_balanced(&st);
	/* One warn line, with the status and exactly the first 1 KiB. */
	assert_int_equal(count_lines_with(log, "level=warn", NULL), 1);
	assert_int_equal(count_lines_with(log, "level=warn", "status=400"), 1);
	{
		char *b = strstr(log, "body=\"error: ");
		size_t z = 0;

		assert_non_null(b);
		for (b += 13; b[z] == 'z'; z++)
			;
		assert_int_equal(z, 1024 - 7);
		assert_int_equal(b[z], '"');
	}
	free(log);
	queue_destroy(q);
}

static void test_overflow_drops_oldest(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	f->cfg.queue.capacity = 100;
	f->rx->fail_until_ms = mono_ms() + 400;
	f->rx->fail_status = 503;
	q = start_queue(f);
	append_seq(f, q, 0, 0, 10);
	assert_true(wait_requests(f->rx, 1, 2000)); /* first batch in flight */
	append_seq(f, q, 0, 10, 1000);
	stats_of(q, &st);
	assert_int_equal(st.samples_dropped[DROP_QUEUE_FULL], 900);
	assert_int_equal(st.samples_pending, 110);
	assert_balanced(&st);
	assert_true(wait_accepted(f->rx, 110, 4000));
	assert_int_equal(stop_now(q, 1000), 0);
	stats_of(q, &st);
	assert_int_equal(st.samples_in, 1010);
	assert_int_equal(st.samples_sent, 110);
	assert_int_equal(st.samples_failed, 0);
	assert_int_equal(st.samples_in, st.samples_sent + st.samples_failed +
						st.samples_dropped[DROP_QUEUE_FULL]);
	assert_int_equal(st.samples_pending, 0);
	assert_int_equal(f->rx->n_accepted, 110);
	assert_values_in_order(f->rx, 0, 10, 0);     /* the batch that was in flight */
	assert_values_in_order(f->rx, 10, 100, 910); /* the newest the ring kept */
	queue_destroy(q);
}

/* Overflow is said once, with the numbers and what to change, then not
 * again for 10 s however often it repeats. */
static void test_overflow_is_logged_not_silent(void **state)
{
	struct fixture *f = *state;
	struct capture cap;
	struct queue *q;
	char *log;

	f->cfg.queue.capacity = 100;
	f->rx->fail_until_ms = mono_ms() + 60000;
	f->rx->fail_status = 503;
	q = start_queue(f);
	capture_start(&cap);
	append_seq(f, q, 0, 0, 1000);
	append_seq(f, q, 0, 1000, 1000);
	stop_now(q, 200);
	log = capture_end(&cap);
	assert_int_equal(count_lines_with(log, "level=warn", "queue full"), 1);
	assert_non_null(strstr(log, "dropped=900 dropped_total=900 capacity=100"));
	free(log);
	queue_destroy(q);
}

static void test_429_honours_retry_after(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	f->rx->script[0] = (struct reply){.status = 429, .retry_after = "1"};
	f->rx->n_script = 1;
	q = start_queue(f);
	append_seq(f, q, 0, 0, 10);
	assert_true(wait_accepted(f->rx, 10, 3000));
	stop_now(q, 1000);
	stats_of(q, &st);
	assert_int_equal(f->rx->requests, 2);
	assert_true(f->rx->request_ms[1] - f->rx->request_ms[0] >= 990);
	assert_int_equal(st.samples_retried, 10);
	assert_int_equal(st.samples_sent, 10);
	queue_destroy(q);
}

static void test_429_dropped_when_not_retried(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;

	f->cfg.queue.retry_on_http_429 = false;
	f->rx->script[0] = (struct reply){.status = 429, .retry_after = "1"};
	f->rx->n_script = 1;
	capture_start(&cap);
	q = start_queue(f);
	append_seq(f, q, 0, 0, 20);
	assert_true(wait_accepted(f->rx, 10, 2000));
	stop_now(q, 1000);
	free(capture_end(&cap));
	stats_of(q, &st);
	assert_int_equal(f->rx->requests, 2);
	assert_int_equal(st.samples_failed, 10);
	assert_int_equal(st.samples_sent, 10);
	assert_values_in_order(f->rx, 0, 10, 10);
	assert_balanced(&st);
	queue_destroy(q);
}

static void test_connection_reuse(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	f->cfg.queue.max_samples_per_send = 5;
	q = start_queue(f);
	append_seq(f, q, 0, 0, 100);
	assert_true(wait_accepted(f->rx, 100, 3000));
	stop_now(q, 1000);
	stats_of(q, &st);
	assert_int_equal(f->rx->requests, 20);
	assert_int_equal(f->rx->accepts, 1);
	assert_int_equal(st.connections_opened, 1);
	assert_int_equal(st.requests_total, 20);
	assert_values_in_order(f->rx, 0, 100, 0);
	queue_destroy(q);
}

static void test_recycle_after_max_requests(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	f->cfg.queue.max_samples_per_send = 5;
	f->cfg.connection.max_requests = 5;
	q = start_queue(f);
	append_seq(f, q, 0, 0, 100);
	assert_true(wait_accepted(f->rx, 100, 3000));
	sleep_ms(50); /* let the receiver see the last close */
	stats_of(q, &st);
	assert_int_equal(f->rx->requests, 20);
	assert_int_equal(f->rx->accepts, 4);
	assert_int_equal(rget(f->rx, &f->rx->closes), 4); /* none left idle */
	assert_int_equal(st.connections_opened, 4);
	stop_now(q, 1000);
	queue_destroy(q);
}

static void test_recycle_after_max_age(void **state)
{
	struct fixture *f = *state;
	struct queue *q;

	f->cfg.queue.max_samples_per_send = 5;
	f->cfg.connection.max_age_ms = 150;
	q = start_queue(f);
	append_seq(f, q, 0, 0, 5);
	assert_true(wait_accepted(f->rx, 5, 2000));
	append_seq(f, q, 0, 5, 5);
	assert_true(wait_accepted(f->rx, 10, 2000));
	assert_int_equal(rget(f->rx, &f->rx->accepts), 1);
	sleep_ms(200);
	append_seq(f, q, 0, 10, 5);
	assert_true(wait_accepted(f->rx, 15, 2000));
	sleep_ms(50);
	assert_int_equal(rget(f->rx, &f->rx->accepts), 2);
	assert_int_equal(rget(f->rx, &f->rx->closes), 1); /* the old one is closed */
	stop_now(q, 1000);
	queue_destroy(q);
}

static void test_stop_flushes_without_waiting(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	int64_t t0;

	f->cfg.queue.batch_send_deadline_ms = 60000;
	q = start_queue(f);
	append_seq(f, q, 0, 0, 7);
	sleep_ms(50);
	assert_int_equal(rget(f->rx, &f->rx->requests), 0); /* batch not due yet */
	t0 = mono_ms();
	assert_int_equal(stop_now(q, 2000), 0);
	assert_true(mono_ms() - t0 < 1000);
	stats_of(q, &st);
	assert_int_equal(st.samples_sent, 7);
	assert_int_equal(f->rx->n_accepted, 7);
	/* Appends after stop are refused and counted. */
	append_seq(f, q, 0, 7, 3);
	stats_of(q, &st);
	assert_int_equal(st.samples_dropped[DROP_SHUTDOWN], 3);
	assert_balanced(&st);
	queue_destroy(q);
}

static void test_stop_with_receiver_down(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	int64_t t0, took;
	uint64_t dropped;
	char *log;

	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u/api/v1/write", dead_port());
	capture_start(&cap);
	q = start_queue(f);
	append_seq(f, q, 0, 0, 50);
	sleep_ms(200);
	t0 = mono_ms();
	dropped = stop_now(q, 300);
	took = mono_ms() - t0;
	log = capture_end(&cap);
	stats_of(q, &st);
	assert_true(took >= 250);
	assert_true(took < 300 + 1000);
	assert_int_equal(dropped, 50);
	assert_int_equal(st.samples_dropped[DROP_SHUTDOWN], 50);
	assert_int_equal(st.samples_sent, 0);
	assert_int_equal(st.samples_pending, 0);
	assert_true(st.requests_total > 3);
	assert_balanced(&st);
	/* Many attempts, one warn line about retrying. */
	assert_int_equal(count_lines_with(log, "level=warn", "retrying"), 1);
	free(log);
	queue_destroy(q);
}

static void test_stop_aborts_hung_request(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	int64_t t0, took;

	f->rx->hang = true;
	f->cfg.remote_timeout_ms = 30000;
	q = start_queue(f);
	append_seq(f, q, 0, 0, 10);
	assert_true(wait_requests(f->rx, 1, 2000));
	t0 = mono_ms();
	assert_int_equal(stop_now(q, 300), 10);
	took = mono_ms() - t0;
	assert_true(took < 300 + 1000);
	stats_of(q, &st);
	assert_int_equal(st.samples_dropped[DROP_SHUTDOWN], 10);
	assert_balanced(&st);
	queue_destroy(q);
}

static void test_sample_age_limit(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	struct sample smp[6];

	f->cfg.queue.sample_age_limit_ms = 60000;
	q = start_queue(f);
	for (int i = 0; i < 6; i++)
		smp[i] = (struct sample){&f->series[0],
					 i % 2 ? wall_ms() : wall_ms() - 3600 * 1000, i};
	queue_append(q, smp, 6);
	assert_true(wait_accepted(f->rx, 3, 2000));
	stop_now(q, 1000);
	stats_of(q, &st);
	assert_int_equal(st.samples_dropped[DROP_TOO_OLD], 3);
	assert_int_equal(st.samples_sent, 3);
	assert_int_equal(f->rx->n_accepted, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(f->rx->accepted[i].value, 2 * i + 1);
	assert_balanced(&st);
	queue_destroy(q);
}

static void test_drop_reason_names(void **state)
{
	(void)state;
	assert_string_equal(drop_reason_name(DROP_QUEUE_FULL), "queue_full");
	assert_string_equal(drop_reason_name(DROP_TOO_OLD), "too_old");
	assert_string_equal(drop_reason_name(DROP_SHUTDOWN), "shutdown");
}

static void test_masked_url_and_name(void **state)
{
	struct fixture *f = *state;
	struct queue *q;

	snprintf(f->url, sizeof(f->url), "http://u:pw@127.0.0.1:%u/api/v1/write", f->rx->port);
	q = queue_create(&f->cfg, "lts");
	receiver_start(f->rx);
	assert_string_equal(queue_name(q), "lts");
	assert_null(strstr(queue_masked_url(q), "pw"));
	assert_non_null(strstr(queue_masked_url(q), "<secret>@127.0.0.1"));
	queue_destroy(q); /* never started: destroy alone is enough */
}

/* ---- resharding tests ------------------------------------------------------ */

#define RS_SERIES 100

static void rx_set_delay(struct receiver *r, int ms)
{
	pthread_mutex_lock(&r->mu);
	r->delay_ms = ms;
	pthread_mutex_unlock(&r->mu);
}

static void rx_fail_from_now(struct receiver *r, int status)
{
	pthread_mutex_lock(&r->mu);
	r->fail_status = status;
	r->fail_until_ms = INT64_MAX;
	pthread_mutex_unlock(&r->mu);
}

/* The load of the reshard tests: per round, `per` samples of each of
 * n_series series, timestamps following the round's wall time and strictly
 * increasing per series, rounds every 100 ms. Appends one round. */
static uint64_t append_round(struct fixture *f, struct queue *q, int round, int n_series,
			     int per)
{
	struct sample *smp = calloc((size_t)(n_series * per), sizeof(*smp));
	size_t n = 0;

	assert_true(per < 100);
	for (int k = 0; k < per; k++)
		for (int s = 0; s < n_series; s++)
			smp[n++] = (struct sample){&f->series[s], f->base_ts + round * 100 + k,
						   round * 100 + k};
	queue_append(q, smp, n);
	free(smp);
	return n;
}

/* Sleeps until round `round` is due (100 ms apart from t0). */
static void pace(int64_t t0, int round)
{
	int64_t wait = t0 + (int64_t)round * 100 - mono_ms();

	if (wait > 0)
		sleep_ms((int)wait);
}

static struct queue *start_reshard_queue(struct fixture *f, int64_t interval_ms)
{
	struct queue *q = queue_create(&f->cfg, "test");

	assert_non_null(q);
	queue_set_reshard_interval(q, interval_ms);
	receiver_start(f->rx);
	assert_int_equal(queue_start(q), 0);
	return q;
}

/* The whole captured log so far, without ending the capture. */
static bool log_has(const struct capture *c, const char *needle)
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

static void print_reshard_lines(const char *test, const char *log)
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
static size_t assert_series_increasing(struct receiver *r)
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

static uint64_t all_dropped(const struct queue_stats *st)
{
	uint64_t d = 0;

	for (int r = 0; r < DROP_REASONS; r++)
		d += st->samples_dropped[r];
	return d;
}

/* After queue_stop: every sample offered was received, dropped or refused,
 * exactly once. */
static void assert_exact(struct fixture *f, const struct queue_stats *st)
{
	assert_int_equal(st->samples_pending, 0);
	assert_int_equal(st->samples_sent, accepted_count(f->rx));
	assert_int_equal(st->samples_in,
			 accepted_count(f->rx) + all_dropped(st) + st->samples_failed);
}

static void reshard_config(struct fixture *f, int min, int max)
{
	struct queue_config *qc = &f->cfg.queue;

	qc->capacity = 20000;
	qc->min_shards = min;
	qc->max_shards = max;
	qc->max_samples_per_send = 50;
	qc->batch_send_deadline_ms = 500;
}

/* A receiver that takes 100 ms per request, 3000 samples/s over 100
 * series: one shard sends 500/s, so the queue must grow, and must lose and
 * reorder nothing while it does. */
static void test_reshard_grows_keeps_order_and_samples(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	uint64_t appended = 0, buckets = 0;
	int64_t t0;
	char *log;

	reshard_config(f, 1, 8);
	rx_set_delay(f->rx, 100);
	capture_start(&cap);
	log_set_level(LOG_DEBUG);
	q = start_reshard_queue(f, 300);
	t0 = mono_ms();
	for (int round = 0; round < 30; round++) {
		pace(t0, round);
		appended += append_round(f, q, round, RS_SERIES, 3);
	}
	assert_true(wait_accepted(f->rx, appended, 8000));
	stats_of(q, &st);
	assert_true(st.shards > 1);
	assert_true(st.reshards >= 1);
	assert_true(st.shards_desired > 1);
	assert_int_equal(stop_now(q, 2000), 0);
	log_set_level(LOG_INFO);
	log = capture_end(&cap);
	print_reshard_lines("grows", log);
	stats_of(q, &st);
	assert_int_equal(st.samples_in, appended);
	assert_int_equal(assert_series_increasing(f->rx), appended); /* no loss */
	assert_int_equal(all_dropped(&st), 0);
	assert_exact(f, &st);
	assert_int_equal(f->rx->header_errors + f->rx->decode_errors, 0);
	assert_true(count_lines_with(log, "level=info", "msg=\"remote_write resharding\" "
				     "remote_name=test") >= 1);
	assert_true(count_lines_with(log, "msg=\"remote_write resharding\"", "from=1 to=") >= 1);
	assert_true(count_lines_with(log, "level=debug", "time_per_sample=") >= 1);
	/* The new stats. */
	assert_int_equal(st.shards_min, 1);
	assert_int_equal(st.shards_max, 8);
	assert_int_equal(st.shard_capacity, 20000);
	for (int b = 0; b <= QUEUE_DURATION_BUCKETS; b++)
		buckets += st.batch_duration_counts[b];
	assert_int_equal(buckets, st.batch_duration_count);
	assert_int_equal(st.batch_duration_count, st.requests_total);
	/* Answers ~100 ms after the request (the receiver's poll is ms-grained:
	 * a hair under is possible): (0.05, 0.1] and (0.1, 0.25]. */
	assert_int_equal(st.batch_duration_counts[4] + st.batch_duration_counts[5],
			 st.batch_duration_count);
	assert_true(st.batch_duration_sum >= 0.095 * (double)st.batch_duration_count);
	assert_true(st.batch_duration_sum < 0.25 * (double)st.batch_duration_count);
	free(log);
	queue_destroy(q);
}

/* Once the receiver is fast again the queue shrinks, but not below
 * min_shards. */
static void test_reshard_shrinks_when_fast(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	uint64_t appended = 0;
	unsigned peak = 0, low = UINT32_MAX;
	int64_t t0;
	int round = 0;
	char *log;

	reshard_config(f, 2, 8);
	rx_set_delay(f->rx, 100);
	capture_start(&cap);
	log_set_level(LOG_DEBUG);
	q = start_reshard_queue(f, 300);
	t0 = mono_ms();
	for (; round < 40; round++) { /* slow: grow */
		pace(t0, round);
		appended += append_round(f, q, round, RS_SERIES, 3);
		stats_of(q, &st);
		if (st.shards > peak)
			peak = st.shards;
		if (st.shards >= 4)
			break;
	}
	assert_true(peak >= 4);
	rx_set_delay(f->rx, 0);
	for (round++; round < 120; round++) { /* fast: shrink */
		pace(t0, round);
		appended += append_round(f, q, round, RS_SERIES, 3);
		stats_of(q, &st);
		if (st.shards < low)
			low = st.shards;
		if (st.shards == 2)
			break;
	}
	assert_int_equal(st.shards, 2);
	assert_int_equal(low, 2);
	assert_true(st.reshards >= 2);
	/* It stays there. */
	for (int i = 0; i < 8; i++) {
		round++;
		pace(t0, round);
		appended += append_round(f, q, round, RS_SERIES, 3);
	}
	assert_true(wait_accepted(f->rx, appended, 5000));
	stats_of(q, &st);
	assert_int_equal(st.shards, 2);
	assert_int_equal(st.shards_desired, 2);
	assert_int_equal(stop_now(q, 2000), 0);
	log_set_level(LOG_INFO);
	log = capture_end(&cap);
	print_reshard_lines("shrinks", log);
	stats_of(q, &st);
	assert_int_equal(assert_series_increasing(f->rx), appended);
	assert_int_equal(all_dropped(&st), 0);
	assert_exact(f, &st);
	assert_true(count_lines_with(log, "msg=\"remote_write resharding\"", "to=2") >= 1);
	free(log);
	queue_destroy(q);
}

/* While the endpoint answers 503 the queue keeps its shards, even under a
 * load that would grow it, and says so once. */
static void test_no_reshard_while_failing(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	int64_t t0;
	int round = 0;
	char *log;

	reshard_config(f, 1, 8);
	f->cfg.queue.batch_send_deadline_ms = 200; /* failing: no 2xx for 400 ms */
	rx_set_delay(f->rx, 100);
	capture_start(&cap);
	q = start_reshard_queue(f, 300);
	t0 = mono_ms();
	for (; round < 8; round++) { /* healthy and light: rates, no reshard */
		pace(t0, round);
		append_round(f, q, round, 20, 1);
	}
	stats_of(q, &st);
	assert_true(st.samples_sent > 0);
	rx_fail_from_now(f->rx, 503);
	for (; round < 14; round++) { /* failing, light */
		pace(t0, round);
		append_round(f, q, round, 20, 1);
	}
	for (; round < 30; round++) { /* failing, heavy: would grow */
		pace(t0, round);
		append_round(f, q, round, RS_SERIES, 3);
	}
	stats_of(q, &st);
	assert_int_equal(st.shards, 1);
	assert_int_equal(st.reshards, 0);
	assert_true(st.shards_desired > 1); /* it wanted to */
	assert_true(st.samples_retried > 0);
	stop_now(q, 300);
	log = capture_end(&cap);
	print_reshard_lines("failing", log);
	stats_of(q, &st);
	assert_int_equal(st.shards, 1);
	assert_int_equal(st.reshards, 0);
	assert_int_equal(count_lines_with(log, "level=warn", "skipping resharding"), 1);
	assert_int_equal(count_lines_with(log, "msg=\"remote_write resharding\"", NULL), 0);
	assert_true(st.samples_dropped[DROP_SHUTDOWN] > 0);
	assert_series_increasing(f->rx);
	assert_exact(f, &st);
	free(log);
	queue_destroy(q);
}

/* queue_stop while a reshard's hand-over waits for a batch in flight that
 * never ends (the receiver stopped answering): it returns by the deadline,
 * and the samples held in the rings, in flight and in staging are all
 * counted. */
static void test_stop_during_reshard_hand_over(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	uint64_t dropped;
	int64_t t0, took;
	int round = 0;
	char *log;

	reshard_config(f, 1, 4);
	/* A long batch deadline: resharding stays allowed for 4 s after the
	 * last success. */
	f->cfg.queue.batch_send_deadline_ms = 2000;
	f->cfg.remote_timeout_ms = 60000;
	rx_set_delay(f->rx, 100);
	capture_start(&cap);
	q = start_reshard_queue(f, 300);
	t0 = mono_ms();
	for (; round < 8; round++) { /* light: one shard is enough */
		pace(t0, round);
		append_round(f, q, round, 20, 1);
	}
	stats_of(q, &st);
	assert_true(st.samples_sent > 0);
	assert_int_equal(st.reshards, 0);
	/* From now on no request is answered within the test, and the load
	 * grows: the next batch hangs in flight while a reshard begins. */
	rx_set_delay(f->rx, 60000);
	for (; round < 38; round++) {
		pace(t0, round);
		append_round(f, q, round, RS_SERIES, 3);
		if (log_has(&cap, "msg=\"remote_write resharding\""))
			break;
	}
	assert_true(round < 38);
	for (int i = 0; i < 3; i++) { /* these go to staging */
		round++;
		pace(t0, round);
		append_round(f, q, round, RS_SERIES, 3);
	}
	stats_of(q, &st);
	assert_int_equal(st.reshards, 0);
	assert_int_equal(st.shards, 1);
	t0 = mono_ms();
	dropped = stop_now(q, 500);
	took = mono_ms() - t0;
	log = capture_end(&cap);
	print_reshard_lines("stop", log);
	assert_true(took < 500 + 500);
	stats_of(q, &st);
	assert_int_equal(st.reshards, 0);
	assert_int_equal(st.shards, 1);
	assert_true(dropped > 900); /* at least the staged rounds */
	assert_int_equal(st.samples_dropped[DROP_SHUTDOWN], dropped);
	assert_int_equal(st.samples_dropped[DROP_QUEUE_FULL], 0);
	assert_series_increasing(f->rx);
	assert_exact(f, &st);
	free(log);
	queue_destroy(q);
}

/* min_shards == max_shards: the count never changes, whatever the load. */
static void test_no_reshard_when_min_equals_max(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	int64_t t0;
	char *log;

	reshard_config(f, 2, 2);
	rx_set_delay(f->rx, 100);
	capture_start(&cap);
	q = start_reshard_queue(f, 200);
	t0 = mono_ms();
	for (int round = 0; round < 12; round++) {
		pace(t0, round);
		append_round(f, q, round, RS_SERIES, 3);
	}
	stats_of(q, &st);
	assert_int_equal(st.shards, 2);
	assert_int_equal(st.shards_desired, 2);
	assert_int_equal(st.reshards, 0);
	stop_now(q, 300);
	log = capture_end(&cap);
	stats_of(q, &st);
	assert_int_equal(st.shards, 2);
	assert_int_equal(st.reshards, 0);
	assert_int_equal(count_lines_with(log, "resharding", NULL), 0);
	assert_series_increasing(f->rx);
	assert_exact(f, &st);
	free(log);
	queue_destroy(q);
}

/* Rings too small for the backlog drop samples (queue_full), yet the
 * queue still grows: those drops do not lower kept_ratio. */
static void test_reshard_grows_while_rings_overflow(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	int64_t t0;
	char *log;

	reshard_config(f, 1, 8);
	f->cfg.queue.capacity = 300;
	rx_set_delay(f->rx, 100);
	capture_start(&cap);
	q = start_reshard_queue(f, 300);
	t0 = mono_ms();
	for (int round = 0; round < 15; round++) {
		pace(t0, round);
		append_round(f, q, round, RS_SERIES, 3);
	}
	stats_of(q, &st);
	assert_true(st.samples_dropped[DROP_QUEUE_FULL] > 0);
	assert_true(st.shards > 1);
	stop_now(q, 2000);
	log = capture_end(&cap);
	print_reshard_lines("overflow", log);
	stats_of(q, &st);
	assert_series_increasing(f->rx);
	assert_exact(f, &st);
	free(log);
	queue_destroy(q);
}

/* A reshard takes effect within one request time of the decision, however
 * large the backlog: the old shards hand their rings over instead of
 * sending them first at the old speed (that took backlog / old rate: ~8 s
 * here). 3000 samples at once, then 3000/s, into 1 shard of 5000 that
 * sends 500/s: the first tick (250 ms, in the middle of a request) asks
 * for more shards. */
static void test_reshard_takes_effect_with_a_large_backlog(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct capture cap;
	struct queue *q;
	uint64_t appended, backlog = 0;
	int64_t t0, t_desired = -1, t_effect = -1, now;
	const int64_t interval = 250, request = 100;
	int round = 1;
	char *log;

	reshard_config(f, 1, 8);
	f->cfg.queue.capacity = 5000;
	rx_set_delay(f->rx, (int)request);
	capture_start(&cap);
	q = start_reshard_queue(f, interval);
	t0 = mono_ms();
	appended = append_round(f, q, 0, RS_SERIES, 30);
	/* The load goes on for 2.5 s; the watch until the new count took
	 * effect, or 15 s. */
	while ((now = mono_ms()) < t0 + 15000 && (round <= 25 || t_effect < 0)) {
		if (round <= 25 && now >= t0 + round * 100) {
			appended += append_round(f, q, round, RS_SERIES, 3);
			round++;
		}
		stats_of(q, &st);
		if (t_desired < 0 && st.shards_desired > 1) {
			t_desired = mono_ms() - t0;
			backlog = st.samples_pending;
		}
		if (t_effect < 0 && st.shards > 1)
			t_effect = mono_ms() - t0;
		sleep_ms(2);
	}
	if (getenv("TEST_QUEUE_VERBOSE") || t_effect < 0 ||
	    t_effect > 2 * interval + request + 400)
		print_message("  backlog| decided at %lld ms with %llu pending, took effect at "
			      "%lld ms\n", (long long)t_desired, (unsigned long long)backlog,
			      (long long)t_effect);
	assert_true(t_desired > 0);
	assert_true(backlog > 2000);
	assert_true(t_effect > 0);
	assert_true(t_effect <= 2 * interval + request + 400);
	assert_true(t_effect - t_desired <= request + 300);
	assert_true(wait_accepted(f->rx, appended, 10000));
	stats_of(q, &st);
	assert_true(st.shards > 1);
	assert_true(st.reshards >= 1);
	assert_int_equal(stop_now(q, 2000), 0);
	log = capture_end(&cap);
	print_reshard_lines("backlog", log);
	stats_of(q, &st);
	assert_int_equal(st.samples_in, appended);
	assert_int_equal(assert_series_increasing(f->rx), appended); /* no loss */
	assert_int_equal(all_dropped(&st), 0);
	assert_exact(f, &st);
	assert_int_equal(f->rx->header_errors + f->rx->decode_errors, 0);
	assert_true(count_lines_with(log, "msg=\"remote_write resharding\"", "from=1 to=") >= 1);
	free(log);
	queue_destroy(q);
}

/* ---- appends that wait for room ------------------------------------------- */

/* Samples first..first+n-1 of series s (value = sequence number), offered
 * with queue_append_wait until now + wait_ms; returns how many it took. */
static size_t append_seq_wait(struct fixture *f, struct queue *q, int s, int first, int n,
			      int wait_ms)
{
	struct sample *smp = calloc((size_t)n, sizeof(*smp));
	size_t took;

	for (int i = 0; i < n; i++)
		smp[i] = (struct sample){&f->series[s], f->base_ts + first + i, first + i};
	took = queue_append_wait(q, smp, (size_t)n, mono_ms() + wait_ms);
	free(smp);
	return took;
}

/* A burst 20 times the ring into a healthy receiver: the appender waits
 * for room, nothing is dropped, everything arrives in order (queue_append
 * drops 1890 of these: test_overflow_drops_oldest). */
static void test_append_waits_for_room_instead_of_dropping(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;

	f->cfg.queue.capacity = 100;
	q = start_queue(f);
	assert_int_equal(append_seq_wait(f, q, 0, 0, 2000, 20000), 2000);
	assert_true(wait_accepted(f->rx, 2000, 10000));
	assert_int_equal(stop_now(q, 1000), 0);
	stats_of(q, &st);
	assert_int_equal(all_dropped(&st), 0);
	assert_int_equal(st.samples_in, 2000);
	assert_int_equal(st.samples_sent, 2000);
	assert_values_in_order(f->rx, 0, 2000, 0);
	assert_balanced(&st);
	queue_destroy(q);
}

/* A receiver that answers 503: not waited for (its sender backs off), the
 * ring drops its oldest at once, as queue_append does. */
static void test_append_wait_gives_up_on_a_failing_receiver(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	int64_t t0, took;

	f->cfg.queue.capacity = 100;
	rx_fail_from_now(f->rx, 503);
	q = start_queue(f);
	append_seq(f, q, 0, 0, 10);
	assert_true(wait_requests(f->rx, 2, 3000)); /* failed, and retried */
	t0 = mono_ms();
	assert_int_equal(append_seq_wait(f, q, 0, 10, 1000, 20000), 1000);
	took = mono_ms() - t0;
	stats_of(q, &st);
	assert_true(took < 1000);
	assert_int_equal(st.samples_dropped[DROP_QUEUE_FULL], 900); /* 10 in flight */
	assert_balanced(&st);
	stop_now(q, 200);
	queue_destroy(q);
}

/* A request that hangs: waited for about APPEND_STALL_MS (1 s), then the
 * ring drops its oldest; the next append does not wait at all. */
static void test_append_wait_gives_up_on_a_hung_request(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	int64_t t0, took;

	f->cfg.queue.capacity = 100;
	f->cfg.remote_timeout_ms = 30000;
	f->rx->hang = true;
	q = start_queue(f);
	t0 = mono_ms();
	assert_int_equal(append_seq_wait(f, q, 0, 0, 1000, 20000), 1000);
	took = mono_ms() - t0;
	assert_true(took >= 900);
	assert_true(took < 3000);
	stats_of(q, &st);
	assert_int_equal(st.samples_dropped[DROP_QUEUE_FULL], 1000 - 100 - 10);
	t0 = mono_ms();
	assert_int_equal(append_seq_wait(f, q, 0, 1000, 100, 20000), 100);
	assert_true(mono_ms() - t0 < 500);
	stats_of(q, &st);
	assert_int_equal(st.samples_dropped[DROP_QUEUE_FULL], 990);
	assert_balanced(&st);
	assert_int_equal(stop_now(q, 200), 110);
	queue_destroy(q);
}

/* A slow receiver (300 ms a request, not stuck): the wait ends at the
 * caller's deadline and hands back what did not fit, without a drop. */
static void test_append_wait_hands_back_the_rest_at_its_deadline(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	size_t took;
	int64_t t0;

	f->cfg.queue.capacity = 100;
	rx_set_delay(f->rx, 300);
	q = start_queue(f);
	t0 = mono_ms();
	took = append_seq_wait(f, q, 0, 0, 1000, 200);
	assert_true(mono_ms() - t0 >= 190);
	assert_true(took >= 100);
	assert_true(took < 1000);
	stats_of(q, &st);
	assert_int_equal(all_dropped(&st), 0);
	assert_int_equal(st.samples_in, took);
	assert_balanced(&st);
	stop_now(q, 200);
	queue_destroy(q);
}

struct waiter {
	struct fixture *f;
	struct queue *q;
	size_t took;
	int64_t returned_ms;
};

static void *wait_append(void *arg)
{
	struct waiter *w = arg;

	w->took = append_seq_wait(w->f, w->q, 0, 0, 5000, 30000);
	w->returned_ms = mono_ms();
	return NULL;
}

/* Stopping wakes an appender that waits for room: it returns at once,
 * the rest of its samples counted as dropped at shutdown. */
static void test_stop_wakes_a_waiting_appender(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct waiter w = {f, NULL, 0, 0};
	struct queue *q;
	pthread_t t;
	int64_t t0;

	f->cfg.queue.capacity = 100;
	rx_set_delay(f->rx, 700); /* slow, not stuck: the appender waits */
	q = start_queue(f);
	w.q = q;
	assert_int_equal(pthread_create(&t, NULL, wait_append, &w), 0);
	sleep_ms(300);
	stats_of(q, &st);
	/* A ring's worth and the first batch or two, then waiting. */
	assert_true(st.samples_in >= 100 && st.samples_in <= 130);
	t0 = mono_ms();
	queue_begin_stop(q, t0 + 200);
	pthread_join(t, NULL);
	assert_true(w.returned_ms - t0 < 150);
	assert_int_equal(w.took, 5000);
	stop_now(q, 200);
	stats_of(q, &st);
	assert_int_equal(st.samples_in, 5000);
	assert_int_equal(st.samples_dropped[DROP_QUEUE_FULL], 0);
	assert_true(st.samples_dropped[DROP_SHUTDOWN] >= 4900);
	assert_exact(f, &st);
	queue_destroy(q);
}

/* A round of 3000 into rings of 500 (one shard, up to 8): the ring found
 * full is demand, and the queue grows at once for the round (8 shards hold
 * it at 80 %), not at the next tick 10 s away; nothing is lost or
 * reordered. */
static void test_a_round_larger_than_the_rings_reshards_at_once(void **state)
{
	struct fixture *f = *state;
	struct sample *smp = calloc(RS_SERIES * 30, sizeof(*smp));
	struct queue_stats st;
	struct queue *q;
	int64_t t0;
	size_t n = 0;

	reshard_config(f, 1, 8);
	f->cfg.queue.capacity = 500;
	rx_set_delay(f->rx, 20);
	q = start_queue(f); /* the default 10 s tick */
	for (int k = 0; k < 30; k++)
		for (int s = 0; s < RS_SERIES; s++)
			smp[n++] = (struct sample){&f->series[s], f->base_ts + k, k};
	t0 = mono_ms();
	assert_int_equal(queue_append_wait(q, smp, n, t0 + 8000), n);
	free(smp);
	do {
		stats_of(q, &st);
		sleep_ms(10);
	} while (st.shards == 1 && mono_ms() - t0 < 3000);
	assert_int_equal(st.shards, 8);
	assert_int_equal(st.shards_desired, 8);
	assert_int_equal(st.reshards, 1);
	assert_true(wait_accepted(f->rx, n, 8000));
	assert_int_equal(stop_now(q, 2000), 0);
	stats_of(q, &st);
	assert_int_equal(assert_series_increasing(f->rx), n);
	assert_int_equal(all_dropped(&st), 0);
	assert_exact(f, &st);
	queue_destroy(q);
}

/* Once grown for large rounds the queue keeps its shards while such
 * rounds go on, though one shard would send them fast enough: shrinking
 * would make every round overflow again. */
static void test_shards_grown_for_rounds_stay(void **state)
{
	struct fixture *f = *state;
	struct queue_stats st;
	struct queue *q;
	uint64_t appended = 0;
	int64_t t0;

	reshard_config(f, 1, 8);
	f->cfg.queue.capacity = 200;
	q = start_reshard_queue(f, 200);
	t0 = mono_ms();
	for (int round = 0; round < 20; round++) {
		struct sample smp[RS_SERIES * 5];
		size_t n = 0;

		pace(t0, round);
		for (int k = 0; k < 5; k++)
			for (int s = 0; s < RS_SERIES; s++)
				smp[n++] = (struct sample){&f->series[s],
							   f->base_ts + round * 100 + k, k};
		assert_int_equal(queue_append_wait(q, smp, n, mono_ms() + 2000), n);
		appended += n;
	}
	assert_true(wait_accepted(f->rx, appended, 5000));
	stats_of(q, &st);
	assert_int_equal(st.shards, 4); /* 500 a round, at 80 % of 200 a ring */
	assert_int_equal(st.reshards, 1);
	assert_int_equal(stop_now(q, 2000), 0);
	stats_of(q, &st);
	assert_int_equal(assert_series_increasing(f->rx), appended);
	assert_int_equal(all_dropped(&st), 0);
	assert_exact(f, &st);
	queue_destroy(q);
}

/* Two queues stopped under one deadline, the dead one first: begin_stop on
 * both makes the healthy one flush at once (its batch deadline is a
 * minute), while stopping the dead one takes the whole deadline. */
static void test_begin_stop_flushes_every_queue_at_once(void **state)
{
	struct fixture *f = *state;
	struct remote_write_config dead_cfg;
	struct queue_stats st;
	struct capture cap;
	struct queue *dead, *good;
	char dead_url[128];
	int64_t deadline, t0, took;
	char *log;

	f->cfg.queue.batch_send_deadline_ms = 60000;
	dead_cfg = f->cfg;
	snprintf(dead_url, sizeof(dead_url), "http://127.0.0.1:%u/api/v1/write", dead_port());
	dead_cfg.url = dead_url;
	dead_cfg.queue.batch_send_deadline_ms = 50;
	capture_start(&cap);
	dead = queue_create(&dead_cfg, "dead");
	good = queue_create(&f->cfg, "good");
	assert_non_null(dead);
	assert_non_null(good);
	receiver_start(f->rx);
	assert_int_equal(queue_start(dead), 0);
	assert_int_equal(queue_start(good), 0);
	append_seq(f, dead, 0, 0, 7);
	append_seq(f, good, 0, 0, 7);
	sleep_ms(200);
	assert_int_equal(rget(f->rx, &f->rx->requests), 0); /* batch not due yet */

	deadline = mono_ms() + 1000;
	t0 = mono_ms();
	queue_begin_stop(dead, deadline);
	queue_begin_stop(good, deadline);
	assert_true(mono_ms() - t0 < 200); /* begin never waits for the network */
	assert_int_equal(queue_stop(dead, deadline), 7);
	took = mono_ms() - t0;
	/* The dead endpoint used the whole deadline; meanwhile the healthy
	 * one, not yet stopped, had flushed. */
	assert_true(took >= 900);
	assert_int_equal(accepted_count(f->rx), 7);
	assert_int_equal(queue_stop(good, mono_ms() + 60000), 0);
	assert_true(mono_ms() - t0 < 1000 + 500);
	log = capture_end(&cap);

	stats_of(good, &st);
	assert_int_equal(st.samples_sent, 7);
	assert_int_equal(all_dropped(&st), 0);
	assert_exact(f, &st);
	assert_values_in_order(f->rx, 0, 7, 0);
	stats_of(dead, &st);
	assert_int_equal(st.samples_sent, 0);
	assert_int_equal(st.samples_dropped[DROP_SHUTDOWN], 7);
	assert_int_equal(st.samples_pending, 0);
	assert_balanced(&st);
	assert_int_equal(count_lines_with(log, "msg=\"remote_write stopped\" remote_name=good",
					  "shutdown_dropped=0"), 1);
	assert_int_equal(count_lines_with(log, "msg=\"remote_write stopped\" remote_name=dead",
					  "shutdown_dropped=7"), 1);
	/* Stopping again changes nothing. */
	queue_begin_stop(good, mono_ms());
	assert_int_equal(queue_stop(good, mono_ms()), 0);
	free(log);
	queue_destroy(dead);
	queue_destroy(good);
}

/* ---- sender tests ------------------------------------------------------------ */

static void post_one(struct fixture *f, struct sender *s, struct send_outcome *out,
		     enum send_result want)
{
	struct sample smp = {&f->series[0], f->base_ts, 1};
	struct buf pb = {0}, z = {0};

	assert_int_equal(encode_write_request(&smp, 1, &pb), 0);
	assert_int_equal(snappy_compress_block(&pb, &z), 0);
	assert_int_equal(sender_post(s, z.data, z.len, out), want);
	buf_free(&pb);
	buf_free(&z);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_sender_headers_and_auth(void **state)
{
	struct fixture *f = *state;
	char pw[] = "/tmp/test_queue_pw.XXXXXX";
	struct kv hdr = {"X-Scope-OrgID", "team-a"};
	struct send_outcome out;
	struct sender *s;

	close(mkstemp(pw));
	write_file(pw, "s3cret\n");
	f->cfg.headers = &hdr;
	f->cfg.n_headers = 1;
	f->cfg.has_basic_auth = true;
	f->cfg.basic_auth = (struct basic_auth){.username = "u", .password_file = pw};
	receiver_start(f->rx);
	s = sender_create(&f->cfg);
	assert_non_null(s);
	post_one(f, s, &out, SEND_OK);
	assert_int_equal(out.http_status, 200);
	assert_string_equal(f->rx->org_id, "team-a");
	assert_string_equal(f->rx->authorization, "Basic dTpzM2NyZXQ="); /* u:s3cret */
	/* A rotated password is used on the next request. */
	write_file(pw, "n3w\r\n");
	post_one(f, s, &out, SEND_OK);
	assert_string_equal(f->rx->authorization, "Basic dTpuM3c="); /* u:n3w */
	unlink(pw);
	post_one(f, s, &out, SEND_RETRY);
	assert_non_null(strstr(out.error, "password_file"));
	assert_int_equal(f->rx->requests, 2);
	assert_int_equal(f->rx->header_errors, 0);
	assert_false(f->rx->saw_expect);
	assert_int_equal(sender_connections_opened(s), 1);
	sender_destroy(s);
}

static void test_sender_bearer_from_file(void **state)
{
	struct fixture *f = *state;
	char tok[] = "/tmp/test_queue_tok.XXXXXX";
	struct send_outcome out;
	struct sender *s;

	close(mkstemp(tok));
	write_file(tok, "t0ken\n");
	f->cfg.has_authorization = true;
	f->cfg.authorization = (struct authorization){.type = "Bearer", .credentials_file = tok};
	receiver_start(f->rx);
	s = sender_create(&f->cfg);
	post_one(f, s, &out, SEND_OK);
	assert_string_equal(f->rx->authorization, "Bearer t0ken");
	write_file(tok, "r0tated");
	post_one(f, s, &out, SEND_OK);
	assert_string_equal(f->rx->authorization, "Bearer r0tated");
	assert_int_equal(f->rx->header_errors, 0);
	unlink(tok);
	sender_destroy(s);
}

/* A receiver's Retry-After that is neither delay-seconds nor an HTTP date
 * counts as absent (plain backoff); an absurd delay is capped at a year. */
static void test_malformed_retry_after(void **state)
{
	static const struct {
		const char *value;
		int64_t want_ms;
	} cases[] = {
		{"soon", -1}, {"12abc", -1}, {"-5", -1}, {"1.5", -1},
		{"99999999999", 86400LL * 365 * 1000}, {"0", 0}, {"7", 7000},
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	struct fixture *f = *state;
	struct send_outcome out;
	struct sender *s;

	for (size_t i = 0; i < N; i++)
		f->rx->script[i] = (struct reply){.status = 503, .retry_after = cases[i].value};
	f->rx->n_script = N;
	receiver_start(f->rx);
	s = sender_create(&f->cfg);
	for (size_t i = 0; i < N; i++) {
		post_one(f, s, &out, SEND_RETRY);
		if (out.retry_after_ms != cases[i].want_ms)
			fail_msg("Retry-After: %s -> %lld ms, want %lld", cases[i].value,
				 (long long)out.retry_after_ms, (long long)cases[i].want_ms);
	}
	sender_destroy(s);
}

static void test_sender_outcomes(void **state)
{
	struct fixture *f = *state;
	char date[64];
	time_t later = time(NULL) + 3;
	struct tm tm;
	struct send_outcome out;
	struct sender *s;

	gmtime_r(&later, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	f->rx->script[0] = (struct reply){.status = 503, .retry_after = date};
	f->rx->script[1] = (struct reply){.status = 404, .body_len = 2000};
	f->rx->script[2] = (struct reply){.status = 301};
	f->rx->script[3] = (struct reply){.status = 204};
	f->rx->n_script = 4;
	receiver_start(f->rx);
	s = sender_create(&f->cfg);
	post_one(f, s, &out, SEND_RETRY);
	assert_int_equal(out.http_status, 503);
	assert_true(out.retry_after_ms >= 1000 && out.retry_after_ms <= 3000);
	post_one(f, s, &out, SEND_DROP);
	assert_int_equal(out.http_status, 404);
	assert_int_equal(out.retry_after_ms, -1);
	assert_int_equal(out.body_len, SENDER_BODY_KEEP);
	assert_int_equal(strlen(out.body), SENDER_BODY_KEEP);
	assert_memory_equal(out.body, "error: zzz", 10);
	post_one(f, s, &out, SEND_DROP);
	post_one(f, s, &out, SEND_OK);
	assert_int_equal(out.body_len, 0);
	assert_true(out.duration_s > 0 && out.duration_s < 5);
	assert_int_equal(sender_connections_opened(s), 1);
	sender_destroy(s);
}

static void test_sender_network_error_is_retry(void **state)
{
	struct fixture *f = *state;
	struct send_outcome out;
	struct sender *s;

	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u/api/v1/write", dead_port());
	receiver_start(f->rx);
	s = sender_create(&f->cfg);
	post_one(f, s, &out, SEND_RETRY);
	assert_int_equal(out.http_status, 0);
	assert_true(out.error[0] != '\0');
	/* Past an abort deadline, nothing is even tried. */
	sender_abort_at(s, mono_ms() - 1);
	post_one(f, s, &out, SEND_RETRY);
	assert_non_null(strstr(out.error, "deadline"));
	sender_destroy(s);
}


/* queue_mark / queue_mark_passed: what the registry waits on before it
 * frees a series. Passed only once every sample appended before the mark
 * has left the queue, the batch in flight (retried) included. */
static bool wait_mark_passed(struct queue *q, int timeout_ms)
{
	int64_t until = mono_ms() + timeout_ms;

	while (!queue_mark_passed(q))
		if (mono_ms() >= until)
			return false;
		else
			sleep_ms(5);
	return true;
}

static void test_mark_passes_when_samples_leave(void **state)
{
	struct fixture *f = *state;
	struct queue *q;

	f->rx->fail_until_ms = mono_ms() + 400;
	f->rx->fail_status = 503;
	q = start_queue(f);
	assert_true(queue_mark_passed(q)); /* nothing appended: nothing held */
	append_seq(f, q, 1, 0, 25);
	queue_mark(q);
	sleep_ms(150); /* batches taken and retried, not accepted */
	assert_false(queue_mark_passed(q));
	append_seq(f, q, 2, 0, 5); /* after the mark: not waited for */
	assert_true(wait_mark_passed(q, 3000));
	assert_true(accepted_count(f->rx) >= 25);
	queue_mark(q);
	assert_true(wait_mark_passed(q, 3000));
	assert_int_equal(accepted_count(f->rx), 30);
	stop_now(q, 1000);
	queue_destroy(q);
}

/* An endpoint down: the batch in flight is retried from its encoded body
 * and holds no series, so the mark passes; unless an age limit may make it
 * re-encode. */
static void test_mark_passes_with_a_batch_retried(void **state)
{
	struct fixture *f = *state;
	struct queue *q;

	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u/api/v1/write", dead_port());
	for (int age_limit = 0; age_limit < 2; age_limit++) {
		f->cfg.queue.sample_age_limit_ms = age_limit ? 3600 * 1000 : 0;
		q = start_queue(f);
		append_seq(f, q, 1, 0, 5); /* one batch, after the 50 ms deadline */
		queue_mark(q);
		if (age_limit) {
			sleep_ms(300);
			assert_false(queue_mark_passed(q));
		} else {
			assert_true(wait_mark_passed(q, 3000));
		}
		stop_now(q, 100);
		queue_destroy(q);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_in_order_after_500),
		T(test_per_series_order_across_shards),
		T(test_400_dropped_not_resent),
		T(test_overflow_drops_oldest),
		T(test_overflow_is_logged_not_silent),
		T(test_429_honours_retry_after),
		T(test_429_dropped_when_not_retried),
		T(test_connection_reuse),
		T(test_recycle_after_max_requests),
		T(test_recycle_after_max_age),
		T(test_stop_flushes_without_waiting),
		T(test_stop_with_receiver_down),
		T(test_stop_aborts_hung_request),
		T(test_sample_age_limit),
		cmocka_unit_test(test_drop_reason_names),
		T(test_masked_url_and_name),
		T(test_reshard_grows_keeps_order_and_samples),
		T(test_reshard_shrinks_when_fast),
		T(test_no_reshard_while_failing),
		T(test_stop_during_reshard_hand_over),
		T(test_no_reshard_when_min_equals_max),
		T(test_reshard_grows_while_rings_overflow),
		T(test_reshard_takes_effect_with_a_large_backlog),
		T(test_begin_stop_flushes_every_queue_at_once),
		T(test_append_waits_for_room_instead_of_dropping),
		T(test_append_wait_gives_up_on_a_failing_receiver),
		T(test_append_wait_gives_up_on_a_hung_request),
		T(test_append_wait_hands_back_the_rest_at_its_deadline),
		T(test_stop_wakes_a_waiting_appender),
		T(test_a_round_larger_than_the_rings_reshards_at_once),
		T(test_shards_grown_for_rounds_stay),
		T(test_sender_headers_and_auth),
		T(test_sender_bearer_from_file),
		T(test_sender_outcomes),
		T(test_malformed_retry_after),
		T(test_sender_network_error_is_retry),
		T(test_mark_passes_when_samples_leave),
		T(test_mark_passes_with_a_batch_retried),
	};
	int rc;

	if (queue_global_init() < 0)
		return 1;
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	queue_global_cleanup();
	return rc;
}
