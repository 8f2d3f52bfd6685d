#include "agent/scheduler.h"

#include <stdlib.h>
#include <time.h>

#include "agent/collectors/collector.h"
#include "agent/log.h"
#include "agent/clock.h"

struct scheduler {
	struct collector_ctx *active; /* collectors whose init succeeded */
	size_t n_active;
};

static const struct metric_desc scrape_duration = {
	"node_scrape_collector_duration_seconds",
	"node_exporter: Duration of a collector scrape.", METRIC_GAUGE};
static const struct metric_desc scrape_success = {
	"node_scrape_collector_success",
	"node_exporter: Whether a collector succeeded.", METRIC_GAUGE};

const struct config_schemas *scheduler_schemas(void)
{
	static struct section_schema schemas[64];
	static struct config_schemas all;

	if (all.n_collectors == 0) {
		for (size_t i = 0; i < collector_count && i < 64; i++) {
			const struct collector *c = collector_table[i];
			schemas[i] = (struct section_schema){c->name, c->default_enabled,
							     c->opts_size, c->opts};
		}
		all.collectors = schemas;
		all.n_collectors = collector_count < 64 ? collector_count : 64;
	}
	return &all;
}

struct scheduler *scheduler_create(const struct config *cfg)
{
	struct scheduler *s = calloc(1, sizeof(*s));

	if (!s || !(s->active = calloc(collector_count + 1, sizeof(*s->active)))) {
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < collector_count; i++) {
		const struct section_config *sc = config_collector(cfg, collector_table[i]->name);
		struct collector_ctx *ctx = &s->active[s->n_active];
		if (!sc || !sc->enabled)
			continue;
		*ctx = (struct collector_ctx){collector_table[i], sc->opts, &cfg->global, NULL};
		if (ctx->collector->init && ctx->collector->init(ctx) < 0) {
			log_msg(LOG_WARN, "collector disabled: init failed", "collector=%s",
				ctx->collector->name);
			continue;
		}
		s->n_active++;
	}
	log_msg(LOG_INFO, "collectors ready", "active=%zu", s->n_active);
	return s;
}

void scheduler_destroy(struct scheduler *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_active; i++)
		if (s->active[i].collector->exit)
			s->active[i].collector->exit(&s->active[i]);
	free(s->active);
	free(s);
}

void scheduler_collect(struct scheduler *s, struct registry *reg)
{
	for (size_t i = 0; i < s->n_active; i++) {
		struct collector_ctx *ctx = &s->active[i];
		struct label l = {"collector", ctx->collector->name};
		double start = mono_seconds();
		int rc = ctx->collector->update(ctx, reg);
		double took = mono_seconds() - start;

		if (rc < 0)
			log_msg(LOG_DEBUG, "collector failed", "collector=%s", ctx->collector->name);
		registry_emit(reg, &scrape_duration, NULL, &l, 1, took, 0);
		registry_emit(reg, &scrape_success, NULL, &l, 1, rc < 0 ? 0 : 1, 0);
	}
}
