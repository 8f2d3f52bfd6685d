/* SPDX-License-Identifier: MIT */
#include "agent/views.h"

#include <stdlib.h>

#include "lib/log.h"

static const struct metric_desc relabel_dropped = {
	"bpfpush_relabel_dropped_series_total",
	"Series relabeling dropped, by reason: rule (a keep/drop/... rule), no_name (no "
	"__name__ left), invalid_name (a metric or label name outside Prometheus' grammar), "
	"duplicate (the labels of another series); with remote_name: that endpoint's "
	"write_relabel_configs.", METRIC_COUNTER};

int views_global(struct views *v, struct registry *reg, const struct config *cfg)
{
	char why[256];

	v->global = cfg->global.relabel_configs.n > 0;
	if (registry_set_relabel(reg, &cfg->global.relabel_configs, why, sizeof(why)) == 0)
		return 0;
	log_msg(LOG_ERROR, "global.relabel_configs cannot be compiled", "error=%s", why);
	return -1;
}

/* A queue opened from cfg (not kept from an earlier config). */
static bool opened_from(const struct queue *q, const struct config *cfg)
{
	const struct remote_write_config *rw = queue_remote_write_config(q);

	return rw >= cfg->remote_write && rw < cfg->remote_write + cfg->n_remote_write;
}

static const struct view_link *find_link(const struct views *v, const struct queue *q)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->links[i].queue == q)
			return &v->links[i];
	return NULL;
}

static int new_view(struct registry *reg, const struct queue *q)
{
	const struct relabel_list *rules = &queue_remote_write_config(q)->write_relabel_configs;
	char why[256];
	int view;

	if (rules->n == 0)
		return -1;
	if ((view = registry_view_add(reg, rules, why, sizeof(why))) < 0)
		log_msg(LOG_ERROR, "write_relabel_configs cannot be applied: this endpoint "
			"receives its series unrelabeled", "remote_name=%s error=%s",
			queue_name(q), why);
	return view;
}

/* A queue still running from an earlier config is the one its link was
 * made for; one opened from cfg is new, even at an address an old queue
 * had. */
void views_sync(struct views *v, struct registry *reg, struct queue *const *queues, size_t n,
		const struct config *cfg)
{
	struct view_link *links = calloc(n + 1, sizeof(*links));

	for (size_t i = 0; i < v->n; i++) {
		bool kept = false;

		for (size_t j = 0; j < n && !kept; j++)
			kept = queues[j] == v->links[i].queue && !opened_from(queues[j], cfg);
		if (!kept || !links)
			registry_view_remove(reg, v->links[i].view);
	}
	for (size_t j = 0; j < n && links; j++) {
		const struct view_link *old = find_link(v, queues[j]);

		links[j] = (struct view_link){queues[j], -1};
		if (old && !opened_from(queues[j], cfg))
			links[j].view = old->view;
		else
			links[j].view = new_view(reg, queues[j]);
	}
	free(v->links);
	v->links = links;
	v->n = links ? n : 0;
}

const struct sample *views_samples(struct views *v, struct registry *reg,
				   const struct queue *q, const struct sample *samples, size_t n,
				   size_t *n_out)
{
	const struct view_link *link = find_link(v, q);
	const struct sample *mapped;

	*n_out = n;
	if (!link || link->view < 0)
		return samples;
	if (!(mapped = registry_view_map(reg, link->view, samples, n, n_out)))
		*n_out = 0;
	return mapped;
}

static void emit_stats(struct registry *reg, int view, const char *remote_name)
{
	struct relabel_stats st;
	struct label l[2] = {{"reason", NULL}, {"remote_name", remote_name}};

	registry_relabel_stats(reg, view, &st);
	for (int r = 0; r < RELABEL_REASONS; r++) {
		l[0].value = relabel_reason_name(r);
		registry_emit(reg, &relabel_dropped, NULL, l, remote_name ? 2 : 1,
			      (double)st.dropped[r], 0);
	}
}

void views_emit(const struct views *v, struct registry *reg)
{
	if (v->global)
		emit_stats(reg, -1, NULL);
	for (size_t i = 0; i < v->n; i++)
		if (v->links[i].view >= 0)
			emit_stats(reg, v->links[i].view, queue_name(v->links[i].queue));
}

void views_free(struct views *v)
{
	free(v->links);
	*v = (struct views){0};
}
