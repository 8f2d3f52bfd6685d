/* SPDX-License-Identifier: MIT */
/* The cgroup collector against fixture trees (test/fixtures/cgroup*, a
 * <sysfs> each) and trees made at run time, with a real registry: the exact
 * series, labels and values it emits, its depth and count limits, the
 * naming schemes of systemd, Kubernetes and container runtimes, cgroup v1
 * and hybrid hosts. Run from the repository root. */
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
#include "collectors/cgroup.h"
#include "series/registry.h"

#define ROUND_TS 1700000000000LL
#define LINE_MAX_LEN 1024
#define FIXTURE "test/fixtures/cgroup/sys"
#define LABELS_FIXTURE "test/fixtures/cgroup-labels/sys"

#include "collector_harness.h"

static void run_start(struct run *r, const struct cgroup_opts *opts, const char *sysfs)
{
	run_start_fs(r, &collector_cgroup, opts, NULL, sysfs, NULL);
}

static int cmp_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every sample of the round as "series value" (value %.12g), sorted, must
 * be exactly want (sorted too, by the caller or not: it is sorted here). */
static void assert_exact(const struct run *r, const char *const *want, size_t n_want)
{
	char **got = calloc(r->n + 1, sizeof(*got)), **exp = calloc(n_want + 1, sizeof(*exp));
	char text[LINE_MAX_LEN];
	size_t i, j, bad = 0;

	assert_true(got && exp);
	for (i = 0; i < r->n; i++) {
		series_text(series_of(r->samples[i].series), text, sizeof(text));
		got[i] = malloc(LINE_MAX_LEN + 32);
		assert_non_null(got[i]);
		snprintf(got[i], LINE_MAX_LEN + 32, "%s %.12g", text, r->samples[i].value);
	}
	memcpy(exp, want, n_want * sizeof(*exp));
	qsort(got, r->n, sizeof(*got), cmp_text);
	qsort(exp, n_want, sizeof(*exp), cmp_text);
	for (i = j = 0; i < r->n || j < n_want;) {
		int c = i == r->n ? 1 : j == n_want ? -1 : strcmp(got[i], exp[j]);
		if (c == 0) {
			i++, j++;
			continue;
		}
		print_error("%s %s\n", c < 0 ? "unexpected:" : "missing:   ", c < 0 ? got[i] : exp[j]);
		bad++;
		if (c < 0)
			i++;
		else
			j++;
	}
	for (i = 0; i < r->n; i++)
		free(got[i]);
	free(got);
	free(exp);
	if (bad)
		fail_msg("%zu differences (got %zu series, want %zu)", bad, r->n, n_want);
}

/* assert_family without the family name. */
static void assert_help(const struct run *r, const char *series, const char *help,
			enum metric_type type)
{
	const struct family *f = series_of(must_find(r, series)->series)->family;

	assert_string_equal(f->help, help);
	assert_int_equal(f->type, type);
}

/* ---- the table entry ------------------------------------------------------- */

static void test_table_entry(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < collector_count; i++)
		if (collector_table[i] == &collector_cgroup)
			break;
	assert_true(i < collector_count);
	assert_string_equal(collector_cgroup.name, "cgroup");
	assert_true(collector_cgroup.default_enabled);
	assert_int_equal(collector_cgroup.opts_size, sizeof(struct cgroup_opts));
	assert_string_equal(collector_cgroup.opts[0].name, "max_depth");
	assert_int_equal(collector_cgroup.opts[0].type, OPT_INT);
	assert_string_equal(collector_cgroup.opts[0].default_value, "3");
	assert_int_equal(collector_cgroup.opts[0].offset, offsetof(struct cgroup_opts, max_depth));
	assert_string_equal(collector_cgroup.opts[1].name, "max_groups");
	assert_int_equal(collector_cgroup.opts[1].type, OPT_INT);
	assert_string_equal(collector_cgroup.opts[1].default_value, "500");
	assert_int_equal(collector_cgroup.opts[1].offset, offsetof(struct cgroup_opts, max_groups));
	assert_null(collector_cgroup.opts[2].name);
}

/* ---- the whole fixture tree ------------------------------------------------ */

#define ROOT "cgroup=\"/\""
#define SYS "cgroup=\"/system.slice\",unit=\"system.slice\""
#define SSH "cgroup=\"/system.slice/ssh.service\",unit=\"ssh.service\""
#define KUBE "cgroup=\"/kubepods.slice\",unit=\"kubepods.slice\""
#define BURST "cgroup=\"/kubepods.slice/kubepods-burstable.slice\",unit=\"kubepods-burstable.slice\""
#define POD                                                                                  \
	"cgroup=\"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice\"," \
	"pod_uid=\"1234-5678\",unit=\"kubepods-burstable-pod1234_5678.slice\""
#define CTR                                                                                  \
	"cgroup=\"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/" \
	"cri-containerd-abcd.scope\",container_id=\"abcd\",pod_uid=\"1234-5678\","                 \
	"unit=\"cri-containerd-abcd.scope\""
#define P "bpfpush_cgroup_"

/* Series of a group with cpu.stat usage/user/system only. */
#define CPU3(L, usage, user, sys)                                                       \
	P "cpu_usage_seconds_total{" L "} " usage, P "cpu_user_seconds_total{" L "} " user, \
		P "cpu_system_seconds_total{" L "} " sys
/* ... and the bandwidth controller's periods. */
#define CPU6(L, usage, user, sys, periods, throttled, throttled_s)                       \
	CPU3(L, usage, user, sys), P "cpu_periods_total{" L "} " periods,                 \
		P "cpu_throttled_periods_total{" L "} " throttled,                        \
		P "cpu_throttled_seconds_total{" L "} " throttled_s
#define MEMSTAT(L, anon, file, kernel, shmem, dirty, wb)                                     \
	P "memory_anon_bytes{" L "} " anon, P "memory_file_bytes{" L "} " file,                \
		P "memory_kernel_bytes{" L "} " kernel, P "memory_shmem_bytes{" L "} " shmem, \
		P "memory_file_dirty_bytes{" L "} " dirty,                                    \
		P "memory_file_writeback_bytes{" L "} " wb
#define IO(L, dev, rb, wb, r, w)                                                         \
	P "io_read_bytes_total{" L ",device=\"" dev "\"} " rb,                           \
		P "io_written_bytes_total{" L ",device=\"" dev "\"} " wb,                \
		P "io_reads_total{" L ",device=\"" dev "\"} " r,                         \
		P "io_writes_total{" L ",device=\"" dev "\"} " w
#define PSI(L, res, some, full)                                                      \
	P "pressure_" res "_waiting_seconds_total{" L "} " some,                     \
		P "pressure_" res "_stalled_seconds_total{" L "} " full
/* Label sets with device, which sorts before cgroup only by name: "cgroup"
 * < "container_id" < "device" < "pod_uid" < "unit". */
#define ROOT_DEV "cgroup=\"/\""
#define SYS_DEV_PRE "cgroup=\"/system.slice\""
#define SSH_DEV_PRE "cgroup=\"/system.slice/ssh.service\""

static const char *const full_tree[] = {
	/* / : no memory.current or memory.max at the root, as in the kernel */
	CPU3(ROOT, "90", "60", "30"),
	MEMSTAT(ROOT, "1048576", "2097152", "524288", "65536", "4096", "0"),
	IO(ROOT_DEV, "sda", "1048576", "2097152", "100", "200"),
	IO(ROOT_DEV, "253:0", "512", "1024", "1", "2"), /* no uevent: MAJ:MIN */
	PSI(ROOT, "cpu", "1.5", "0"),
	PSI(ROOT, "memory", "0.25", "0.125"),
	PSI(ROOT, "io", "3", "2"),
	/* /system.slice: memory.max "max", so no limit series */
	CPU6(SYS, "40", "25", "15", "0", "0", "0"),
	P "memory_usage_bytes{" SYS "} 734003200",
	MEMSTAT(SYS, "400000000", "300000000", "30000000", "1000000", "8192", "4096"),
	P "io_read_bytes_total{" SYS_DEV_PRE ",device=\"sda\",unit=\"system.slice\"} 524288",
	P "io_written_bytes_total{" SYS_DEV_PRE ",device=\"sda\",unit=\"system.slice\"} 1048576",
	P "io_reads_total{" SYS_DEV_PRE ",device=\"sda\",unit=\"system.slice\"} 50",
	P "io_writes_total{" SYS_DEV_PRE ",device=\"sda\",unit=\"system.slice\"} 100",
	PSI(SYS, "cpu", "0.7", "0.1"),
	PSI(SYS, "memory", "0", "0"),
	PSI(SYS, "io", "1", "0.9"),
	/* /system.slice/ssh.service: limited to 512 MiB, throttled */
	CPU6(SSH, "2.5", "1.5", "1", "1000", "7", "0.25"),
	P "memory_usage_bytes{" SSH "} 8388608",
	P "memory_limit_bytes{" SSH "} 536870912",
	MEMSTAT(SSH, "4194304", "3145728", "1048576", "0", "0", "0"),
	P "io_read_bytes_total{" SSH_DEV_PRE ",device=\"sda\",unit=\"ssh.service\"} 4096",
	P "io_written_bytes_total{" SSH_DEV_PRE ",device=\"sda\",unit=\"ssh.service\"} 8192",
	P "io_reads_total{" SSH_DEV_PRE ",device=\"sda\",unit=\"ssh.service\"} 1",
	P "io_writes_total{" SSH_DEV_PRE ",device=\"sda\",unit=\"ssh.service\"} 2",
	PSI(SSH, "cpu", "0.01", "0.005"),
	PSI(SSH, "memory", "0", "0"),
	PSI(SSH, "io", "0.02", "0.01"),
	/* the Kubernetes levels: cpu.stat, memory.current, memory.max */
	CPU6(KUBE, "30", "15", "15", "10", "0", "0"),
	P "memory_usage_bytes{" KUBE "} 300000000",
	CPU6(BURST, "20", "10", "10", "10", "0", "0"),
	P "memory_usage_bytes{" BURST "} 200000000",
	CPU6(POD, "12", "6", "6", "10", "0", "0"),
	P "memory_usage_bytes{" POD "} 120000000",
	CPU6(CTR, "11", "5.5", "5.5", "10", "0", "0"),
	P "memory_usage_bytes{" CTR "} 110000000",
	P "memory_limit_bytes{" CTR "} 268435456",
	P "groups_skipped{} 0",
};

static void test_full_tree(void **state)
{
	struct cgroup_opts opts = {4, 500};
	struct run r;
	(void)state;

	run_start(&r, &opts, FIXTURE);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_exact(&r, full_tree, sizeof(full_tree) / sizeof(full_tree[0]));
	assert_int_equal(r.n, 100);
	assert_int_equal(r.samples[0].timestamp_ms, ROUND_TS);
	assert_help(&r, P "cpu_usage_seconds_total{" ROOT "}",
		      "CPU time consumed by the cgroup's tasks (cpu.stat usage_usec).", METRIC_COUNTER);
	assert_help(&r, P "memory_limit_bytes{" SSH "}",
		      "The cgroup's hard memory limit (memory.max); absent when unlimited.",
		      METRIC_GAUGE);
	assert_help(&r, P "pressure_io_stalled_seconds_total{" SSH "}",
		      "Time all non-idle tasks of the cgroup waited for IO (io.pressure full total).",
		      METRIC_COUNTER);
	assert_help(&r, P "groups_skipped{}",
		      "Cgroups within max_depth not reported this round because of max_groups.",
		      METRIC_GAUGE);

	/* The next round: the same series, none stale. */
	run_round(&r, ROUND_TS + 15000);
	assert_exact(&r, full_tree, sizeof(full_tree) / sizeof(full_tree[0]));
	run_stop(&r);
}

/* Defaults (no options struct: as the config fills it, max_depth 3):
 * the container scope at depth 4 is out of reach, and that is not a skip. */
static void test_default_depth(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, NULL, FIXTURE);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 100 - 8);
	assert_value(&r, P "cpu_usage_seconds_total{" POD "}", 12);
	assert_null(find(&r, P "cpu_usage_seconds_total{" CTR "}"));
	assert_value(&r, P "groups_skipped{}", 0);
	run_stop(&r);

	struct cgroup_opts root_only = {0, 500};
	run_start(&r, &root_only, FIXTURE);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.n, 23 + 1);
	assert_value(&r, P "cpu_usage_seconds_total{" ROOT "}", 90);
	assert_int_equal(count_named(&r, P "memory_usage_bytes"), 0);
	run_stop(&r);
}

/* max_groups: breadth first, names in order, so the root and the first
 * level come first; the rest are counted, and logged once. */
static void test_max_groups(void **state)
{
	struct cgroup_opts opts = {4, 3};
	struct run r;
	(void)state;

	run_start(&r, &opts, FIXTURE);
	assert_int_equal(run_round_logged(&r, ROUND_TS, "more groups than max_groups"), 1);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 23 + 7 + 23 + 1);
	assert_value(&r, P "groups_skipped{}", 4);
	assert_value(&r, P "cpu_usage_seconds_total{" ROOT "}", 90);
	assert_value(&r, P "cpu_usage_seconds_total{" KUBE "}", 30);
	assert_value(&r, P "cpu_usage_seconds_total{" SYS "}", 40);
	assert_null(find(&r, P "cpu_usage_seconds_total{" SSH "}"));
	assert_null(find(&r, P "cpu_usage_seconds_total{" BURST "}"));
	assert_int_equal(run_round_logged(&r, ROUND_TS + 15000, "more groups than max_groups"), 0);
	assert_value(&r, P "groups_skipped{}", 4);
	run_stop(&r);

	/* 0: nothing read, all 7 counted. */
	opts = (struct cgroup_opts){4, 0};
	run_start(&r, &opts, FIXTURE);
	run_round_logged(&r, ROUND_TS, "max_groups");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 1);
	assert_value(&r, P "groups_skipped{}", 7);
	run_stop(&r);

	/* Within max_depth 1: the root and 2 groups, one of them skipped. */
	opts = (struct cgroup_opts){1, 2};
	run_start(&r, &opts, FIXTURE);
	run_round_logged(&r, ROUND_TS, "max_groups");
	assert_value(&r, P "groups_skipped{}", 1);
	assert_value(&r, P "cpu_usage_seconds_total{" KUBE "}", 30);
	assert_null(find(&r, P "cpu_usage_seconds_total{" SYS "}"));
	run_stop(&r);
}

/* ---- labels ----------------------------------------------------------------- */

struct want_labels {
	const char *cgroup, *labels; /* the other labels, as series_text shows them */
	double usage;
};

static void test_labels(void **state)
{
	static const struct want_labels want[] = {
		{"/", "", 0},
		{"/system.slice", ",unit=\"system.slice\"", 1},
		{"/system.slice/docker-0123abcd.scope",
		 ",container_id=\"0123abcd\",unit=\"docker-0123abcd.scope\"", 2},
		/* CRI-O's monitor is not the container */
		{"/system.slice/crio-conmon-feed.scope", ",unit=\"crio-conmon-feed.scope\"", 3},
		{"/system.slice/boot-efi.mount", ",unit=\"boot-efi.mount\"", 4},
		{"/system.slice/containerd.service", ",unit=\"containerd.service\"", 5},
		/* a group below a unit that is no unit: the unit above it */
		{"/system.slice/containerd.service/sub", ",unit=\"containerd.service\"", 6},
		{"/user.slice", ",unit=\"user.slice\"", 7},
		{"/user.slice/user-1000.slice", ",unit=\"user-1000.slice\"", 8},
		{"/user.slice/user-1000.slice/session-3.scope", ",unit=\"session-3.scope\"", 9},
		{"/kubepods.slice", ",unit=\"kubepods.slice\"", 10},
		/* guaranteed QoS: no QoS level */
		{"/kubepods.slice/kubepods-pod9f0e_11aa.slice",
		 ",pod_uid=\"9f0e-11aa\",unit=\"kubepods-pod9f0e_11aa.slice\"", 11},
		{"/kubepods.slice/kubepods-pod9f0e_11aa.slice/crio-beef.scope",
		 ",container_id=\"beef\",pod_uid=\"9f0e-11aa\",unit=\"crio-beef.scope\"", 12},
		{"/kubepods.slice/kubepods-besteffort.slice", ",unit=\"kubepods-besteffort.slice\"", 13},
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod42.slice",
		 ",pod_uid=\"42\",unit=\"kubepods-besteffort-pod42.slice\"", 14},
		/* the cgroupfs driver */
		{"/kubepods", "", 15},
		{"/kubepods/podaaaa-bbbb", ",pod_uid=\"aaaa-bbbb\"", 16},
		{"/kubepods/podaaaa-bbbb/c0ffee", ",container_id=\"c0ffee\",pod_uid=\"aaaa-bbbb\"", 17},
		{"/kubepods/burstable", "", 18},
		{"/kubepods/burstable/podcccc-dddd", ",pod_uid=\"cccc-dddd\"", 19},
		{"/kubepods/burstable/podcccc-dddd/deadbeef",
		 ",container_id=\"deadbeef\",pod_uid=\"cccc-dddd\"", 20},
		{"/docker", "", 21},
		{"/docker/f00d", ",container_id=\"f00d\"", 22},
		{"/machine.slice", ",unit=\"machine.slice\"", 23},
		{"/machine.slice/libpod-cafe.scope", ",container_id=\"cafe\",unit=\"libpod-cafe.scope\"", 24},
		{"/init.scope", ",unit=\"init.scope\"", 25},
		{"/plain", "", 26},
	};
	struct cgroup_opts opts = {5, 500};
	char series[LINE_MAX_LEN];
	struct run r;
	(void)state;

	run_start(&r, &opts, LABELS_FIXTURE);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(series, sizeof(series), P "cpu_usage_seconds_total{cgroup=\"%s\"%s}",
			 want[i].cgroup, want[i].labels);
		assert_value(&r, series, want[i].usage * 1e-6);
	}
	assert_int_equal(r.n, sizeof(want) / sizeof(want[0]) + 1);
	run_stop(&r);
}

/* ---- hosts without a unified hierarchy ------------------------------------- */

static void test_v1_only(void **state)
{
	struct run r;
	(void)state;

	run_start(&r, NULL, "test/fixtures/cgroup-v1/sys");
	assert_int_equal(run_round_logged(&r, ROUND_TS, "no cgroup v2 hierarchy"), 1);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	assert_int_equal(run_round_logged(&r, ROUND_TS + 15000, "no cgroup v2 hierarchy"), 0);
	assert_int_equal(r.rc, -1);
	run_stop(&r);

	run_start(&r, NULL, "test/fixtures/no-such-dir/sys");
	run_round_logged(&r, ROUND_TS, "no cgroup v2 hierarchy");
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	run_stop(&r);
}

/* systemd's hybrid mode: v2 at fs/cgroup/unified, without controllers. */
static void test_hybrid(void **state)
{
	static const char *const want[] = {
		CPU3(ROOT, "5", "3", "2"),
		PSI(ROOT, "cpu", "0.0001", "0"),
		CPU3("cgroup=\"/system.slice\",unit=\"system.slice\"", "4", "2", "2"),
		P "groups_skipped{} 0",
	};
	struct run r;
	(void)state;

	run_start(&r, NULL, "test/fixtures/cgroup-hybrid/sys");
	assert_int_equal(run_round_logged(&r, ROUND_TS, "hybrid hierarchy"), 1);
	assert_int_equal(r.rc, 0);
	assert_exact(&r, want, sizeof(want) / sizeof(want[0]));
	run_stop(&r);
}

/* ---- a tree that changes ---------------------------------------------------- */

struct tree {
	char sysfs[64];
	char cg[96];
};

static void put(const struct tree *t, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->cg, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void mkd(const struct tree *t, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", t->cg, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void rm_tree(const char *path)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static void tree_make(struct tree *t)
{
	char path[128];

	strcpy(t->sysfs, "/tmp/bpfpush-cgroup-XXXXXX");
	assert_non_null(mkdtemp(t->sysfs));
	snprintf(path, sizeof(path), "%s/fs", t->sysfs);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(t->cg, sizeof(t->cg), "%s/fs/cgroup", t->sysfs);
	assert_int_equal(mkdir(t->cg, 0755), 0);
	put(t, "cgroup.controllers", "cpu memory io\n");
}

/* A group that goes away takes its series with it (stale markers); a
 * limit lifted to "max" likewise; a new group appears. */
static void test_changes(void **state)
{
	struct cgroup_opts opts = {3, 500};
	struct tree t;
	char path[256];
	struct run r;
	(void)state;

	tree_make(&t);
	mkd(&t, "a.service");
	put(&t, "a.service/cpu.stat", "usage_usec 1000000\n");
	put(&t, "a.service/memory.max", "1048576\n");
	mkd(&t, "b.service");
	put(&t, "b.service/cpu.stat", "usage_usec 2000000\n");
	run_start(&r, &opts, t.sysfs);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.n, 4);
	assert_value(&r, P "memory_limit_bytes{cgroup=\"/a.service\",unit=\"a.service\"}", 1048576);

	put(&t, "a.service/memory.max", "max\n");
	snprintf(path, sizeof(path), "%s/b.service", t.cg);
	rm_tree(path);
	mkd(&t, "c.scope");
	put(&t, "c.scope/cpu.stat", "usage_usec 3000000\n");
	run_round(&r, ROUND_TS + 15000);
	assert_int_equal(r.n, 5);
	assert_true(isnan(must_find(&r, P "memory_limit_bytes{cgroup=\"/a.service\",unit=\"a.service\"}")->value));
	assert_true(isnan(must_find(&r, P "cpu_usage_seconds_total{cgroup=\"/b.service\",unit=\"b.service\"}")->value));
	assert_value(&r, P "cpu_usage_seconds_total{cgroup=\"/c.scope\",unit=\"c.scope\"}", 3);
	assert_value(&r, P "cpu_usage_seconds_total{cgroup=\"/a.service\",unit=\"a.service\"}", 1);

	/* The whole hierarchy gone: the update fails. */
	rm_tree(t.cg);
	run_round(&r, ROUND_TS + 30000);
	assert_int_equal(r.rc, -1);
	run_stop(&r);
	rm_tree(t.sysfs);
}

/* Garbage in the files: what parses is used, the rest ignored, no crash. */
static void test_garbage(void **state)
{
	static const char *const want[] = {
		P "cpu_usage_seconds_total{" ROOT "} 1",
		P "cpu_system_seconds_total{" ROOT "} 2",
		P "memory_anon_bytes{" ROOT "} 7",
		P "io_read_bytes_total{cgroup=\"/\",device=\"8:16\"} 5",
		P "io_writes_total{cgroup=\"/\",device=\"8:16\"} 6",
		P "pressure_cpu_waiting_seconds_total{" ROOT "} 4e-06",
		P "groups_skipped{} 0",
	};
	struct cgroup_opts opts = {3, 500};
	struct tree t;
	struct run r;
	(void)state;

	tree_make(&t);
	put(&t, "cpu.stat", "usage_usec 1000000\nuser_usec\nuser_usec x\nnr_periods -1\n"
			    "system_usec 2000000 extra\nthrottled_usec");
	put(&t, "memory.current", "12 kB\n");
	put(&t, "memory.max", "\n");
	put(&t, "memory.stat", "anon 7\nfile\n\n\nkernel=3\n");
	put(&t, "io.stat", "8:16 rbytes=5 wbytes=x rios wios=6\nnonsense\n8 rbytes=1\n:1 rbytes=2\n");
	put(&t, "cpu.pressure", "some avg10=0.00 total=4\nfull total=\nwhat total=9\n");
	put(&t, "io.pressure", "");
	run_start(&r, &opts, t.sysfs);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_exact(&r, want, sizeof(want) / sizeof(want[0]));
	run_stop(&r);
	rm_tree(t.sysfs);
}

/* Wide and deep: more children than one getdents64 buffer holds, and
 * more groups than the walk's first allocation, sorted by name. */
static void test_many_groups(void **state)
{
	struct cgroup_opts opts = {2, 100000};
	char rel[64], series[256];
	struct tree t;
	struct run r;
	(void)state;

	tree_make(&t);
	for (int i = 0; i < 1200; i++) {
		snprintf(rel, sizeof(rel), "group-with-a-long-name-%04d.scope", i);
		mkd(&t, rel);
	}
	mkd(&t, "group-with-a-long-name-0007.scope/inner");
	run_start(&r, &opts, t.sysfs);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.n, 1);
	assert_value(&r, P "groups_skipped{}", 0);
	run_stop(&r);

	/* The first 1000 by name: 1199 after the root, inner of 0007 at depth 2. */
	opts = (struct cgroup_opts){2, 1000};
	for (int i = 0; i < 1200; i += 37) {
		snprintf(rel, sizeof(rel), "group-with-a-long-name-%04d.scope/cpu.stat", i);
		put(&t, rel, "usage_usec 1\n");
	}
	run_start(&r, &opts, t.sysfs);
	run_round_logged(&r, ROUND_TS, "max_groups");
	assert_value(&r, P "groups_skipped{}", 1202 - 1000);
	for (int i = 0; i < 1200; i += 37) {
		snprintf(series, sizeof(series),
			 P "cpu_usage_seconds_total{cgroup=\"/group-with-a-long-name-%04d.scope\","
			   "unit=\"group-with-a-long-name-%04d.scope\"}", i, i);
		if (i < 999)
			assert_value(&r, series, 1e-6);
		else
			assert_null(find(&r, series));
	}
	run_stop(&r);
	rm_tree(t.sysfs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_entry),
		cmocka_unit_test(test_full_tree),
		cmocka_unit_test(test_default_depth),
		cmocka_unit_test(test_max_groups),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_v1_only),
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_many_groups),
	};

	return cmocka_run_group_tests_name("cgroup", tests, NULL, NULL);
}
