/* SPDX-License-Identifier: MIT */
/* The system collectors (pressure, filefd, conntrack, schedstat, uname,
 * os, time) against fixture trees and a real registry: the exact series,
 * values, HELP and types they emit, which are node_exporter 1.5's (the
 * clocksource expectations are what node_exporter 1.5.0 itself printed for
 * test/fixtures/hw/sys); the table of the system collectors (with the
 * filesystem collector's options) and their missing-source contract.
 * cpufreq, hwmon and thermal_zone are in test_collectors_hw.c, filesystem
 * in test_collectors_filesystem.c. Run from the repository root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/clock.h"
#include "collectors/all.h"
#include "collectors/filesystem.h"
#include "series/registry.h"

#define ROUND_TS 1700000000000LL
#define SERIES_TEXT_MAX 1024
#define FIX "test/fixtures/"

#define VALUE_REL_TOL 1e-12
#define MUST_FIND_LISTS

#include "collector_harness.h"
#include "sys_harness.h"

/* ---- the table -------------------------------------------------------- */

static const struct collector *find_collector(const char *name)
{
	for (size_t i = 0; i < collector_count; i++)
		if (!strcmp(collector_table[i]->name, name))
			return collector_table[i];
	return NULL;
}

static void test_table(void **state)
{
	static const char *const names[] = {"filesystem", "pressure", "filefd",   "conntrack",
					    "schedstat",  "uname",    "os",       "time",
					    "cpufreq",    "hwmon",    "thermal_zone"};
	const struct opt_desc *o = collector_filesystem.opts;
	(void)state;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct collector *c = find_collector(names[i]);
		if (!c)
			fail_msg("collector %s not in the table", names[i]);
		assert_true(c->default_enabled);
		assert_non_null(c->update);
	}
	assert_int_equal(collector_filesystem.opts_size, sizeof(struct filesystem_opts));
	assert_string_equal(o[0].name, "mount_points_exclude");
	assert_int_equal(o[0].type, OPT_REGEX);
	assert_string_equal(o[0].default_value, "^/(dev|proc|run/credentials/.+|sys|"
						"var/lib/docker/.+|var/lib/containers/storage/.+)($|/)");
	assert_int_equal(o[0].offset, offsetof(struct filesystem_opts, mount_points_exclude));
	assert_string_equal(o[1].name, "fs_types_exclude");
	assert_int_equal(o[1].type, OPT_REGEX);
	assert_string_equal(o[1].default_value,
			    "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|"
			    "fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|"
			    "rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$");
	assert_string_equal(o[2].name, "stat_timeout");
	assert_int_equal(o[2].type, OPT_DURATION);
	assert_string_equal(o[2].default_value, "5s");
	assert_string_equal(o[3].name, "stat_workers");
	assert_int_equal(o[3].type, OPT_INT);
	assert_string_equal(o[3].default_value, "4");
	assert_null(o[4].name);
}

/* ---- pressure --------------------------------------------------------- */

static void test_pressure_linux61(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_pressure, NULL, FIX "linux-6.1/proc");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	/* cpu's "full" line is there but 1.5 does not expose it */
	assert_int_equal(r.n, 5);
	assert_value(&r, "node_pressure_cpu_waiting_seconds_total{}", 13080678 / 1000.0 / 1000.0);
	assert_value(&r, "node_pressure_io_waiting_seconds_total{}", 6525054 / 1000.0 / 1000.0);
	assert_value(&r, "node_pressure_io_stalled_seconds_total{}", 6.145564);
	assert_value(&r, "node_pressure_memory_waiting_seconds_total{}", 1.500001);
	assert_value(&r, "node_pressure_memory_stalled_seconds_total{}", 0.25);
	assert_family(&r, "node_pressure_cpu_waiting_seconds_total{}",
		      "node_pressure_cpu_waiting_seconds_total",
		      "Total time in seconds that processes have waited for CPU time", METRIC_COUNTER);
	assert_family(&r, "node_pressure_io_waiting_seconds_total{}",
		      "node_pressure_io_waiting_seconds_total",
		      "Total time in seconds that processes have waited due to IO congestion",
		      METRIC_COUNTER);
	assert_family(&r, "node_pressure_io_stalled_seconds_total{}",
		      "node_pressure_io_stalled_seconds_total",
		      "Total time in seconds no process could make progress due to IO congestion",
		      METRIC_COUNTER);
	assert_family(&r, "node_pressure_memory_waiting_seconds_total{}",
		      "node_pressure_memory_waiting_seconds_total",
		      "Total time in seconds that processes have waited for memory", METRIC_COUNTER);
	assert_family(&r, "node_pressure_memory_stalled_seconds_total{}",
		      "node_pressure_memory_stalled_seconds_total",
		      "Total time in seconds no process could make progress due to memory congestion",
		      METRIC_COUNTER);
	run_stop(&r);
}

/* Linux 5.4: no "full" line in pressure/cpu. */
static void test_pressure_linux54(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_pressure, NULL, FIX "linux-5.4/proc");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 5);
	assert_value(&r, "node_pressure_cpu_waiting_seconds_total{}", 0.052371);
	assert_value(&r, "node_pressure_io_waiting_seconds_total{}", 2);
	assert_value(&r, "node_pressure_io_stalled_seconds_total{}", 1);
	assert_value(&r, "node_pressure_memory_waiting_seconds_total{}", 0);
	assert_value(&r, "node_pressure_memory_stalled_seconds_total{}", 0);
	run_stop(&r);
}

/* No PSI (kernel < 4.20, or psi=0): -1, nothing. Only cpu there: what was
 * read before the missing file stays, the update fails (node_exporter). */
static void test_pressure_missing(void **state)
{
	struct tmpdir t;
	char path[256];
	struct run r;
	(void)state;

	run_start(&r, &collector_pressure, NULL, FIX "no-such-dir/proc");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	run_stop(&r);

	tmp_dir(&t);
	tmp_file(&t, "pressure/cpu", "some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n", path,
		 sizeof(path));
	run_start(&r, &collector_pressure, NULL, t.dir);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 1);
	assert_value(&r, "node_pressure_cpu_waiting_seconds_total{}", 7e-6);
	run_stop(&r);
	tmp_cleanup(&t);
}

/* ---- filefd ----------------------------------------------------------- */

static void test_filefd(void **state)
{
	struct tmpdir t;
	char path[256];
	struct run r;
	(void)state;

	run_start(&r, &collector_filefd, NULL, FIX "linux-6.1/proc");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 2);
	assert_value(&r, "node_filefd_allocated{}", 1174);
	assert_value(&r, "node_filefd_maximum{}", 2466170);
	assert_family(&r, "node_filefd_allocated{}", "node_filefd_allocated",
		      "File descriptor statistics: allocated.", METRIC_GAUGE);
	assert_family(&r, "node_filefd_maximum{}", "node_filefd_maximum",
		      "File descriptor statistics: maximum.", METRIC_GAUGE);
	run_stop(&r);

	tmp_dir(&t);
	tmp_file(&t, "sys/fs/file-nr", "12\t0\n", path, sizeof(path));
	run_start(&r, &collector_filefd, NULL, t.dir);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	run_stop(&r);
	tmp_cleanup(&t);
}

/* ---- conntrack -------------------------------------------------------- */

static void test_conntrack(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_conntrack, NULL, FIX "linux-6.1/proc");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 10);
	assert_value(&r, "node_nf_conntrack_entries{}", 123);
	assert_value(&r, "node_nf_conntrack_entries_limit{}", 262144);
	/* the two CPU lines summed, hex */
	assert_value(&r, "node_nf_conntrack_stat_found{}", 0xa + 0x5);
	assert_value(&r, "node_nf_conntrack_stat_invalid{}", 0x10 + 0x1);
	assert_value(&r, "node_nf_conntrack_stat_ignore{}", 0xff + 0x1);
	assert_value(&r, "node_nf_conntrack_stat_insert{}", 0x20 + 0x100);
	assert_value(&r, "node_nf_conntrack_stat_insert_failed{}", 1);
	assert_value(&r, "node_nf_conntrack_stat_drop{}", 3);
	assert_value(&r, "node_nf_conntrack_stat_early_drop{}", 3);
	assert_value(&r, "node_nf_conntrack_stat_search_restart{}", 0x4 + 0xc);
	assert_family(&r, "node_nf_conntrack_entries{}", "node_nf_conntrack_entries",
		      "Number of currently allocated flow entries for connection tracking.",
		      METRIC_GAUGE);
	assert_family(&r, "node_nf_conntrack_entries_limit{}", "node_nf_conntrack_entries_limit",
		      "Maximum size of connection tracking table.", METRIC_GAUGE);
	assert_family(&r, "node_nf_conntrack_stat_early_drop{}",
		      "node_nf_conntrack_stat_early_drop",
		      "Number of dropped conntrack entries to make room for new ones, if maximum "
		      "table size was reached.", METRIC_GAUGE);
	assert_family(&r, "node_nf_conntrack_stat_search_restart{}",
		      "node_nf_conntrack_stat_search_restart",
		      "Number of conntrack table lookups which had to be restarted due to hashtable "
		      "resizes.", METRIC_GAUGE);
	run_stop(&r);
}

/* Without the nf_conntrack module: -1 and nothing; without the stat file:
 * the two entries series, and -1 as node_exporter. */
static void test_conntrack_missing(void **state)
{
	struct tmpdir t;
	char path[256];
	struct run r;
	(void)state;

	tmp_dir(&t);
	run_start(&r, &collector_conntrack, NULL, t.dir);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	run_stop(&r);

	tmp_file(&t, "sys/net/netfilter/nf_conntrack_count", "5\n", path, sizeof(path));
	tmp_file(&t, "sys/net/netfilter/nf_conntrack_max", "65536\n", path, sizeof(path));
	run_start(&r, &collector_conntrack, NULL, t.dir);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 2);
	assert_value(&r, "node_nf_conntrack_entries{}", 5);
	assert_value(&r, "node_nf_conntrack_entries_limit{}", 65536);
	run_stop(&r);
	tmp_cleanup(&t);
}

/* ---- schedstat -------------------------------------------------------- */

static void test_schedstat(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_schedstat, NULL, FIX "linux-6.1/proc");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 6);
	assert_value(&r, "node_schedstat_running_seconds_total{cpu=\"0\"}", 2155722375331 / 1e9);
	assert_value(&r, "node_schedstat_waiting_seconds_total{cpu=\"0\"}", 199816226713 / 1e9);
	assert_value(&r, "node_schedstat_timeslices_total{cpu=\"0\"}", 26343041);
	assert_value(&r, "node_schedstat_running_seconds_total{cpu=\"1\"}", 1835618298404 / 1e9);
	assert_value(&r, "node_schedstat_waiting_seconds_total{cpu=\"1\"}", 155476883924 / 1e9);
	assert_value(&r, "node_schedstat_timeslices_total{cpu=\"1\"}", 22618467);
	assert_family(&r, "node_schedstat_running_seconds_total{cpu=\"0\"}",
		      "node_schedstat_running_seconds_total",
		      "Number of seconds CPU spent running a process.", METRIC_COUNTER);
	assert_family(&r, "node_schedstat_waiting_seconds_total{cpu=\"0\"}",
		      "node_schedstat_waiting_seconds_total",
		      "Number of seconds spent by processing waiting for this CPU.", METRIC_COUNTER);
	assert_family(&r, "node_schedstat_timeslices_total{cpu=\"1\"}",
		      "node_schedstat_timeslices_total", "Number of timeslices executed by CPU.",
		      METRIC_COUNTER);
	run_stop(&r);

	/* no CONFIG_SCHEDSTATS (this test machine's kernel): -1 */
	run_start(&r, &collector_schedstat, NULL, FIX "linux-5.4/proc");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	run_stop(&r);
}

/* ---- uname ------------------------------------------------------------ */

static void test_uname(void **state)
{
	struct utsname u;
	char want[SERIES_TEXT_MAX];
	struct run r;
	(void)state;

	assert_int_equal(uname(&u), 0);
	run_start(&r, &collector_uname, NULL, NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 1);
	/* an empty domainname (no "(none)") would be dropped, as Prometheus does */
	snprintf(want, sizeof(want),
		 "node_uname_info{domainname=\"%s\",machine=\"%s\",nodename=\"%s\",release=\"%s\","
		 "sysname=\"%s\",version=\"%s\"}",
		 u.domainname, u.machine, u.nodename, u.release, u.sysname, u.version);
	assert_value(&r, want, 1);
	assert_family(&r, want, "node_uname_info",
		      "Labeled system information as provided by the uname system call.",
		      METRIC_GAUGE);
	run_stop(&r);
}

/* ---- os --------------------------------------------------------------- */

static void test_os_quoting(void **state)
{
	struct run r;
	(void)state;

	run_start_fs(&r, &collector_os, NULL, NULL, NULL, FIX "rootfs");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 2);
	/* VERSION_CODENAME="" is dropped as an empty label; BAD_QUOTE (no
	 * closing quote) is skipped; IMAGE_VERSION = spaced is read as
	 * go-envparse reads it. */
	assert_value(&r,
		     "node_os_info{build_id=\"b 42\",id=\"fedora\",id_like=\"rhel centos\","
		     "image_id=\"abcd\",image_version=\"spaced\",name=\"Fedora Linux\","
		     "pretty_name=\"Fedora Linux 38 (Workstation \"Edition\")\","
		     "variant=\"Workstation \"Edition\" $HOME \\ `x` \\n\","
		     "variant_id=\"workstation\",version=\"38 (Workstation Edition)\","
		     "version_id=\"38.1.5\"}",
		     1);
	assert_value(&r, "node_os_version{id=\"fedora\",id_like=\"rhel centos\",name=\"Fedora Linux\"}",
		     38.1);
	assert_family(&r,
		      "node_os_version{id=\"fedora\",id_like=\"rhel centos\",name=\"Fedora Linux\"}",
		      "node_os_version", "Metric containing the major.minor part of the OS version.",
		      METRIC_GAUGE);
	run_stop(&r);
}

/* No etc/os-release: usr/lib/os-release; neither: -1. */
static void test_os_fallback(void **state)
{
	struct run r;
	const char *info = "node_os_info{id=\"ubuntu\",id_like=\"debian\",name=\"Ubuntu\","
			   "pretty_name=\"Ubuntu 22.04.3 LTS\",version=\"22.04.3 LTS (Jammy "
			   "Jellyfish)\",version_codename=\"jammy\",version_id=\"22.04\"}";
	(void)state;

	run_start_fs(&r, &collector_os, NULL, NULL, NULL, FIX "rootfs-usrlib");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 2);
	assert_value(&r, info, 1);
	assert_family(&r, info, "node_os_info",
		      "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, "
		      "image_version, name, pretty_name, variant, variant_id, version, "
		      "version_codename, version_id.",
		      METRIC_GAUGE);
	assert_value(&r, "node_os_version{id=\"ubuntu\",id_like=\"debian\",name=\"Ubuntu\"}", 22.04);
	run_stop(&r);

	run_start_fs(&r, &collector_os, NULL, NULL, NULL, FIX "no-such-dir");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	run_stop(&r);
}

/* VERSION_ID without a leading number: no node_os_version. */
static void test_os_versions(void **state)
{
	static const struct {
		const char *text;
		double version; /* 0: no series */
	} cases[] = {
		{"ID=arch\nVERSION_ID=rolling\n", 0},
		{"ID=centos\nVERSION_ID=\"7.9.2009\"\n", 7.9},
		{"ID=alpine\r\nVERSION_ID=3\r\n", 3},
		{"ID=x\nVERSION_ID=0\n", 0},
		{"ID=x\n", 0},
	};
	struct tmpdir t;
	char path[256];
	struct run r;
	(void)state;

	tmp_dir(&t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tmp_file(&t, "etc/os-release", cases[i].text, path, sizeof(path));
		run_start_fs(&r, &collector_os, NULL, NULL, NULL, t.dir);
		run_round(&r, ROUND_TS);
		assert_int_equal(r.rc, 0);
		assert_int_equal(count_named(&r, "node_os_info"), 1);
		assert_int_equal(count_named(&r, "node_os_version"), cases[i].version > 0);
		if (cases[i].version > 0)
			assert_true(r.samples[r.n - 1].value == cases[i].version ||
				    r.samples[0].value == cases[i].version);
		run_stop(&r);
	}
	tmp_cleanup(&t);
}

/* ---- time ------------------------------------------------------------- */

static void test_time(void **state)
{
	struct run r;
	double now;
	(void)state;

	setenv("TZ", "XYZ-3", 1); /* a zone 3 h east of UTC, read at init */
	run_start_fs(&r, &collector_time, NULL, NULL, FIX "hw/sys", NULL);
	now = (double)wall_ms() / 1000.0;
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 6);
	assert_near(&r, "node_time_seconds{}", now, 2);
	assert_value(&r, "node_time_zone_offset_seconds{time_zone=\"XYZ\"}", 3 * 3600);
	assert_value(&r, "node_time_clocksource_available_info{clocksource=\"tsc\",device=\"0\"}", 1);
	assert_value(&r, "node_time_clocksource_available_info{clocksource=\"hpet\",device=\"0\"}", 1);
	assert_value(&r, "node_time_clocksource_available_info{clocksource=\"acpi_pm\",device=\"0\"}",
		     1);
	assert_value(&r, "node_time_clocksource_current_info{clocksource=\"tsc\",device=\"0\"}", 1);
	assert_family(&r, "node_time_seconds{}", "node_time_seconds",
		      "System time in seconds since epoch (1970).", METRIC_GAUGE);
	assert_family(&r, "node_time_zone_offset_seconds{time_zone=\"XYZ\"}",
		      "node_time_zone_offset_seconds", "System time zone offset in seconds.",
		      METRIC_GAUGE);
	assert_family(&r, "node_time_clocksource_available_info{clocksource=\"tsc\",device=\"0\"}",
		      "node_time_clocksource_available_info",
		      "Available clocksources read from '/sys/devices/system/clocksource'.",
		      METRIC_GAUGE);
	assert_family(&r, "node_time_clocksource_current_info{clocksource=\"tsc\",device=\"0\"}",
		      "node_time_clocksource_current_info",
		      "Current clocksource read from '/sys/devices/system/clocksource'.",
		      METRIC_GAUGE);
	run_stop(&r);

	/* no clocksource directory: the two time series, success */
	setenv("TZ", "UTC", 1);
	run_start_fs(&r, &collector_time, NULL, NULL, FIX "no-such-dir", NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 2);
	assert_value(&r, "node_time_zone_offset_seconds{time_zone=\"UTC\"}", 0);
	run_stop(&r);
	unsetenv("TZ");
	tzset();
}

/* ---- the missing-source contract ----------------------------------- */

static void test_missing_sources(void **state)
{
	const struct collector *const need_source[] = {
		&collector_filesystem, &collector_pressure, &collector_filefd, &collector_conntrack,
		&collector_schedstat, &collector_os, &collector_cpufreq, &collector_hwmon};
	const char *none = FIX "no-such-dir";
	struct run r;
	(void)state;

	for (size_t i = 0; i < sizeof(need_source) / sizeof(need_source[0]); i++) {
		run_start_fs(&r, need_source[i], NULL, none, none, none);
		run_round(&r, ROUND_TS);
		if (r.rc != -1 || r.n != 0)
			fail_msg("%s: rc %d, %zu samples", need_source[i]->name, r.rc, r.n);
		run_stop(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_pressure_linux61),
		cmocka_unit_test(test_pressure_linux54),
		cmocka_unit_test(test_pressure_missing),
		cmocka_unit_test(test_filefd),
		cmocka_unit_test(test_conntrack),
		cmocka_unit_test(test_conntrack_missing),
		cmocka_unit_test(test_schedstat),
		cmocka_unit_test(test_uname),
		cmocka_unit_test(test_os_quoting),
		cmocka_unit_test(test_os_fallback),
		cmocka_unit_test(test_os_versions),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_missing_sources),
	};

	return cmocka_run_group_tests_name("collectors_sys", tests, NULL, NULL);
}
