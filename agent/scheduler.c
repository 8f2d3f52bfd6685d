/* SPDX-License-Identifier: MIT */
#include "agent/scheduler.h"

#include <linux/capability.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/clock.h"
#include "collectors/collector.h"
#include "lib/log.h"
#include "bpf/bpf_collector.h"

/* A configured collector: loaded (state set by init) or not (init failed:
 * a collector with a kind, e.g. a BPF one whose hook is missing). */
struct slot {
	struct collector_ctx ctx;
	const struct section_config *sc; /* its config (the running one, or a
					  * retired one its opts point into) */
	bool active;              /* configured: collected, or reported down */
	bool ever;                /* was configured at some time (for teardown) */
	bool loaded;
	size_t max_series;        /* its max_series option; 0: no limit */
	uint64_t dropped_logged;  /* series drops already said in the log */
	double dropped_log_at;    /* when (monotonic s), for the rate limit */
};

/* One slot per collector of the tables, in table order, configured or not:
 * a slot's index is its registry source id (less one) for the whole run,
 * whatever a reload turns on or off. */
struct scheduler {
	struct slot *slots;
	size_t n_slots;
	const struct config *cfg; /* the agent's running config (its address) */
};

static const struct metric_desc scrape_duration = {
	"node_scrape_collector_duration_seconds",
	"node_exporter: Duration of a collector scrape.", METRIC_GAUGE};
static const struct metric_desc scrape_success = {
	"node_scrape_collector_success",
	"node_exporter: Whether a collector succeeded.", METRIC_GAUGE};

static const struct metric_desc series_live = {
	"bpfpush_collection_series",
	"Series the collector has now (those gone two rounds are forgotten).", METRIC_GAUGE};
static const struct metric_desc series_dropped = {
	"bpfpush_collection_series_dropped_total",
	"New series the collector emitted while at its max_series, dropped (counted in every "
	"round they were emitted).",
	METRIC_COUNTER};

#define MAX_SCHEMAS 128
#define MAX_OPTS 1024 /* every collector's options, max_series included */
#define MAX_SERIES_DEFAULT "200000"

/* Where max_series goes in a collector's options: after its own struct, so
 * the collector's opts pointer and offsets stay as they are. */
static size_t max_series_offset(const struct collector *c)
{
	return (c->opts_size + sizeof(int64_t) - 1) / sizeof(int64_t) * sizeof(int64_t);
}

/* Every section gets max_series beside its collector's own options. */
static const struct opt_desc *with_max_series(const struct collector *c, struct opt_desc *pool,
					      size_t *used)
{
	struct opt_desc *out = pool + *used;
	size_t n = 0;

	while (c->opts && c->opts[n].name)
		n++;
	if (*used + n + 2 > MAX_OPTS)
		return c->opts; /* cannot happen with today's table: no limit option */
	for (size_t i = 0; i < n; i++)
		out[i] = c->opts[i];
	out[n] = (struct opt_desc){"max_series", OPT_INT, MAX_SERIES_DEFAULT, max_series_offset(c), 0};
	out[n + 1] = (struct opt_desc){0};
	*used += n + 2;
	return out;
}

static size_t fill_schemas(struct section_schema *out, const struct collector *const *table,
			   size_t n, struct opt_desc *pool, size_t *used)
{
	for (size_t i = 0; i < n && i < MAX_SCHEMAS; i++)
		out[i] = (struct section_schema){table[i]->name, table[i]->default_enabled,
						 max_series_offset(table[i]) + sizeof(int64_t),
						 with_max_series(table[i], pool, used)};
	return n < MAX_SCHEMAS ? n : MAX_SCHEMAS;
}

const struct config_schemas *scheduler_schemas(void)
{
	static struct section_schema collectors[MAX_SCHEMAS], bpf[MAX_SCHEMAS];
	static struct opt_desc pool[MAX_OPTS];
	static struct config_schemas all;
	size_t used = 0;

	if (!all.collectors) {
		all.n_collectors = fill_schemas(collectors, collector_table, collector_count, pool,
						&used);
		all.n_bpf = fill_schemas(bpf, bpf_collector_table, bpf_collector_count, pool, &used);
		all.collectors = collectors;
		all.bpf = bpf;
	}
	return &all;
}

/* Loads slot's collector with section sc: 0, or -1 (logged by the
 * collector, or here for one without a kind). */
static int slot_load(struct scheduler *s, struct slot *slot, const struct collector *c,
		     const struct section_config *sc)
{
	*slot = (struct slot){.ctx = {c, sc->opts, &s->cfg->global, NULL}, .sc = sc, .active = true,
			      .ever = true, .loaded = true};
	if (sc->schema->opts_size > max_series_offset(c)) {
		int64_t max;

		memcpy(&max, (const char *)sc->opts + max_series_offset(c), sizeof(max));
		slot->max_series = (size_t)max;
	}
	if (c->init && c->init(&slot->ctx) < 0) {
		/* One with a kind said why (one line); keep it to report up 0. */
		if (!c->kind)
			log_msg(LOG_WARN, "collector disabled: init failed", "collector=%s", c->name);
		slot->loaded = false;
		slot->active = c->kind != NULL;
		return -1;
	}
	if (!slot->ctx.start_ms && c->counts_from_boot)
		slot->ctx.start_ms = boot_time_ms();
	return 0;
}

static void slot_unload(struct slot *slot)
{
	if (slot->loaded && slot->ctx.collector->exit)
		slot->ctx.collector->exit(&slot->ctx);
	slot->loaded = slot->active = false;
}

static const struct collector *table_entry(size_t i)
{
	return i < collector_count ? collector_table[i] : bpf_collector_table[i - collector_count];
}

/* Table entry i's section in cfg, or NULL. */
static const struct section_config *table_section(const struct config *cfg, size_t i)
{
	const struct collector *c = table_entry(i);

	return i < collector_count ? config_collector(cfg, c->name) : config_bpf(cfg, c->name);
}

static bool section_on(const struct section_config *sc)
{
	return sc && sc->enabled;
}

struct scheduler *scheduler_create(const struct config *cfg)
{
	struct scheduler *s = calloc(1, sizeof(*s));
	size_t loaded = 0, active = 0;

	if (!s || !(s->slots = calloc(collector_count + bpf_collector_count + 1, sizeof(*s->slots)))) {
		free(s);
		return NULL;
	}
	s->cfg = cfg;
	s->n_slots = collector_count + bpf_collector_count;
	for (size_t i = 0; i < s->n_slots; i++) {
		const struct section_config *sc = table_section(cfg, i);

		s->slots[i].ctx.collector = table_entry(i);
		if (section_on(sc))
			slot_load(s, &s->slots[i], table_entry(i), sc);
		loaded += s->slots[i].loaded;
		active += s->slots[i].active;
	}
	log_msg(LOG_INFO, "collectors ready", "active=%zu disabled=%zu", loaded, active - loaded);
	return s;
}

/* The kind of slot i's collector torn down, at its first slot. */
static void teardown_kind(struct scheduler *s, size_t i)
{
	const struct collector_kind *kind = s->slots[i].ctx.collector->kind;

	if (!kind || !kind->teardown)
		return;
	if (!s->slots[i].ever)
		return;
	for (size_t j = 0; j < i; j++)
		if (s->slots[j].ever && s->slots[j].ctx.collector->kind == kind)
			return;
	kind->teardown();
}

void scheduler_destroy(struct scheduler *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_slots; i++)
		slot_unload(&s->slots[i]);
	for (size_t i = 0; i < s->n_slots; i++)
		teardown_kind(s, i);
	free(s->slots);
	free(s);
}

/* The collector's series count and drops, and one line a minute at most
 * while it keeps hitting its max_series. */
static void emit_series_counts(struct slot *slot, uint32_t source, struct registry *reg,
			       const struct label *l)
{
	size_t live;
	uint64_t dropped;
	double now = mono_seconds();

	registry_source_stats(reg, source, &live, &dropped);
	registry_emit(reg, &series_live, NULL, l, 1, (double)live, 0);
	registry_emit(reg, &series_dropped, NULL, l, 1, (double)dropped, 0);
	if (dropped == slot->dropped_logged ||
	    (slot->dropped_log_at > 0 && now - slot->dropped_log_at < 60))
		return;
	log_msg(LOG_WARN, "collector at max_series: new series dropped",
		"collector=%s max_series=%zu series=%zu dropped=%llu dropped_total=%llu "
		"hint=\"raise max_series for this collector, or check its source for churning "
		"label values\"",
		l->value, slot->max_series, live,
		(unsigned long long)(dropped - slot->dropped_logged), (unsigned long long)dropped);
	slot->dropped_logged = dropped;
	slot->dropped_log_at = now;
}

void scheduler_collect(struct scheduler *s, struct registry *reg)
{
	for (size_t i = 0; i < s->n_slots; i++) {
		struct slot *slot = &s->slots[i];
		const struct collector_kind *kind = slot->ctx.collector->kind;
		struct label l = {"collector", slot->ctx.collector->name};
		uint32_t source = (uint32_t)i + 1;
		double start = mono_seconds(), took;
		int rc = -1;

		if (slot->loaded) /* its counters' start, for the series it emits */
			registry_set_source_start(reg, source, slot->ctx.start_ms);
		if (!slot->active)
			continue;
		if (slot->loaded && registry_set_source(reg, source, slot->max_series) == 0)
			rc = slot->ctx.collector->update(&slot->ctx, reg);
		registry_set_source(reg, 0, 0);
		took = mono_seconds() - start;
		emit_series_counts(slot, source, reg, &l);
		if (rc < 0 && slot->loaded)
			log_msg(LOG_DEBUG, "collector failed", "collector=%s", l.value);
		if (kind) {
			registry_emit(reg, kind->up, NULL, &l, 1, rc < 0 ? 0 : 1, 0);
			if (slot->loaded)
				registry_emit(reg, kind->duration, NULL, &l, 1, took, 0);
			continue;
		}
		registry_emit(reg, &scrape_duration, NULL, &l, 1, took, 0);
		registry_emit(reg, &scrape_success, NULL, &l, 1, rc < 0 ? 0 : 1, 0);
	}
}

/* Whether this process may load BPF programs now: CAP_BPF (or, before it
 * existed, CAP_SYS_ADMIN) and CAP_PERFMON in its effective set. Once the
 * agent has dropped them, a BPF collector that exits cannot come back. */
static bool may_load_bpf(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	uint64_t eff;

	if (syscall(SYS_capget, &hdr, data) < 0)
		return true; /* unknown: try, and fall back to the old options */
	eff = (uint64_t)data[1].effective << 32 | data[0].effective;
#define HAS(cap) ((eff >> (cap)) & 1)
	return HAS(CAP_SYS_ADMIN) || (HAS(39 /* CAP_BPF */) && HAS(38 /* CAP_PERFMON */));
#undef HAS
}

/* A collector whose options changed: exit, then init with the new ones;
 * if that fails, init again with the old ones (their config is still
 * allocated: the caller retires it after this). A BPF collector that could
 * not load again is left as it is. */
static void reinit(struct scheduler *s, struct slot *slot, const struct collector *c,
		   const struct section_config *sc, bool *restart_required)
{
	const struct section_config *old = slot->sc;

	if (c->kind && slot->loaded && !may_load_bpf()) {
		log_msg(LOG_WARN, "reload: collector options changed, but the capabilities to load "
			"it again were dropped: it keeps running with its old options until a restart",
			"collector=%s", c->name);
		*restart_required = true;
		return;
	}
	slot_unload(slot);
	if (slot_load(s, slot, c, sc) == 0) {
		log_msg(LOG_INFO, "reload: collector re-initialised with its new options",
			"collector=%s", c->name);
		return;
	}
	*restart_required = true;
	slot_unload(slot);
	if (slot_load(s, slot, c, old) == 0) {
		log_msg(LOG_WARN, "reload: collector cannot start with its new options: it runs "
			"with its old ones until a restart", "collector=%s", c->name);
		return;
	}
	log_msg(LOG_ERROR, "reload: collector cannot start again, with its new options or its "
		"old ones: it is off until a restart", "collector=%s", c->name);
}

void scheduler_reload(struct scheduler *s, bool *restart_required)
{
	*restart_required = false;
	for (size_t i = 0; i < s->n_slots; i++) {
		struct slot *slot = &s->slots[i];
		const struct collector *c = table_entry(i);
		const struct section_config *sc = table_section(s->cfg, i);
		bool was = slot->active || (slot->sc && section_on(slot->sc)), on = section_on(sc);

		if (!was && !on)
			continue;
		if (was && !on) {
			slot_unload(slot);
			slot->sc = NULL;
			log_msg(LOG_INFO, "reload: collector turned off", "collector=%s", c->name);
		} else if (!was) {
			if (slot_load(s, slot, c, sc) == 0)
				log_msg(LOG_INFO, "reload: collector turned on", "collector=%s", c->name);
		} else if (!config_section_equal(slot->sc, sc)) {
			reinit(s, slot, c, sc, restart_required);
		}
	}
}

bool scheduler_uses_config(const struct scheduler *s, const struct config *cfg)
{
	for (size_t i = 0; i < s->n_slots; i++) {
		const struct section_config *sc = s->slots[i].sc;

		if (sc && ((sc >= cfg->collectors && sc < cfg->collectors + cfg->n_collectors) ||
			   (sc >= cfg->bpf && sc < cfg->bpf + cfg->n_bpf)))
			return true;
	}
	return false;
}
