/* SPDX-License-Identifier: MIT */
/* sender: the URL mask, and POSTs against the tests' fault-injecting
 * HTTP/1.1 receiver (receiver.h): headers, auth, outcomes, Retry-After.
 *
 * TEST_FILTER=pattern runs only the matching tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/encode.h"
#include "queue/response.h"
#include "queue/sender.h"
#include "lib/clock.h"
#include "queue_harness.h"
#include "receiver.h"

static void check_mask(const char *url, const char *want)
{
	char out[256];

	config_mask_url(url, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_mask_url(void **state)
{
	(void)state;
	check_mask("http://127.0.0.1:8428/api/v1/write", "http://127.0.0.1:8428/api/v1/write");
	check_mask("https://user:pa55@lts.example:443/push",
		   "https://<secret>@lts.example:443/push");
	check_mask("https://user@lts.example/push", "https://<secret>@lts.example/push");
	/* an '@' in the password, and one in the path that is not userinfo */
	check_mask("http://u:p@ss@h/x@y", "http://<secret>@h/x@y");
	check_mask("http://h/path@x?q=a@b", "http://h/path@x?q=a@b");
	check_mask("not a url", "not a url");
}

static void test_mask_url_truncates(void **state)
{
	char out[12];

	(void)state;
	config_mask_url("https://user:pw@host/path", out, sizeof(out));
	assert_string_equal(out, "https://<se");
}

/* ---- sender tests ------------------------------------------------------------ */

static void post_one(struct fixture *f, struct sender *s, struct send_outcome *out,
		     enum send_result want)
{
	struct sample smp = {&f->series[0], f->base_ts, {1}};
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
	s = sender_create(&f->cfg, NULL);
	assert_non_null(s);
	post_one(f, s, &out, SEND_OK);
	assert_int_equal(out.http_status, 200);
	assert_string_equal(f->rx->org_id, "team-a");
	assert_string_equal(f->rx->authorization, "Basic dTpzM2NyZXQ="); /* u:s3cret */
	/* A rotated password is used on the next request. */
	write_file(pw, "n3w\r\n");
	post_one(f, s, &out, SEND_OK);
	assert_string_equal(f->rx->authorization, "Basic dTpuM3c="); /* u:n3w */
	/* A file that disappears (a rotation's gap): the last good value. */
	unlink(pw);
	post_one(f, s, &out, SEND_OK);
	assert_string_equal(f->rx->authorization, "Basic dTpuM3c=");
	assert_int_equal(f->rx->requests, 3);
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
	s = sender_create(&f->cfg, NULL);
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
 * counts as absent (plain backoff); an absurd delay is capped at a year,
 * in either form (a date far enough ahead overflowed the milliseconds). */
static size_t feed_header(struct send_outcome *o, const char *line)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s", line);
	return response_on_header(buf, 1, strlen(buf), o);
}

/* A final response's headers end at its blank line; a body is swallowed
 * up to SENDER_BODY_DRAIN_MAX, then the transfer is stopped (a short
 * count), its first SENDER_BODY_KEEP bytes kept. */
static void test_response_headers_done_and_body_cap(void **state)
{
	static char chunk[64 * 1024];
	struct send_outcome o = {.body_len = 0};
	size_t fed = 0, rc = 0;

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	feed_header(&o, "HTTP/1.1 100 Continue\r\n");
	feed_header(&o, "\r\n");
	assert_true(o.headers_done);
	feed_header(&o, "HTTP/1.1 200 OK\r\n");
	assert_false(o.headers_done);
	feed_header(&o, "Content-Length: 10485760\r\n");
	assert_false(o.headers_done);
	feed_header(&o, "\r\n");
	assert_true(o.headers_done);
	while (fed <= SENDER_BODY_DRAIN_MAX) {
		rc = response_on_body(chunk, 1, sizeof(chunk), &o);
		fed += sizeof(chunk);
		if (fed <= SENDER_BODY_DRAIN_MAX)
			assert_int_equal(rc, sizeof(chunk));
	}
	assert_int_equal(rc, 0);
	assert_int_equal(o.body_len, SENDER_BODY_KEEP);
	assert_int_equal(o.body_seen, fed);
}

/* Each failed request's class, from its status or curl's code. */
static void test_response_failure_classes(void **state)
{
	static const struct {
		long status;
		int curl_code;
		const char *want;
	} cases[] = {
		{503, 0, "status_5xx"}, {429, 0, "status_429"}, {400, 0, "status_other"},
		{307, 0, "status_other"}, {0, 28, "timeout"}, {0, 7, "connect"},
		{0, 6, "resolve"}, {0, 60, "tls"}, {0, 35, "tls"}, {0, 52, "connection"},
		{0, 56, "connection"}, {0, 18, "connection"}, {0, 1, "protocol"},
		{0, 8, "protocol"}, {0, 47, "protocol"}, {0, 42, "other"}, {0, 0, "other"},
	};
	struct send_outcome o = {.http_status = 0};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o.http_status = cases[i].status;
		o.curl_code = cases[i].curl_code;
		assert_string_equal(request_failure_name(response_failure(&o)), cases[i].want);
	}
}

static void test_malformed_retry_after(void **state)
{
	static const struct {
		const char *value;
		int64_t want_ms;
	} cases[] = {
		{"soon", -1}, {"12abc", -1}, {"-5", -1}, {"1.5", -1},
		{"99999999999", 86400LL * 365 * 1000}, {"0", 0}, {"7", 7000},
		{"Fri, 31 Dec 9999 23:59:59 GMT", 86400LL * 365 * 1000},
		{"Fri, 05 Dec 705942999 00:00:00 GMT", 86400LL * 365 * 1000},
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	struct fixture *f = *state;
	struct send_outcome out;
	struct sender *s;

	for (size_t i = 0; i < N; i++)
		f->rx->script[i] = (struct reply){.status = 503, .retry_after = cases[i].value};
	f->rx->n_script = N;
	receiver_start(f->rx);
	s = sender_create(&f->cfg, NULL);
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
	s = sender_create(&f->cfg, NULL);
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

/* Remote Write 2.0: its headers after sender_set_v2 (1.0's again after
 * it is undone), and the X-Prometheus-Remote-Write-*-Written counts read
 * (-1 when absent or not a count, and for each response anew). */
static void test_sender_v2_headers_and_written_counts(void **state)
{
	struct fixture *f = *state;
	struct send_outcome out;
	struct sender *s;

	f->rx->script[0] = (struct reply){.status = 204, .headers =
		"x-prometheus-remote-write-samples-written:  12 \r\n"
		"X-Prometheus-Remote-Write-Histograms-Written: 3\r\n"
		"X-Prometheus-Remote-Write-Exemplars-Written: 0\r\n"};
	f->rx->script[1] = (struct reply){.status = 204, .headers =
		"X-Prometheus-Remote-Write-Samples-Written: lots\r\n"
		"X-Prometheus-Remote-Write-Histograms-Written: -1\r\n"};
	f->rx->n_script = 2;
	receiver_start(f->rx);
	s = sender_create(&f->cfg, NULL);
	assert_int_equal(sender_set_v2(s, true), 0);
	post_one(f, s, &out, SEND_OK);
	assert_int_equal(out.samples_written, 12);
	assert_int_equal(out.histograms_written, 3);
	assert_int_equal(out.exemplars_written, 0);
	post_one(f, s, &out, SEND_OK);
	assert_int_equal(out.samples_written, -1);
	assert_int_equal(out.histograms_written, -1);
	assert_int_equal(out.exemplars_written, -1);
	assert_int_equal(sender_set_v2(s, false), 0);
	post_one(f, s, &out, SEND_OK);
	assert_int_equal(out.samples_written, -1);
	assert_int_equal(f->rx->v2_requests, 2);
	assert_true(f->rx->v2[0] && f->rx->v2[1] && !f->rx->v2[2]);
	assert_int_equal(f->rx->header_errors, 0);
	sender_destroy(s);
}

static void test_sender_network_error_is_retry(void **state)
{
	struct fixture *f = *state;
	struct send_outcome out;
	struct sender *s;

	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u/api/v1/write", dead_port());
	receiver_start(f->rx);
	s = sender_create(&f->cfg, NULL);
	post_one(f, s, &out, SEND_RETRY);
	assert_int_equal(out.http_status, 0);
	assert_true(out.error[0] != '\0');
	/* Past an abort deadline, nothing is even tried. */
	sender_abort_at(s, mono_ms() - 1);
	post_one(f, s, &out, SEND_RETRY);
	assert_non_null(strstr(out.error, "deadline"));
	sender_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_url),
		cmocka_unit_test(test_mask_url_truncates),
		cmocka_unit_test(test_response_headers_done_and_body_cap),
		cmocka_unit_test(test_response_failure_classes),
		T(test_sender_headers_and_auth),
		T(test_sender_bearer_from_file),
		T(test_malformed_retry_after),
		T(test_sender_outcomes),
		T(test_sender_network_error_is_retry),
		T(test_sender_v2_headers_and_written_counts),
	};

	return QUEUE_TESTS_RUN(tests);
}
