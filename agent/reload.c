/* SPDX-License-Identifier: MIT */
#include "agent/reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/endpoints.h"
#include "lib/clock.h"
#include "lib/log.h"

static const struct metric_desc last_ok = {
	"bpfpush_config_last_reload_successful",
	"Whether the last configuration reload attempt was successful.", METRIC_GAUGE};
static const struct metric_desc last_success = {
	"bpfpush_config_last_reload_success_timestamp_seconds",
	"Timestamp of the last successful configuration reload.", METRIC_GAUGE};
static const struct metric_desc restart_required = {
	"bpfpush_config_reload_restart_required",
	"1 when a reloaded change cannot apply until the agent restarts (see the log).",
	METRIC_GAUGE};

void reload_init(struct reload_state *st)
{
	*st = (struct reload_state){.last_ok = true, .last_success_ms = wall_ms()};
}

void reload_emit(struct registry *reg, const struct reload_state *st)
{
	registry_emit(reg, &last_ok, NULL, NULL, 0, st->last_ok ? 1 : 0, 0);
	registry_emit(reg, &last_success, NULL, NULL, 0, (double)st->last_success_ms / 1000.0, 0);
	registry_emit(reg, &restart_required, NULL, NULL, 0, st->restart_required ? 1 : 0, 0);
}

static void needs_restart(struct reload_state *st, const char *what)
{
	st->restart_required = true;
	log_msg(LOG_WARN, "reload: this change applies at the next restart; the running value "
		"stays", "key=%s", what);
}

#define SWAP(a, b)                                                                                 \
	do {                                                                                       \
		__typeof__(a) swap_tmp = (a);                                                      \
		(a) = (b);                                                                         \
		(b) = swap_tmp;                                                                    \
	} while (0)

static bool str_changed(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") != 0;
}

/* A string the running agent was built with: a change keeps the running
 * value in next (the old config frees the new one). */
static void keep_string(struct reload_state *st, const char *key, char **running, char **next)
{
	if (!str_changed(*running, *next))
		return;
	needs_restart(st, key);
	SWAP(*running, *next);
}

/* global: interval applies from the next round. The rest was used once at
 * the start: the paths by the collectors' init, data_dir by the lock and
 * the disk tiers, the external labels by the registry (a new set would
 * make every series a new one), listen_address by the status endpoint. */
static void apply_global(struct reload_state *st, struct config *running, struct config *next)
{
	struct global_config *rg = &running->global, *ng = &next->global;

	if (rg->interval_ms != ng->interval_ms)
		log_msg(LOG_INFO, "reload: global.interval changes from the next round",
			"interval_ms=%lld", (long long)ng->interval_ms);
	keep_string(st, "global.procfs", &rg->procfs, &ng->procfs);
	keep_string(st, "global.sysfs", &rg->sysfs, &ng->sysfs);
	keep_string(st, "global.rootfs", &rg->rootfs, &ng->rootfs);
	keep_string(st, "global.data_dir", &rg->data_dir, &ng->data_dir);
	keep_string(st, "http.listen_address", &running->http.listen_address,
		    &next->http.listen_address);
	if (!config_kv_equal(rg->external_labels, rg->n_external_labels, ng->external_labels,
			     ng->n_external_labels)) {
		needs_restart(st, "global.external_labels");
		SWAP(rg->external_labels, ng->external_labels);
		SWAP(rg->n_external_labels, ng->n_external_labels);
	}
	/* The registry relabeled every series it knows with the running rules
	 * (a new set would have to redo each one, and send the stale markers
	 * of what changed). */
	if (!config_relabel_equal(&rg->relabel_configs, &ng->relabel_configs)) {
		needs_restart(st, "global.relabel_configs");
		SWAP(rg->relabel_configs, ng->relabel_configs);
	}
}

/* A replaced config stays allocated while a queue kept across the reload
 * points into its remote_write entries, or a collector into its sections:
 * a queue reads its config from its sender threads at any time, and a
 * collector may hold pointers into its options (strings) from its init, so
 * each keeps the very struct it was created with (not a copy swapped in
 * under it). */
static bool in_use(const struct config *c, const struct reload_target *t)
{
	if (scheduler_uses_config(t->scheduler, c))
		return true;
	for (size_t i = 0; i < *t->n_queues; i++) {
		const struct remote_write_config *rw = queue_remote_write_config((*t->queues)[i]);

		if (rw >= c->remote_write && rw < c->remote_write + c->n_remote_write)
			return true;
	}
	return false;
}

/* Keeps old among the retired configs, then frees those no longer used. */
static void retire(struct reload_state *st, const struct reload_target *t, struct config *old)
{
	struct config **more = realloc(st->retired, (st->n_retired + 1) * sizeof(*more));
	size_t kept = 0;

	if (!more) { /* cannot keep it: the queues go on using it, so it leaks */
		log_msg(LOG_ERROR, "reload: out of memory", NULL);
		return;
	}
	st->retired = more;
	st->retired[st->n_retired++] = old;
	for (size_t i = 0; i < st->n_retired; i++) {
		if (in_use(st->retired[i], t)) {
			st->retired[kept++] = st->retired[i];
			continue;
		}
		config_free(st->retired[i]);
		free(st->retired[i]);
	}
	st->n_retired = kept;
}

/* The endpoints and the collectors are matched against the new config,
 * now the running one; the old one is retired. */
static int apply_sections(struct reload_state *st, const struct reload_target *t,
			  struct config *old)
{
	int failed = endpoints_reload(t->queues, t->n_queues, t->cfg, t->dry_run,
				      t->flush_deadline_ms);
	bool collectors_restart;

	scheduler_reload(t->scheduler, &collectors_restart);
	if (collectors_restart) {
		st->restart_required = true;
		log_msg(LOG_WARN, "reload: a collector keeps its old options until a restart",
			NULL);
	}
	retire(st, t, old);
	return failed;
}

static int reject(struct reload_state *st, const struct config_error *err, char *outcome,
		  size_t outcome_size)
{
	char quoted[CONFIG_ERR_MAX + 64];

	st->last_ok = false;
	log_msg(LOG_ERROR, "reload: config rejected, the running one stays", "error=%s",
		log_quote(err->text, strlen(err->text), quoted, sizeof(quoted)));
	snprintf(outcome, outcome_size, "%s", err->text);
	return -1;
}

int reload_run(struct reload_state *st, const struct reload_target *t, char *outcome,
	       size_t outcome_size)
{
	struct config *old = malloc(sizeof(*old));
	struct config_error err;
	int failed;

	st->reloads++;
	if (!old) {
		snprintf(err.text, sizeof(err.text), "%s: out of memory", t->config_path);
		return reject(st, &err, outcome, outcome_size);
	}
	if (config_load(t->config_path, scheduler_schemas(), old, &err) < 0) {
		free(old);
		return reject(st, &err, outcome, outcome_size);
	}
	st->restart_required = false; /* said again below if still so */
	apply_global(st, t->cfg, old);
	SWAP(*t->cfg, *old); /* old: the one replaced */
	failed = apply_sections(st, t, old);
	if (failed) {
		snprintf(outcome, outcome_size, "%d remote_write endpoint(s) could not start; see "
			 "the log", failed);
		st->last_ok = false;
		return -1;
	}
	st->last_ok = true;
	st->last_success_ms = wall_ms();
	log_msg(LOG_INFO, "config reloaded", "config=%s reloads=%llu restart_required=%d",
		t->config_path, (unsigned long long)st->reloads, st->restart_required);
	snprintf(outcome, outcome_size, "config reloaded%s",
		 st->restart_required ? "; some changes apply at the next restart (see the log)"
				      : "");
	return 0;
}

void reload_free(struct reload_state *st)
{
	for (size_t i = 0; i < st->n_retired; i++) {
		config_free(st->retired[i]);
		free(st->retired[i]);
	}
	free(st->retired);
	st->retired = NULL;
	st->n_retired = 0;
}
