/* collector: the interface every procfs/sysfs/textfile collector implements,
 * in the spirit of Fluent Bit's node_exporter input: a name, its options
 * (described once, defaults beside them), and init / update / exit.
 *
 * The scheduler calls update() once per interval and records
 * node_scrape_collector_duration_seconds and node_scrape_collector_success
 * for it; a collector only emits its own series. */
#ifndef BPFPUSH_COLLECTOR_H
#define BPFPUSH_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "series/registry.h"
#include "config/config.h"

struct collector;

struct collector_ctx {
	const struct collector *collector;
	const void *opts;                   /* options struct filled by config */
	const struct global_config *global; /* procfs, sysfs, rootfs paths */
	void *state;                        /* the collector's own, from init */
};

struct collector {
	const char *name;
	bool default_enabled;
	size_t opts_size;              /* sizeof its options struct, or 0 */
	const struct opt_desc *opts;   /* NULL-name terminated, or NULL */
	/* 0, or -1: the collector stays off for this run (init logs why). */
	int (*init)(struct collector_ctx *ctx);
	/* 0 on success; -1 when its source could not be read this round. */
	int (*update)(struct collector_ctx *ctx, struct registry *reg);
	void (*exit)(struct collector_ctx *ctx);
};

/* The table, in collectors.c. */
extern const struct collector *const collector_table[];
extern const size_t collector_count;

#endif
