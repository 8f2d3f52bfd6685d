/* SPDX-License-Identifier: MIT */
/* Where series' start times and metadata come from, through the scheduler
 * as the agent runs it: procfs counters that count from boot start at boot
 * time (the kernel's /proc/stat btime), a BPF collector's counters when its
 * programs were attached (again when a reload attaches them anew), the
 * agent's own series and a textfile's have none; a textfile's HELP and
 * TYPE reach the wire metadata. */
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

#include "agent/scheduler.h"
#include "config/config.h"
#include "lib/clock.h"
#include "series/registry.h"
#include "labels_of.h"

#define CONFIG_HEAD                                                                      \
	"global:\n  interval: 1s\n  data_dir: \"\"\n"                                     \
	"collectors:\n  defaults: false\n  cpu: {}\n  textfile:\n    directory: %s\n"        \
	"bpf:\n  defaults: false\n"

static char textfile_dir[] = "/tmp/test_meta_sourcesXXXXXX";
static int64_t round_ts;

static void load(struct config *cfg, const char *bpf_tail)
{
	char yaml[1024];
	struct config_error err;
	int len = snprintf(yaml, sizeof(yaml), CONFIG_HEAD "%s", textfile_dir, bpf_tail);

	if (config_load_string("test.yml", yaml, (size_t)len, scheduler_schemas(), cfg, &err) != 0)
		fail_msg("config: %s", err.text);
}

static const struct sample *collect(struct scheduler *s, struct registry *r, size_t *n)
{
	round_ts = wall_ms();
	registry_begin_round(r, round_ts);
	scheduler_collect(s, r);
	return registry_end_round(r, n);
}

/* The first series named name (with label k=v when k is set), or NULL. */
static const struct series *find(const struct sample *s, size_t n, const char *name,
				 const char *k, const char *v)
{
	for (size_t i = 0; i < n; i++) {
		const struct series *se = series_of(s[i].series);

		if (strcmp(se->name, name) != 0)
			continue;
		const struct label_set *l = labels_of(se);

		for (size_t j = 0; k && j < l->n; j++)
			if (!strcmp(l->labels[j].name, k) && !strcmp(l->labels[j].value, v))
				return se;
		if (!k)
			return se;
	}
	return NULL;
}

static int64_t proc_stat_btime_ms(void)
{
	char line[512];
	long long btime = -1;
	FILE *f = fopen("/proc/stat", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lld", &btime) == 1)
			break;
	fclose(f);
	assert_true(btime > 0);
	return btime * 1000;
}

static void write_textfile(void)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/app.prom", textfile_dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# HELP app_requests_total Requests the app served.\n"
	      "# TYPE app_requests_total counter\n"
	      "app_requests_total{code=\"200\"} 17\n"
	      "# HELP app_latency_seconds How long requests took.\n"
	      "# TYPE app_latency_seconds histogram\n"
	      "app_latency_seconds_bucket{le=\"0.1\"} 1\n"
	      "app_latency_seconds_bucket{le=\"+Inf\"} 2\n"
	      "app_latency_seconds_sum 0.3\n"
	      "app_latency_seconds_count 2\n"
	      "app_temperature_celsius 21.5\n"
	      "# HELP app_rpc_seconds RPC time,\\nby \\\\method.\n"
	      "# TYPE app_rpc_seconds summary\n"
	      "app_rpc_seconds{quantile=\"0.5\"} 0.01\n"
	      "app_rpc_seconds_sum 3\n"
	      "app_rpc_seconds_count 200\n", f);
	fclose(f);
}

static void procfs_counters_start_at_boot_and_the_agents_own_have_none(void **state)
{
	struct config cfg;
	struct scheduler *s;
	struct registry *r = registry_create(NULL, 0, "bpfpush", "host");
	const struct series *cpu, *own;
	const struct sample *samples;
	int64_t btime_ms = proc_stat_btime_ms();
	size_t n;
	(void)state;

	load(&cfg, "");
	assert_non_null(s = scheduler_create(&cfg));
	samples = collect(s, r, &n);
	cpu = find(samples, n, "node_cpu_seconds_total", NULL, NULL);
	assert_non_null(cpu);
	/* btime is the same figure the kernel truncates to whole seconds. */
	if (cpu->wire.start_ms < btime_ms - 1000 || cpu->wire.start_ms > btime_ms + 1000)
		fail_msg("start %lld, /proc/stat btime %lld ms", (long long)cpu->wire.start_ms,
			 (long long)btime_ms);
	assert_non_null(cpu->wire.meta);
	assert_string_equal(cpu->wire.meta->unit, "seconds");
	own = find(samples, n, "node_scrape_collector_duration_seconds", "collector", "cpu");
	assert_non_null(own);
	assert_int_equal(own->wire.start_ms, 0);
	scheduler_destroy(s);
	config_free(&cfg);
	registry_destroy(r);
}

/* HELP and TYPE of a textfile are the series' metadata, a histogram's
 * under its base name; no start is known for its counters. */
static void textfile_help_and_type_pass_through(void **state)
{
	struct config cfg;
	struct scheduler *s;
	struct registry *r = registry_create(NULL, 0, "bpfpush", "host");
	const struct series *req, *bucket, *count, *temp, *rpc;
	const struct sample *samples;
	size_t n;
	(void)state;

	write_textfile();
	load(&cfg, "");
	assert_non_null(s = scheduler_create(&cfg));
	samples = collect(s, r, &n);
	req = find(samples, n, "app_requests_total", NULL, NULL);
	bucket = find(samples, n, "app_latency_seconds_bucket", "le", "0.1");
	count = find(samples, n, "app_latency_seconds_count", NULL, NULL);
	temp = find(samples, n, "app_temperature_celsius", NULL, NULL);
	rpc = find(samples, n, "app_rpc_seconds_count", NULL, NULL);
	assert_true(req && bucket && count && temp && rpc);
	assert_string_equal(req->wire.meta->family, "app_requests_total");
	assert_string_equal(req->wire.meta->help, "Requests the app served.");
	assert_int_equal(req->wire.meta->type, WIRE_TYPE_COUNTER);
	assert_string_equal(req->wire.meta->unit, "");
	assert_int_equal(req->wire.start_ms, 0);
	assert_ptr_equal(bucket->wire.meta, count->wire.meta);
	assert_string_equal(bucket->wire.meta->family, "app_latency_seconds");
	assert_string_equal(bucket->wire.meta->help, "How long requests took.");
	assert_int_equal(bucket->wire.meta->type, WIRE_TYPE_HISTOGRAM);
	assert_string_equal(bucket->wire.meta->unit, "seconds");
	/* No TYPE: untyped, as in Prometheus; no HELP: the collector's own. */
	assert_int_equal(temp->wire.meta->type, WIRE_TYPE_UNKNOWN);
	assert_string_equal(temp->wire.meta->unit, "celsius");
	assert_non_null(strstr(temp->wire.meta->help, "app.prom"));
	/* HELP's escapes undone, as Prometheus reads them. */
	assert_string_equal(rpc->wire.meta->help, "RPC time,\nby \\method.");
	assert_int_equal(rpc->wire.meta->type, WIRE_TYPE_SUMMARY);
	assert_string_equal(rpc->wire.meta->family, "app_rpc_seconds");
	scheduler_destroy(s);
	config_free(&cfg);
	registry_destroy(r);
}

/* runqlat's histogram starts when its programs were attached; a reload
 * that changes its options attaches them anew, and the series' start
 * moves to then. Skipped where BPF programs cannot load. */
static void bpf_counters_start_when_attached_and_again_after_a_reload(void **state)
{
	struct config cfg, *old = malloc(sizeof(*old));
	struct scheduler *s;
	struct registry *r = registry_create(NULL, 0, "bpfpush", "host");
	const struct series *h;
	const struct sample *samples;
	int64_t before, after, first;
	bool restart;
	size_t n;
	(void)state;

	assert_non_null(old);
	load(&cfg, "  runqlat: {}\n");
	before = wall_ms();
	assert_non_null(s = scheduler_create(&cfg));
	after = wall_ms();
	samples = collect(s, r, &n);
	h = find(samples, n, "kernel_runqueue_latency_seconds_count", NULL, NULL);
	if (!h) {
		scheduler_destroy(s);
		config_free(&cfg);
		free(old);
		registry_destroy(r);
		skip(); /* runqlat did not load here */
	}
	first = h->wire.start_ms;
	if (first < before || first > after)
		fail_msg("start %lld not in [%lld, %lld]", (long long)first, (long long)before,
			 (long long)after);
	assert_int_equal(h->wire.meta->type, WIRE_TYPE_HISTOGRAM);
	usleep(20000); /* a start later than the first, whatever the clock's grain */
	*old = cfg;    /* the collector's options point into it until the reload */
	load(&cfg, "  runqlat:\n    max_inflight: 20000\n");
	before = wall_ms();
	scheduler_reload(s, &restart);
	after = wall_ms();
	assert_false(restart);
	samples = collect(s, r, &n);
	h = find(samples, n, "kernel_runqueue_latency_seconds_count", NULL, NULL);
	assert_non_null(h);
	if (h->wire.start_ms < before || h->wire.start_ms > after || h->wire.start_ms <= first)
		fail_msg("start after reload %lld not in [%lld, %lld]", (long long)h->wire.start_ms,
			 (long long)before, (long long)after);
	scheduler_destroy(s);
	config_free(&cfg);
	config_free(old);
	free(old);
	registry_destroy(r);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(textfile_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[256];
	(void)state;

	snprintf(path, sizeof(path), "%s/app.prom", textfile_dir);
	unlink(path);
	return rmdir(textfile_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(procfs_counters_start_at_boot_and_the_agents_own_have_none),
		cmocka_unit_test(textfile_help_and_type_pass_through),
		cmocka_unit_test(bpf_counters_start_when_attached_and_again_after_a_reload),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
