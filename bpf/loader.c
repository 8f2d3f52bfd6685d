/* SPDX-License-Identifier: MIT */
#include "bpf/loader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "bpf/bpfutil.h"

static const struct metric_desc up_desc = {
	"bpfpush_bpf_collector_up",
	"1 if the BPF collector is loaded and its maps were read this round, 0 otherwise.",
	METRIC_GAUGE};
static const struct metric_desc duration_desc = {
	"bpfpush_bpf_collector_duration_seconds",
	"Time the BPF collector took to read its maps this round.", METRIC_GAUGE};

const struct collector_kind bpf_collector_kind = {&up_desc, &duration_desc, bpf_teardown};

/* ---- hooks ------------------------------------------------------------------ */

static bool hook_present(const struct bpf_hook *h)
{
	switch (h->kind) {
	case BPF_RAW_TP:
		return bpf_has_raw_tracepoint(h->name);
	case BPF_TRACEPOINT:
		return bpf_has_tracefs_event(h->category, h->name);
	case BPF_FUNCTION:
		return bpf_has_kernel_function(h->name);
	case BPF_KPROBE:
		return bpf_has_kernel_function(h->name) &&
		       access("/sys/bus/event_source/devices/kprobe/type", R_OK) == 0;
	}
	return false;
}

static const char *describe_hook(const struct bpf_hook *h, char *buf, size_t size)
{
	static const char *const prefix[] = {"raw_tp", "tracepoint", "fentry", "kprobe"};

	if (h->kind == BPF_TRACEPOINT)
		snprintf(buf, size, "tracepoint/%s/%s", h->category, h->name);
	else
		snprintf(buf, size, "%s/%s", prefix[h->kind], h->name);
	return buf;
}

/* The first hook of w this kernel lacks, or NULL. */
static const struct bpf_hook *first_missing(const struct bpf_way *w)
{
	for (const struct bpf_hook *h = w->hooks; h && h->name; h++)
		if (!hook_present(h))
			return h;
	return NULL;
}

static const char *way_label(const struct bpf_way *w, char *buf, size_t size)
{
	return w->label ? w->label : describe_hook(w->hooks, buf, size);
}

/* Appends item to a comma-separated list in buf. */
static void append(char *buf, size_t size, const char *item)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s%s", len ? "," : "", item);
}

void bpf_log_lacks_hook(const char *collector, const char *hook, const char *extra)
{
	log_msg(LOG_WARN, "bpf collector disabled: kernel lacks its hook", "collector=%s hook=%s%s%s",
		collector, hook, extra ? " " : "", extra ? extra : "");
}

/* ---- options ---------------------------------------------------------------- */

/* The pin option's value: "auto" when unset. */
static const char *pinned(const struct bpf_collector *d, const void *opts)
{
	const char *value = NULL;

	for (const struct opt_desc *o = d->collector.opts; opts && d->pin_option && o && o->name;
	     o++)
		if (!strcmp(o->name, d->pin_option))
			memcpy(&value, (const char *)opts + o->offset, sizeof(value));
	return value && *value ? value : "auto";
}

static bool permits(const char *want, const struct bpf_way *w)
{
	return !strcmp(want, "auto") || (w->option && !strcmp(want, w->option));
}

/* A pin option that is a plain string (not an enum config checks) may
 * name no way: one line that lists them. */
static bool known_choice(const struct bpf_collector *d, const struct bpf_way *ways, size_t n,
			 const char *want)
{
	char choices[128] = "auto", msg[64];
	size_t len;

	for (size_t i = 0; i < n; i++)
		if (permits(want, &ways[i]))
			return true;
	for (size_t i = 0; i < n; i++) {
		len = strlen(choices);
		snprintf(choices + len, sizeof(choices) - len, "%s%s", i + 1 < n ? ", " : " or ",
			 ways[i].option);
	}
	snprintf(msg, sizeof(msg), "bpf collector disabled: unknown %s option", d->pin_option);
	log_msg(LOG_WARN, msg, "collector=%s %s=%s want=\"%s\"", d->collector.name, d->pin_option,
		want, choices);
	return false;
}

/* ---- one way ------------------------------------------------------------------ */

void bpf_keep_programs(struct bpf_run *r, const char *const *keep, size_t n)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, r->desc->skel->object(r->skel)) {
		bool wanted = false;

		for (size_t i = 0; i < n && !wanted; i++)
			wanted = keep[i] && !strcmp(bpf_program__name(prog), keep[i]);
		bpf_program__set_autoload(prog, wanted);
	}
}

/* Opens, configures, loads and attaches way i into r->skel. 0; -1 with
 * errno set and r->skel NULL; or BPF_LOGGED. */
static int try_way(struct bpf_run *r, const struct bpf_way *w, int i)
{
	const struct bpf_collector *d = r->desc;
	size_t n = 0;
	int rc, err;

	r->way = i;
	r->program = w->progs ? w->progs[0] : NULL;
	if (!(r->skel = d->skel->open()))
		return -1;
	while (w->progs && w->progs[n])
		n++;
	if (w->progs)
		bpf_keep_programs(r, w->progs, n);
	rc = d->configure ? d->configure(r) : 0;
	if (rc == 0 && d->skel->load(r->skel))
		rc = -1;
	if (rc == 0 && d->ready)
		rc = d->ready(r);
	if (rc == 0 && d->skel->attach(r->skel))
		rc = -1;
	if (rc == 0)
		return 0;
	err = errno;
	d->skel->destroy(r->skel);
	r->skel = NULL;
	errno = err;
	return rc;
}

/* ---- the search ---------------------------------------------------------------- */

struct search {
	const struct bpf_way *ways;
	size_t n;
	const char *want;
	bool found;                   /* a permitted way's hooks are all here */
	const struct bpf_hook *fixed; /* that way's hooks */
	const struct bpf_hook *lacking; /* the first permitted way's first missing hook */
	char missing[160], failed[160]; /* way labels, comma-separated */
	int err;
};

/* Ways in order until one attaches (step 2 and 3 of loader.h). 0, -1
 * (errno), or BPF_LOGGED. */
static int search(struct bpf_run *r, struct search *s)
{
	const struct bpf_collector *d = r->desc;
	char label[96];

	for (size_t i = 0; i < s->n; i++) {
		const struct bpf_way *w = &s->ways[i];
		const struct bpf_hook *miss;
		int rc;

		if (!permits(s->want, w) || (s->found && !d->every_hook && w->hooks != s->fixed))
			continue;
		if ((miss = first_missing(w))) {
			s->lacking = s->lacking ? s->lacking : miss;
			append(s->missing, sizeof(s->missing), way_label(w, label, sizeof(label)));
			continue;
		}
		if (!s->found) {
			s->found = true;
			s->fixed = w->hooks;
			if (d->prepare && (rc = d->prepare(r)) != 0)
				return rc;
		}
		if ((rc = try_way(r, w, (int)i)) != -1)
			return rc;
		s->err = errno;
		append(s->failed, sizeof(s->failed), way_label(w, label, sizeof(label)));
		log_msg(LOG_DEBUG, "bpf program did not load", "collector=%s program=%s err=%d",
			d->collector.name, r->program ? r->program : label, -s->err);
	}
	errno = s->err;
	return -1;
}

/* The one warning for a collector that stays off (unless a callback
 * logged its own). */
static void log_off(const struct bpf_collector *d, const struct search *s, int err)
{
	const char *name = d->collector.name;
	char hook[96];

	if (!s->found)
		bpf_log_lacks_hook(name, d->every_hook || !s->lacking ? s->missing :
					 describe_hook(s->lacking, hook, sizeof(hook)), NULL);
	else if (d->every_hook)
		log_msg(LOG_WARN, "bpf collector disabled: cannot load or attach",
			"collector=%s hook=%s err=%d missing=%s", name, s->failed, -err,
			*s->missing ? s->missing : "none");
	else if (d->fail_names_pin)
		log_msg(LOG_WARN, "bpf collector disabled: cannot load or attach",
			"collector=%s %s=%s err=%d", name, d->pin_option, s->want, -err);
	else
		log_msg(LOG_WARN, "bpf collector disabled: cannot load or attach",
			"collector=%s err=%d", name, -err);
}

static void discard(struct bpf_run *r)
{
	if (!r)
		return;
	if (r->skel)
		r->desc->skel->destroy(r->skel);
	if (r->state && r->desc->release)
		r->desc->release(r);
	free(r->state);
	free(r);
}

static void log_loaded(const struct bpf_run *r)
{
	const struct bpf_collector *d = r->desc;
	char tail[256];

	if (!d->describe)
		return;
	d->describe(r, tail, sizeof(tail));
	log_msg(d->loaded_debug ? LOG_DEBUG : LOG_INFO, "bpf collector loaded", "collector=%s %s",
		d->collector.name, tail);
}

/* ---- the collector interface ------------------------------------------------------ */

static const struct bpf_collector *desc_of(const struct collector *c)
{
	return (const struct bpf_collector *)((const char *)c -
					      offsetof(struct bpf_collector, collector));
}

int bpf_loader_init(struct collector_ctx *ctx)
{
	const struct bpf_collector *d = desc_of(ctx->collector);
	struct search s = {.ways = d->ways, .n = d->n_ways, .want = pinned(d, ctx->opts)};
	struct bpf_run *r;
	int rc;

	bpf_setup();
	if (d->ways_for)
		s.ways = d->ways_for(ctx->opts, &s.n);
	if (!known_choice(d, s.ways, s.n, s.want))
		return -1;
	r = calloc(1, sizeof(*r));
	if (r && (r->state = calloc(1, d->state_size ? d->state_size : 1))) {
		r->desc = d;
		r->opts = ctx->opts;
		r->global = ctx->global;
		r->way = -1;
		rc = search(r, &s);
	} else {
		rc = -1;
		s.found = true; /* out of memory: the line is "cannot load" */
	}
	if (rc == 0) {
		ctx->start_ms = wall_ms(); /* attached: its maps count from now */
		if (d->started)
			d->started(r);
		log_loaded(r);
		ctx->state = r;
		return 0;
	}
	if (rc == -1)
		log_off(d, &s, errno);
	discard(r);
	return -1;
}

int bpf_loader_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct bpf_run *r = ctx->state;

	if (r->desc->update(r, reg) < 0)
		return -1;
	bpf_emit_program_stats(reg, r->desc->collector.name, r->desc->skel->object(r->skel));
	return 0;
}

void bpf_loader_exit(struct collector_ctx *ctx)
{
	discard(ctx->state);
	ctx->state = NULL;
}
