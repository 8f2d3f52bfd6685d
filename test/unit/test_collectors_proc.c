/* SPDX-License-Identifier: MIT */
/* The stat, diskstats and vmstat collectors, and the table, options and
 * source handling of all eight procfs/sysfs collectors whose network ones
 * test_collectors_net.c covers (stat, diskstats, netdev, netclass, netstat,
 * sockstat, softnet, vmstat), against fixture trees of two kernel eras
 * (test/fixtures/linux-6.1 and linux-2.6: proc/, sys/, run/udev/data) and a
 * real registry: the exact series, label sets, values, HELP and types
 * node_exporter 1.5 gives for the same trees (checked by running it with
 * --path.procfs/--path.sysfs/--path.udev.data on them), their options,
 * kvlines, and what happens when a source is missing or garbled.
 * Run from the repository root. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "collectors/all.h"
#include "collectors/kvlines.h"
#include "collectors/procopts.h"
#include "series/registry.h"
#include "config/config.h"

#define ROUND_TS 1700000000000LL
#define LINUX6 "test/fixtures/linux-6.1"
#define LINUX26 "test/fixtures/linux-2.6"

/* Exact: node_exporter's doubles are these very products. */
#define VALUE_REL_TOL 0

#include "collector_harness.h"
#include "net_harness.h"

/* ---- files for the error cases --------------------------------------- */

struct tmptree {
	char root[64];
	char made[32][256];
	size_t n;
};

static void tmp_tree(struct tmptree *t)
{
	*t = (struct tmptree){.n = 0};
	strcpy(t->root, "/tmp/bpfpush-net-XXXXXX");
	assert_non_null(mkdtemp(t->root));
}

static void tmp_dirs(struct tmptree *t, const char *rel)
{
	char path[256], *slash;

	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	for (slash = path + strlen(t->root) + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = '\0';
		if (mkdir(path, 0755) == 0) {
			assert_true(t->n < 32);
			strcpy(t->made[t->n++], path);
		}
		*slash = '/';
	}
	if (mkdir(path, 0755) == 0) {
		assert_true(t->n < 32);
		strcpy(t->made[t->n++], path);
	}
}

/* root/rel with text; its directories are made. */
static void tmp_write(struct tmptree *t, const char *rel, const char *text)
{
	char path[256], dir[160], *slash;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", rel);
	if ((slash = strrchr(dir, '/'))) {
		*slash = '\0';
		tmp_dirs(t, dir);
	}
	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_true(t->n < 32);
	strcpy(t->made[t->n++], path);
}

static void tmp_cleanup(struct tmptree *t)
{
	while (t->n > 0) {
		const char *p = t->made[--t->n];
		if (unlink(p) < 0 && (errno == EISDIR || errno == EPERM))
			rmdir(p);
	}
	rmdir(t->root);
}

/* ---- the table and the options --------------------------------------- */

static const struct collector *const mine[] = {
	&collector_stat, &collector_diskstats, &collector_netdev, &collector_netclass,
	&collector_netstat, &collector_sockstat, &collector_softnet, &collector_vmstat,
};
#define N_MINE (sizeof(mine) / sizeof(mine[0]))

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_MINE; i++) {
		bool listed = false;
		for (size_t j = 0; j < collector_count; j++)
			listed |= collector_table[j] == mine[i];
		if (!listed)
			fail_msg("%s is not in the collector table", mine[i]->name);
		assert_true(mine[i]->default_enabled);
		assert_non_null(mine[i]->init);
		assert_non_null(mine[i]->update);
		assert_non_null(mine[i]->exit);
	}
	assert_string_equal(collector_stat.name, "stat");
	assert_string_equal(collector_diskstats.name, "diskstats");
	assert_string_equal(collector_netdev.name, "netdev");
	assert_string_equal(collector_netclass.name, "netclass");
	assert_string_equal(collector_netstat.name, "netstat");
	assert_string_equal(collector_sockstat.name, "sockstat");
	assert_string_equal(collector_softnet.name, "softnet");
	assert_string_equal(collector_vmstat.name, "vmstat");
}

/* The options through the real config loader: names, types, node_exporter
 * 1.5's defaults (which must compile), and user values. */
static void test_options(void **state)
{
	struct section_schema schemas[N_MINE];
	struct config_schemas all = {schemas, N_MINE, NULL, 0};
	struct config_error err;
	struct config cfg;
	const struct device_filter_opts *disk, *dev;
	const struct netclass_opts *nc;
	const struct fields_opts *ns, *vm;
	const char *defaults = "remote_write: [{url: \"http://127.0.0.1:9/w\"}]\n";
	const char *custom = "remote_write: [{url: \"http://127.0.0.1:9/w\"}]\n"
			     "collectors:\n"
			     "  diskstats: {device_include: '^sd', device_exclude: ''}\n"
			     "  netdev: {device_exclude: '^lo$'}\n"
			     "  netclass: {ignored_devices: '^veth'}\n"
			     "  netstat: {fields: '^TcpExt_.*'}\n"
			     "  vmstat: false\n";
	const char *bad = "remote_write: [{url: \"http://127.0.0.1:9/w\"}]\n"
			  "collectors:\n"
			  "  netstat: {fields: '^(Tcp'}\n";
	(void)state;

	for (size_t i = 0; i < N_MINE; i++)
		schemas[i] = (struct section_schema){mine[i]->name, mine[i]->default_enabled,
						     mine[i]->opts_size, mine[i]->opts};
	assert_int_equal(config_load_string("t.yml", defaults, strlen(defaults), &all, &cfg, &err), 0);
	for (size_t i = 0; i < N_MINE; i++)
		assert_true(config_collector(&cfg, mine[i]->name)->enabled);
	disk = config_collector(&cfg, "diskstats")->opts;
	assert_null(disk->device_include);
	assert_string_equal(disk->device_exclude, "^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$");
	dev = config_collector(&cfg, "netdev")->opts;
	assert_null(dev->device_include);
	assert_null(dev->device_exclude);
	nc = config_collector(&cfg, "netclass")->opts;
	assert_string_equal(nc->ignored_devices, "^$");
	ns = config_collector(&cfg, "netstat")->opts;
	assert_string_equal(ns->fields, NETSTAT_DEFAULT_FIELDS);
	assert_non_null(strstr(ns->fields, "TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)"));
	vm = config_collector(&cfg, "vmstat")->opts;
	assert_string_equal(vm->fields, "^(oom_kill|pgpg|pswp|pg.*fault).*");
	config_free(&cfg);

	assert_int_equal(config_load_string("t.yml", custom, strlen(custom), &all, &cfg, &err), 0);
	disk = config_collector(&cfg, "diskstats")->opts;
	assert_string_equal(disk->device_include, "^sd");
	assert_null(disk->device_exclude);
	dev = config_collector(&cfg, "netdev")->opts;
	assert_string_equal(dev->device_exclude, "^lo$");
	nc = config_collector(&cfg, "netclass")->opts;
	assert_string_equal(nc->ignored_devices, "^veth");
	ns = config_collector(&cfg, "netstat")->opts;
	assert_string_equal(ns->fields, "^TcpExt_.*");
	assert_false(config_collector(&cfg, "vmstat")->enabled);
	config_free(&cfg);

	assert_int_equal(config_load_string("t.yml", bad, strlen(bad), &all, &cfg, &err), -1);
	assert_non_null(strstr(err.text, "t.yml:3:"));
}

/* ---- kvlines ------------------------------------------------------------ */

static int collect_pair(void *arg, const char *proto, const char *field, const char *value)
{
	char *out = arg;
	size_t len = strlen(out);

	snprintf(out + len, 256 - len, "%s.%s=%s;", proto, field, value);
	return 0;
}

static void test_kvlines(void **state)
{
	char text[] = "a: x y\na: 1 2\n\nb: z\nb: -3\n", bad[] = "a: x y\na: 1\n",
	     odd[] = "a: x\n", out[256] = "";
	char line[] = "  one\ttwo  three ", *cur = line;
	uint64_t u;
	int64_t i;
	double d;
	(void)state;

	assert_int_equal(kv_pairs(text, collect_pair, out), 0);
	assert_string_equal(out, "a.x=1;a.y=2;b.z=-3;");
	out[0] = '\0';
	assert_int_equal(kv_pairs(bad, collect_pair, out), -1);
	assert_string_equal(out, "");
	assert_int_equal(kv_pairs(odd, collect_pair, out), -1);
	assert_string_equal(kv_field(&cur), "one");
	assert_string_equal(kv_field(&cur), "two");
	assert_string_equal(kv_field(&cur), "three");
	assert_null(kv_field(&cur));
	assert_true(kv_u64("18446744073709551615", &u) && u == UINT64_MAX);
	assert_false(kv_u64("18446744073709551616", &u));
	assert_false(kv_u64("-1", &u));
	assert_false(kv_u64("12a", &u));
	assert_false(kv_u64("", &u));
	assert_true(kv_i64_base0("0x1003", &i) && i == 4099);
	assert_true(kv_i64_base0("-1", &i) && i == -1);
	assert_false(kv_i64_base0("up", &i));
	assert_true(kv_i64("-42", &i) && i == -42);
	assert_false(kv_i64("0x10", &i));
	assert_true(kv_double("-1", &d) && d == -1);
	assert_false(kv_double("1 2", &d));
	assert_false(kv_double("", &d));
	assert_false(kv_double("\n1", &d));
	assert_true(kv_double("inf", &d) && isinf(d));
	{
		const char *p = "8:0 rbytes", *start;

		assert_true(kv_scan_u64(&p, &u) && u == 8 && *p == ':');
		p++;
		assert_true(kv_scan_u64(&p, &u) && u == 0 && *p == ' ');
		start = p;
		assert_false(kv_scan_u64(&p, &u)); /* a blank first: nothing moves */
		assert_ptr_equal(p, start);
		p = "18446744073709551616 1";
		start = p;
		assert_false(kv_scan_u64(&p, &u)); /* does not fit */
		assert_ptr_equal(p, start);
	}
}

/* ---- stat ---------------------------------------------------------------- */

static void test_stat(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_stat, NULL, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 6);
	assert_value(&r, "node_boot_time_seconds{}", 1795239173);
	assert_value(&r, "node_context_switches_total{}", 359775);
	assert_value(&r, "node_forks_total{}", 6415);
	assert_value(&r, "node_intr_total{}", 175721);
	assert_value(&r, "node_procs_running{}", 2);
	assert_value(&r, "node_procs_blocked{}", 0);
	assert_family(&r, "node_boot_time_seconds{}", "node_boot_time_seconds",
		      "Node boot time, in unixtime.", METRIC_GAUGE);
	assert_family(&r, "node_context_switches_total{}", "node_context_switches_total",
		      "Total number of context switches.", METRIC_COUNTER);
	assert_family(&r, "node_forks_total{}", "node_forks_total", "Total number of forks.",
		      METRIC_COUNTER);
	assert_family(&r, "node_intr_total{}", "node_intr_total",
		      "Total number of interrupts serviced.", METRIC_COUNTER);
	assert_family(&r, "node_procs_running{}", "node_procs_running",
		      "Number of processes in runnable state.", METRIC_GAUGE);
	assert_family(&r, "node_procs_blocked{}", "node_procs_blocked",
		      "Number of processes blocked waiting for I/O to complete.", METRIC_GAUGE);
	run_stop(&r);

	run_start(&r, &collector_stat, NULL, LINUX26);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 6);
	assert_value(&r, "node_boot_time_seconds{}", 1062191376);
	assert_value(&r, "node_context_switches_total{}", 1990473);
	assert_value(&r, "node_forks_total{}", 2915);
	assert_value(&r, "node_intr_total{}", 1462898);
	assert_value(&r, "node_procs_running{}", 1);
	run_stop(&r);
}

/* ---- diskstats ----------------------------------------------------------- */

static const char *const disk_stats_17[] = {
	"node_disk_reads_completed_total", "node_disk_reads_merged_total",
	"node_disk_read_bytes_total", "node_disk_read_time_seconds_total",
	"node_disk_writes_completed_total", "node_disk_writes_merged_total",
	"node_disk_written_bytes_total", "node_disk_write_time_seconds_total",
	"node_disk_io_now", "node_disk_io_time_seconds_total",
	"node_disk_io_time_weighted_seconds_total", "node_disk_discards_completed_total",
	"node_disk_discards_merged_total", "node_disk_discarded_sectors_total",
	"node_disk_discard_time_seconds_total", "node_disk_flush_requests_total",
	"node_disk_flush_requests_time_seconds_total",
};

/* 6.1's 20-column lines, the default device_exclude, udev data. */
static void test_diskstats_linux6(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, &collector_diskstats, NULL, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	/* nvme0n1 dm-0 sda sr0 zram0: info + 17 stats each; dm-0's filesystem
	 * and device mapper info; sda's 3 ATA gauges. */
	assert_int_equal(r.n, 5 * 18 + 2 + 3);
	for (size_t i = 0; i < 17; i++)
		assert_int_equal(count_named(&r, disk_stats_17[i]), 5);
	/* The default exclude: partitions, ram, loop; zram is kept by 1.5. */
	assert_int_equal(count_with(&r, "node_disk_", "device", "loop0"), 0);
	assert_int_equal(count_with(&r, "node_disk_", "device", "ram0"), 0);
	assert_int_equal(count_with(&r, "node_disk_", "device", "sda1"), 0);
	assert_int_equal(count_with(&r, "node_disk_", "device", "nvme0n1p1"), 0);
	assert_int_equal(count_with(&r, "node_disk_", "device", "nvme0n1p2"), 0);
	assert_int_equal(count_with(&r, "node_disk_", "device", "zram0"), 18);

	assert_value(&r, "node_disk_reads_completed_total{device=\"nvme0n1\"}", 47114);
	assert_value(&r, "node_disk_reads_merged_total{device=\"nvme0n1\"}", 4);
	assert_value(&r, "node_disk_read_bytes_total{device=\"nvme0n1\"}", 4643973 * 512.0);
	assert_value(&r, "node_disk_read_time_seconds_total{device=\"nvme0n1\"}", 21.650000000000002);
	assert_value(&r, "node_disk_writes_completed_total{device=\"nvme0n1\"}", 1235698);
	assert_value(&r, "node_disk_writes_merged_total{device=\"nvme0n1\"}", 1037637);
	assert_value(&r, "node_disk_written_bytes_total{device=\"nvme0n1\"}", 49494532096.0);
	assert_value(&r, "node_disk_write_time_seconds_total{device=\"nvme0n1\"}", 1028.512);
	assert_value(&r, "node_disk_io_now{device=\"dm-0\"}", 3);
	assert_value(&r, "node_disk_io_time_seconds_total{device=\"nvme0n1\"}", 559.016);
	assert_value(&r, "node_disk_io_time_weighted_seconds_total{device=\"sr0\"}",
		     0.009000000000000001);
	assert_value(&r, "node_disk_discards_completed_total{device=\"nvme0n1\"}", 37412);
	assert_value(&r, "node_disk_discarded_sectors_total{device=\"nvme0n1\"}", 110718168);
	assert_value(&r, "node_disk_discard_time_seconds_total{device=\"dm-0\"}", 7.524);
	assert_value(&r, "node_disk_flush_requests_total{device=\"sda\"}", 212);
	assert_value(&r, "node_disk_flush_requests_time_seconds_total{device=\"nvme0n1\"}",
		     2.0340000000000003);
	assert_family(&r, "node_disk_read_bytes_total{device=\"sda\"}", "node_disk_read_bytes_total",
		      "The total number of bytes read successfully.", METRIC_COUNTER);
	assert_family(&r, "node_disk_io_now{device=\"sda\"}", "node_disk_io_now",
		      "The number of I/Os currently in progress.", METRIC_GAUGE);
	assert_family(&r, "node_disk_flush_requests_total{device=\"sda\"}",
		      "node_disk_flush_requests_total",
		      "The total number of flush requests completed successfully", METRIC_COUNTER);

	/* node_disk_info from udev: ID_SERIAL_SHORT only (sr0 has just
	 * ID_SERIAL: no serial, as 1.5); empty labels are no labels. */
	assert_value(&r,
		     "node_disk_info{device=\"sda\",major=\"8\",minor=\"0\",model=\"WDC_WD20EFRX-68EUZN0\","
		     "path=\"pci-0000:00:17.0-ata-1\",revision=\"82.00A82\",serial=\"WD-WCC4M5PJ8PZA\","
		     "wwn=\"0x50014ee2b5f0a123\"}",
		     1);
	assert_value(&r,
		     "node_disk_info{device=\"nvme0n1\",major=\"259\",minor=\"0\",model=\"Samsung SSD 970 "
		     "EVO Plus 1TB\",path=\"pci-0000:01:00.0-nvme-1\",revision=\"2B2QEXM7\","
		     "serial=\"S4EWNX0R123456\",wwn=\"eui.0025385891b1b1b1\"}",
		     1);
	assert_value(&r, "node_disk_info{device=\"sr0\",major=\"11\",minor=\"0\",model=\"QEMU_DVD-ROM\","
			 "revision=\"2.5+\"}", 1);
	assert_value(&r, "node_disk_info{device=\"dm-0\",major=\"253\",minor=\"0\"}", 1);
	assert_value(&r, "node_disk_info{device=\"zram0\",major=\"252\",minor=\"0\"}", 1);
	assert_family(&r, "node_disk_info{device=\"zram0\",major=\"252\",minor=\"0\"}",
		      "node_disk_info", "Info of /sys/block/<block_device>.", METRIC_GAUGE);
	assert_value(&r,
		     "node_disk_filesystem_info{device=\"dm-0\",type=\"ext4\",usage=\"filesystem\","
		     "uuid=\"5e2a1c3d-7f0b-4e7a-9d2e-0a1b2c3d4e5f\",version=\"1.0\"}",
		     1);
	assert_value(&r,
		     "node_disk_device_mapper_info{device=\"dm-0\",lv_name=\"root\",name=\"vg0-root\","
		     "uuid=\"LVM-Y8Jk1abc\",vg_name=\"vg0\"}",
		     1);
	assert_family(&r, "node_disk_device_mapper_info{device=\"dm-0\",lv_name=\"root\","
			  "name=\"vg0-root\",uuid=\"LVM-Y8Jk1abc\",vg_name=\"vg0\"}",
		      "node_disk_device_mapper_info", "Info about disk device mapper.", METRIC_GAUGE);
	assert_value(&r, "node_disk_ata_write_cache{device=\"sda\"}", 1);
	assert_value(&r, "node_disk_ata_write_cache_enabled{device=\"sda\"}", 1);
	assert_value(&r, "node_disk_ata_rotation_rate_rpm{device=\"sda\"}", 5400);
	assert_family(&r, "node_disk_ata_rotation_rate_rpm{device=\"sda\"}",
		      "node_disk_ata_rotation_rate_rpm", "ATA disk rotation rate in RPMs (0 for SSDs).",
		      METRIC_GAUGE);
	/* sr0 is ATA, but "fast" is no number. */
	assert_int_equal(count_with(&r, "node_disk_ata_", "device", "sr0"), 0);

	/* A second round: the same series, nothing stale. */
	run_round(&r, ROUND_TS + 15000);
	assert_int_equal(r.n, 95);
	for (size_t i = 0; i < r.n; i++)
		assert_false(isnan(r.samples[i].value));
	run_stop(&r);
}

static void test_diskstats_filters(void **state)
{
	struct device_filter_opts all = {NULL, NULL}, sd = {"^sd", NULL},
				  nvme = {"^nvme", "p\\d+$"};
	struct run r;
	(void)state;

	run_start(&r, &collector_diskstats, &all, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(count_named(&r, "node_disk_info"), 10);
	assert_value(&r, "node_disk_reads_completed_total{device=\"loop0\"}", 58);
	assert_value(&r, "node_disk_read_bytes_total{device=\"sda1\"}", 850586 * 512.0);
	run_stop(&r);

	run_start(&r, &collector_diskstats, &sd, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(count_named(&r, "node_disk_info"), 2);
	assert_int_equal(count_with(&r, "node_disk_", "device", "sda1"), 18);
	run_stop(&r);

	run_start(&r, &collector_diskstats, &nvme, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(count_named(&r, "node_disk_info"), 1);
	assert_int_equal(count_with(&r, "node_disk_", "device", "nvme0n1"), 18);
	run_stop(&r);
}

/* 2.6: 14 columns (no discard, no flush counters), 4-counter partition
 * lines skipped even when no filter removes them, no udev database. */
static void test_diskstats_linux26(void **state)
{
	struct device_filter_opts all = {NULL, NULL};
	struct run r;
	(void)state;

	run_start(&r, &collector_diskstats, NULL, LINUX26);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 3 * 12); /* hda sda sdb: info + 11 */
	assert_int_equal(count_named(&r, "node_disk_discards_completed_total"), 0);
	assert_int_equal(count_named(&r, "node_disk_flush_requests_total"), 0);
	assert_value(&r, "node_disk_info{device=\"hda\",major=\"3\",minor=\"0\"}", 1);
	assert_value(&r, "node_disk_read_bytes_total{device=\"hda\"}", 4889952256.0);
	assert_value(&r, "node_disk_write_time_seconds_total{device=\"sda\"}", 2118.2200000000003);
	assert_value(&r, "node_disk_io_now{device=\"sdb\"}", 9);
	assert_value(&r, "node_disk_io_time_weighted_seconds_total{device=\"sdb\"}", 0.011);
	run_stop(&r);

	run_start(&r, &collector_diskstats, &all, LINUX26);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.n, 5 * 12); /* and ram0, loop0; never hda1, sdb1 */
	assert_int_equal(count_with(&r, "node_disk_", "device", "hda1"), 0);
	assert_int_equal(count_with(&r, "node_disk_", "device", "sdb1"), 0);
	assert_value(&r, "node_disk_reads_completed_total{device=\"loop0\"}", 0);
	run_stop(&r);
}

/* ---- vmstat -------------------------------------------------------------- */

static void test_vmstat(void **state)
{
	struct fields_opts all = {NULL};
	struct run r;
	(void)state;

	run_start(&r, &collector_vmstat, NULL, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 7);
	assert_value(&r, "node_vmstat_oom_kill{}", 2);
	assert_value(&r, "node_vmstat_pgpgin{}", 2905572);
	assert_value(&r, "node_vmstat_pgpgout{}", 1294880);
	assert_value(&r, "node_vmstat_pswpin{}", 0);
	assert_value(&r, "node_vmstat_pswpout{}", 0);
	assert_value(&r, "node_vmstat_pgfault{}", 9876543);
	assert_value(&r, "node_vmstat_pgmajfault{}", 1234);
	assert_absent(&r, "node_vmstat_thp_fault_alloc{}");
	assert_absent(&r, "node_vmstat_nr_dirty{}");
	assert_family(&r, "node_vmstat_oom_kill{}", "node_vmstat_oom_kill",
		      "/proc/vmstat information field oom_kill.", METRIC_UNTYPED);
	run_stop(&r);

	run_start(&r, &collector_vmstat, &all, LINUX6);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.n, 13);
	assert_value(&r, "node_vmstat_nr_free_pages{}", 2045678);
	run_stop(&r);

	run_start(&r, &collector_vmstat, NULL, LINUX26);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.n, 6); /* no oom_kill before 4.13 */
	assert_value(&r, "node_vmstat_pgfault{}", 1263524);
	run_stop(&r);
}

/* ---- missing and garbled sources ---------------------------------------- */

static void test_missing_source(void **state)
{
	struct run r;
	(void)state;

	for (size_t i = 0; i < N_MINE; i++) {
		run_start(&r, mine[i], NULL, "test/fixtures/no-such-dir");
		run_round(&r, ROUND_TS);
		if (r.rc != -1)
			fail_msg("%s: update returned %d with no source", mine[i]->name, r.rc);
		assert_int_equal(r.n, 0);
		run_stop(&r);
	}
}

/* Only netstat and snmp are needed by netstat, only sockstat by sockstat:
 * their IPv6 halves are absent on hosts without IPv6. */
static void test_optional_ipv6(void **state)
{
	struct tmptree t;
	struct run r;
	(void)state;

	tmp_tree(&t);
	tmp_write(&t, "proc/net/netstat", "TcpExt: ListenOverflows ListenDrops\nTcpExt: 5 6\n");
	tmp_write(&t, "proc/net/sockstat", "sockets: used 1\nTCP: inuse 1 orphan 0 tw 0 alloc 1 mem 0\n");
	run_start(&r, &collector_netstat, NULL, t.root);
	run_round(&r, ROUND_TS); /* no snmp */
	assert_int_equal(r.rc, -1);
	tmp_write(&t, "proc/net/snmp", "Tcp: CurrEstab\nTcp: 3\n");
	run_round(&r, ROUND_TS + 15000);
	assert_int_equal(r.rc, 0);
	assert_value(&r, "node_netstat_TcpExt_ListenOverflows{}", 5);
	assert_value(&r, "node_netstat_Tcp_CurrEstab{}", 3);
	run_stop(&r);

	run_start(&r, &collector_sockstat, NULL, t.root);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 7);
	run_stop(&r);
	tmp_cleanup(&t);
}

/* netstat reuses what it kept of a header line while the line stays the
 * same (pairplan.h): a changed header is read afresh, a short value line
 * fails the round, a blank line between pairs is skipped. */
static void test_netstat_header_changes(void **state)
{
	struct tmptree t;
	struct run r;
	(void)state;

	tmp_tree(&t);
	tmp_write(&t, "proc/net/netstat", "TcpExt: ListenOverflows ListenDrops\nTcpExt: 5 6\n");
	tmp_write(&t, "proc/net/snmp", "Tcp: CurrEstab\nTcp: 3\n\nUdp: RcvbufErrors\nUdp: 2\n");
	run_start(&r, &collector_netstat, NULL, t.root);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_value(&r, "node_netstat_TcpExt_ListenDrops{}", 6);
	assert_value(&r, "node_netstat_Udp_RcvbufErrors{}", 2);
	tmp_write(&t, "proc/net/netstat",
		  "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 1 7 8\n");
	run_round(&r, ROUND_TS + 15000);
	assert_int_equal(r.rc, 0);
	assert_value(&r, "node_netstat_TcpExt_SyncookiesSent{}", 1);
	assert_value(&r, "node_netstat_TcpExt_ListenOverflows{}", 7);
	assert_value(&r, "node_netstat_TcpExt_ListenDrops{}", 8);
	assert_value(&r, "node_netstat_Tcp_CurrEstab{}", 3);
	tmp_write(&t, "proc/net/netstat",
		  "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 1 9\n");
	run_round(&r, ROUND_TS + 30000);
	assert_int_equal(r.rc, -1);
	tmp_write(&t, "proc/net/netstat",
		  "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 1 9 10\n");
	run_round(&r, ROUND_TS + 45000);
	assert_int_equal(r.rc, 0);
	assert_value(&r, "node_netstat_TcpExt_ListenOverflows{}", 9);
	assert_value(&r, "node_netstat_TcpExt_ListenDrops{}", 10);
	run_stop(&r);
	tmp_cleanup(&t);
}

static void test_garbage_source(void **state)
{
	struct tmptree t;
	struct run r;
	(void)state;

	tmp_tree(&t);
	tmp_write(&t, "proc/stat", "cpu  1 2 3 4\nctxt lots\n");
	tmp_write(&t, "proc/diskstats", "   8 0 sda 1 2 3\nnonsense\n");
	tmp_write(&t, "proc/net/dev", "Inter-|\n face |\n  eth0: 1 2 3\n");
	tmp_write(&t, "proc/net/netstat", "TcpExt: A B C\nTcpExt: 1 2\n");
	tmp_write(&t, "proc/net/snmp", "Tcp: A\nTcp: 1\n");
	tmp_write(&t, "proc/net/sockstat", "sockets: used\n");
	tmp_write(&t, "proc/net/softnet_stat", "00000001 00000002 00000003 0 0 0 0 0\n");
	tmp_write(&t, "proc/vmstat", "pgfault many\n");
	/* sysfs that is not a directory tree */
	tmp_write(&t, "sys/class", "not a directory\n");
	for (size_t i = 0; i < N_MINE; i++) {
		run_start(&r, mine[i], NULL, t.root);
		run_round(&r, ROUND_TS);
		if (r.rc != -1)
			fail_msg("%s: update returned %d on garbage", mine[i]->name, r.rc);
		assert_int_equal(r.n, 0);
		run_stop(&r);
	}
	tmp_cleanup(&t);

	/* A bad value in an otherwise good softnet file: nothing emitted. */
	tmp_tree(&t);
	tmp_write(&t, "proc/net/softnet_stat", "00000001 00000002 00000003 0 0 0 0 0 0\n"
					      "0000000g 00000002 00000003 0 0 0 0 0 0\n");
	run_start(&r, &collector_softnet, NULL, t.root);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	run_stop(&r);
	tmp_cleanup(&t);
}

/* A device that goes away gets stale markers; the buffers are reused. */
static void test_device_vanishes(void **state)
{
	const char *two = "Inter-|\n face |\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
			  "  eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
	const char *one = "Inter-|\n face |\n  eth0: 2 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
	struct tmptree t;
	struct run r;
	(void)state;

	tmp_tree(&t);
	tmp_write(&t, "proc/net/dev", two);
	run_start(&r, &collector_netdev, NULL, t.root);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.n, 32);
	tmp_write(&t, "proc/net/dev", one);
	t.n--; /* written twice, removed once */
	run_round(&r, ROUND_TS + 15000);
	assert_int_equal(r.n, 32);
	assert_value(&r, "node_network_receive_bytes_total{device=\"eth0\"}", 2);
	assert_true(isnan(must_find(&r, "node_network_receive_bytes_total{device=\"eth1\"}")->value));
	run_stop(&r);
	tmp_cleanup(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_kvlines),
		cmocka_unit_test(test_stat),
		cmocka_unit_test(test_diskstats_linux6),
		cmocka_unit_test(test_diskstats_filters),
		cmocka_unit_test(test_diskstats_linux26),
		cmocka_unit_test(test_vmstat),
		cmocka_unit_test(test_missing_source),
		cmocka_unit_test(test_optional_ipv6),
		cmocka_unit_test(test_netstat_header_changes),
		cmocka_unit_test(test_garbage_source),
		cmocka_unit_test(test_device_vanishes),
	};

	return cmocka_run_group_tests_name("collectors_proc", tests, NULL, NULL);
}
