/* SPDX-License-Identifier: MIT */
/* The tests' remote_write receiver: see receiver.h. */
#include <arpa/inet.h>
#include <errno.h>
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

#include "lib/clock.h"
#include "proto/encode.h"
#include "receiver.h"

/* ---- clocks ---------------------------------------------------------- */

void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---- the receiver ------------------------------------------------------ */

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

/* Remote Write 2.0's pair of headers, or 1.0's; *v2 says which. */
static bool protocol_headers(const char *hdrs, bool *v2)
{
	*v2 = header_is(hdrs, "Content-Type",
			"application/x-protobuf;proto=io.prometheus.write.v2.Request");
	if (*v2)
		return header_is(hdrs, "X-Prometheus-Remote-Write-Version", "2.0.0");
	return header_is(hdrs, "Content-Type", "application/x-protobuf") &&
	       header_is(hdrs, "X-Prometheus-Remote-Write-Version", "0.1.0");
}

static bool check_headers(struct receiver *r, const char *hdrs, bool *v2)
{
	char v[256];
	bool ok = strncmp(hdrs, "POST /api/v1/write HTTP/1.1\r\n", 29) == 0 &&
		  header_is(hdrs, "Content-Encoding", "snappy") &&
		  protocol_headers(hdrs, v2) &&
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
	char head[1024], *body = malloc(rep->body_len + 1);
	int n;

	memset(body, 'z', rep->body_len);
	memcpy(body, "error: ", rep->body_len < 7 ? rep->body_len : 7);
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nContent-Type: text/plain\r\n"
		     "%s%s%s%s\r\n",
		     rep->status, rep->body_len, rep->retry_after ? "Retry-After: " : "",
		     rep->retry_after ? rep->retry_after : "", rep->retry_after ? "\r\n" : "",
		     rep->headers ? rep->headers : "");
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
	bool v2 = false;

	pthread_mutex_lock(&r->mu);
	idx = r->requests++;
	if (!check_headers(r, hdrs, &v2))
		r->header_errors++;
	r->v2_requests += v2;
	rep = choose_reply(r, idx);
	if (!req) {
		r->decode_errors++;
		rep = (struct reply){.status = 400};
	}
	if (idx < MAX_RECORDS) {
		r->request_ms[idx] = mono_ms();
		r->status[idx] = rep.status;
		r->batch_len[idx] = req ? count_samples(req) : 0;
		r->v2[idx] = v2;
	}
	if (req && rep.status / 100 == 2)
		r->metadata += (unsigned)req->n_metadata;
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

struct receiver *receiver_new(void)
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

void receiver_start(struct receiver *r)
{
	assert_int_equal(pthread_create(&r->thread, NULL, receiver_main, r), 0);
}

void receiver_free(struct receiver *r)
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
uint16_t dead_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

unsigned rget(struct receiver *r, const unsigned *field)
{
	unsigned v;

	pthread_mutex_lock(&r->mu);
	v = *field;
	pthread_mutex_unlock(&r->mu);
	return v;
}

size_t accepted_count(struct receiver *r)
{
	size_t v;

	pthread_mutex_lock(&r->mu);
	v = r->n_accepted;
	pthread_mutex_unlock(&r->mu);
	return v;
}

bool wait_accepted(struct receiver *r, size_t n, int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;

	while (accepted_count(r) < n && mono_ms() < end)
		sleep_ms(5);
	return accepted_count(r) >= n;
}

bool wait_requests(struct receiver *r, unsigned n, int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;

	while (rget(r, &r->requests) < n && mono_ms() < end)
		sleep_ms(5);
	return rget(r, &r->requests) >= n;
}

void rx_set_delay(struct receiver *r, int ms)
{
	pthread_mutex_lock(&r->mu);
	r->delay_ms = ms;
	pthread_mutex_unlock(&r->mu);
}

void rx_fail_from_now(struct receiver *r, int status)
{
	pthread_mutex_lock(&r->mu);
	r->fail_status = status;
	r->fail_until_ms = INT64_MAX;
	pthread_mutex_unlock(&r->mu);
}
