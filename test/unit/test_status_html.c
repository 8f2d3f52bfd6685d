/* SPDX-License-Identifier: MIT */
/* The status page's HTML, from a round's samples: escaping, the sections,
 * one bar per non-empty slot, why a collector is off, the cost per event
 * between two pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/offlog.h"
#include "agent/status_html.h"
#include "lib/log.h"
#include "series/registry.h"

static const struct metric_desc pending = {
	"bpfpush_remote_storage_samples_pending", "Pending.", METRIC_GAUGE};
static const struct metric_desc failed = {
	"bpfpush_remote_storage_requests_failed_total", "Failed requests.", METRIC_COUNTER};
static const struct metric_desc hist = {"test_latency_seconds", "Latency.", METRIC_HISTOGRAM};
static const struct metric_desc up = {"bpfpush_bpf_collector_up", "Up.", METRIC_GAUGE};
static const struct metric_desc prog_seconds = {
	"bpfpush_bpf_program_run_seconds_total", "Run time.", METRIC_COUNTER};
static const struct metric_desc prog_runs = {
	"bpfpush_bpf_program_runs_total", "Runs.", METRIC_COUNTER};

/* The page of the round r holds now. */
static char *render(struct status_html *h, struct registry *r, int64_t ts)
{
	const struct sample *s;
	char *text = NULL;
	size_t n, len = 0;
	FILE *f = open_memstream(&text, &len);

	s = registry_end_round(r, &n);
	assert_int_equal(status_html_write(h, f, s, n, ts, 5), 0);
	fclose(f);
	return text;
}

static size_t count(const char *text, const char *what)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static void sections_and_escaping(void **state)
{
	struct registry *r = registry_create(NULL, 0, "j", "host");
	struct status_html *h = status_html_new();
	struct label l[2] = {{"remote_name", "<script>alert(1)</script>"},
			     {"url", "http://x/?a=\"1\"&b"}};
	char *text;
	(void)state;

	registry_begin_round(r, 1000);
	struct label by[3] = {l[0], l[1], {"reason", "timeout"}};

	registry_emit(r, &pending, NULL, l, 2, 7, 0);
	registry_emit(r, &failed, NULL, by, 3, 4, 0);
	by[2].value = "connect";
	registry_emit(r, &failed, NULL, by, 3, 0, 0);
	text = render(h, r, 1000);
	/* Errors by class: the classes that counted any. */
	assert_non_null(strstr(text, "failed requests, timeout: 4"));
	assert_null(strstr(text, "failed requests, connect"));
	assert_non_null(strstr(text, "dropped: 0"));
	assert_non_null(strstr(text, "<section id=\"endpoints\">"));
	assert_non_null(strstr(text, "<section id=\"collectors\">"));
	assert_non_null(strstr(text, "<section id=\"bpf-programs\">"));
	assert_non_null(strstr(text, "<section id=\"histograms\">"));
	assert_non_null(strstr(text, "<meta http-equiv=\"refresh\" content=\"5\">"));
	assert_null(strstr(text, "<script"));
	assert_non_null(strstr(text, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(text, "http://x/?a=&quot;1&quot;&amp;b"));
	free(text);
	status_html_free(h);
	registry_destroy(r);
}

static void emit_histogram(struct registry *r, const double *cumulative, size_t n)
{
	static const char *const les[] = {"0.001", "0.002", "0.004", "0.008", "+Inf"};
	struct label l[2] = {{"device", "sd\"a,b=\"c"}, {"le", NULL}};

	for (size_t i = 0; i < n; i++) {
		l[1].value = les[i];
		registry_emit(r, &hist, "test_latency_seconds_bucket", l, 2, cumulative[i], 0);
	}
	registry_emit(r, &hist, "test_latency_seconds_sum", l, 1, 0.01, 0);
	registry_emit(r, &hist, "test_latency_seconds_count", l, 1, cumulative[n - 1], 0);
}

/* Slots 1 ms, 4 ms and +Inf hold some; 2 ms and 8 ms none: five rows
 * (first to last non-empty), three bars; a label value with a quote, a
 * comma and an equals sign stays whole in the heading. */
static void one_bar_per_nonempty_slot(void **state)
{
	struct registry *r = registry_create(NULL, 0, "j", "host");
	struct status_html *h = status_html_new();
	static const double cumulative[] = {3, 3, 5, 5, 6};
	char *text;
	(void)state;

	registry_begin_round(r, 1000);
	emit_histogram(r, cumulative, 5);
	text = render(h, r, 1000);
	assert_int_equal(count(text, "class=\"bar\""), 3);
	assert_non_null(strstr(text, "data-le=\"0.001\" data-count=\"3\""));
	assert_non_null(strstr(text, "data-le=\"0.004\" data-count=\"2\""));
	assert_non_null(strstr(text, "data-le=\"+Inf\" data-count=\"1\""));
	assert_int_equal(count(text, "text-anchor=\"end\">"), 2 * 5);
	assert_non_null(strstr(text, ">1 ms &#8211; 2 ms<"));
	/* The heading leaves out job and instance, the agent's own. */
	assert_non_null(strstr(text, "<h3>test_latency_seconds{device=&quot;sd\\&quot;a,b="
				     "\\&quot;c&quot;}</h3>"));
	free(text);
	status_html_free(h);
	registry_destroy(r);
}

/* The reason comes from the one warning, even with the log level above
 * warn; a system collector whose init failed is listed though the round
 * does not name it. */
static void off_collectors_say_why(void **state)
{
	struct registry *r = registry_create(NULL, 0, "j", "host");
	struct status_html *h = status_html_new();
	struct label c = {"collector", "runqlat"};
	char *text;
	(void)state;

	offlog_start();
	log_set_level(LOG_ERROR);
	log_msg(LOG_WARN, "bpf collector disabled: kernel lacks its hook",
		"collector=runqlat hook=raw_tp/sched_switch");
	log_msg(LOG_WARN, "collector disabled: init failed", "collector=textfile");
	log_set_level(LOG_INFO);
	registry_begin_round(r, 1000);
	registry_emit(r, &up, NULL, &c, 1, 0, 0);
	text = render(h, r, 1000);
	assert_non_null(strstr(text, "<tr class=\"off\" data-collector=\"runqlat\">"));
	assert_non_null(strstr(text, "kernel lacks its hook hook=raw_tp/sched_switch"));
	assert_non_null(strstr(text, "runqlat is off, no histogram: kernel lacks its hook "
				     "hook=raw_tp/sched_switch"));
	assert_non_null(strstr(text, "<tr class=\"off\" data-collector=\"textfile\">"));
	assert_non_null(strstr(text, "init failed"));
	free(text);
	status_html_free(h);
	registry_destroy(r);
}

static void emit_program(struct registry *r, double seconds, double runs)
{
	struct label l[2] = {{"collector", "runqlat"}, {"program", "p"}};

	registry_emit(r, &prog_seconds, NULL, l, 2, seconds, 0);
	registry_emit(r, &prog_runs, NULL, l, 2, runs, 0);
}

/* 1 ms over 1000 runs first (since load), then 2 ms more over 1000 more. */
static void cost_per_event_between_pages(void **state)
{
	struct registry *r = registry_create(NULL, 0, "j", "host");
	struct status_html *h = status_html_new();
	char *text;
	(void)state;

	registry_begin_round(r, 1000);
	emit_program(r, 1e-3, 1000);
	text = render(h, r, 1000);
	assert_non_null(strstr(text, "<td>1000</td><td>1000 ns</td>"));
	free(text);
	registry_begin_round(r, 3000);
	emit_program(r, 3e-3, 2000);
	text = render(h, r, 3000);
	assert_non_null(strstr(text, "Over the last 2.0 s."));
	assert_non_null(strstr(text, "<td>1000</td><td>2000 ns</td>"));
	free(text);
	status_html_free(h);
	registry_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sections_and_escaping),
		cmocka_unit_test(one_bar_per_nonempty_slot),
		cmocka_unit_test(off_collectors_say_why),
		cmocka_unit_test(cost_per_event_between_pages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
