/* SPDX-License-Identifier: MIT */
/* Families' wire metadata and sources' start times, for Remote Write 2.0
 * (metadata and created timestamps inline) and the 1.0 metadata requests. */
#include "series/meta.h"

#include <string.h>

#include "series/registry_priv.h"

/* Prometheus' base units (its naming guide) and the few more node_exporter
 * names end in. Prefixed ones (milliseconds, kilobytes) are left out: a
 * family should not use them, and one that does is sent without a unit
 * rather than with a guess. */
static const char *const units[] = {
	"seconds", "bytes", "celsius", "hertz", "joules", "volts", "amperes",
	"watts", "ratio", "meters", "grams", "kelvin", "percent",
};

/* The suffixes a type adds after the unit (OpenMetrics: the unit comes
 * right before them). */
static const char *const type_suffixes[] = {
	"_total", "_bucket", "_sum", "_count", "_created", "_info",
};

static bool ends_with(const char *s, size_t len, const char *suffix, size_t suffix_len)
{
	return len > suffix_len && memcmp(s + len - suffix_len, suffix, suffix_len) == 0;
}

const char *metric_unit(const char *family_name)
{
	size_t len = strlen(family_name);

	for (size_t i = 0; i < sizeof(type_suffixes) / sizeof(type_suffixes[0]); i++) {
		size_t sl = strlen(type_suffixes[i]);

		if (ends_with(family_name, len, type_suffixes[i], sl)) {
			len -= sl;
			break;
		}
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t ul = strlen(units[i]);

		/* "_" + unit, with a name before it: "seconds" alone is no unit. */
		if (len > ul + 1 && family_name[len - ul - 1] == '_' &&
		    memcmp(family_name + len - ul, units[i], ul) == 0)
			return units[i];
	}
	return "";
}

enum wire_metric_type wire_metric_type_of(enum metric_type t)
{
	switch (t) {
	case METRIC_COUNTER: return WIRE_TYPE_COUNTER;
	case METRIC_GAUGE: return WIRE_TYPE_GAUGE;
	case METRIC_HISTOGRAM: return WIRE_TYPE_HISTOGRAM;
	case METRIC_SUMMARY: return WIRE_TYPE_SUMMARY;
	default: return WIRE_TYPE_UNKNOWN;
	}
}

bool metric_type_has_start(enum metric_type t)
{
	return t == METRIC_COUNTER || t == METRIC_HISTOGRAM || t == METRIC_SUMMARY;
}

void family_meta_init(struct family_node *f)
{
	f->meta = (struct wire_meta){f->f.name, f->f.help, metric_unit(f->f.name),
				     (uint8_t)wire_metric_type_of(f->f.type)};
}

void series_meta_init(const struct registry *r, struct series_node *n)
{
	const struct family_node *f = (const struct family_node *)(const void *)n->s.family;

	n->s.wire.meta = f ? &f->meta : NULL;
	n->has_start = f && metric_type_has_start(f->f.type) && n->source < r->n_sources;
	n->s.wire.start_ms = n->has_start ? r->sources[n->source].start_ms : 0;
}

/* Every emit passes here: the node's own flag, so a gauge costs no look
 * at its family. Queue threads may be reading start_ms of a series whose
 * samples they hold: it changes with a relaxed atomic store, read with
 * wire_series_start_ms(). */
void series_sync_start(const struct registry *r, struct series_node *n)
{
	int64_t start;

	if (!n->has_start)
		return;
	start = r->sources[n->source].start_ms;
	if (start != n->s.wire.start_ms)
		__atomic_store_n(&n->s.wire.start_ms, start, __ATOMIC_RELAXED);
}

int registry_set_source_start(struct registry *r, uint32_t id, int64_t start_ms)
{
	uint32_t current = r->source;

	/* registry_set_source makes room for a new id, then is undone as to
	 * which source new series count toward. */
	if (id >= r->n_sources) {
		if (registry_set_source(r, id, 0) < 0)
			return -1;
		r->source = current;
	}
	r->sources[id].start_ms = start_ms;
	return 0;
}

size_t registry_metadata(const struct registry *r, const struct wire_meta **out, size_t cap)
{
	const struct family_node *f;
	size_t pos = 0, count = 0;

	while ((f = hashmap_each(&r->families, &pos))) {
		if (count < cap)
			out[count] = &f->meta;
		count++;
	}
	return count;
}
