/* SPDX-License-Identifier: MIT */
#include "agent/status_html.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/offlog.h"
#include "agent/status_svg.h"
#include "bpf/bpf_collector.h"
#include "series/histview.h"
#include "series/registry.h"

#define RS "bpfpush_remote_storage_"
/* A page with more histograms than this draws the first ones (by name)
 * and says how many it left out: a textfile full of them must not make
 * a page no one can scroll. */
#define MAX_DRAWN 64
#define MAX_REASONS 16

enum ep_field {
	EP_PENDING, EP_DISK_SAMPLES, EP_DISK_BYTES, EP_SHARDS, EP_SHARDS_DESIRED, EP_SHARDS_MAX,
	EP_HIGHEST, EP_BYTES, EP_SENT, EP_FAILED, EP_RETRIED, EP_DISK_WERR, EP_DISK_RERR,
	EP_DISK_CORRUPT, EP_CONNECTIONS, EP_PROTOCOL, EP_FIELDS
};

/* The self-metrics an endpoint's row shows, after RS. */
static const char *const ep_metric[EP_FIELDS] = {
	[EP_PENDING] = "samples_pending", [EP_DISK_SAMPLES] = "disk_samples",
	[EP_DISK_BYTES] = "disk_bytes", [EP_SHARDS] = "shards",
	[EP_SHARDS_DESIRED] = "shards_desired", [EP_SHARDS_MAX] = "shards_max",
	[EP_HIGHEST] = "queue_highest_sent_timestamp_seconds", [EP_BYTES] = "bytes_total",
	[EP_SENT] = "samples_total", [EP_FAILED] = "samples_failed_total",
	[EP_RETRIED] = "samples_retried_total", [EP_DISK_WERR] = "disk_write_errors_total",
	[EP_DISK_RERR] = "disk_read_errors_total", [EP_DISK_CORRUPT] = "disk_corrupt_records_total",
	[EP_CONNECTIONS] = "connections_opened_total", [EP_PROTOCOL] = "protocol_version",
};

/* A counter by reason: {reason} as the self-metric labels it. */
struct reasons {
	char reason[MAX_REASONS][32];
	double v[MAX_REASONS];
	size_t n;
};

struct endpoint {
	char name[128], url[512];
	double v[EP_FIELDS];
	bool has[EP_FIELDS];
	struct reasons drops;  /* samples_dropped_total{reason} */
	struct reasons failed; /* requests_failed_total{reason}, where counted */
};

struct coll {
	char name[64];
	bool bpf, has_ok, has_seconds, has_series;
	double ok, seconds, series, refused;
};

struct prog {
	char collector[64], program[128];
	double seconds, runs;
};

/* A growable array reused round after round. */
struct vec {
	void *items;
	size_t n, cap, size;
};

struct status_html {
	struct label_set set;
	const struct sample *decoded; /* the sample set holds the labels of */
	struct vec eps, colls, progs, prev;
	int64_t prev_ts_ms; /* the round prev is from; 0: none */
	char version[64], instance[256];
	double rounds, round_seconds;
	struct hist_set hists;
	double *slots;
	size_t cap_slots;
};

/* A zeroed new item at the end, or NULL on ENOMEM. */
static void *vec_push(struct vec *v)
{
	char *item;

	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 16;
		void *items = realloc(v->items, cap * v->size);

		if (!items)
			return NULL;
		v->items = items;
		v->cap = cap;
	}
	item = (char *)v->items + v->n++ * v->size;
	memset(item, 0, v->size);
	return item;
}

static void *vec_at(const struct vec *v, size_t i)
{
	return (char *)v->items + i * v->size;
}

struct status_html *status_html_new(void)
{
	struct status_html *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->eps.size = sizeof(struct endpoint);
	h->colls.size = sizeof(struct coll);
	h->progs.size = h->prev.size = sizeof(struct prog);
	return h;
}

void status_html_free(struct status_html *h)
{
	if (!h)
		return;
	label_set_free(&h->set);
	hist_set_free(&h->hists);
	free(h->eps.items);
	free(h->colls.items);
	free(h->progs.items);
	free(h->prev.items);
	free(h->slots);
	free(h);
}

/* ---- the round's figures -------------------------------------------------------- */

/* The value of label name of smp's series, "" when it has none. */
static const char *label(struct status_html *h, const struct sample *smp, const char *name)
{
	if (h->decoded != smp) {
		if (series_decode_labels(series_of(smp->series), &h->set) < 0)
			h->set.n = 0;
		h->decoded = smp;
	}
	for (size_t i = 0; i < h->set.n; i++)
		if (strcmp(h->set.labels[i].name, name) == 0)
			return h->set.labels[i].value;
	return "";
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static struct endpoint *endpoint_for(struct status_html *h, const struct sample *smp)
{
	const char *name = label(h, smp, "remote_name");
	struct endpoint *e;

	for (size_t i = 0; i < h->eps.n; i++)
		if (strcmp((e = vec_at(&h->eps, i))->name, name) == 0)
			return e;
	if (!(e = vec_push(&h->eps)))
		return NULL;
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->url, sizeof(e->url), "%s", label(h, smp, "url"));
	return e;
}

static void take_endpoint(struct status_html *h, const struct sample *smp, const char *metric)
{
	struct endpoint *e = endpoint_for(h, smp);

	if (!e)
		return;
	if (strcmp(metric, "samples_dropped_total") == 0 ||
	    strcmp(metric, "requests_failed_total") == 0) {
		struct reasons *r = metric[0] == 's' ? &e->drops : &e->failed;

		if (r->n < MAX_REASONS) {
			snprintf(r->reason[r->n], sizeof(r->reason[0]), "%s", label(h, smp, "reason"));
			r->v[r->n++] = smp->value;
		}
		return;
	}
	for (int f = 0; f < EP_FIELDS; f++)
		if (strcmp(metric, ep_metric[f]) == 0) {
			e->v[f] = smp->value;
			e->has[f] = true;
		}
}

static struct coll *coll_for(struct status_html *h, const char *name)
{
	struct coll *c;

	for (size_t i = 0; i < h->colls.n; i++)
		if (strcmp((c = vec_at(&h->colls, i))->name, name) == 0)
			return c;
	if (!(c = vec_push(&h->colls)))
		return NULL;
	snprintf(c->name, sizeof(c->name), "%s", name);
	return c;
}

static void take_collector(struct status_html *h, const struct sample *smp, const char *name)
{
	struct coll *c = coll_for(h, label(h, smp, "collector"));
	double v = smp->value;

	if (!c)
		return;
	if (!strcmp(name, "node_scrape_collector_success") || !strcmp(name, "bpfpush_bpf_collector_up")) {
		c->ok = v;
		c->has_ok = true;
		c->bpf = name[0] == 'b';
	} else if (!strcmp(name, "node_scrape_collector_duration_seconds") ||
		   !strcmp(name, "bpfpush_bpf_collector_duration_seconds")) {
		c->seconds = v;
		c->has_seconds = true;
	} else if (!strcmp(name, "bpfpush_collection_series")) {
		c->series = v;
		c->has_series = true;
	} else if (!strcmp(name, "bpfpush_collection_series_dropped_total")) {
		c->refused = v;
	}
}

static struct prog *prog_in(const struct vec *v, const char *collector, const char *program)
{
	for (size_t i = 0; i < v->n; i++) {
		struct prog *p = vec_at(v, i);

		if (!strcmp(p->collector, collector) && !strcmp(p->program, program))
			return p;
	}
	return NULL;
}

static void take_program(struct status_html *h, const struct sample *smp, bool seconds)
{
	char collector[64], program[128];
	struct prog *p;

	snprintf(collector, sizeof(collector), "%s", label(h, smp, "collector"));
	snprintf(program, sizeof(program), "%s", label(h, smp, "program"));
	if (!(p = prog_in(&h->progs, collector, program))) {
		if (!(p = vec_push(&h->progs)))
			return;
		memcpy(p->collector, collector, sizeof(collector));
		memcpy(p->program, program, sizeof(program));
	}
	if (seconds)
		p->seconds = smp->value;
	else
		p->runs = smp->value;
}

static void take_agent(struct status_html *h, const struct sample *smp, const char *name)
{
	if (!strcmp(name, "bpfpush_build_info")) {
		snprintf(h->version, sizeof(h->version), "%s", label(h, smp, "version"));
		snprintf(h->instance, sizeof(h->instance), "%s", label(h, smp, "instance"));
	} else if (!strcmp(name, "bpfpush_collection_rounds_total")) {
		h->rounds = smp->value;
	} else if (!strcmp(name, "bpfpush_collection_round_duration_seconds")) {
		h->round_seconds = smp->value;
	}
}

static bool is_stale(const struct sample *smp)
{
	uint64_t bits;

	memcpy(&bits, &smp->value, sizeof(bits));
	return bits == STALE_NAN_BITS;
}

/* Only names with these prefixes have their labels decoded. */
static void take(struct status_html *h, const struct sample *smp)
{
	const char *name = series_of(smp->series)->name;

	if (smp->series->native_histogram || is_stale(smp))
		return;
	if (starts(name, RS))
		take_endpoint(h, smp, name + strlen(RS));
	else if (starts(name, "node_scrape_collector_") || starts(name, "bpfpush_bpf_collector_") ||
		 starts(name, "bpfpush_collection_series"))
		take_collector(h, smp, name);
	else if (!strcmp(name, "bpfpush_bpf_program_run_seconds_total"))
		take_program(h, smp, true);
	else if (!strcmp(name, "bpfpush_bpf_program_runs_total"))
		take_program(h, smp, false);
	else if (starts(name, "bpfpush_"))
		take_agent(h, smp, name);
}

static int gather(struct status_html *h, const struct sample *samples, size_t n)
{
	h->eps.n = h->colls.n = h->progs.n = 0;
	h->version[0] = h->instance[0] = '\0';
	h->rounds = h->round_seconds = 0;
	h->decoded = NULL;
	for (size_t i = 0; i < n; i++)
		take(h, &samples[i]);
	h->decoded = NULL;
	return hist_set_gather(&h->hists, samples, n);
}

/* ---- the page ------------------------------------------------------------------- */

static const char STYLE[] =
	"body{font-family:sans-serif;margin:1em 2em;color:#222}"
	"table{border-collapse:collapse;margin:.5em 0}"
	"td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top}"
	".bad{color:#b00;font-weight:bold}.off{color:#777}.note{color:#555;font-size:90%}"
	"svg text{font:11px monospace;fill:#222}svg rect.bar{fill:#3870b0}"
	"h3{font:bold 13px monospace;margin:1em 0 0}";

static void write_head(struct status_html *h, FILE *out, int64_t round_ts_ms, int refresh_s)
{
	time_t t = (time_t)(round_ts_ms / 1000);
	struct tm tm;
	char when[32];

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<meta http-equiv=\"refresh\" content=\"%d\">\n<link rel=\"icon\" href=\"data:,\">\n"
		"<title>bpfpush on ", refresh_s);
	html_escape(out, h->instance);
	fprintf(out, "</title>\n<style>%s</style></head>\n<body>\n<h1>bpfpush ", STYLE);
	html_escape(out, h->version);
	fputs(" on ", out);
	html_escape(out, h->instance);
	fprintf(out, "</h1>\n<p id=\"round\" data-round-ts=\"%lld\" data-rounds=\"%.0f\">Round "
		"at %s UTC, %.0f rounds so far, the last took %.1f ms. This page reloads every %d "
		"s. <a href=\"/metrics\">/metrics</a> <a href=\"/healthz\">/healthz</a> "
		"<a href=\"/ready\">/ready</a></p>\n", (long long)round_ts_ms, h->rounds, when,
		h->rounds, h->round_seconds * 1000, refresh_s);
}

/* "12.3 s ago", or "never". */
static void format_ago(double ts_s, int64_t round_ts_ms, char *out, size_t size)
{
	double ago = (double)round_ts_ms / 1000.0 - ts_s;

	if (ts_s <= 0)
		snprintf(out, size, "never");
	else
		snprintf(out, size, "%.1f s ago", ago > 0 ? ago : 0);
}

static void write_count(FILE *out, const char *what, double v)
{
	fprintf(out, "%s%s: %.0f%s<br>", v > 0 ? "<span class=\"bad\">" : "", what, v,
		v > 0 ? "</span>" : "");
}

/* The reasons that counted any, "what, reason: N"; "what: 0" when none. */
static void write_reasons(FILE *out, const char *what, const struct reasons *r)
{
	bool any = false;

	for (size_t i = 0; i < r->n; i++) {
		char text[96];

		if (r->v[i] <= 0)
			continue;
		snprintf(text, sizeof(text), "%s, %s", what, r->reason[i]);
		write_count(out, text, r->v[i]);
		any = true;
	}
	if (!any)
		fprintf(out, "%s: 0<br>", what);
}

/* Refused (4xx, not retried), retried (5xx, network, 429), failed
 * requests by class where the queue counts them, dropped by reason, and
 * the disk tier's errors. */
static void write_errors(FILE *out, const struct endpoint *e)
{
	write_count(out, "refused (4xx)", e->v[EP_FAILED]);
	write_count(out, "retried (5xx, network, 429)", e->v[EP_RETRIED]);
	if (e->failed.n)
		write_reasons(out, "failed requests", &e->failed);
	write_reasons(out, "dropped", &e->drops);
	if (e->has[EP_DISK_WERR]) {
		write_count(out, "disk write errors", e->v[EP_DISK_WERR]);
		write_count(out, "disk read errors", e->v[EP_DISK_RERR]);
		write_count(out, "disk corrupt records", e->v[EP_DISK_CORRUPT]);
	}
}

static void write_endpoint(FILE *out, const struct endpoint *e, int64_t round_ts_ms)
{
	char ago[32], disk[64];

	format_ago(e->v[EP_HIGHEST], round_ts_ms, ago, sizeof(ago));
	format_human(e->v[EP_DISK_BYTES], UNIT_BYTES, disk, sizeof(disk));
	fputs("<tr><td>", out);
	html_escape(out, e->name);
	fputs("<br><span class=\"note\">", out);
	html_escape(out, e->url);
	fprintf(out, "</span></td><td>%.0f</td>", e->v[EP_PENDING]);
	if (e->has[EP_DISK_SAMPLES])
		fprintf(out, "<td>%.0f<br><span class=\"note\">%s</span></td>",
			e->v[EP_DISK_SAMPLES], disk);
	else
		fputs("<td class=\"off\">no disk tier</td>", out);
	fprintf(out, "<td>%.0f<br><span class=\"note\">desired %.0f, max %.0f</span></td>"
		"<td>%s</td><td>", e->v[EP_SHARDS], e->v[EP_SHARDS_DESIRED], e->v[EP_SHARDS_MAX],
		ago);
	write_errors(out, e);
	if (e->v[EP_SENT] > 0)
		fprintf(out, "</td><td>%.2f</td>", e->v[EP_BYTES] / e->v[EP_SENT]);
	else
		fputs("</td><td class=\"off\">none sent</td>", out);
	fprintf(out, "<td>%.0f<br><span class=\"note\">%.0f connections, protocol %.0f.0</span>"
		"</td></tr>\n", e->v[EP_SENT], e->v[EP_CONNECTIONS], e->v[EP_PROTOCOL]);
}

static void write_endpoints(struct status_html *h, FILE *out, int64_t round_ts_ms)
{
	fputs("<section id=\"endpoints\"><h2>Remote write endpoints</h2>\n", out);
	if (h->eps.n == 0) {
		fputs("<p class=\"off\">No remote_write endpoint: nothing is pushed.</p></section>\n",
		      out);
		return;
	}
	fputs("<table><tr><th>endpoint</th><th>pending in memory</th><th>on disk</th>"
	      "<th>shards</th><th>last successful send<br><span class=\"note\">(newest sample "
	      "accepted)</span></th><th>errors by class (samples)</th>"
	      "<th>bytes per sample</th><th>samples sent</th></tr>\n", out);
	for (size_t i = 0; i < h->eps.n; i++)
		write_endpoint(out, vec_at(&h->eps, i), round_ts_ms);
	fputs("</table></section>\n", out);
}

static void write_off_row(FILE *out, const char *name, const char *kind, const char *why)
{
	fputs("<tr class=\"off\" data-collector=\"", out);
	html_escape(out, name);
	fputs("\"><td>", out);
	html_escape(out, name);
	fprintf(out, "</td><td>%s</td><td class=\"bad\">off</td><td></td><td></td><td>", kind);
	html_escape(out, why);
	fputs("</td></tr>\n", out);
}

static void write_collector(FILE *out, const struct coll *c)
{
	char why[512];

	if (c->bpf && c->ok == 0 && !c->has_seconds) { /* its init failed: up 0 from the start */
		if (!offlog_reason(c->name, why, sizeof(why)))
			snprintf(why, sizeof(why), "not loaded (see the agent's log)");
		write_off_row(out, c->name, "bpf", why);
		return;
	}
	fputs("<tr data-collector=\"", out);
	html_escape(out, c->name);
	fputs("\"><td>", out);
	html_escape(out, c->name);
	fprintf(out, "</td><td>%s</td><td%s>%s</td><td>%.3f ms</td><td>%.0f</td><td>",
		c->bpf ? "bpf" : "system", c->ok > 0 ? "" : " class=\"bad\"",
		c->ok > 0 ? "ok" : "failed", c->seconds * 1000, c->series);
	if (c->refused > 0)
		fprintf(out, "<span class=\"bad\">%.0f new series refused at max_series</span>",
			c->refused);
	fputs("</td></tr>\n", out);
}

/* Collectors the log said are off and the round does not name (a system
 * collector whose init failed leaves the rounds). */
static void off_unseen(void *arg, const char *collector, const char *reason)
{
	struct status_html *h = ((void **)arg)[0];
	FILE *out = ((void **)arg)[1];

	for (size_t i = 0; i < h->colls.n; i++)
		if (!strcmp(((struct coll *)vec_at(&h->colls, i))->name, collector))
			return;
	write_off_row(out, collector, "system", reason);
}

/* The BPF collectors the round does not name: not in the config. */
static void write_not_enabled(struct status_html *h, FILE *out)
{
	bool any = false;

	for (size_t i = 0; i < bpf_collector_count; i++) {
		const char *name = bpf_collector_table[i]->name;
		bool seen = false;

		for (size_t j = 0; j < h->colls.n && !seen; j++)
			seen = !strcmp(((struct coll *)vec_at(&h->colls, j))->name, name);
		if (seen)
			continue;
		fprintf(out, "%s%s", any ? ", " : "<p class=\"note\" id=\"not-enabled\">BPF "
			"collectors not enabled in the config (bpf: NAME: {}): ", name);
		any = true;
	}
	if (any)
		fputs("</p>\n", out);
}

static void write_collectors(struct status_html *h, FILE *out)
{
	void *arg[2] = {h, out};

	fputs("<section id=\"collectors\"><h2>Collectors</h2>\n<table><tr><th>collector</th>"
	      "<th>kind</th><th>last round</th><th>duration</th><th>series</th><th>notes</th>"
	      "</tr>\n", out);
	for (size_t i = 0; i < h->colls.n; i++) {
		const struct coll *c = vec_at(&h->colls, i);

		if (c->has_ok)
			write_collector(out, c);
	}
	offlog_each(off_unseen, arg);
	fputs("</table>\n", out);
	write_not_enabled(h, out);
	fputs("</section>\n", out);
}

/* One program's cost: the kernel's run time over its runs, between the
 * previous page's round and this one (since it loaded, for the first). */
static void write_program(struct status_html *h, FILE *out, const struct prog *p)
{
	const struct prog *was = prog_in(&h->prev, p->collector, p->program);
	double runs = p->runs - (was ? was->runs : 0);
	double seconds = p->seconds - (was ? was->seconds : 0);

	if (runs < 0 || seconds < 0) { /* loaded again since: count from zero */
		runs = p->runs;
		seconds = p->seconds;
	}
	fputs("<tr><td>", out);
	html_escape(out, p->collector);
	fputs("</td><td>", out);
	html_escape(out, p->program);
	if (runs > 0)
		fprintf(out, "</td><td>%.0f</td><td>%.0f ns</td>", runs, seconds / runs * 1e9);
	else
		fprintf(out, "</td><td>0</td><td class=\"off\">no events</td>");
	fprintf(out, "<td>%.0f</td><td>%.3f ms</td></tr>\n", p->runs, p->seconds * 1000);
}

static void write_programs(struct status_html *h, FILE *out, int64_t round_ts_ms)
{
	fputs("<section id=\"bpf-programs\"><h2>BPF programs: cost per event</h2>\n", out);
	if (h->progs.n == 0) {
		fputs("<p class=\"off\">No run statistics: they are off (bpfpush "
		      "--enable-bpf-stats, or sysctl kernel.bpf_stats_enabled=1), or no BPF "
		      "collector is loaded.</p></section>\n", out);
		return;
	}
	if (h->prev_ts_ms)
		fprintf(out, "<p class=\"note\">Over the last %.1f s.</p>\n",
			(double)(round_ts_ms - h->prev_ts_ms) / 1000.0);
	else
		fputs("<p class=\"note\">Since the programs loaded.</p>\n", out);
	fputs("<table><tr><th>collector</th><th>program</th><th>events</th><th>cost per event"
	      "</th><th>events in all</th><th>run time in all</th></tr>\n", out);
	for (size_t i = 0; i < h->progs.n; i++)
		write_program(h, out, vec_at(&h->progs, i));
	fputs("</table></section>\n", out);
}

/* A BPF collector that is off draws nothing: the section says so. */
static void write_off_bpf(struct status_html *h, FILE *out)
{
	char why[512];

	for (size_t i = 0; i < h->colls.n; i++) {
		const struct coll *c = vec_at(&h->colls, i);

		if (!c->bpf || c->ok > 0 || c->has_seconds)
			continue;
		if (!offlog_reason(c->name, why, sizeof(why)))
			snprintf(why, sizeof(why), "not loaded (see the agent's log)");
		fputs("<p class=\"off\">", out);
		html_escape(out, c->name);
		fputs(" is off, no histogram: ", out);
		html_escape(out, why);
		fputs("</p>\n", out);
	}
}

static int write_histograms(struct status_html *h, FILE *out)
{
	size_t drawn = h->hists.n < MAX_DRAWN ? h->hists.n : MAX_DRAWN;

	fputs("<section id=\"histograms\"><h2>Histograms</h2>\n", out);
	write_off_bpf(h, out);
	if (h->hists.n == 0)
		fputs("<p class=\"off\">No histogram in this round.</p>\n", out);
	for (size_t i = 0; i < drawn; i++) {
		const struct hist_view *v = &h->hists.views[i];

		if (v->n_buckets > h->cap_slots) {
			double *slots = realloc(h->slots, v->n_buckets * sizeof(*slots));

			if (!slots)
				return -1;
			h->slots = slots;
			h->cap_slots = v->n_buckets;
		}
		hist_view_interval(v, NULL, h->slots);
		svg_histogram(out, v, h->slots);
	}
	if (drawn < h->hists.n)
		fprintf(out, "<p class=\"note\">%zu more histograms not drawn (see /metrics).</p>\n",
			h->hists.n - drawn);
	fputs("</section>\n", out);
	return 0;
}

/* This round's program figures become the previous ones. */
static void keep_programs(struct status_html *h, int64_t round_ts_ms)
{
	struct vec swap = h->prev;

	h->prev = h->progs;
	h->progs = swap;
	h->progs.n = 0;
	h->prev_ts_ms = round_ts_ms;
}

int status_html_write(struct status_html *h, FILE *out, const struct sample *samples, size_t n,
		      int64_t round_ts_ms, int refresh_s)
{
	int rc = gather(h, samples, n);

	write_head(h, out, round_ts_ms, refresh_s);
	write_endpoints(h, out, round_ts_ms);
	write_collectors(h, out);
	write_programs(h, out, round_ts_ms);
	if (rc == 0)
		rc = write_histograms(h, out);
	keep_programs(h, round_ts_ms);
	fputs("</body></html>\n", out);
	return rc < 0 || ferror(out) ? -1 : 0;
}

void status_html_write_waiting(FILE *out)
{
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<meta http-equiv=\"refresh\" content=\"1\">\n<title>bpfpush</title></head>\n"
		"<body><p>No round collected yet.</p></body></html>\n");
}
