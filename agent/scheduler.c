#include "agent/scheduler.h"

#include <stdlib.h>

#include "agent/clock.h"
#include "agent/collectors/collector.h"
#include "agent/log.h"
#include "bpf/bpf_collector.h"
#include "bpf/bpfutil.h"

/* A configured collector: loaded (state set by init) or not (init failed:
 * for a BPF collector, its hook is missing on this kernel). */
struct slot {
	struct collector_ctx ctx;
	bool bpf, loaded;
};

struct scheduler {
	struct slot *slots;
	size_t n_slots;
	bool any_bpf;
};

static const struct metric_desc scrape_duration = {
	"node_scrape_collector_duration_seconds",
	"node_exporter: Duration of a collector scrape.", METRIC_GAUGE};
static const struct metric_desc scrape_success = {
	"node_scrape_collector_success",
	"node_exporter: Whether a collector succeeded.", METRIC_GAUGE};
static const struct metric_desc bpf_up = {
	"bpfpush_bpf_collector_up",
	"1 if the BPF collector is loaded and its maps were read this round, 0 otherwise.",
	METRIC_GAUGE};
static const struct metric_desc bpf_duration = {
	"bpfpush_bpf_collector_duration_seconds",
	"Time the BPF collector took to read its maps this round.", METRIC_GAUGE};

#define MAX_SCHEMAS 128

static size_t fill_schemas(struct section_schema *out, const struct collector *const *table,
			   size_t n)
{
	for (size_t i = 0; i < n && i < MAX_SCHEMAS; i++)
		out[i] = (struct section_schema){table[i]->name, table[i]->default_enabled,
						 table[i]->opts_size, table[i]->opts};
	return n < MAX_SCHEMAS ? n : MAX_SCHEMAS;
}

const struct config_schemas *scheduler_schemas(void)
{
	static struct section_schema collectors[MAX_SCHEMAS], bpf[MAX_SCHEMAS];
	static struct config_schemas all;

	if (!all.collectors) {
		all.n_collectors = fill_schemas(collectors, collector_table, collector_count);
		all.n_bpf = fill_schemas(bpf, bpf_collector_table, bpf_collector_count);
		all.collectors = collectors;
		all.bpf = bpf;
	}
	return &all;
}

static void add_slot(struct scheduler *s, const struct collector *c,
		     const struct section_config *sc, const struct config *cfg, bool bpf)
{
	struct slot *slot = &s->slots[s->n_slots];

	if (!sc || !sc->enabled)
		return;
	*slot = (struct slot){{c, sc->opts, &cfg->global, NULL}, bpf, true};
	if (c->init && c->init(&slot->ctx) < 0) {
		/* A BPF collector said why (one line); keep it to report up 0. */
		if (!bpf)
			log_msg(LOG_WARN, "collector disabled: init failed", "collector=%s", c->name);
		slot->loaded = false;
		if (!bpf)
			return;
	}
	s->any_bpf |= bpf;
	s->n_slots++;
}

struct scheduler *scheduler_create(const struct config *cfg)
{
	struct scheduler *s = calloc(1, sizeof(*s));
	size_t loaded = 0;

	if (!s || !(s->slots = calloc(collector_count + bpf_collector_count + 1, sizeof(*s->slots)))) {
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < collector_count; i++)
		add_slot(s, collector_table[i], config_collector(cfg, collector_table[i]->name), cfg,
			 false);
	for (size_t i = 0; i < bpf_collector_count; i++)
		add_slot(s, bpf_collector_table[i], config_bpf(cfg, bpf_collector_table[i]->name),
			 cfg, true);
	for (size_t i = 0; i < s->n_slots; i++)
		loaded += s->slots[i].loaded;
	log_msg(LOG_INFO, "collectors ready", "active=%zu disabled=%zu", loaded,
		s->n_slots - loaded);
	return s;
}

void scheduler_destroy(struct scheduler *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_slots; i++)
		if (s->slots[i].loaded && s->slots[i].ctx.collector->exit)
			s->slots[i].ctx.collector->exit(&s->slots[i].ctx);
	if (s->any_bpf)
		bpf_teardown();
	free(s->slots);
	free(s);
}

void scheduler_collect(struct scheduler *s, struct registry *reg)
{
	for (size_t i = 0; i < s->n_slots; i++) {
		struct slot *slot = &s->slots[i];
		struct label l = {"collector", slot->ctx.collector->name};
		double start = mono_seconds(), took;
		int rc = slot->loaded ? slot->ctx.collector->update(&slot->ctx, reg) : -1;

		took = mono_seconds() - start;
		if (rc < 0 && slot->loaded)
			log_msg(LOG_DEBUG, "collector failed", "collector=%s", l.value);
		if (slot->bpf) {
			registry_emit(reg, &bpf_up, NULL, &l, 1, rc < 0 ? 0 : 1, 0);
			if (slot->loaded)
				registry_emit(reg, &bpf_duration, NULL, &l, 1, took, 0);
			continue;
		}
		registry_emit(reg, &scrape_duration, NULL, &l, 1, took, 0);
		registry_emit(reg, &scrape_success, NULL, &l, 1, rc < 0 ? 0 : 1, 0);
	}
}
