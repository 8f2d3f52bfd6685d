/* SPDX-License-Identifier: MIT */
/* One collector run the way the scheduler runs it: init, two rounds into a
 * fresh registry (the second sees the first's state: rates, kept files,
 * families), exit. For the fuzz targets that feed collectors their files.
 * Header-only; include after fuzz_tree.h. */
#ifndef BPFPUSH_FUZZ_COLLECT_H
#define BPFPUSH_FUZZ_COLLECT_H

#include "collectors/collector.h"
#include "series/registry.h"

static volatile size_t fuzz_sink;

static inline void fuzz_collect(const struct collector *c, const void *opts,
				const struct global_config *global)
{
	struct registry *reg = registry_create(NULL, 0, "fuzz", "host");
	struct collector_ctx ctx = {.collector = c, .opts = opts, .global = global};
	const struct sample *samples;
	size_t n;

	if (!reg)
		abort();
	if (c->init && c->init(&ctx) < 0) {
		registry_destroy(reg);
		return;
	}
	for (int64_t round = 1; round <= 2; round++) {
		registry_begin_round(reg, round * 1000);
		(void)c->update(&ctx, reg);
		samples = registry_end_round(reg, &n);
		/* Read every sample's series name: a pointer gone bad shows. */
		for (size_t i = 0; i < n; i++)
			fuzz_sink += strlen(series_of(samples[i].series)->name);
	}
	if (c->exit)
		c->exit(&ctx);
	registry_destroy(reg);
}

#endif
