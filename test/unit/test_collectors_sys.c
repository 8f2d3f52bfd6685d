/* The system collectors (filesystem, pressure, filefd, conntrack, schedstat,
 * uname, os, time, cpufreq, hwmon, thermal_zone) against fixture trees and a
 * real registry: the exact series, values, HELP and types they emit, which
 * are node_exporter 1.5's (the hwmon, cpufreq, thermal and clocksource
 * expectations are what node_exporter 1.5.0 itself printed for
 * test/fixtures/hw/sys). The filesystem collector also against this
 * machine's real statfs(2), a statfs that blocks (injected), and, as root
 * with /dev/fuse, a real FUSE mount whose daemon never answers.
 * Run from the repository root. */
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
#include "collectors/filesystem_test.h"
#include "series/registry.h"

#define ROUND_TS 1700000000000LL
#define SERIES_TEXT_MAX 1024
#define FIX "test/fixtures/"

#define VALUE_REL_TOL 1e-12
#define MUST_FIND_LISTS

#include "collector_harness.h"

static void run_start(struct run *r, const struct collector *c, const void *opts,
		      const char *procfs)
{
	run_start_fs(r, c, opts, procfs, NULL, NULL);
}

/* Within tol (free space moves while the test runs). */
static void assert_near(const struct run *r, const char *want, double value, double tol)
{
	const struct sample *s = must_find(r, want);

	if (!(fabs(s->value - value) <= tol))
		fail_msg("%s = %.17g, want %.17g +- %g", want, s->value, value, tol);
}

/* A scratch tree under /tmp, removed with everything in it. */
struct tmpdir {
	char dir[64];
};

static void tmp_dir(struct tmpdir *t)
{
	strcpy(t->dir, "/tmp/bpfpush-sys-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
}

/* dir/rel, its parent directories made; written with text unless NULL. */
static const char *tmp_file(struct tmpdir *t, const char *rel, const char *text, char *path,
			    size_t size)
{
	snprintf(path, size, "%s/%s", t->dir, rel);
	for (char *p = path + strlen(t->dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	if (text)
		write_file(path, text);
	return path;
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[512];

	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR)
			remove_tree(sub);
		else
			unlink(sub);
	}
	closedir(d);
	rmdir(path);
}

static void tmp_cleanup(struct tmpdir *t)
{
	remove_tree(t->dir);
}

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

/* ---- cpufreq ---------------------------------------------------------- */

static void test_cpufreq(void **state)
{
	struct run r;
	(void)state;

	run_start_fs(&r, &collector_cpufreq, NULL, NULL, FIX "hw/sys", NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	/* cpu0: all six; cpu1: no cpuinfo_cur_freq (root only); cpu2: no cpufreq */
	assert_int_equal(r.n, 11);
	assert_value(&r, "node_cpu_frequency_hertz{cpu=\"0\"}", 1800000000.0);
	assert_value(&r, "node_cpu_frequency_min_hertz{cpu=\"0\"}", 800000000.0);
	assert_value(&r, "node_cpu_frequency_max_hertz{cpu=\"0\"}", 2400000000.0);
	assert_value(&r, "node_cpu_scaling_frequency_hertz{cpu=\"0\"}", 1799998000.0);
	assert_value(&r, "node_cpu_scaling_frequency_min_hertz{cpu=\"0\"}", 800000000.0);
	assert_value(&r, "node_cpu_scaling_frequency_max_hertz{cpu=\"0\"}", 2400000000.0);
	assert_null(find(&r, "node_cpu_frequency_hertz{cpu=\"1\"}"));
	assert_value(&r, "node_cpu_frequency_min_hertz{cpu=\"1\"}", 800000000.0);
	assert_value(&r, "node_cpu_frequency_max_hertz{cpu=\"1\"}", 3500000000.0);
	assert_value(&r, "node_cpu_scaling_frequency_hertz{cpu=\"1\"}", 3200000000.0);
	assert_value(&r, "node_cpu_scaling_frequency_min_hertz{cpu=\"1\"}", 1200000000.0);
	assert_value(&r, "node_cpu_scaling_frequency_max_hertz{cpu=\"1\"}", 3500000000.0);
	assert_int_equal(count_named(&r, "node_cpu_scaling_governor"), 0); /* 1.6 */
	assert_family(&r, "node_cpu_frequency_hertz{cpu=\"0\"}", "node_cpu_frequency_hertz",
		      "Current cpu thread frequency in hertz.", METRIC_GAUGE);
	assert_family(&r, "node_cpu_frequency_min_hertz{cpu=\"0\"}", "node_cpu_frequency_min_hertz",
		      "Minimum cpu thread frequency in hertz.", METRIC_GAUGE);
	assert_family(&r, "node_cpu_frequency_max_hertz{cpu=\"0\"}", "node_cpu_frequency_max_hertz",
		      "Maximum cpu thread frequency in hertz.", METRIC_GAUGE);
	assert_family(&r, "node_cpu_scaling_frequency_hertz{cpu=\"0\"}",
		      "node_cpu_scaling_frequency_hertz",
		      "Current scaled CPU thread frequency in hertz.", METRIC_GAUGE);
	assert_family(&r, "node_cpu_scaling_frequency_min_hertz{cpu=\"0\"}",
		      "node_cpu_scaling_frequency_min_hertz",
		      "Minimum scaled CPU thread frequency in hertz.", METRIC_GAUGE);
	assert_family(&r, "node_cpu_scaling_frequency_max_hertz{cpu=\"0\"}",
		      "node_cpu_scaling_frequency_max_hertz",
		      "Maximum scaled CPU thread frequency in hertz.", METRIC_GAUGE);
	run_stop(&r);
}

/* A VM: CPUs without cpufreq, success and nothing (node_exporter); no CPU
 * directory at all: -1; a value that is no number: -1 and nothing. */
static void test_cpufreq_absent(void **state)
{
	struct tmpdir t;
	char path[256];
	struct run r;
	(void)state;

	tmp_dir(&t);
	tmp_file(&t, "devices/system/cpu/cpu0/online", "1\n", path, sizeof(path));
	tmp_file(&t, "devices/system/cpu/cpu1/online", "1\n", path, sizeof(path));
	run_start_fs(&r, &collector_cpufreq, NULL, NULL, t.dir, NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 0);

	tmp_file(&t, "devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", "<unknown>\n", path,
		 sizeof(path));
	tmp_file(&t, "devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "1000\n", path,
		 sizeof(path));
	run_round(&r, ROUND_TS + 15000);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	run_stop(&r);
	tmp_cleanup(&t);

	run_start_fs(&r, &collector_cpufreq, NULL, NULL, FIX "no-such-dir", NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	run_stop(&r);
}

/* ---- hwmon ------------------------------------------------------------ */

struct expect {
	const char *series;
	double value;
};

/* What node_exporter 1.5.0 printed for test/fixtures/hw/sys. */
static const struct expect hwmon_expected[] = {
	{"node_hwmon_beep_enabled{chip=\"pci0000:00_0000:00:18_3\",sensor=\"beep_enable0\"}", 1},
	{"node_hwmon_chip_names{chip=\"acpitz\",chip_name=\"acpitz\"}", 1},
	{"node_hwmon_chip_names{chip=\"pci0000:00_0000:00:18_3\",chip_name=\"k10temp\"}", 1},
	{"node_hwmon_chip_names{chip=\"platform_coretemp_0\",chip_name=\"coretemp\"}", 1},
	{"node_hwmon_cpu_vid_volts{chip=\"pci0000:00_0000:00:18_3\",sensor=\"cpu0\"}", 1.25},
	{"node_hwmon_curr_amps{chip=\"pci0000:00_0000:00:18_3\",sensor=\"curr1\"}", 1.5},
	{"node_hwmon_energy_joule_total{chip=\"pci0000:00_0000:00:18_3\",sensor=\"energy1\"}",
	 123.456789},
	{"node_hwmon_fan_alarm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan1\"}", 0},
	{"node_hwmon_fan_div{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan1\"}", 8},
	{"node_hwmon_fan_fault{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan1\"}", 0},
	{"node_hwmon_fan_min_rpm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan1\"}", 300},
	{"node_hwmon_fan_rpm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan1\"}", 1200},
	{"node_hwmon_fan_rpm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan2\"}", 900},
	{"node_hwmon_fan_target_rpm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan1\"}", 1500},
	{"node_hwmon_humidity{chip=\"pci0000:00_0000:00:18_3\",sensor=\"humidity1\"}", 0.045},
	{"node_hwmon_in_alarm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"in1\"}", 1},
	{"node_hwmon_in_beep_enabled{chip=\"pci0000:00_0000:00:18_3\",sensor=\"in1\"}", 1},
	{"node_hwmon_in_volts{chip=\"pci0000:00_0000:00:18_3\",sensor=\"in0\"}", 1.2},
	{"node_hwmon_in_volts{chip=\"pci0000:00_0000:00:18_3\",sensor=\"in1\"}", 3312 * 0.001},
	{"node_hwmon_intrusion_alarm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"intrusion0\"}", 0},
	{"node_hwmon_power_accuracy{chip=\"pci0000:00_0000:00:18_3\",sensor=\"power1\"}", 0.5},
	{"node_hwmon_power_average_interval_seconds{chip=\"pci0000:00_0000:00:18_3\","
	 "sensor=\"power1\"}", 1},
	{"node_hwmon_power_average_watt{chip=\"pci0000:00_0000:00:18_3\",sensor=\"power1\"}", 15},
	{"node_hwmon_power_cap_watt{chip=\"pci0000:00_0000:00:18_3\",sensor=\"power1\"}", 95},
	{"node_hwmon_pwm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"pwm1\"}", 128},
	{"node_hwmon_pwm_enable{chip=\"pci0000:00_0000:00:18_3\",sensor=\"pwm1\"}", 2},
	{"node_hwmon_sensor_label{chip=\"pci0000:00_0000:00:18_3\",label=\"Tdie\",sensor=\"temp1\"}",
	 1},
	{"node_hwmon_sensor_label{chip=\"pci0000:00_0000:00:18_3\",label=\"Vcore (CPU)\","
	 "sensor=\"in0\"}", 1},
	{"node_hwmon_sensor_label{chip=\"platform_coretemp_0\",label=\"Core 0\",sensor=\"temp2\"}", 1},
	{"node_hwmon_sensor_label{chip=\"platform_coretemp_0\",label=\"Package id 0\","
	 "sensor=\"temp1\"}", 1},
	{"node_hwmon_temp_celsius{chip=\"acpitz\",sensor=\"temp1\"}", 27.8},
	{"node_hwmon_temp_celsius{chip=\"hwmon3\",sensor=\"temp1\"}", 30},
	{"node_hwmon_temp_celsius{chip=\"pci0000:00_0000:00:18_3\",sensor=\"temp1\"}", 61.25},
	{"node_hwmon_temp_celsius{chip=\"pci0000:00_0000:00:18_3\",sensor=\"temp3\"}", 40},
	{"node_hwmon_temp_celsius{chip=\"pci0000:00_0000:00:18_3\",sensor=\"temp5\"}", 0.001},
	{"node_hwmon_temp_celsius{chip=\"platform_coretemp_0\",sensor=\"temp1\"}", 55},
	{"node_hwmon_temp_celsius{chip=\"platform_coretemp_0\",sensor=\"temp2\"}", 54},
	{"node_hwmon_temp_crit_alarm_celsius{chip=\"platform_coretemp_0\",sensor=\"temp1\"}", 0},
	{"node_hwmon_temp_crit_celsius{chip=\"acpitz\",sensor=\"temp1\"}", 105},
	{"node_hwmon_temp_crit_celsius{chip=\"platform_coretemp_0\",sensor=\"temp1\"}", 100},
	{"node_hwmon_temp_input_celsius{chip=\"pci0000:00_0000:00:18_3\",sensor=\"temp5\"}", 33},
	{"node_hwmon_temp_max_celsius{chip=\"platform_coretemp_0\",sensor=\"temp1\"}", 80},
	{"node_hwmon_temp_type{chip=\"pci0000:00_0000:00:18_3\",sensor=\"temp3\"}", 4},
	{"node_hwmon_update_interval_seconds{chip=\"pci0000:00_0000:00:18_3\","
	 "sensor=\"update_interval0\"}", 0.5},
	{"node_hwmon_voltage_regulator_version{chip=\"pci0000:00_0000:00:18_3\",sensor=\"vrm0\"}",
	 91},
};

static void test_hwmon(void **state)
{
	const size_t n = sizeof(hwmon_expected) / sizeof(hwmon_expected[0]);
	struct run r;
	(void)state;

	run_start_fs(&r, &collector_hwmon, NULL, NULL, FIX "hw/sys", NULL);
	for (int round = 0; round < 2; round++) {
		run_round(&r, ROUND_TS + round * 15000);
		assert_int_equal(r.rc, 0);
		/* temp7_input ("notanumber") and non-sensor files give nothing */
		assert_int_equal(r.n, n);
		for (size_t i = 0; i < n; i++)
			assert_value(&r, hwmon_expected[i].series, hwmon_expected[i].value);
	}
	assert_family(&r, "node_hwmon_temp_celsius{chip=\"acpitz\",sensor=\"temp1\"}",
		      "node_hwmon_temp_celsius", "Hardware monitor for temperature (input)",
		      METRIC_GAUGE);
	assert_family(&r, "node_hwmon_temp_crit_alarm_celsius{chip=\"platform_coretemp_0\","
			  "sensor=\"temp1\"}",
		      "node_hwmon_temp_crit_alarm_celsius",
		      "Hardware monitor for temperature (crit_alarm)", METRIC_GAUGE);
	assert_family(&r, "node_hwmon_energy_joule_total{chip=\"pci0000:00_0000:00:18_3\","
			  "sensor=\"energy1\"}",
		      "node_hwmon_energy_joule_total",
		      "Hardware monitor for joules used so far (input)", METRIC_COUNTER);
	assert_family(&r, "node_hwmon_fan_alarm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan1\"}",
		      "node_hwmon_fan_alarm", "Hardware sensor alarm status (fan)", METRIC_GAUGE);
	assert_family(&r, "node_hwmon_pwm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"pwm1\"}",
		      "node_hwmon_pwm", "Hardware monitor pwm element ", METRIC_GAUGE);
	assert_family(&r, "node_hwmon_humidity{chip=\"pci0000:00_0000:00:18_3\","
			  "sensor=\"humidity1\"}",
		      "node_hwmon_humidity",
		      "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the "
		      "humidity as a percentage) (input)", METRIC_GAUGE);
	assert_family(&r, "node_hwmon_chip_names{chip=\"acpitz\",chip_name=\"acpitz\"}",
		      "node_hwmon_chip_names", "Annotation metric for human-readable chip names",
		      METRIC_GAUGE);
	assert_family(&r, "node_hwmon_sensor_label{chip=\"platform_coretemp_0\",label=\"Core 0\","
			  "sensor=\"temp2\"}",
		      "node_hwmon_sensor_label", "Label for given chip and sensor", METRIC_GAUGE);
	run_stop(&r);

	/* no hwmon class (this VM): -1, as node_exporter */
	run_start_fs(&r, &collector_hwmon, NULL, NULL, FIX "no-such-dir", NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	run_stop(&r);
}

/* ---- thermal_zone ----------------------------------------------------- */

static void test_thermal_zone(void **state)
{
	struct run r;
	(void)state;

	run_start_fs(&r, &collector_thermal_zone, NULL, NULL, FIX "hw/sys", NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	/* thermal_zone2 has no temp: left out, the others kept */
	assert_int_equal(r.n, 6);
	assert_value(&r, "node_thermal_zone_temp{type=\"acpitz\",zone=\"0\"}", 27.8);
	assert_value(&r, "node_thermal_zone_temp{type=\"x86_pkg_temp\",zone=\"1\"}", 55);
	assert_value(&r, "node_cooling_device_cur_state{name=\"0\",type=\"Processor\"}", 0);
	assert_value(&r, "node_cooling_device_max_state{name=\"0\",type=\"Processor\"}", 10);
	assert_value(&r, "node_cooling_device_cur_state{name=\"1\",type=\"intel_powerclamp\"}", 3);
	assert_value(&r, "node_cooling_device_max_state{name=\"1\",type=\"intel_powerclamp\"}", 50);
	assert_family(&r, "node_thermal_zone_temp{type=\"acpitz\",zone=\"0\"}",
		      "node_thermal_zone_temp", "Zone temperature in Celsius", METRIC_GAUGE);
	assert_family(&r, "node_cooling_device_cur_state{name=\"0\",type=\"Processor\"}",
		      "node_cooling_device_cur_state", "Current throttle state of the cooling device",
		      METRIC_GAUGE);
	assert_family(&r, "node_cooling_device_max_state{name=\"0\",type=\"Processor\"}",
		      "node_cooling_device_max_state", "Maximum throttle state of the cooling device",
		      METRIC_GAUGE);
	run_stop(&r);

	/* no thermal class: nothing, and success (node_exporter's empty glob) */
	run_start_fs(&r, &collector_thermal_zone, NULL, NULL, FIX "no-such-dir", NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 0);
	run_stop(&r);
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

/* ---- filesystem ------------------------------------------------------- */

struct fs_want {
	const char *labels; /* device="...",fstype="...",mountpoint="..." */
	const char *stat_path;
	double readonly;
};

static void assert_fs_series(const struct run *r, const struct fs_want *w)
{
	struct statfs sb;
	char name[SERIES_TEXT_MAX];
	double bs;

	assert_int_equal(statfs(w->stat_path, &sb), 0);
	bs = (double)sb.f_bsize;
#define FS_SERIES(metric) (snprintf(name, sizeof(name), "node_filesystem_" metric "{%s}", w->labels), name)
	assert_value(r, FS_SERIES("device_error"), 0);
	assert_value(r, FS_SERIES("size_bytes"), (double)sb.f_blocks * bs);
	assert_value(r, FS_SERIES("files"), (double)sb.f_files);
	/* free space and inodes move while tests run beside this one */
	assert_near(r, FS_SERIES("free_bytes"), (double)sb.f_bfree * bs, 1e9);
	assert_near(r, FS_SERIES("avail_bytes"), (double)sb.f_bavail * bs, 1e9);
	assert_near(r, FS_SERIES("files_free"), (double)sb.f_ffree, 1e5);
	assert_value(r, FS_SERIES("readonly"), w->readonly);
#undef FS_SERIES
}

static void assert_fs_error(const struct run *r, const char *labels)
{
	char name[SERIES_TEXT_MAX];
	const char *sizes[] = {"size_bytes", "free_bytes", "avail_bytes", "files", "files_free",
			       "readonly"};

	snprintf(name, sizeof(name), "node_filesystem_device_error{%s}", labels);
	assert_value(r, name, 1);
	for (size_t i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "node_filesystem_%s{%s}", sizes[i], labels);
		if (find(r, name))
			fail_msg("%s emitted for a mount in error", name);
	}
}

/* The fixture's mounts with the default excludes, against this machine's
 * real statfs of / and /tmp. */
static void test_filesystem_fixture(void **state)
{
	const struct fs_want root = {"device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"", "/", 0};
	const struct fs_want tmp = {"device=\"/dev/vdb\",fstype=\"ext4\",mountpoint=\"/tmp\"", "/tmp",
				    1};
	struct run r;
	(void)state;

	run_start_fs(&r, &collector_filesystem, NULL, FIX "linux-6.1/proc", NULL, "/");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	/* /sys /proc /dev /dev/pts /dev/shm, cgroup2, autofs, /run/credentials,
	 * docker's overlay: excluded; the second / line: a duplicate */
	assert_int_equal(r.n, 7 + 7 + 1);
	assert_fs_series(&r, &root);
	assert_fs_series(&r, &tmp); /* "ro" in its options */
	/* \040 and \134 decoded; it does not exist here: device_error */
	assert_fs_error(&r,
			"device=\"/dev/vdc\",fstype=\"xfs\",mountpoint=\"/srv/bpfpush fixture\\dir\"");
	assert_family(&r, "node_filesystem_size_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}",
		      "node_filesystem_size_bytes", "Filesystem size in bytes.", METRIC_GAUGE);
	assert_family(&r, "node_filesystem_free_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}",
		      "node_filesystem_free_bytes", "Filesystem free space in bytes.", METRIC_GAUGE);
	assert_family(&r, "node_filesystem_avail_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}",
		      "node_filesystem_avail_bytes",
		      "Filesystem space available to non-root users in bytes.", METRIC_GAUGE);
	assert_family(&r, "node_filesystem_files{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}",
		      "node_filesystem_files", "Filesystem total file nodes.", METRIC_GAUGE);
	assert_family(&r, "node_filesystem_files_free{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}",
		      "node_filesystem_files_free", "Filesystem total free file nodes.",
		      METRIC_GAUGE);
	assert_family(&r, "node_filesystem_readonly{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}",
		      "node_filesystem_readonly", "Filesystem read-only status.", METRIC_GAUGE);
	assert_family(&r, "node_filesystem_device_error{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}",
		      "node_filesystem_device_error",
		      "Whether an error occurred while getting statistics for the given device.",
		      METRIC_GAUGE);
	/* a second round: the same series */
	run_round(&r, ROUND_TS + 15000);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 15);
	assert_fs_series(&r, &root);
	run_stop(&r);
}

/* No <procfs>/1/mounts (hidepid, or an old fixture): <procfs>/mounts. */
static void test_filesystem_fallback(void **state)
{
	const struct fs_want root = {"device=\"/dev/sda1\",fstype=\"ext4\",mountpoint=\"/\"", "/", 0};
	struct run r;
	(void)state;

	run_start_fs(&r, &collector_filesystem, NULL, FIX "linux-5.4/proc", NULL, NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 7);
	assert_fs_series(&r, &root);
	run_stop(&r);
}

/* A rootfs other than /: mount points under it lose the prefix (at a path
 * boundary) and are stat'd under it. */
static void test_filesystem_rootfs(void **state)
{
	const struct fs_want usr = {"device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"", "/usr", 0};
	const struct fs_want lib = {"device=\"/dev/vdb\",fstype=\"ext4\",mountpoint=\"/lib\"",
				    "/usr/lib", 1};
	struct tmpdir t;
	char path[256];
	struct run r;
	(void)state;

	tmp_dir(&t);
	tmp_file(&t, "1/mounts",
		 "/dev/vda /usr ext4 rw 0 0\n/dev/vdb /usr/lib ext4 ro,noatime 0 0\n"
		 "/dev/vdc /usrx ext4 rw 0 0\n",
		 path, sizeof(path));
	run_start_fs(&r, &collector_filesystem, NULL, t.dir, NULL, "/usr/");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 7 + 7 + 1);
	assert_fs_series(&r, &usr);
	assert_fs_series(&r, &lib);
	assert_fs_error(&r, "device=\"/dev/vdc\",fstype=\"ext4\",mountpoint=\"/usrx\"");
	run_stop(&r);
	tmp_cleanup(&t);
}

/* Options: the patterns replace the defaults ("" turns one off). */
static void test_filesystem_options(void **state)
{
	struct filesystem_opts opts = {"", "^ext4$", 5000, 2};
	const struct fs_want tmp = {"device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/tmp\"", "/tmp", 0};
	struct tmpdir t;
	char path[256];
	struct run r;
	(void)state;

	tmp_dir(&t);
	tmp_file(&t, "1/mounts",
		 "/dev/vda / ext4 rw 0 0\ntmpfs /tmp tmpfs rw,nosuid 0 0\n\n"
		 "proc /proc proc rw 0 0\n",
		 path, sizeof(path));
	run_start_fs(&r, &collector_filesystem, &opts, t.dir, NULL, "/");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 14);
	assert_fs_series(&r, &tmp);
	assert_int_equal(count_named(&r, "node_filesystem_size_bytes"), 2); /* /tmp and /proc */
	assert_null(find(&r, "node_filesystem_device_error{device=\"/dev/vda\",fstype=\"ext4\","
			     "mountpoint=\"/\"}"));
	run_stop(&r);

	/* a line with fewer than 4 fields: nothing, -1 (node_exporter) */
	tmp_file(&t, "1/mounts", "/dev/vda / ext4 rw 0 0\nbroken /x ext4\n", path, sizeof(path));
	run_start_fs(&r, &collector_filesystem, &opts, t.dir, NULL, "/");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	run_stop(&r);
	tmp_cleanup(&t);
}

/* A statfs that blocks, injected: it blocks until released. */
static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cv = PTHREAD_COND_INITIALIZER;
static bool fake_released[2];
static int fake_calls[2];

static int fake_statfs(const char *path, struct statfs *out)
{
	int which = !strcmp(path, "/dead1") ? 0 : !strcmp(path, "/dead2") ? 1 : -1;
	struct timespec until;

	if (which < 0)
		return statfs(path, out);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60; /* a test that forgets to release still ends */
	pthread_mutex_lock(&fake_mu);
	fake_calls[which]++;
	while (!fake_released[which])
		if (pthread_cond_timedwait(&fake_cv, &fake_mu, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&fake_mu);
	return statfs("/", out);
}

static void fake_release(int which)
{
	pthread_mutex_lock(&fake_mu);
	fake_released[which] = true;
	pthread_cond_broadcast(&fake_cv);
	pthread_mutex_unlock(&fake_mu);
}

static int fake_count(int which)
{
	int n;

	pthread_mutex_lock(&fake_mu);
	n = fake_calls[which];
	pthread_mutex_unlock(&fake_mu);
	return n;
}

static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int64_t timed_round(struct run *r, int64_t ts)
{
	int64_t start = mono_ms();

	run_round(r, ts);
	return mono_ms() - start;
}

#define TIMEOUT_MS 300
#define SLACK_MS 1500 /* valgrind is slow */

static const char *const dead1 = "device=\"nfs:/export\",fstype=\"nfs\",mountpoint=\"/dead1\"";
static const char *const dead2 = "device=\"fuse\",fstype=\"fuse.sshfs\",mountpoint=\"/dead2\"";

/* Two mounts whose statfs hangs: the update returns after stat_timeout
 * with device_error 1 for them and real values for the others; later
 * rounds skip them without a new call or thread until their call returns;
 * at exit a still-blocked thread is left detached and frees itself. */
static void test_filesystem_stuck(void **state)
{
	struct filesystem_opts opts = {"", "", TIMEOUT_MS, 4};
	const struct fs_want root = {"device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"", "/", 0};
	struct tmpdir t;
	char path[256], name[SERIES_TEXT_MAX];
	int64_t took;
	int threads_before = thread_count(), threads;
	struct run r;
	(void)state;

	tmp_dir(&t);
	tmp_file(&t, "1/mounts",
		 "/dev/vda / ext4 rw 0 0\nnfs:/export /dead1 nfs rw,hard 0 0\n"
		 "fuse /dead2 fuse.sshfs rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n",
		 path, sizeof(path));
	run_start_fs(&r, &collector_filesystem, &opts, t.dir, NULL, "/");
	filesystem_set_stat_fn(&r.ctx, fake_statfs);

	took = timed_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	if (took < TIMEOUT_MS - 10 || took > TIMEOUT_MS + SLACK_MS)
		fail_msg("round 1 took %lld ms, stat_timeout %d ms", (long long)took, TIMEOUT_MS);
	assert_fs_series(&r, &root);
	assert_fs_error(&r, dead1);
	assert_fs_error(&r, dead2);
	assert_int_equal(r.n, 7 + 1 + 1 + 7);
	assert_int_equal(fake_count(0), 1);
	assert_int_equal(fake_count(1), 1);

	/* stuck: skipped at once, no new call, no pile of threads */
	for (int i = 1; i <= 3; i++) {
		took = timed_round(&r, ROUND_TS + i * 15000);
		if (took >= TIMEOUT_MS)
			fail_msg("round %d took %lld ms with the stuck mounts skipped", i + 1,
				 (long long)took);
		assert_fs_error(&r, dead1);
		assert_fs_error(&r, dead2);
		assert_fs_series(&r, &root);
	}
	assert_int_equal(fake_count(0), 1);
	assert_int_equal(fake_count(1), 1);
	threads = thread_count();
	if (threads > threads_before + 4 + 2)
		fail_msg("%d threads, %d before: more than 4 workers + 2 stuck", threads,
			 threads_before);

	/* dead1 answers: it is stat'd again and reported normally */
	fake_release(0);
	snprintf(name, sizeof(name), "node_filesystem_device_error{%s}", dead1);
	for (int i = 0; i < 100; i++) {
		run_round(&r, ROUND_TS + (10 + i) * 15000);
		if (must_find(&r, name)->value == 0)
			break;
		usleep(20000);
	}
	assert_value(&r, name, 0);
	assert_int_equal(fake_count(0), 2);
	assert_fs_error(&r, dead2);

	/* exit with dead2 still blocked: its thread is orphaned, not joined */
	took = mono_ms();
	run_stop(&r);
	assert_true(mono_ms() - took < 1000);
	assert_int_equal(filesystem_orphaned_threads(), 1);
	fake_release(1);
	for (int i = 0; i < 500 && filesystem_orphaned_threads() > 0; i++)
		usleep(10000);
	assert_int_equal(filesystem_orphaned_threads(), 0);
	for (int i = 0; i < 200 && thread_count() > threads_before; i++)
		usleep(10000); /* let the detached thread finish ending */
	assert_int_equal(thread_count(), threads_before);
	tmp_cleanup(&t);
}

/* The same with a real filesystem whose statfs blocks: a FUSE mount whose
 * daemon (this test, holding /dev/fuse) never answers. Done in a private
 * mount namespace, so no other process on the machine sees the dead mount
 * (a df or node_exporter would hang on it). Needs root and /dev/fuse. */
static void test_filesystem_fuse_dead(void **state)
{
	struct filesystem_opts opts = {NULL, NULL, 500, 4};
	const struct fs_want root = {"device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"", "/", 0};
	char mnt[] = "/tmp/bpfpush-fuse-XXXXXX", text[512], labels[256], name[SERIES_TEXT_MAX],
	     path[256];
	struct tmpdir t;
	int fd;
	int64_t took;
	struct run r;
	(void)state;

	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0)
		skip();
	/* valgrind holds its one big lock across statfs (it does not know
	 * the call can block), so the whole process would hang with the
	 * worker: the injected-statfs test above covers valgrind. */
	if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) {
		print_message("under valgrind: skipped\n");
		skip();
	}
	if (unshare(CLONE_NEWNS) != 0 ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0) {
		print_message("no private mount namespace (%s): skipped\n", strerror(errno));
		skip();
	}
	assert_non_null(mkdtemp(mnt));
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	snprintf(text, sizeof(text), "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	if (mount("bpfpush-dead", mnt, "fuse.bpfpush-dead", MS_NOSUID | MS_NODEV, text) != 0) {
		print_message("cannot mount fuse (%s): skipped\n", strerror(errno));
		close(fd);
		rmdir(mnt);
		skip();
	}

	tmp_dir(&t);
	snprintf(text, sizeof(text),
		 "/dev/vda / ext4 rw 0 0\nbpfpush-dead %s fuse.bpfpush-dead rw,nosuid,nodev 0 0\n",
		 mnt);
	tmp_file(&t, "1/mounts", text, path, sizeof(path));
	snprintf(labels, sizeof(labels),
		 "device=\"bpfpush-dead\",fstype=\"fuse.bpfpush-dead\",mountpoint=\"%s\"", mnt);
	snprintf(name, sizeof(name), "node_filesystem_device_error{%s}", labels);

	run_start_fs(&r, &collector_filesystem, &opts, t.dir, NULL, "/");
	took = timed_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	if (took < 490 || took > 500 + SLACK_MS)
		fail_msg("round with a dead FUSE mount took %lld ms, stat_timeout 500 ms",
			 (long long)took);
	assert_fs_error(&r, labels);
	assert_fs_series(&r, &root);
	took = timed_round(&r, ROUND_TS + 15000);
	assert_true(took < 500);
	assert_fs_error(&r, labels);

	/* the daemon goes away: the blocked statfs fails (ENOTCONN) and
	 * returns; the mount is stat'd again, quickly, and still in error */
	close(fd);
	usleep(200000); /* the abort wakes the blocked call at once */
	for (int i = 0; i < 2; i++) {
		took = timed_round(&r, ROUND_TS + (2 + i) * 15000);
		assert_true(took < 400);
		assert_value(&r, name, 1);
	}
	run_stop(&r);
	assert_int_equal(filesystem_orphaned_threads(), 0);
	assert_int_equal(umount2(mnt, MNT_DETACH), 0);
	rmdir(mnt);
	tmp_cleanup(&t);
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
		cmocka_unit_test(test_cpufreq),
		cmocka_unit_test(test_cpufreq_absent),
		cmocka_unit_test(test_hwmon),
		cmocka_unit_test(test_thermal_zone),
		cmocka_unit_test(test_missing_sources),
		cmocka_unit_test(test_filesystem_fixture),
		cmocka_unit_test(test_filesystem_fallback),
		cmocka_unit_test(test_filesystem_rootfs),
		cmocka_unit_test(test_filesystem_options),
		cmocka_unit_test(test_filesystem_stuck),
		/* last: it leaves the process in a private mount namespace */
		cmocka_unit_test(test_filesystem_fuse_dead),
	};

	return cmocka_run_group_tests_name("collectors_sys", tests, NULL, NULL);
}
