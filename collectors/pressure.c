/* SPDX-License-Identifier: MIT */
/* pressure: pressure stall information (Linux >= 4.20, CONFIG_PSI) from
 * <procfs>/pressure/{cpu,io,memory}, as node_exporter 1.5's pressure
 * collector exposes it: the "total" of the "some" line as
 * *_waiting_seconds_total, the "full" line's as *_stalled_seconds_total.
 *
 *   some avg10=0.00 avg60=0.00 avg300=0.00 total=13080678
 *   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
 *
 * Totals are microseconds. cpu has a "full" line only since Linux 5.13 (and
 * it is always 0 at the system level); 1.5 exposes only cpu's "some", and so
 * does this. The files are read in node_exporter's order (cpu, io, memory)
 * and the first one missing ends the update with -1, what was read before
 * it staying emitted, as node_exporter's ErrNoData does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/all.h"
#include "lib/readfile.h"
#include "lib/log.h"

enum { RES_CPU, RES_IO, RES_MEMORY, N_RES };

static const char *const res_files[N_RES] = {"pressure/cpu", "pressure/io", "pressure/memory"};

/* [resource][0: some, 1: full]; cpu's full is not exposed. */
static const struct metric_desc pressure_descs[N_RES][2] = {
	[RES_CPU] = {{"node_pressure_cpu_waiting_seconds_total",
		      "Total time in seconds that processes have waited for CPU time",
		      METRIC_COUNTER},
		     {NULL, NULL, METRIC_COUNTER}},
	[RES_IO] = {{"node_pressure_io_waiting_seconds_total",
		     "Total time in seconds that processes have waited due to IO congestion",
		     METRIC_COUNTER},
		    {"node_pressure_io_stalled_seconds_total",
		     "Total time in seconds no process could make progress due to IO congestion",
		     METRIC_COUNTER}},
	[RES_MEMORY] = {{"node_pressure_memory_waiting_seconds_total",
			 "Total time in seconds that processes have waited for memory",
			 METRIC_COUNTER},
			{"node_pressure_memory_stalled_seconds_total",
			 "Total time in seconds no process could make progress due to memory congestion",
			 METRIC_COUNTER}},
};

struct pressure_state {
	struct source_file *files[N_RES];
};

/* The total= of the line starting with kind ("some" / "full"). */
static bool find_total(const char *text, const char *kind, uint64_t *total)
{
	size_t klen = strlen(kind);

	for (const char *line = text; line && *line; line = strchr(line, '\n')) {
		const char *eol, *t;
		char *end;

		line += *line == '\n';
		if (strncmp(line, kind, klen) != 0 || line[klen] != ' ')
			continue;
		eol = strchr(line, '\n');
		if (!eol)
			eol = line + strlen(line);
		for (t = line; (t = strstr(t, "total=")) && t < eol; t += 6)
			if (t[-1] == ' ' && t[6] >= '0' && t[6] <= '9') {
				*total = strtoull(t + 6, &end, 10);
				return end <= eol && (end == eol || *end == ' ' || *end == '\n');
			}
		return false;
	}
	return false;
}

static int pressure_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct pressure_state *st = ctx->state;
	int rc = 0;

	for (size_t r = 0; r < N_RES; r++) {
		uint64_t total;

		if (source_file_read(st->files[r]) < 0) {
			log_msg(LOG_DEBUG, "pressure information is unavailable: Linux >= 4.20 with "
				"CONFIG_PSI is needed", "path=%s", st->files[r]->path);
			return -1;
		}
		for (size_t k = 0; k < 2; k++) {
			const struct metric_desc *d = &pressure_descs[r][k];
			if (!d->name)
				continue;
			if (!find_total(st->files[r]->buf.data, k ? "full" : "some", &total)) {
				if (k == 0)
					rc = -1; /* a "some" line is always there */
				continue;
			}
			/* node_exporter divides twice; so the same double comes out. */
			registry_emit(reg, d, NULL, NULL, 0, (double)total / 1000.0 / 1000.0, 0);
		}
	}
	return rc;
}

static void pressure_exit(struct collector_ctx *ctx)
{
	struct pressure_state *st = ctx->state;

	if (!st)
		return;
	for (size_t r = 0; r < N_RES; r++)
		source_file_close(st->files[r]);
	free(st);
	ctx->state = NULL;
}

static int pressure_init(struct collector_ctx *ctx)
{
	struct pressure_state *st = calloc(1, sizeof(*st));

	ctx->state = st;
	if (!st)
		return -1;
	for (size_t r = 0; r < N_RES; r++)
		if (!(st->files[r] = source_file_open("pressure",
						      ctx->global ? ctx->global->procfs : NULL,
						      "/proc", res_files[r]))) {
			pressure_exit(ctx);
			return -1;
		}
	return 0;
}

const struct collector collector_pressure = {
	.name = "pressure",
	.counts_from_boot = true,
	.default_enabled = true,
	.init = pressure_init,
	.update = pressure_update,
	.exit = pressure_exit,
};
