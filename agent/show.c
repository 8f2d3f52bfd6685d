/* SPDX-License-Identifier: MIT */
/* bpfpush show: a round every interval, as the agent collects one, but
 * into a local registry only: its histograms gathered back (histview),
 * each drawn with this round's counts less the last round's, its counters'
 * changes the same way. On a terminal the screen is redrawn in place
 * (alternate screen, q or Ctrl-C quit, the terminal restored); into a
 * pipe each interval prints one frame of plain text. */
#include "agent/show.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/scheduler.h"
#include "agent/show_draw.h"
#include "agent/show_term.h"
#include "bpf/bpfutil.h"
#include "config/config.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "series/histview.h"
#include "series/registry.h"

#define EXIT_USAGE 2
#define TOP_ROWS 5
#define WHY_MAX 200

struct counter {
	size_t family_off, labels_off; /* into the snapshot's arena */
	const char *family, *labels;   /* the same, once it stops moving */
	double value;
};

/* A round's counters of the BPF collectors, sorted by family and labels. */
struct snapshot {
	struct buf arena;
	struct counter *items;
	size_t n, cap;
};

struct show {
	int64_t interval_ms;
	const char *config_path; /* NULL: the defaults */
	char **names;            /* the collectors asked for; none: the defaults */
	int n_names;
	struct config cfg;
	struct registry *registry;
	struct scheduler *scheduler;
	struct hist_set hist[2];
	struct snapshot snap[2];
	int cur;        /* hist[cur], snap[cur]: this round; the other the last */
	bool have_last;
	char (*why)[WHY_MAX]; /* per BPF section: why it is off, "" when it runs */
	struct label_set decoded;
	double *counts;
	size_t cap_counts;
	struct show_row *rows;
	size_t cap_rows;
	struct show_term term;
};

static void usage(FILE *out)
{
	fputs("usage: bpfpush show [--interval 1s] [--config FILE] [COLLECTOR...]\n"
	      "\n"
	      "Runs BPF collectors here (default: those enabled by default, or by FILE's\n"
	      "bpf: section) and draws their histograms and counters every interval, with\n"
	      "the interval's own counts. Nothing is pushed. q or Ctrl-C quits.\n",
	      out);
}

static int parse_args(struct show *s, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"interval", required_argument, NULL, 'i'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	s->interval_ms = 1000;
	while ((c = getopt_long(argc, argv, "i:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (parse_duration_ms(optarg, &s->interval_ms) < 0 || s->interval_ms < 100) {
				fprintf(stderr, "bpfpush show: --interval: want a duration of at "
					"least 100ms, not \"%s\"\n", optarg);
				return -1;
			}
			break;
		case 'c': s->config_path = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	s->names = argv + optind;
	s->n_names = argc - optind;
	return 0;
}

static bool named(const struct show *s, const char *name)
{
	for (int i = 0; i < s->n_names; i++)
		if (strcmp(s->names[i], name) == 0)
			return true;
	return false;
}

/* Only BPF collectors, the named ones if any, and classic histograms (the
 * form there is to draw). 0, or -1 after saying what is wrong. */
static int choose_collectors(struct show *s)
{
	for (size_t i = 0; i < s->cfg.n_collectors; i++)
		s->cfg.collectors[i].enabled = false;
	for (int n = 0; n < s->n_names; n++) {
		if (config_bpf(&s->cfg, s->names[n]))
			continue;
		fprintf(stderr, "bpfpush show: no BPF collector \"%s\"; there are:", s->names[n]);
		for (size_t i = 0; i < s->cfg.n_bpf; i++)
			fprintf(stderr, " %s", s->cfg.bpf[i].schema->name);
		fputc('\n', stderr);
		return -1;
	}
	for (size_t i = 0; s->n_names && i < s->cfg.n_bpf; i++)
		s->cfg.bpf[i].enabled = named(s, s->cfg.bpf[i].schema->name);
	s->cfg.global.histograms = HISTOGRAMS_CLASSIC;
	return 0;
}

static int load_config(struct show *s)
{
	struct config_error err;
	int rc = s->config_path
			 ? config_load(s->config_path, scheduler_schemas(), &s->cfg, &err)
			 : config_load_string("bpfpush show", "{}\n", 3, scheduler_schemas(),
					      &s->cfg, &err);

	if (rc < 0) {
		fprintf(stderr, "%s\n", err.text);
		return -1;
	}
	return choose_collectors(s);
}

/* A collector's line in the log, e.g. msg="bpf collector disabled: kernel
 * lacks its hook" collector=x hook=y: "kernel lacks its hook (hook=y)". */
static void reason_of(const char *line, const char *key, char *why, size_t size)
{
	const char *msg = strstr(line, "msg=\""), *end, *tail = strstr(line, key);
	const char *colon;

	if (!msg || !(end = strchr(msg + 5, '"')))
		return;
	msg += 5;
	colon = memchr(msg, ':', (size_t)(end - msg));
	if (colon && colon[1] == ' ')
		msg = colon + 2;
	tail += strlen(key);
	while (*tail == ' ')
		tail++;
	snprintf(why, size, "%.*s%s%.*s%s", (int)(end - msg), msg, *tail ? " (" : "",
		 (int)strcspn(tail, "\n"), tail, *tail ? ")" : "");
}

/* Each BPF section's reason to be off: the config's, or the log line its
 * init wrote (kept by show_term while the screen is ours). */
static void find_reasons(struct show *s, const char *log)
{
	for (size_t i = 0; i < s->cfg.n_bpf; i++) {
		const struct section_config *sc = &s->cfg.bpf[i];
		char key[96];
		const char *at;

		s->why[i][0] = '\0';
		if (!sc->enabled) {
			snprintf(s->why[i], WHY_MAX, "%s (bpfpush show %s runs it)",
				 sc->explicit ? "turned off in the config" : "not on by default or in the config",
				 sc->schema->name);
			continue;
		}
		snprintf(key, sizeof(key), "collector=%s", sc->schema->name);
		for (at = log; at && (at = strstr(at, key)); at += strlen(key)) {
			const char *bol = at;
			char next = at[strlen(key)];
			static const char disabled[] = "msg=\"bpf collector disabled";
			while (bol > log && bol[-1] != '\n')
				bol--;
			if ((next == ' ' || next == '\n' || !next) &&
			    memmem(bol, (size_t)(at - bol), disabled, sizeof(disabled) - 1))
				reason_of(bol, key, s->why[i], WHY_MAX);
		}
	}
}

static bool is_stale(double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	return bits == STALE_NAN_BITS;
}

/* s's labels but __name__ as `k="v",...` into the arena, NUL-terminated. */
static int put_labels(struct buf *a, const struct label_set *set)
{
	bool first = true;

	for (size_t i = 0; i < set->n; i++) {
		const struct label *l = &set->labels[i];
		if (strcmp(l->name, "__name__") == 0)
			continue;
		if ((!first && buf_append(a, ",", 1) < 0) || buf_append(a, l->name, strlen(l->name)) < 0 ||
		    buf_append(a, "=\"", 2) < 0 || buf_append(a, l->value, strlen(l->value)) < 0 ||
		    buf_append(a, "\"", 1) < 0)
			return -1;
		first = false;
	}
	return buf_append(a, "", 1);
}

static int cmp_counter(const void *a, const void *b)
{
	const struct counter *x = a, *y = b;
	int c = strcmp(x->family, y->family);

	return c ? c : strcmp(x->labels, y->labels);
}

/* The BPF collectors' counters (kernel_*) of a round into snap. */
static int snapshot_take(struct show *s, struct snapshot *snap, const struct sample *smp,
			 size_t n)
{
	snap->n = 0;
	buf_reset(&snap->arena);
	for (size_t i = 0; i < n; i++) {
		const struct series *se = series_of(smp[i].series);
		struct counter *c;
		if (se->wire.native_histogram || se->family->type != METRIC_COUNTER ||
		    strncmp(se->name, "kernel_", 7) != 0 || is_stale(smp[i].value))
			continue;
		if (grow_array((void **)&snap->items, &snap->cap, snap->n + 1, sizeof(*c)) < 0 ||
		    series_decode_labels(se, &s->decoded) < 0)
			return -1;
		c = &snap->items[snap->n++];
		c->value = smp[i].value;
		c->family_off = snap->arena.len;
		if (buf_append(&snap->arena, se->name, strlen(se->name) + 1) < 0)
			return -1;
		c->labels_off = snap->arena.len;
		if (put_labels(&snap->arena, &s->decoded) < 0)
			return -1;
	}
	for (size_t i = 0; i < snap->n; i++) {
		snap->items[i].family = (const char *)snap->arena.data + snap->items[i].family_off;
		snap->items[i].labels = (const char *)snap->arena.data + snap->items[i].labels_off;
	}
	if (snap->n) /* items is still NULL when no round had a counter */
		qsort(snap->items, snap->n, sizeof(*snap->items), cmp_counter);
	return 0;
}

/* c's change since the last round: all of it when it is new or went down
 * (its collector started over). */
static double counter_delta(const struct show *s, const struct counter *c)
{
	const struct snapshot *last = &s->snap[!s->cur];
	const struct counter *was;

	if (!s->have_last || !last->n)
		return c->value;
	was = bsearch(c, last->items, last->n, sizeof(*c), cmp_counter);
	return was && was->value <= c->value ? c->value - was->value : c->value;
}

static int cmp_row(const void *a, const void *b)
{
	const struct show_row *x = a, *y = b;

	return x->delta > y->delta ? -1 : x->delta < y->delta;
}

/* The counters [from, to) of one family: its top changes, or its name
 * added to quiet when none changed. */
static void draw_counter_family(struct show *s, FILE *out, const struct show_style *st,
				size_t from, size_t to, FILE *quiet)
{
	const struct snapshot *snap = &s->snap[s->cur];
	size_t n = 0;
	double total = 0;

	if (grow_array((void **)&s->rows, &s->cap_rows, to - from, sizeof(*s->rows)) < 0)
		return;
	for (size_t i = from; i < to; i++) {
		double d = counter_delta(s, &snap->items[i]);
		if (d > 0) {
			s->rows[n++] = (struct show_row){snap->items[i].labels, d};
			total += d;
		}
	}
	if (!n) {
		fprintf(quiet, " %s", snap->items[from].family);
		return;
	}
	qsort(s->rows, n, sizeof(*s->rows), cmp_row);
	show_draw_counters(out, st, snap->items[from].family, total, s->rows,
			   n < TOP_ROWS ? n : TOP_ROWS, n > TOP_ROWS ? n - TOP_ROWS : 0);
}

static void draw_counters(struct show *s, FILE *out, const struct show_style *st)
{
	const struct snapshot *snap = &s->snap[s->cur];
	char *quiet = NULL;
	size_t quiet_len = 0;
	FILE *q = open_memstream(&quiet, &quiet_len);

	if (!q)
		return;
	for (size_t from = 0, to; from < snap->n; from = to) {
		for (to = from + 1;
		     to < snap->n && strcmp(snap->items[to].family, snap->items[from].family) == 0;)
			to++;
		draw_counter_family(s, out, st, from, to, q);
	}
	fclose(q);
	if (quiet_len)
		fprintf(out, "unchanged:%s\n", quiet);
	free(quiet);
}

/* The views of one family [from, to): those with events drawn, the others
 * counted in one line. */
static void draw_hist_family(struct show *s, FILE *out, const struct show_style *st,
			     size_t from, size_t to)
{
	const struct hist_set *now = &s->hist[s->cur], *last = &s->hist[!s->cur];
	size_t quiet = 0;

	for (size_t i = from; i < to; i++) {
		const struct hist_view *v = &now->views[i];
		const struct hist_view *was = s->have_last ? hist_set_find(last, v) : NULL;
		double total = 0;

		if (grow_array((void **)&s->counts, &s->cap_counts, v->n_buckets + 1,
			       sizeof(*s->counts)) < 0)
			return;
		hist_view_interval(v, was, s->counts);
		for (size_t k = 0; k < v->n_buckets; k++)
			total += s->counts[k];
		if (total <= 0 && to - from > 1) {
			quiet++;
			continue;
		}
		show_draw_histogram(out, st, v, s->counts,
				    was && v->sum >= was->sum ? v->sum - was->sum : v->sum);
	}
	if (quiet)
		show_draw_quiet(out, st, now->views[from].family, quiet);
}

static void draw_histograms(struct show *s, FILE *out, const struct show_style *st)
{
	const struct hist_set *now = &s->hist[s->cur];

	for (size_t from = 0, to; from < now->n; from = to) {
		for (to = from + 1;
		     to < now->n && strcmp(now->views[to].family, now->views[from].family) == 0;)
			to++;
		draw_hist_family(s, out, st, from, to);
	}
}

/* A section per collector that is not running: off in the config, or
 * loaded but down this round (bpfpush_bpf_collector_up 0). */
static void draw_off(struct show *s, FILE *out, const struct show_style *st,
		     const struct sample *smp, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct series *se = series_of(smp[i].series);
		const char *name = NULL;
		if (strcmp(se->name, "bpfpush_bpf_collector_up") != 0 || smp[i].value != 0 ||
		    series_decode_labels(se, &s->decoded) < 0)
			continue;
		for (size_t k = 0; k < s->decoded.n; k++)
			if (strcmp(s->decoded.labels[k].name, "collector") == 0)
				name = s->decoded.labels[k].value;
		for (size_t k = 0; name && k < s->cfg.n_bpf; k++)
			if (strcmp(s->cfg.bpf[k].schema->name, name) == 0)
				show_draw_off(out, st, name, s->why[k][0] ? s->why[k]
					      : "down: its init or this round's update failed "
					      "(the log says why)");
	}
	for (size_t k = 0; k < s->cfg.n_bpf && !s->n_names; k++)
		if (!s->cfg.bpf[k].enabled)
			show_draw_off(out, st, s->cfg.bpf[k].schema->name, s->why[k]);
}

static void draw_frame(struct show *s, FILE *out, const struct sample *smp, size_t n)
{
	struct show_style st = {80, s->term.colour};
	int height;
	char when[32];
	time_t now = time(NULL);

	show_term_size(&s->term, &st.width, &height);
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	fprintf(out, "%s--- bpfpush show %s, every %.3gs%s ---%s\n", st.colour ? "\033[7m" : "",
		when, (double)s->interval_ms / 1000, s->term.tty ? ", q quits" : "",
		st.colour ? "\033[0m" : "");
	draw_off(s, out, &st, smp, n);
	if (!s->hist[s->cur].n && !s->snap[s->cur].n)
		fputs("(no histogram or counter yet: their first events are still to come)\n", out);
	draw_histograms(s, out, &st);
	draw_counters(s, out, &st);
}

/* One round collected, gathered and drawn: 0, or -1 when the output is
 * gone. */
static int show_round(struct show *s)
{
	const struct sample *smp;
	char *frame = NULL;
	size_t n, len = 0;
	FILE *out;

	registry_begin_round(s->registry, wall_ms());
	scheduler_collect(s->scheduler, s->registry);
	smp = registry_end_round(s->registry, &n);
	if (hist_set_gather(&s->hist[s->cur], smp, n) < 0 ||
	    snapshot_take(s, &s->snap[s->cur], smp, n) < 0 ||
	    !(out = open_memstream(&frame, &len))) {
		log_msg(LOG_ERROR, "bpfpush show: out of memory", NULL);
		return -1;
	}
	draw_frame(s, out, smp, n);
	fclose(out);
	/* The views and counters hold copies: no sample is held from here. */
	registry_reclaim(s->registry);
	s->cur = !s->cur;
	s->have_last = true;
	return show_term_put_frame(&s->term, frame, len);
}

static int setup(struct show *s)
{
	char *log;

	if (show_term_signals(&s->term) < 0 ||
	    !(s->why = calloc(s->cfg.n_bpf + 1, sizeof(*s->why))) ||
	    !(s->registry = registry_create(NULL, 0, "", "")))
		return -1;
	/* show reports no program cost: the line saying it is off is noise. */
	log_set_level(LOG_ERROR);
	bpf_stats_request(false, 0, 0);
	bpf_setup();
	log_set_level(LOG_WARN);
	show_term_capture_log(&s->term);
	s->scheduler = scheduler_create(&s->cfg);
	log = show_term_log(&s->term);
	find_reasons(s, log ? log : "");
	free(log);
	return s->scheduler ? show_term_start(&s->term) : -1;
}

static void teardown(struct show *s)
{
	show_term_end(&s->term);
	scheduler_destroy(s->scheduler);
	registry_destroy(s->registry);
	for (int i = 0; i < 2; i++) {
		hist_set_free(&s->hist[i]);
		buf_free(&s->snap[i].arena);
		free(s->snap[i].items);
	}
	label_set_free(&s->decoded);
	free(s->counts);
	free(s->rows);
	free(s->why);
	config_free(&s->cfg);
}

int show_main(int argc, char **argv)
{
	static struct show s;
	int64_t next;
	int rc = 0;

	s.term = (struct show_term)SHOW_TERM_INIT;
	if (parse_args(&s, argc, argv) < 0 || load_config(&s) < 0)
		return EXIT_USAGE;
	if (setup(&s) < 0) {
		teardown(&s);
		fprintf(stderr, "bpfpush show: cannot start\n");
		return 1;
	}
	for (next = mono_ms();;) {
		if (show_round(&s) < 0)
			break;
		next += s.interval_ms;
		if (next < mono_ms()) /* a round overran: skip, don't burst */
			next = mono_ms() + s.interval_ms;
		if ((rc = show_term_wait(&s.term, next)) != 0)
			break;
	}
	teardown(&s);
	return 0;
}
