/* SPDX-License-Identifier: MIT */
/* Families' wire metadata and series' start times in the registry: the
 * unit read off a family name, one wire_meta per family that every series
 * (and every view's series) points to, the list the 1.0 metadata sender
 * reads, and start times per source that follow a collector starting over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "series/meta.h"
#include "series/registry.h"

static const struct metric_desc cpu_seconds = {
	"node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", METRIC_COUNTER};
static const struct metric_desc mem_bytes = {
	"node_memory_MemFree_bytes", "Memory information field MemFree_bytes.", METRIC_GAUGE};
static const struct metric_desc latency = {
	"kernel_runqueue_latency_seconds", "Run queue latency.", METRIC_HISTOGRAM};
static const struct metric_desc plain = {"vmstat_pgfault", NULL, METRIC_UNTYPED};

static int64_t round_ts = 1000000;

static struct registry *new_registry(void)
{
	struct registry *r = registry_create(NULL, 0, "bpfpush", "host-a");

	assert_non_null(r);
	return r;
}

/* Names as collectors give them: the unit before the type's suffix, or
 * none. */
static void unit_is_the_name_suffix_before_the_type_suffix(void **state)
{
	static const char *const cases[][2] = {
		{"node_cpu_seconds_total", "seconds"},
		{"node_memory_MemFree_bytes", "bytes"},
		{"kernel_runqueue_latency_seconds", "seconds"},
		{"kernel_runqueue_latency_seconds_bucket", "seconds"},
		{"kernel_runqueue_latency_seconds_sum", "seconds"},
		{"kernel_runqueue_latency_seconds_count", "seconds"},
		{"node_hwmon_temp_celsius", "celsius"},
		{"node_cpu_frequency_hertz", "hertz"},
		{"node_hwmon_energy_joules_total", "joules"},
		{"node_hwmon_in_volts", "volts"},
		{"node_hwmon_curr_amperes", "amperes"},
		{"node_hwmon_power_watts", "watts"},
		{"node_filesystem_avail_ratio", "ratio"},
		{"node_network_transmit_bytes_total", "bytes"},
		{"node_forks_total", ""},           /* no unit */
		{"node_context_switches_total", ""},
		{"node_load1", ""},
		{"seconds", ""},                    /* the unit alone is no name */
		{"_seconds", ""},
		{"seconds_total", ""},
		{"node_seconds_free", ""},          /* a unit must end the name */
		{"node_milliseconds", ""},          /* "milli" + "seconds" is not "_seconds" */
		{"node_time_seconds_total_x", ""},
		{"node_uname_info", ""},
		{"", ""},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = metric_unit(cases[i][0]);

		if (strcmp(got, cases[i][1]) != 0)
			fail_msg("%s: unit \"%s\", want \"%s\"", cases[i][0], got, cases[i][1]);
	}
}

static const struct series *find(const struct sample *s, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(series_of(s[i].series)->name, name) == 0)
			return series_of(s[i].series);
	fail_msg("no series %s", name);
	return NULL;
}

static const struct sample *emit_families(struct registry *r, size_t *n)
{
	struct label cpu0 = {"cpu", "0"}, cpu1 = {"cpu", "1"}, le = {"le", "0.001"};

	registry_begin_round(r, round_ts += 1000);
	assert_int_equal(registry_emit(r, &cpu_seconds, NULL, &cpu0, 1, 1, 0), 0);
	assert_int_equal(registry_emit(r, &cpu_seconds, NULL, &cpu1, 1, 2, 0), 0);
	assert_int_equal(registry_emit(r, &mem_bytes, NULL, NULL, 0, 3, 0), 0);
	assert_int_equal(registry_emit(r, &latency, "kernel_runqueue_latency_seconds_bucket", &le,
				       1, 4, 0), 0);
	assert_int_equal(registry_emit(r, &latency, "kernel_runqueue_latency_seconds_sum", NULL, 0,
				       5, 0), 0);
	assert_int_equal(registry_emit(r, &latency, "kernel_runqueue_latency_seconds_count", NULL,
				       0, 6, 0), 0);
	assert_int_equal(registry_emit(r, &plain, NULL, NULL, 0, 7, 0), 0);
	return registry_end_round(r, n);
}

/* Every series of a family points at the one wire_meta, which says what
 * the collector's metric_desc says, the unit added. */
static void every_series_points_to_its_family_meta(void **state)
{
	struct registry *r = new_registry();
	const struct wire_meta *cpu, *bucket;
	const struct sample *s;
	size_t n;
	(void)state;

	s = emit_families(r, &n);
	assert_int_equal(n, 7);
	for (size_t i = 0; i < n; i++)
		assert_non_null(s[i].series->meta);
	cpu = s[0].series->meta;
	assert_ptr_equal(s[1].series->meta, cpu);
	assert_string_equal(cpu->family, "node_cpu_seconds_total");
	assert_string_equal(cpu->help, "Seconds the CPUs spent in each mode.");
	assert_string_equal(cpu->unit, "seconds");
	assert_int_equal(cpu->type, WIRE_TYPE_COUNTER);
	assert_int_equal(find(s, n, "node_memory_MemFree_bytes")->wire.meta->type, WIRE_TYPE_GAUGE);
	assert_string_equal(find(s, n, "node_memory_MemFree_bytes")->wire.meta->unit, "bytes");
	bucket = find(s, n, "kernel_runqueue_latency_seconds_bucket")->wire.meta;
	assert_ptr_equal(find(s, n, "kernel_runqueue_latency_seconds_sum")->wire.meta, bucket);
	assert_ptr_equal(find(s, n, "kernel_runqueue_latency_seconds_count")->wire.meta, bucket);
	assert_string_equal(bucket->family, "kernel_runqueue_latency_seconds");
	assert_int_equal(bucket->type, WIRE_TYPE_HISTOGRAM);
	assert_string_equal(bucket->unit, "seconds");
	/* No HELP, no TYPE: "" and unknown, never NULL. */
	assert_string_equal(find(s, n, "vmstat_pgfault")->wire.meta->help, "");
	assert_string_equal(find(s, n, "vmstat_pgfault")->wire.meta->unit, "");
	assert_int_equal(find(s, n, "vmstat_pgfault")->wire.meta->type, WIRE_TYPE_UNKNOWN);
	registry_destroy(r);
}

static bool listed(const struct wire_meta *const *m, size_t n, const char *family)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i]->family, family) == 0)
			return true;
	return false;
}

/* The list holds each family once, the same pointers the series hold;
 * short room returns the count; a family goes from it once its last
 * series is freed. */
static void metadata_lists_each_family_once_until_it_is_freed(void **state)
{
	struct registry *r = new_registry();
	const struct wire_meta *m[8];
	const struct sample *s;
	size_t n;
	(void)state;

	assert_int_equal(registry_metadata(r, m, 8), 0);
	s = emit_families(r, &n);
	assert_int_equal(registry_metadata(r, m, 2), 4); /* room for 2 of 4 */
	assert_int_equal(registry_metadata(r, m, 8), 4);
	assert_true(listed(m, 4, "node_cpu_seconds_total"));
	assert_true(listed(m, 4, "node_memory_MemFree_bytes"));
	assert_true(listed(m, 4, "kernel_runqueue_latency_seconds"));
	assert_true(listed(m, 4, "vmstat_pgfault"));
	for (size_t i = 0; i < 4; i++)
		if (strcmp(m[i]->family, "node_cpu_seconds_total") == 0)
			assert_ptr_equal(m[i], s[0].series->meta);
	/* Only memory from now on: the others get their stale markers, are
	 * forgotten the round after, and freed two reclaims later. */
	for (int k = 0; k < 4; k++) {
		registry_begin_round(r, round_ts += 1000);
		assert_int_equal(registry_emit(r, &mem_bytes, NULL, NULL, 0, 3, 0), 0);
		registry_end_round(r, &n);
		registry_reclaim(r);
	}
	assert_int_equal(registry_metadata(r, m, 8), 1);
	assert_string_equal(m[0]->family, "node_memory_MemFree_bytes");
	registry_destroy(r);
}

/* Counters and histograms of a source carry its start, gauges and
 * untyped series none; a new start (the collector started over) reaches
 * the series at their next sample; setting a start does not change which
 * source new series count toward. */
static void start_follows_the_source_for_counters_and_histograms(void **state)
{
	struct registry *r = new_registry();
	const struct sample *s;
	size_t n, live;
	uint64_t dropped;
	(void)state;

	assert_int_equal(registry_set_source(r, 1, 0), 0);
	assert_int_equal(registry_set_source_start(r, 1, 5000), 0);
	assert_int_equal(registry_set_source_start(r, 7, 6000), 0); /* a new id */
	s = emit_families(r, &n);
	registry_source_stats(r, 1, &live, &dropped);
	assert_int_equal(live, 7); /* still source 1's */
	registry_source_stats(r, 7, &live, &dropped);
	assert_int_equal(live, 0);
	assert_int_equal(find(s, n, "node_cpu_seconds_total")->wire.start_ms, 5000);
	assert_int_equal(find(s, n, "kernel_runqueue_latency_seconds_bucket")->wire.start_ms, 5000);
	assert_int_equal(find(s, n, "kernel_runqueue_latency_seconds_count")->wire.start_ms, 5000);
	assert_int_equal(find(s, n, "node_memory_MemFree_bytes")->wire.start_ms, 0);
	assert_int_equal(find(s, n, "vmstat_pgfault")->wire.start_ms, 0);
	assert_int_equal(registry_set_source_start(r, 1, 9000), 0);
	s = emit_families(r, &n);
	assert_int_equal(wire_series_start_ms(&find(s, n, "node_cpu_seconds_total")->wire), 9000);
	assert_int_equal(find(s, n, "kernel_runqueue_latency_seconds_sum")->wire.start_ms, 9000);
	assert_int_equal(find(s, n, "node_memory_MemFree_bytes")->wire.start_ms, 0);
	/* The agent's own series (source 0) have no start. */
	registry_set_source(r, 0, 0);
	registry_begin_round(r, round_ts += 1000);
	assert_int_equal(registry_emit(r, &cpu_seconds, "bpfpush_own_seconds_total", NULL, 0, 1, 0),
			 0);
	s = registry_end_round(r, &n);
	assert_int_equal(find(s, n, "bpfpush_own_seconds_total")->wire.start_ms, 0);
	registry_destroy(r);
}

/* A view's series (write_relabel_configs) keeps the original's meta and
 * start, a new start included; a series the global rules rename is of an
 * untyped family of its new name, whose unit is its new name's. */
static void views_and_renamed_series_carry_meta_and_start(void **state)
{
	static char *src[] = {(char *)"__name__"};
	struct relabel_config add = {.action = RELABEL_REPLACE, .separator = (char *)";",
				     .regex = (char *)"(.*)", .target_label = (char *)"env",
				     .replacement = (char *)"prod"};
	struct relabel_config rename = {.action = RELABEL_REPLACE, .source_labels = src,
					.n_source_labels = 1, .separator = (char *)";",
					.regex = (char *)"node_memory_(.*)",
					.target_label = (char *)"__name__",
					.replacement = (char *)"mem_$1"};
	struct relabel_list view_rules = {&add, 1}, global_rules = {&rename, 1};
	struct registry *r = new_registry();
	const struct sample *s, *v;
	const struct series *cpu;
	const struct wire_meta *renamed;
	char why[256];
	size_t n, n_view;
	int view;
	(void)state;

	assert_int_equal(registry_set_relabel(r, &global_rules, why, sizeof(why)), 0);
	view = registry_view_add(r, &view_rules, why, sizeof(why));
	assert_true(view >= 0);
	registry_set_source(r, 1, 0);
	registry_set_source_start(r, 1, 5000);
	s = emit_families(r, &n);
	cpu = find(s, n, "node_cpu_seconds_total");
	renamed = find(s, n, "mem_MemFree_bytes")->wire.meta;
	assert_string_equal(renamed->family, "mem_MemFree_bytes");
	assert_int_equal(renamed->type, WIRE_TYPE_UNKNOWN);
	assert_string_equal(renamed->unit, "bytes");
	v = registry_view_map(r, view, s, n, &n_view);
	assert_int_equal(n_view, n);
	assert_ptr_equal(v[0].series->meta, cpu->wire.meta);
	assert_ptr_not_equal(v[0].series, &cpu->wire);
	assert_int_equal(v[0].series->start_ms, 5000);
	registry_set_source_start(r, 1, 9000);
	s = emit_families(r, &n);
	v = registry_view_map(r, view, s, n, &n_view);
	assert_int_equal(wire_series_start_ms(v[0].series), 9000);
	registry_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unit_is_the_name_suffix_before_the_type_suffix),
		cmocka_unit_test(every_series_points_to_its_family_meta),
		cmocka_unit_test(metadata_lists_each_family_once_until_it_is_freed),
		cmocka_unit_test(start_follows_the_source_for_counters_and_histograms),
		cmocka_unit_test(views_and_renamed_series_carry_meta_and_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
