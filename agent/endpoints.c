/* SPDX-License-Identifier: MIT */
#include "agent/endpoints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/log.h"

void endpoint_name(const struct remote_write_config *rw, size_t index, char *out, size_t outsz)
{
	const char *host = strstr(rw->url, "://");
	size_t len;

	if (rw->name && rw->name[0]) {
		snprintf(out, outsz, "%s", rw->name);
		return;
	}
	host = host ? host + 3 : rw->url;
	if (strchr(host, '@') && strchr(host, '@') < host + strcspn(host, "/"))
		host = strchr(host, '@') + 1;
	len = strcspn(host, "/?#");
	snprintf(out, outsz, "%.*s", (int)len, host);
	if (!out[0])
		snprintf(out, outsz, "remote-%zu", index + 1);
}

struct queue *endpoint_open(const struct config *cfg, size_t index, bool dry_run)
{
	const struct remote_write_config *rw = &cfg->remote_write[index];
	struct queue *q;
	char name[256];

	endpoint_name(rw, index, name, sizeof(name));
	if (!(q = queue_create(rw, name)))
		return NULL;
	if (!dry_run && cfg->global.data_dir[0])
		queue_attach_disk(q, cfg->global.data_dir);
	if (!dry_run && queue_start(q) < 0) {
		queue_destroy(q);
		return NULL;
	}
	return q;
}

/* The running queue for new entry i: same remote_name and URL, or -1. */
static long find_running(struct queue *const *old, size_t n_old,
			 const struct remote_write_config *rw, size_t i)
{
	char name[256];

	endpoint_name(rw, i, name, sizeof(name));
	for (size_t j = 0; j < n_old; j++)
		if (old[j] && strcmp(queue_name(old[j]), name) == 0 &&
		    strcmp(queue_remote_write_config(old[j])->url, rw->url) == 0)
			return (long)j;
	return -1;
}

/* Stops the queues left in old (removed or changed), all under one
 * deadline, and says what became of their samples. */
static void stop_left(struct queue **old, size_t n_old, bool dry_run, int64_t deadline)
{
	for (size_t j = 0; j < n_old && !dry_run; j++)
		if (old[j])
			queue_begin_stop(old[j], deadline);
	for (size_t j = 0; j < n_old; j++) {
		struct queue_stats st;
		uint64_t dropped = 0;

		if (!old[j])
			continue;
		if (!dry_run)
			queue_stop(old[j], deadline);
		queue_get_stats(old[j], &st);
		for (int r = 0; r < DROP_REASONS; r++)
			dropped += st.samples_dropped[r];
		log_msg(dropped || st.samples_failed ? LOG_WARN : LOG_INFO,
			"reload: remote_write endpoint stopped", "remote_name=%s url=%s "
			"samples_in=%llu sent=%llu failed=%llu dropped=%llu on_disk=%llu",
			queue_name(old[j]), queue_masked_url(old[j]),
			(unsigned long long)st.samples_in, (unsigned long long)st.samples_sent,
			(unsigned long long)st.samples_failed, (unsigned long long)dropped,
			(unsigned long long)st.disk.samples);
		queue_destroy(old[j]);
		old[j] = NULL;
	}
}

/* Moves the equal ones from old to fresh; those left in old stop. */
static void keep_equal(struct queue **old, size_t n_old, struct queue **fresh,
		       const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_remote_write; i++) {
		const struct remote_write_config *rw = &cfg->remote_write[i];
		long j = find_running(old, n_old, rw, i);

		if (j < 0) {
			char name[256];

			endpoint_name(rw, i, name, sizeof(name));
			log_msg(LOG_INFO, "reload: remote_write endpoint added", "remote_name=%s", name);
			continue;
		}
		if (config_remote_write_equal(queue_remote_write_config(old[j]), rw)) {
			queue_reset_protocol(old[j]); /* a fallback to 1.0 lasts until now */
			fresh[i] = old[j];
			old[j] = NULL;
			continue;
		}
		log_msg(LOG_INFO, "reload: remote_write endpoint changed, its queue restarts "
			"(the disk tier first)", "remote_name=%s url=%s", queue_name(old[j]),
			queue_masked_url(old[j]));
	}
}

int endpoints_reload(struct queue ***queues, size_t *n_queues, const struct config *cfg,
		     bool dry_run, int64_t flush_deadline_ms)
{
	struct queue **old = *queues, **fresh = calloc(cfg->n_remote_write + 1, sizeof(*fresh));
	int64_t flush_ms = flush_deadline_ms < ENDPOINT_RELOAD_FLUSH_MS ? flush_deadline_ms
									 : ENDPOINT_RELOAD_FLUSH_MS;
	size_t n = 0;
	int failed = 0;

	if (!fresh)
		return -1;
	keep_equal(old, *n_queues, fresh, cfg);
	/* Before the new ones open: a changed queue's disk directory is theirs. */
	stop_left(old, *n_queues, dry_run, mono_ms() + flush_ms);
	for (size_t i = 0; i < cfg->n_remote_write; i++) {
		if (!fresh[i] && !(fresh[i] = endpoint_open(cfg, i, dry_run))) {
			log_msg(LOG_ERROR, "reload: remote_write endpoint cannot start", "index=%zu", i);
			failed++;
			continue;
		}
		fresh[n++] = fresh[i];
	}
	free(old);
	*queues = fresh;
	*n_queues = n;
	return failed;
}

void endpoints_offer_metadata(struct queue *const *queues, size_t n_queues,
			      const struct registry *reg)
{
	const struct wire_meta **meta = NULL;
	size_t n = 0;

	for (size_t i = 0; i < n_queues; i++) {
		if (!queue_metadata_due(queues[i]))
			continue;
		if (!meta) {
			size_t cap = registry_metadata(reg, NULL, 0);

			if (!(meta = malloc((cap + 1) * sizeof(*meta))))
				return;
			n = registry_metadata(reg, meta, cap);
			n = n < cap ? n : cap;
		}
		queue_put_metadata(queues[i], meta, n);
	}
	free(meta);
}
