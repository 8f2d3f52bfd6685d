/* SPDX-License-Identifier: MIT */
/* The procfs and textfile collectors against fixture trees
 * (test/fixtures/<kernel>/proc, test/fixtures/textfile) and a real
 * registry: the exact series, values, HELP and types they emit.
 * Run from the repository root. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "collectors/all.h"
#include "collectors/textfile.h"
#include "series/registry.h"

#define ROUND_TS 1700000000000LL
#define SERIES_TEXT_MAX 512

#include "collector_harness.h"

static void run_start(struct run *r, const struct collector *c, const void *opts,
		      const char *procfs)
{
	run_start_fs(r, c, opts, procfs, NULL, NULL);
}

static double ticks(double t)
{
	return t / (double)sysconf(_SC_CLK_TCK);
}

/* ---- the table -------------------------------------------------------- */

static void test_table(void **state)
{
	static const char *const names[] = {"cpu", "meminfo", "loadavg", "textfile"};
	(void)state;

	/* Every entry is complete and named once; these four are among them. */
	for (size_t i = 0; i < collector_count; i++) {
		assert_non_null(collector_table[i]->name);
		assert_non_null(collector_table[i]->update);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(collector_table[i]->name, collector_table[j]->name);
	}
	for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
		size_t i = 0;
		while (i < collector_count && strcmp(collector_table[i]->name, names[n]) != 0)
			i++;
		assert_true(i < collector_count);
	}
	assert_int_equal(collector_textfile.opts_size, sizeof(struct textfile_opts));
	assert_string_equal(collector_textfile.opts[0].name, "directory");
	assert_int_equal(collector_textfile.opts[0].type, OPT_STRING);
	assert_string_equal(collector_textfile.opts[0].default_value, "/var/lib/bpfpush/textfile");
	assert_int_equal(collector_textfile.opts[0].offset, offsetof(struct textfile_opts, directory));
	assert_string_equal(collector_textfile.opts[1].name, "max_file_bytes");
	assert_int_equal(collector_textfile.opts[1].type, OPT_INT);
	assert_string_equal(collector_textfile.opts[1].default_value, "67108864");
	assert_string_equal(collector_textfile.opts[2].name, "max_series_per_file");
	/* Another test pushes 100,000 series from one file through the agent. */
	assert_true(strtoll(collector_textfile.opts[2].default_value, NULL, 10) >= 100000);
	assert_string_equal(collector_textfile.opts[3].name, "max_labels_per_series");
	assert_string_equal(collector_textfile.opts[3].default_value, "64");
	assert_null(collector_textfile.opts[4].name);
}

/* ---- cpu -------------------------------------------------------------- */

static void test_cpu_linux6(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_cpu, NULL, "test/fixtures/linux-6.1/proc");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	/* 2 CPUs x 8 modes, 2 x 2 guest modes; the "cpu" total line is not a CPU. */
	assert_int_equal(count_named(&r, "node_cpu_seconds_total"), 16);
	assert_int_equal(count_named(&r, "node_cpu_guest_seconds_total"), 4);
	assert_int_equal(r.n, 20);
	assert_value(&r, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}", ticks(743));
	assert_value(&r, "node_cpu_seconds_total{cpu=\"0\",mode=\"nice\"}", ticks(3));
	assert_value(&r, "node_cpu_seconds_total{cpu=\"0\",mode=\"system\"}", ticks(763));
	assert_value(&r, "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}", ticks(84036));
	assert_value(&r, "node_cpu_seconds_total{cpu=\"0\",mode=\"iowait\"}", ticks(12));
	assert_value(&r, "node_cpu_seconds_total{cpu=\"0\",mode=\"irq\"}", ticks(1));
	assert_value(&r, "node_cpu_seconds_total{cpu=\"0\",mode=\"softirq\"}", ticks(17));
	assert_value(&r, "node_cpu_seconds_total{cpu=\"0\",mode=\"steal\"}", ticks(2));
	assert_value(&r, "node_cpu_guest_seconds_total{cpu=\"0\",mode=\"user\"}", ticks(100));
	assert_value(&r, "node_cpu_guest_seconds_total{cpu=\"0\",mode=\"nice\"}", ticks(5));
	assert_value(&r, "node_cpu_seconds_total{cpu=\"1\",mode=\"user\"}", ticks(2140));
	assert_value(&r, "node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"}", ticks(81685));
	assert_value(&r, "node_cpu_guest_seconds_total{cpu=\"1\",mode=\"nice\"}", ticks(1));
	assert_family(&r, "node_cpu_seconds_total{cpu=\"1\",mode=\"steal\"}",
		      "node_cpu_seconds_total", "Seconds the CPUs spent in each mode.",
		      METRIC_COUNTER);
	assert_family(&r, "node_cpu_guest_seconds_total{cpu=\"1\",mode=\"user\"}",
		      "node_cpu_guest_seconds_total",
		      "Seconds the CPUs spent in guests (VMs) for each mode.", METRIC_COUNTER);
	assert_int_equal(r.samples[0].timestamp_ms, ROUND_TS);
	run_stop(&r);
}

/* 2.6.0-era /proc/stat: 7 columns; steal and guest read as 0. */
static void test_cpu_linux26(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_cpu, NULL, "test/fixtures/linux-2.6/proc");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 20);
	assert_value(&r, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}", ticks(1132));
	assert_value(&r, "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}", ticks(11311718));
	assert_value(&r, "node_cpu_seconds_total{cpu=\"1\",mode=\"iowait\"}", ticks(2615));
	assert_value(&r, "node_cpu_seconds_total{cpu=\"1\",mode=\"softirq\"}", ticks(18));
	assert_value(&r, "node_cpu_seconds_total{cpu=\"1\",mode=\"steal\"}", 0);
	assert_value(&r, "node_cpu_guest_seconds_total{cpu=\"1\",mode=\"user\"}", 0);
	run_stop(&r);
}

struct tmpdir {
	char dir[64];
	char path[8][128];
	size_t n;
};

static void tmp_dir(struct tmpdir *t)
{
	*t = (struct tmpdir){.n = 0};
	strcpy(t->dir, "/tmp/bpfpush-test-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
}

/* dir/name; written with text unless text is NULL. */
static const char *tmp_file(struct tmpdir *t, const char *name, const char *text)
{
	char *path = t->path[t->n++];
	size_t dir_len = strlen(t->dir);

	assert_true(t->n <= 8 && dir_len + 1 + strlen(name) < sizeof(t->path[0]));
	memcpy(path, t->dir, dir_len);
	path[dir_len] = '/';
	strcpy(path + dir_len + 1, name);
	if (text)
		write_file(path, text);
	return path;
}

static void tmp_cleanup(struct tmpdir *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (unlink(t->path[i]) < 0 && errno == EISDIR)
			rmdir(t->path[i]);
	rmdir(t->dir);
}

/* Counters never go back (iowait can, on NO_HZ kernels); idle going back
 * by 3 s or more is a hot-plugged CPU and starts over. */
static void test_cpu_monotonic(void **state)
{
	char dir[] = "/tmp/bpfpush-cpu-XXXXXX", path[64];
	double hz = (double)sysconf(_SC_CLK_TCK);
	char text[256];
	struct run r;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/stat", dir);
	write_file(path, "cpu  1 1 1 1 1 1 1 1 0 0\ncpu0 500 0 300 10000 80 0 0 0 0 0\nctxt 1\n");
	run_start(&r, &collector_cpu, NULL, dir);
	run_round(&r, ROUND_TS);
	assert_value(&r, "node_cpu_seconds_total{cpu=\"0\",mode=\"iowait\"}", ticks(80));

	write_file(path, "cpu  1 1 1 1 1 1 1 1 0 0\ncpu0 510 0 300 10010 70 0 0 0 0 0\nctxt 1\n");
	run_round(&r, ROUND_TS + 15000);
	assert_value(&r, "node_cpu_seconds_total{cpu=\"0\",mode=\"iowait\"}", ticks(80));
	assert_value(&r, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}", ticks(510));

	snprintf(text, sizeof(text),
		 "cpu  1 1 1 1 1 1 1 1 0 0\ncpu0 5 0 3 %.0f 1 0 0 0 0 0\nctxt 1\n", 10010 - 3 * hz);
	write_file(path, text);
	run_round(&r, ROUND_TS + 30000);
	assert_value(&r, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}", ticks(5));
	assert_value(&r, "node_cpu_seconds_total{cpu=\"0\",mode=\"iowait\"}", ticks(1));
	run_stop(&r);
	unlink(path);
	rmdir(dir);
}

/* ---- meminfo ---------------------------------------------------------- */

static void test_meminfo_linux6(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_meminfo, NULL, "test/fixtures/linux-6.1/proc");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 54); /* one series per line */
	assert_value(&r, "node_memory_MemTotal_bytes{}", 16777216);
	assert_value(&r, "node_memory_MemFree_bytes{}", 8000 * 1024.0);
	assert_value(&r, "node_memory_MemAvailable_bytes{}", 12000 * 1024.0);
	assert_value(&r, "node_memory_Active_anon_bytes{}", 1528 * 1024.0);
	assert_value(&r, "node_memory_Inactive_file_bytes{}", 40832 * 1024.0);
	assert_value(&r, "node_memory_NFS_Unstable_bytes{}", 0);
	assert_value(&r, "node_memory_Committed_AS_bytes{}", 56372 * 1024.0);
	assert_value(&r, "node_memory_VmallocTotal_bytes{}", 34359738367 * 1024.0);
	assert_value(&r, "node_memory_DirectMap1G_bytes{}", 25165824 * 1024.0);
	assert_value(&r, "node_memory_HugePages_Total{}", 0);
	assert_value(&r, "node_memory_Hugepagesize_bytes{}", 2048 * 1024.0);
	assert_null(find(&r, "node_memory_Active(anon)_bytes{}"));
	assert_family(&r, "node_memory_MemTotal_bytes{}", "node_memory_MemTotal_bytes",
		      "Memory information field MemTotal_bytes.", METRIC_GAUGE);
	assert_family(&r, "node_memory_Active_anon_bytes{}", "node_memory_Active_anon_bytes",
		      "Memory information field Active_anon_bytes.", METRIC_GAUGE);
	assert_family(&r, "node_memory_HugePages_Free{}", "node_memory_HugePages_Free",
		      "Memory information field HugePages_Free.", METRIC_GAUGE);
	run_stop(&r);
}

/* 2.6: no MemAvailable, no Active(anon); HighTotal and LowTotal instead. */
static void test_meminfo_linux26(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_meminfo, NULL, "test/fixtures/linux-2.6/proc");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 26);
	assert_value(&r, "node_memory_MemTotal_bytes{}", 16777216);
	assert_value(&r, "node_memory_LowTotal_bytes{}", 16777216);
	assert_value(&r, "node_memory_SwapFree_bytes{}", 4000 * 1024.0);
	assert_value(&r, "node_memory_HugePages_Total{}", 2);
	assert_value(&r, "node_memory_HugePages_Free{}", 1);
	assert_null(find(&r, "node_memory_MemAvailable_bytes{}"));
	assert_null(find(&r, "node_memory_Active_anon_bytes{}"));
	run_stop(&r);
}

/* ---- loadavg ---------------------------------------------------------- */

static void test_loadavg(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_loadavg, NULL, "test/fixtures/linux-6.1/proc");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 3);
	assert_value(&r, "node_load1{}", 0.08);
	assert_value(&r, "node_load5{}", 0.04);
	assert_value(&r, "node_load15{}", 1.5);
	assert_family(&r, "node_load1{}", "node_load1", "1m load average.", METRIC_GAUGE);
	assert_family(&r, "node_load5{}", "node_load5", "5m load average.", METRIC_GAUGE);
	assert_family(&r, "node_load15{}", "node_load15", "15m load average.", METRIC_GAUGE);
	run_stop(&r);

	run_start(&r, &collector_loadavg, NULL, "test/fixtures/linux-2.6/proc");
	run_round(&r, ROUND_TS);
	assert_value(&r, "node_load15{}", 0.12);
	run_stop(&r);
}

/* No source: update fails (node_scrape_collector_success 0), nothing emitted. */
static void test_missing_source(void **state)
{
	const struct collector *const procfs_collectors[] = {
		&collector_cpu, &collector_meminfo, &collector_loadavg};
	struct run r;
	(void)state;

	for (size_t i = 0; i < 3; i++) {
		run_start(&r, procfs_collectors[i], NULL, "test/fixtures/no-such-dir/proc");
		run_round(&r, ROUND_TS);
		assert_int_equal(r.rc, -1);
		assert_int_equal(r.n, 0);
		run_stop(&r);
	}
}

/* Files that are there but hold nothing usable: the update fails too. */
static void test_garbage_source(void **state)
{
	const struct collector *const procfs_collectors[] = {
		&collector_cpu, &collector_meminfo, &collector_loadavg};
	struct tmpdir t;
	struct run r;
	(void)state;

	tmp_dir(&t);
	tmp_file(&t, "stat", "cpu  1 2 3 4\ncpu0 1 2\nintr 5\n");
	tmp_file(&t, "meminfo", "no colon here\nMemTotal: lots kB\nKey: 1 kB extra\n");
	tmp_file(&t, "loadavg", "0.1 zero\n");
	for (size_t i = 0; i < 3; i++) {
		run_start(&r, procfs_collectors[i], NULL, t.dir);
		run_round(&r, ROUND_TS);
		assert_int_equal(r.rc, -1);
		assert_int_equal(r.n, 0);
		run_stop(&r);
	}
	tmp_cleanup(&t);
}

/* ---- textfile --------------------------------------------------------- */

static double file_mtime(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return (double)sb.st_mtim.tv_sec;
}

static void test_textfile_fixtures(void **state)
{
	struct textfile_opts opts = {.directory = "test/fixtures/textfile/"};
	const struct sample *s;
	struct run r;
	(void)state;

	run_start(&r, &collector_textfile, &opts, NULL);
	/* b_malformed.prom: line 4 is bad, so none of its lines count. */
	assert_int_equal(run_round_logged(&r, ROUND_TS,
					  "at=test/fixtures/textfile/b_malformed.prom:4 "
					  "err=\"label value \\\"unterminated} 2\\\" contains unescaped"),
			 1);
	assert_int_equal(r.rc, 0);
	assert_value(&r, "node_textfile_scrape_error{}", 1);
	assert_int_equal(count_named(&r, "malformed_first_total"), 0);
	assert_int_equal(count_named(&r, "malformed_third"), 0);
	assert_int_equal(count_named(&r, "malformed_second"), 0);

	/* a_good.prom, its client-side timestamp kept. */
	s = must_find(&r, "city_pm25{city=\"nyc\"}");
	assert_true(s->value == 6.51);
	assert_int_equal(s->timestamp_ms, 1720375200000LL);
	assert_family(&r, "city_pm25{city=\"nyc\"}", "city_pm25",
		      "Concentration of PM 2.5 in local city.\nUnits: \\mu g/m^3.", METRIC_GAUGE);
	assert_int_equal(must_find(&r, "job_runs_total{job_name=\"backup\",result=\"ok\"}")->timestamp_ms,
			 ROUND_TS);
	assert_value(&r, "job_runs_total{job_name=\"backup\",result=\"ok\"}", 42);
	assert_value(&r, "job_runs_total{job_name=\"backup\",result=\"failed\"}", 1);
	assert_family(&r, "job_runs_total{job_name=\"backup\",result=\"ok\"}", "job_runs_total",
		      "Metric read from test/fixtures/textfile/a_good.prom", METRIC_COUNTER);
	assert_value(&r, "backup_duration_seconds_bucket{le=\"60\"}", 3);
	assert_value(&r, "backup_duration_seconds_bucket{le=\"+Inf\"}", 4);
	assert_value(&r, "backup_duration_seconds_sum{}", 250.5);
	assert_value(&r, "backup_duration_seconds_count{}", 4);
	assert_family(&r, "backup_duration_seconds_sum{}", "backup_duration_seconds",
		      "How long backups took.", METRIC_HISTOGRAM);
	assert_family(&r, "backup_duration_seconds_bucket{le=\"60\"}", "backup_duration_seconds",
		      "How long backups took.", METRIC_HISTOGRAM);
	assert_value(&r, "no_help_metric{path=\"C:\\dir\",quote=\"say \"hi\"\"}", -INFINITY);
	assert_family(&r, "no_help_metric{path=\"C:\\dir\",quote=\"say \"hi\"\"}", "no_help_metric",
		      "Metric read from test/fixtures/textfile/a_good.prom", METRIC_UNTYPED);

	/* c_duplicate.prom: the series a_good.prom has already is not taken
	 * again, and within the file the first line wins. */
	assert_int_equal(count_named(&r, "job_runs_total"), 2);
	assert_value(&r, "dup_file_own{}", 7);
	assert_int_equal(count_named(&r, "dup_file_own"), 1);

	/* mtimes of the files read, d_empty.prom included; notes.txt is no .prom. */
	assert_int_equal(count_named(&r, "node_textfile_mtime_seconds"), 3);
	assert_value(&r, "node_textfile_mtime_seconds{file=\"test/fixtures/textfile/a_good.prom\"}",
		     file_mtime("test/fixtures/textfile/a_good.prom"));
	assert_value(&r, "node_textfile_mtime_seconds{file=\"test/fixtures/textfile/c_duplicate.prom\"}",
		     file_mtime("test/fixtures/textfile/c_duplicate.prom"));
	assert_value(&r, "node_textfile_mtime_seconds{file=\"test/fixtures/textfile/d_empty.prom\"}",
		     file_mtime("test/fixtures/textfile/d_empty.prom"));
	assert_family(&r, "node_textfile_mtime_seconds{file=\"test/fixtures/textfile/d_empty.prom\"}",
		      "node_textfile_mtime_seconds", "Unixtime mtime of textfiles successfully read.",
		      METRIC_GAUGE);
	assert_family(&r, "node_textfile_scrape_error{}", "node_textfile_scrape_error",
		      "1 if there was an error opening or reading a file, 0 otherwise", METRIC_GAUGE);
	/* 8 from a_good, 1 from c_duplicate, 3 mtimes, scrape_error. */
	assert_int_equal(r.n, 13);

	/* The same files next round: the same series, nothing stale, and the
	 * unchanged client-timestamped city_pm25 sample is not sent again. */
	run_round(&r, ROUND_TS + 15000);
	assert_int_equal(r.n, 12);
	assert_null(find(&r, "city_pm25{city=\"nyc\"}"));
	assert_value(&r, "dup_file_own{}", 7);
	run_stop(&r);
}

/* Late data (3 hours old) keeps its time. A file turning bad takes all its
 * series away (stale markers) and is logged once, not every interval; once
 * fixed and broken again, it is logged again. */
static void test_textfile_changes(void **state)
{
	struct textfile_opts opts = {0};
	struct tmpdir t;
	int64_t late = ((int64_t)time(NULL) - 3 * 3600) * 1000;
	const char *reading, *broken = "air_quality{city=\"nyc\"} 5.59 123 oops\n";
	char good[256], mtime_series[256];
	int logged;
	struct run r;
	(void)state;

	tmp_dir(&t);
	opts.directory = t.dir;
	snprintf(good, sizeof(good), "# TYPE air_quality gauge\nair_quality{city=\"nyc\"} 5.59 %lld\n",
		 (long long)late);
	reading = tmp_file(&t, "air.prom", good);
	run_start(&r, &collector_textfile, &opts, NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(must_find(&r, "air_quality{city=\"nyc\"}")->timestamp_ms, late);
	assert_value(&r, "air_quality{city=\"nyc\"}", 5.59);
	assert_value(&r, "node_textfile_scrape_error{}", 0);

	write_file(reading, broken);
	logged = run_round_logged(&r, ROUND_TS + 15000, "spurious string after timestamp");
	assert_value(&r, "node_textfile_scrape_error{}", 1);
	/* Both its series and its mtime go stale. */
	assert_true(isnan(must_find(&r, "air_quality{city=\"nyc\"}")->value));
	/* The marker goes after the reading it ends, whatever the round's time. */
	assert_true(must_find(&r, "air_quality{city=\"nyc\"}")->timestamp_ms > late);
	snprintf(mtime_series, sizeof(mtime_series), "node_textfile_mtime_seconds{file=\"%s\"}",
		 reading);
	assert_int_equal(count_named(&r, "node_textfile_mtime_seconds"), 1);
	assert_true(isnan(must_find(&r, mtime_series)->value));
	for (int i = 2; i <= 4; i++) {
		logged += run_round_logged(&r, ROUND_TS + i * 15000, "spurious string after timestamp");
		assert_value(&r, "node_textfile_scrape_error{}", 1);
		assert_null(find(&r, "air_quality{city=\"nyc\"}"));
	}
	assert_int_equal(logged, 1);
	/* Fixed, with a newer reading: it arrives at its own time. */
	snprintf(good, sizeof(good), "# TYPE air_quality gauge\nair_quality{city=\"nyc\"} 5.61 %lld\n",
		 (long long)(late + 60000));
	write_file(reading, good);
	run_round(&r, ROUND_TS + 5 * 15000);
	assert_value(&r, "node_textfile_scrape_error{}", 0);
	assert_value(&r, "air_quality{city=\"nyc\"}", 5.61);
	assert_int_equal(must_find(&r, "air_quality{city=\"nyc\"}")->timestamp_ms, late + 60000);
	write_file(reading, broken);
	assert_int_equal(run_round_logged(&r, ROUND_TS + 6 * 15000, "air.prom:1"), 1);
	run_stop(&r);
	tmp_cleanup(&t);
}

/* Unreadable entries (a directory, a FIFO named *.prom) and a missing
 * directory: scrape_error 1, no hang, the other files still read. */
static void test_textfile_unreadable(void **state)
{
	struct textfile_opts opts = {0};
	struct tmpdir t;
	char missing[128];
	struct run r;
	(void)state;

	tmp_dir(&t);
	opts.directory = t.dir;
	tmp_file(&t, "good.prom", "ok_metric 1\n");
	assert_int_equal(mkdir(tmp_file(&t, "dir.prom", NULL), 0755), 0);
	assert_int_equal(mkfifo(tmp_file(&t, "fifo.prom", NULL), 0644), 0);
	run_start(&r, &collector_textfile, &opts, NULL);
	assert_int_equal(run_round_logged(&r, ROUND_TS, "not a regular file"), 2);
	assert_value(&r, "node_textfile_scrape_error{}", 1);
	assert_value(&r, "ok_metric{}", 1);
	assert_int_equal(count_named(&r, "node_textfile_mtime_seconds"), 1);
	run_stop(&r);

	snprintf(missing, sizeof(missing), "%s/missing", t.dir);
	opts.directory = missing;
	run_start(&r, &collector_textfile, &opts, NULL);
	assert_int_equal(run_round_logged(&r, ROUND_TS, "textfile directory unreadable"), 1);
	assert_int_equal(run_round_logged(&r, ROUND_TS + 15000, "textfile directory unreadable"), 0);
	assert_int_equal(r.rc, 0); /* as node_exporter: the error is in the metric */
	assert_int_equal(r.n, 1);
	assert_value(&r, "node_textfile_scrape_error{}", 1);
	run_stop(&r);

	/* An empty directory option disables reading without an error. */
	opts.directory = "";
	run_start(&r, &collector_textfile, &opts, NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.n, 1);
	assert_value(&r, "node_textfile_scrape_error{}", 0);
	run_stop(&r);
	tmp_cleanup(&t);
}

/* The collector's own series names are not taken from files. */
static void test_textfile_reserved_names(void **state)
{
	struct textfile_opts opts = {0};
	struct tmpdir t;
	struct run r;
	(void)state;

	tmp_dir(&t);
	opts.directory = t.dir;
	tmp_file(&t, "x.prom", "node_textfile_scrape_error 0\nmine 2\n");
	run_start(&r, &collector_textfile, &opts, NULL);
	assert_int_equal(run_round_logged(&r, ROUND_TS, "duplicates=1"), 1);
	assert_value(&r, "mine{}", 2);
	assert_int_equal(count_named(&r, "node_textfile_scrape_error"), 1);
	assert_value(&r, "node_textfile_scrape_error{}", 0);
	run_stop(&r);
	tmp_cleanup(&t);
}

/* Four files for textfile_opts {dir, 200, 3, 4}: a_big.prom of 201 bytes,
 * b_many.prom of 4 series, c_wide.prom with a series of 5 labels, and
 * d_ok.prom within every bound. */
static void limits_dir(struct tmpdir *t, struct textfile_opts *opts)
{
	char text[256];

	tmp_dir(t);
	*opts = (struct textfile_opts){t->dir, 200, 3, 4};
	/* A comment line of 188 bytes, then big_metric 1. */
	snprintf(text, sizeof(text), "#%0186d\nbig_metric 1\n", 0);
	assert_int_equal(strlen(text), 201);
	tmp_file(t, "a_big.prom", text);
	tmp_file(t, "b_many.prom", "m 1\nn 2\no 3\np 4\n");
	tmp_file(t, "c_wide.prom", "w{a=\"1\",b=\"2\",c=\"3\",d=\"4\",e=\"5\"} 1\n");
	tmp_file(t, "d_ok.prom", "ok{a=\"1\",b=\"2\",c=\"3\",d=\"4\"} 1\nok2 2\nok3 3\n");
}

/* A file over max_file_bytes, one over max_series_per_file and one with a
 * series over max_labels_per_series are skipped whole, as a malformed file
 * is: scrape_error 1, none of their samples, one log line each however
 * many rounds it lasts (a growing file included), and again once the
 * condition went away and came back. */
static void test_textfile_limits(void **state)
{
	struct textfile_opts opts;
	char text[256];
	struct tmpdir t;
	struct run r;
	(void)state;

	limits_dir(&t, &opts);
	run_start(&r, &collector_textfile, &opts, NULL);
	assert_int_equal(run_round_logged(&r, ROUND_TS, "textfile skipped"), 3);
	assert_value(&r, "node_textfile_scrape_error{}", 1);
	assert_int_equal(count_named(&r, "big_metric") + count_named(&r, "m") +
			 count_named(&r, "p") + count_named(&r, "w"), 0);
	assert_value(&r, "ok{a=\"1\",b=\"2\",c=\"3\",d=\"4\"}", 1);
	assert_value(&r, "ok3{}", 3);
	assert_int_equal(count_named(&r, "node_textfile_mtime_seconds"), 1);
	/* Still too big, and growing: not logged again. */
	memset(text, '#', 250);
	text[250] = '\n', text[251] = '\0';
	write_file(t.path[0], text);
	assert_int_equal(run_round_logged(&r, ROUND_TS + 15000, "textfile skipped"), 0);
	assert_value(&r, "node_textfile_scrape_error{}", 1);
	/* Exactly max_file_bytes is read; the others fixed: no error. */
	snprintf(text, sizeof(text), "#%0185d\nbig_metric 1\n", 0);
	write_file(t.path[0], text);
	write_file(t.path[1], "m 1\nn 2\no 3\n");
	write_file(t.path[2], "w{a=\"1\",b=\"2\",c=\"3\",d=\"4\"} 1\n");
	assert_int_equal(run_round_logged(&r, ROUND_TS + 30000, "textfile skipped"), 0);
	assert_value(&r, "node_textfile_scrape_error{}", 0);
	assert_value(&r, "big_metric{}", 1);
	assert_value(&r, "m{}", 1);
	assert_value(&r, "w{a=\"1\",b=\"2\",c=\"3\",d=\"4\"}", 1);
	assert_int_equal(count_named(&r, "node_textfile_mtime_seconds"), 4);
	/* Too big again: logged again, its series go stale. */
	snprintf(text, sizeof(text), "#%0186d\nbig_metric 1\n", 0);
	write_file(t.path[0], text);
	assert_int_equal(run_round_logged(&r, ROUND_TS + 45000, "over max_file_bytes (200)"), 1);
	assert_true(isnan(must_find(&r, "big_metric{}")->value));
	assert_value(&r, "node_textfile_scrape_error{}", 1);
	run_stop(&r);
	tmp_cleanup(&t);
}

/* What the line logged for each bound says: the file, its size or the
 * line where the bound was passed, and the option's name. */
static void test_textfile_limit_messages(void **state)
{
	static const char *const said[] = {
		"a_big.prom size=201 err=\"over max_file_bytes (200)\"",
		"b_many.prom:4 err=\"more than 3 series (max_series_per_file)\"",
		"c_wide.prom:1 err=\"more than 4 labels for metric \\\"w\\\" (max_labels_per_series)\"",
	};
	struct textfile_opts opts;
	struct tmpdir t;
	struct run r;
	(void)state;

	limits_dir(&t, &opts);
	for (size_t i = 0; i < sizeof(said) / sizeof(said[0]); i++) {
		/* A new collector each time: the first round logs. */
		run_start(&r, &collector_textfile, &opts, NULL);
		if (run_round_logged(&r, ROUND_TS, said[i]) != 1)
			fail_msg("no line says %s", said[i]);
		run_stop(&r);
	}
	tmp_cleanup(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_cpu_linux6),
		cmocka_unit_test(test_cpu_linux26),
		cmocka_unit_test(test_cpu_monotonic),
		cmocka_unit_test(test_meminfo_linux6),
		cmocka_unit_test(test_meminfo_linux26),
		cmocka_unit_test(test_loadavg),
		cmocka_unit_test(test_missing_source),
		cmocka_unit_test(test_garbage_source),
		cmocka_unit_test(test_textfile_fixtures),
		cmocka_unit_test(test_textfile_changes),
		cmocka_unit_test(test_textfile_unreadable),
		cmocka_unit_test(test_textfile_reserved_names),
		cmocka_unit_test(test_textfile_limits),
		cmocka_unit_test(test_textfile_limit_messages),
	};

	return cmocka_run_group_tests_name("collectors", tests, NULL, NULL);
}
