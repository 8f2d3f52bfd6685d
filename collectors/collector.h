/* SPDX-License-Identifier: MIT */
/* collector: the interface every collector implements (procfs, sysfs,
 * textfile, and the BPF ones under bpf/), in the spirit of Fluent Bit's
 * node_exporter input: a name, its options (described once, defaults
 * beside them), and init / update / exit.
 *
 * The scheduler calls update() once per interval and records its duration
 * and success (node_scrape_collector_*, or the collector kind's own
 * metrics); a collector only emits its own series. */
#ifndef BPFPUSH_COLLECTOR_H
#define BPFPUSH_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "series/registry.h"
#include "config/config.h"

struct collector;

/* What a family of collectors (the BPF ones) asks of the scheduler beyond
 * init / update / exit. A collector without one is node_exporter's kind:
 * node_scrape_collector_{duration_seconds,success} each round, and dropped
 * (with a warning) when its init fails. */
struct collector_kind {
	const struct metric_desc *up;       /* each round, 1 or 0, {collector} */
	const struct metric_desc *duration; /* each round it is loaded, seconds */
	/* After every collector of this kind exited; NULL: nothing shared. */
	void (*teardown)(void);
};

struct collector_ctx {
	const struct collector *collector;
	const void *opts;                   /* options struct filled by config */
	const struct global_config *global; /* procfs, sysfs, rootfs paths */
	void *state;                        /* the collector's own, from init */
	/* When its counters started counting (Unix ms; 0: unknown): init
	 * sets it (a BPF collector: when its programs were attached), else
	 * boot time when counts_from_boot. Its counters' start timestamps. */
	int64_t start_ms;
};

struct collector {
	const char *name;
	bool default_enabled;
	size_t opts_size;              /* sizeof its options struct, or 0 */
	const struct opt_desc *opts;   /* NULL-name terminated, or NULL */
	const struct collector_kind *kind; /* NULL: node_exporter's */
	bool counts_from_boot;         /* its counters count from boot (procfs) */
	/* 0, or -1: the collector stays off for this run (init logs why). With
	 * a kind, it stays in the rounds, up 0. */
	int (*init)(struct collector_ctx *ctx);
	/* 0 on success; -1 when its source could not be read this round. */
	int (*update)(struct collector_ctx *ctx, struct registry *reg);
	void (*exit)(struct collector_ctx *ctx);
};

/* The table, in collectors.c. */
extern const struct collector *const collector_table[];
extern const size_t collector_count;

#endif
