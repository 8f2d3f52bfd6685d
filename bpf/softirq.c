/* SPDX-License-Identifier: MIT */
/* softirq: time per softirq vector as a histogram in seconds,
 * kernel_softirq_duration_seconds{vector="NET_RX"}. Kernel side in
 * softirq.bpf.c.
 *
 * Vector names come from the running kernel's BTF: the enumerators of the
 * enum that ends in NR_SOFTIRQS, minus "_SOFTIRQ" (HI, TIMER, NET_TX,
 * NET_RX, BLOCK, IRQ_POLL, TASKLET, SCHED, HRTIMER, RCU: the names
 * /proc/softirqs prints). Without BTF for them, that fixed list, which is
 * in the kernel's enum order since 2.6.35 (IRQ_POLL was BLOCK_IOPOLL). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "bpf/bpfutil.h"
#include "bpf/btf_enum.h"
#include "bpf/loader.h"
#include "bpf/softirq.h"
#include "bpf/softirq.skel.h" /* generated into $(BUILD)/bpf */

BPF_SKEL_OPS(softirq_bpf);

/* Buckets up to 2^20 us (1 s): a softirq that long is already a disaster. */
#define SOFTIRQ_BUCKETS 20

static const struct metric_desc duration = {
	"kernel_softirq_duration_seconds",
	"Time a softirq vector's handler ran on a CPU, per run (hard interrupts included).",
	METRIC_HISTOGRAM};

static const struct bpf_hook hooks[] = {
	{BPF_RAW_TP, NULL, "softirq_entry"}, {BPF_RAW_TP, NULL, "softirq_exit"}, BPF_HOOKS_END};
static const struct bpf_way ways[] = {{NULL, NULL, hooks, NULL}};

static const char *const fixed_names[] = {"HI",      "TIMER", "NET_TX",  "NET_RX", "BLOCK",
					  "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU"};

struct softirq_state {
	char names[SOFTIRQ_MAX_VECTORS][16]; /* "" for numbers without a vector */
};

static void name_vector(const char *name, int64_t value, void *arg)
{
	struct softirq_state *st = arg;
	size_t len = strlen(name), suffix = strlen("_SOFTIRQ");

	if (value < 0 || value >= SOFTIRQ_MAX_VECTORS || len <= suffix ||
	    strcmp(name + len - suffix, "_SOFTIRQ") != 0 || len - suffix >= sizeof(st->names[0]))
		return;
	memcpy(st->names[value], name, len - suffix);
	st->names[value][len - suffix] = '\0';
}

static int name_vectors(struct bpf_run *r)
{
	struct softirq_state *st = r->state;

	if (btf_enum_each(bpf_kernel_btf(), "NR_SOFTIRQS", name_vector, st) < 0)
		for (size_t v = 0; v < sizeof(fixed_names) / sizeof(fixed_names[0]); v++)
			snprintf(st->names[v], sizeof(st->names[v]), "%s", fixed_names[v]);
	return 0;
}

static void describe(const struct bpf_run *r, char *buf, size_t size)
{
	(void)r;
	snprintf(buf, size, "hook=raw_tp");
}

static int softirq_update(struct bpf_run *r, struct registry *reg)
{
	struct softirq_state *st = r->state;
	struct softirq_bpf *skel = r->skel;
	int fd = bpf_map__fd(skel->maps.hist);
	uint64_t entries[HIST_ENTRIES];

	for (uint32_t v = 0; v < SOFTIRQ_MAX_VECTORS; v++) {
		struct label l = {"vector", st->names[v]};

		if (!st->names[v][0])
			continue;
		if (bpf_percpu_sum(fd, v * HIST_ENTRIES, HIST_ENTRIES, entries) < 0)
			return -1;
		if (!entries[HIST_SUM_SLOT])
			continue; /* never ran: no series yet */
		bpf_emit_log2_histogram(reg, &duration, &l, 1, entries, SOFTIRQ_BUCKETS,
					SOFTIRQ_UNIT_NS / 1e9, 1e-9);
	}
	return 0;
}

/* Off by default: two clock reads per softirq cost ~210 ns here (make
 * bench), above the 100 ns a default collector may cost, and a busy
 * network host runs 100,000 softirqs a second. */
const struct bpf_collector bpf_collector_softirq = {
	.collector = BPF_COLLECTOR("softirq", false, 0, NULL),
	.skel = &softirq_bpf_ops,
	.state_size = sizeof(struct softirq_state),
	.ways = ways,
	.n_ways = sizeof(ways) / sizeof(ways[0]),
	.prepare = name_vectors,
	.describe = describe,
	.update = softirq_update,
};
