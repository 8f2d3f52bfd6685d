/* SPDX-License-Identifier: MIT */
/* timers: timer-wheel timers started, by callback function (the kernel
 * function's name from /proc/kallsyms). Kernel side in timers.bpf.c.
 *
 * Off by default: timer:timer_start is among the busiest tracepoints (TCP
 * rearms timers per packet), and a per-event cost that is fine for a
 * connection event is not for it; turn it on where the timer mix matters
 * (docs/design.md: timers per function explained an incident).
 *
 * Label cardinality is bounded by max_functions (at most 512: the kernel
 * side's per-CPU table has 1024 slots and is kept at most half full);
 * starts of callbacks that find no slot are counted in
 * kernel_timer_starts_untracked_total. Two addresses with one name (static
 * functions of the same name) are summed; an address kallsyms cannot name
 * (or all of them, when kernel.kptr_restrict hides addresses from the
 * agent) is labelled by its hex value. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "bpf/bpfutil.h"
#include "bpf/ksyms.h"
#include "bpf/loader.h"
#include "bpf/timers.h"
#include "bpf/timers.skel.h" /* generated into $(BUILD)/bpf */

BPF_SKEL_OPS(timers_bpf);

struct timers_opts {
	int64_t max_functions; /* callbacks counted one by one */
	char *hook;            /* auto, raw_tp, tracepoint */
};

static const struct opt_desc timers_opt_descs[] = {
	{"max_functions", OPT_INT, "512", offsetof(struct timers_opts, max_functions),
	 TIMERS_SLOTS / 2},
	{"hook", OPT_ENUM, "auto|raw_tp|tracepoint", offsetof(struct timers_opts, hook), 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

static const struct metric_desc starts_desc = {
	"kernel_timer_starts_total",
	"Timer-wheel timers started (timer:timer_start), by callback function.", METRIC_COUNTER};
static const struct metric_desc untracked_desc = {
	"kernel_timer_starts_untracked_total",
	"Timer starts not counted per function because max_functions callbacks already were.",
	METRIC_COUNTER};

struct timer_count {
	const char *name; /* in ksyms; NULL: hex is the label */
	char hex[20];
	uint64_t count;
};

static const char *count_label(const struct timer_count *c)
{
	return c->name ? c->name : c->hex;
}

struct timers_state {
	const struct ksyms *ksyms;
	struct timer_table *tables; /* one per possible CPU */
	struct timer_slot *slots;   /* this round's nonzero slots, all CPUs */
	size_t n_slots, slots_cap;
	struct timer_count *counts; /* this round, one per address */
	size_t n, cap;
};

static const struct bpf_hook raw_hook[] = {{BPF_RAW_TP, NULL, "timer_start"}, BPF_HOOKS_END};
static const struct bpf_hook tp_hook[] = {{BPF_TRACEPOINT, "timer", "timer_start"}, BPF_HOOKS_END};
static const char *const raw_progs[] = {"timers_start", NULL};
static const char *const tp_progs[] = {"timers_start_tp", NULL};
static const struct bpf_way ways[] = {
	{"raw_tp", NULL, raw_hook, raw_progs},
	{"tracepoint", NULL, tp_hook, tp_progs},
};

static void timers_release(struct bpf_run *r)
{
	struct timers_state *st = r->state;

	if (st->ksyms)
		ksyms_release();
	free(st->tables);
	free(st->slots);
	free(st->counts);
}

static int timers_prepare(struct bpf_run *r)
{
	struct timers_state *st = r->state;

	st->tables = calloc((size_t)bpf_possible_cpus(), sizeof(*st->tables));
	return st->tables ? 0 : -1;
}

/* The table's used part: a power of two >= 2 x max_functions. */
static int timers_configure(struct bpf_run *r)
{
	const struct timers_opts *opts = r->opts;
	struct timers_bpf *skel = r->skel;
	uint32_t slots = 16;
	int64_t want_fns = opts && opts->max_functions > 0 ? opts->max_functions : 512;

	while (slots < TIMERS_SLOTS && (int64_t)slots < 2 * want_fns)
		slots *= 2;
	skel->rodata->slot_mask = slots - 1;
	return 0;
}

static void timers_started(struct bpf_run *r)
{
	struct timers_state *st = r->state;

	st->ksyms = ksyms_acquire();
	if (!st->ksyms) {
		ksyms_release();
		log_msg(LOG_WARN, "kernel symbols unreadable: timer functions labelled by address",
			"collector=timers path=/proc/kallsyms err=%d", -errno);
	}
}

static int by_function(const void *a, const void *b)
{
	const struct timer_slot *x = a, *y = b;

	return x->function < y->function ? -1 : x->function > y->function;
}

/* Every CPU's nonzero slots, merged by address into st->counts. */
static int read_counts(struct timers_state *st, struct timers_bpf *skel)
{
	int ncpu = bpf_possible_cpus();
	uint32_t zero = 0;

	st->n = st->n_slots = 0;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.table), &zero, st->tables) < 0)
		return -1;
	for (int cpu = 0; cpu < ncpu; cpu++) {
		for (uint32_t i = 0; i < TIMERS_SLOTS; i++) {
			const struct timer_slot *s = &st->tables[cpu].slot[i];

			if (!s->function || !s->count)
				continue;
			if (grow_array((void **)&st->slots, &st->slots_cap, st->n_slots + 1,
				       sizeof(*st->slots)) < 0)
				return -1;
			st->slots[st->n_slots++] = *s;
		}
	}
	qsort(st->slots, st->n_slots, sizeof(*st->slots), by_function);
	for (size_t i = 0; i < st->n_slots; i++) {
		struct timer_count *c;

		if (st->n && st->slots[i - 1].function == st->slots[i].function) {
			st->counts[st->n - 1].count += st->slots[i].count;
			continue;
		}
		if (grow_array((void **)&st->counts, &st->cap, st->n + 1, sizeof(*st->counts)) < 0)
			return -1;
		c = &st->counts[st->n++];
		c->count = st->slots[i].count;
		c->name = ksyms_lookup(st->ksyms, st->slots[i].function, NULL);
		if (!c->name)
			snprintf(c->hex, sizeof(c->hex), "0x%" PRIx64, (uint64_t)st->slots[i].function);
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(count_label(a), count_label(b));
}

static int timers_update(struct bpf_run *r, struct registry *reg)
{
	struct timers_state *st = r->state;
	struct timers_bpf *skel = r->skel;
	uint64_t counters[TIMERS_COUNTERS];

	if (read_counts(st, skel) < 0 ||
	    bpf_percpu_sum(bpf_map__fd(skel->maps.counters), 0, TIMERS_COUNTERS, counters) < 0)
		return -1;
	/* Two addresses may share a name: sorted by name, summed. */
	qsort(st->counts, st->n, sizeof(*st->counts), by_name);
	for (size_t i = 0; i < st->n;) {
		struct label l = {"function", count_label(&st->counts[i])};
		uint64_t sum = 0;
		size_t j = i;

		for (; j < st->n && !strcmp(count_label(&st->counts[j]), l.value); j++)
			sum += st->counts[j].count;
		registry_emit(reg, &starts_desc, NULL, &l, 1, (double)sum, 0);
		i = j;
	}
	registry_emit(reg, &untracked_desc, NULL, NULL, 0,
		      (double)counters[TIMERS_FUNCTIONS_FULL], 0);
	return 0;
}

const struct bpf_collector bpf_collector_timers = {
	.collector = BPF_COLLECTOR("timers", false, sizeof(struct timers_opts), timers_opt_descs),
	.skel = &timers_bpf_ops,
	.state_size = sizeof(struct timers_state),
	.ways = ways,
	.n_ways = sizeof(ways) / sizeof(ways[0]),
	.pin_option = "hook",
	.prepare = timers_prepare,
	.configure = timers_configure,
	.started = timers_started,
	.update = timers_update,
	.release = timers_release,
};
