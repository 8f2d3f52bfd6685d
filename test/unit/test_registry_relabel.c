/* SPDX-License-Identifier: MIT */
/* global.relabel_configs in the registry and write_relabel_configs views:
 * rules run once per series (not per sample), external labels come after
 * the global rules and before a view's, "__" labels are removed, bad
 * results are dropped and counted by reason, and a dropped series is a
 * small node forgotten and freed like any other. */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "series/registry.h"
#include "remote.pb-c.h"

static const struct metric_desc gauge = {"test_gauge", "A test gauge.", METRIC_GAUGE};

struct rule_spec {
	enum relabel_action action;
	const char *source;      /* one source label, or NULL */
	const char *regex;       /* NULL: "(.*)" */
	const char *target;      /* NULL: "" */
	const char *replacement; /* NULL: "$1" */
};

#define MAX_RULES 4

/* The config form of up to MAX_RULES specs (ends at action 0 with no
 * source or target, i.e. a zeroed spec). */
struct rules_holder {
	struct relabel_config cfg[MAX_RULES];
	char *sources[MAX_RULES][1];
	struct relabel_list list;
};

static const struct relabel_list *to_list(struct rules_holder *h, const struct rule_spec *s)
{
	size_t n = 0;

	for (; n < MAX_RULES && (s[n].action || s[n].source || s[n].target || s[n].regex); n++) {
		h->sources[n][0] = (char *)s[n].source;
		h->cfg[n] = (struct relabel_config){
			.action = s[n].action, .source_labels = h->sources[n],
			.n_source_labels = s[n].source ? 1 : 0, .separator = (char *)";",
			.regex = (char *)(s[n].regex ? s[n].regex : "(.*)"),
			.target_label = (char *)(s[n].target ? s[n].target : ""),
			.replacement = (char *)(s[n].replacement ? s[n].replacement : "$1")};
	}
	h->list = (struct relabel_list){h->cfg, n};
	return &h->list;
}

/* External cluster=prod, job and instance: the base labels. */
static struct registry *new_registry(const struct rule_spec *rules)
{
	static const struct kv external[] = {{"cluster", "prod"}};
	struct registry *r = registry_create(external, 1, "bpfpush", "host-a");
	struct rules_holder h;
	char why[256];

	assert_non_null(r);
	if (rules)
		assert_int_equal(registry_set_relabel(r, to_list(&h, rules), why, sizeof(why)), 0);
	return r;
}

/* The encoded labels as "name=value,..." (sorted, as on the wire). */
static const char *wire_text(const struct wire_series *w)
{
	static char text[512];
	Prometheus__Labels *l = prometheus__labels__unpack(NULL, w->labels_len, w->labels_pb);
	size_t at = 0;

	assert_non_null(l);
	text[0] = '\0';
	for (size_t i = 0; i < l->n_labels; i++)
		at += (size_t)snprintf(text + at, sizeof(text) - at, "%s%s=%s", i ? "," : "",
				       l->labels[i]->name, l->labels[i]->value);
	prometheus__labels__free_unpacked(l, NULL);
	return text;
}

static int64_t round_ts = 1000;

/* One round emitting one series per label value k=values[i]: returns the
 * round's samples. */
static const struct sample *round_of(struct registry *r, const char *const *values, size_t *n)
{
	registry_begin_round(r, round_ts += 1000);
	for (size_t i = 0; values[i]; i++) {
		struct label l = {"k", values[i]};

		assert_int_equal(registry_emit(r, &gauge, NULL, &l, 1, (double)i, 0), 0);
	}
	return registry_end_round(r, n);
}

/* Rules see the collector's labels without the external ones; the external
 * labels come after and do not override a label the rules set. */
static void external_labels_come_after_the_global_rules(void **state)
{
	static const struct rule_spec rules[] = {
		{RELABEL_REPLACE, "cluster", NULL, "seen", "x${1}"},
		{RELABEL_REPLACE, NULL, NULL, "job", "renamed-job"},
		{RELABEL_REPLACE, "k", "(.*)", "__name__", "new_${1}"},
		{0}};
	static const char *const v[] = {"a", NULL};
	struct registry *r = new_registry(rules);
	const struct sample *s;
	size_t n;
	(void)state;

	s = round_of(r, v, &n);
	assert_int_equal(n, 1);
	assert_string_equal(wire_text(s[0].series), "__name__=new_a,cluster=prod,instance=host-a,"
						  "job=renamed-job,k=a,seen=x");
	assert_string_equal(series_of(s[0].series)->name, "new_a");
	/* Renamed: a family of its new name, untyped (the TYPE was the old name's). */
	assert_string_equal(series_of(s[0].series)->family->name, "new_a");
	assert_int_equal(series_of(s[0].series)->family->type, METRIC_UNTYPED);
	registry_destroy(r);
}

/* A label starting with "__" set by a rule is gone after relabeling;
 * __name__ stays. */
static void double_underscore_labels_are_removed(void **state)
{
	static const struct rule_spec rules[] = {
		{RELABEL_REPLACE, "k", NULL, "__tmp_k", NULL},
		{RELABEL_REPLACE, "__tmp_k", NULL, "copy", NULL},
		{0}};
	static const char *const v[] = {"a", NULL};
	struct registry *r = new_registry(rules);
	const struct sample *s;
	size_t n;
	(void)state;

	s = round_of(r, v, &n);
	assert_string_equal(wire_text(s[0].series), "__name__=test_gauge,cluster=prod,copy=a,"
						  "instance=host-a,job=bpfpush,k=a");
	assert_int_equal(series_of(s[0].series)->family->type, METRIC_GAUGE);
	registry_destroy(r);
}

/* Each way a result is refused, counted under its reason; every series is
 * relabeled once, whatever the number of rounds it is emitted in. */
static void bad_results_are_dropped_by_reason_and_relabeled_once(void **state)
{
	static const struct rule_spec rules[] = {
		{RELABEL_DROP, "k", "drop", NULL, NULL},
		{RELABEL_REPLACE, "k", "noname", "__name__", ""},
		{RELABEL_REPLACE, "k", "bad", "__name__", "1bad"},
		{RELABEL_REPLACE, "k", "dup.", "k", "dup"},
		};
	static const char *const v[] = {"drop", "noname", "bad", "dup1", "dup2", "ok", NULL};
	struct registry *r = new_registry(rules);
	struct relabel_stats st;
	const struct sample *s;
	size_t n;
	(void)state;

	for (int round = 0; round < 5; round++) {
		s = round_of(r, v, &n);
		assert_int_equal(n, 2);
		assert_string_equal(wire_text(s[0].series), "__name__=test_gauge,cluster=prod,"
							  "instance=host-a,job=bpfpush,k=dup");
		assert_string_equal(wire_text(s[1].series), "__name__=test_gauge,cluster=prod,"
							  "instance=host-a,job=bpfpush,k=ok");
	}
	registry_relabel_stats(r, -1, &st);
	assert_int_equal(st.applied, 6);
	assert_int_equal(st.dropped[RELABEL_REASON_RULE], 1);
	assert_int_equal(st.dropped[RELABEL_REASON_NO_NAME], 1);
	assert_int_equal(st.dropped[RELABEL_REASON_INVALID_NAME], 1);
	assert_int_equal(st.dropped[RELABEL_REASON_DUPLICATE], 1);
	assert_string_equal(relabel_reason_name(RELABEL_REASON_INVALID_NAME), "invalid_name");
	registry_destroy(r);
}

/* Series the rules drop do not take a source's max_series room. */
static void dropped_series_do_not_count_toward_max_series(void **state)
{
	static const struct rule_spec rules[] = {{RELABEL_DROP, "k", "drop.*", NULL, NULL}, {0}};
	struct registry *r = new_registry(rules);
	struct label l[] = {{"k", "drop1"}, {"k", "drop2"}, {"k", "drop3"}, {"k", "a"},
			    {"k", "b"}, {"k", "c"}};
	size_t live, n;
	uint64_t refused;
	(void)state;

	assert_int_equal(registry_set_source(r, 1, 2), 0);
	registry_begin_round(r, round_ts += 1000);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(registry_emit(r, &gauge, NULL, &l[i], 1, 1, 0), 0);
	assert_int_equal(registry_emit(r, &gauge, NULL, &l[5], 1, 1, 0), 2);
	registry_end_round(r, &n);
	assert_int_equal(n, 2);
	registry_source_stats(r, 1, &live, &refused);
	assert_int_equal(live, 2);
	assert_int_equal(refused, 1);
	registry_destroy(r);
}

/* A transaction aborted after creating a dropped series and a relabeled
 * one: both leave the table and the index of what kept series send, so
 * the relabeled one emitted again is new, not a duplicate of itself. */
static void abort_takes_relabeled_and_dropped_series_out(void **state)
{
	static const struct rule_spec rules[] = {{RELABEL_DROP, "k", "drop.*", NULL, NULL},
						 {RELABEL_REPLACE, NULL, NULL, "r", "1"}, {0}};
	struct registry *r = new_registry(rules);
	struct label l[] = {{"k", "drop1"}, {"k", "a"}};
	const struct sample *s;
	struct registry_stats st;
	size_t n;
	(void)state;

	registry_begin_round(r, round_ts += 1000);
	assert_int_equal(registry_txn_begin(r), 0);
	assert_int_equal(registry_emit(r, &gauge, NULL, &l[0], 1, 1, 0), 0);
	assert_int_equal(registry_emit(r, &gauge, NULL, &l[1], 1, 2, 0), 0);
	registry_txn_abort(r);
	registry_get_stats(r, &st);
	assert_int_equal(st.series, 0);
	assert_int_equal(registry_emit(r, &gauge, NULL, &l[1], 1, 3, 0), 0);
	s = registry_end_round(r, &n);
	assert_int_equal(n, 1);
	assert_string_equal(wire_text(s[0].series),
			    "__name__=test_gauge,cluster=prod,instance=host-a,job=bpfpush,k=a,r=1");
	registry_destroy(r);
}

#define CHURN_ROUNDS 50
#define CHURN_DROPPED 100
#define CHURN_WARMUP 10

/* Label values that churn among dropped series: their nodes are forgotten
 * (no stale marker ever sent) and freed like kept ones; a view's cached
 * results go with them (ASan checks the frees). */
static void churning_dropped_series_are_forgotten_and_freed(void **state)
{
	static const struct rule_spec rules[] = {{RELABEL_DROP, "k", "drop.*", NULL, NULL}, {0}};
	static const struct rule_spec view_rules[] = {{RELABEL_REPLACE, NULL, NULL, "v", "1"}, {0}};
	struct registry *r = new_registry(rules);
	struct rules_holder h;
	struct registry_stats st;
	char why[256], values[CHURN_DROPPED][32];
	const char *v[CHURN_DROPPED + 2] = {"keep"};
	int view = registry_view_add(r, to_list(&h, view_rules), why, sizeof(why));
	size_t heap_warm = 0;
	(void)state;

	assert_true(view >= 0);
	for (int k = 0; k < CHURN_ROUNDS; k++) {
		const struct sample *s;
		size_t n, n_view;

		for (int i = 0; i < CHURN_DROPPED; i++) {
			snprintf(values[i], sizeof(values[i]), "drop%d-%d", k, i);
			v[i + 1] = values[i];
		}
		s = round_of(r, v, &n);
		assert_int_equal(n, 1); /* "keep", and no stale marker for a dropped one */
		assert_non_null(registry_view_map(r, view, s, n, &n_view));
		assert_int_equal(n_view, 1);
		registry_reclaim(r);
		assert_true(registry_series_count(r) <= 1 + 2 * CHURN_DROPPED);
		if (k == CHURN_WARMUP)
			heap_warm = mallinfo2().uordblks;
	}
	/* 40 rounds of 100 new dropped nodes each: what was freed is reused
	 * (ASan's allocator reports 0). */
	assert_true(mallinfo2().uordblks < heap_warm + 64 * 1024);
	registry_get_stats(r, &st);
	assert_int_equal(st.forgotten_total, (CHURN_ROUNDS - 2) * CHURN_DROPPED);
	for (int k = 0; k < 4; k++) {
		size_t n;

		registry_begin_round(r, round_ts += 1000);
		registry_end_round(r, &n);
		registry_reclaim(r);
	}
	registry_get_stats(r, &st);
	assert_int_equal(st.series, 0);
	assert_int_equal(st.forgotten_pending, 0);
	registry_destroy(r);
}

/* Two views over one round: each sees the labels after the global rules
 * and the external labels, drops or renames for itself, maps stale
 * markers too, and relabels each series once. */
static void views_relabel_after_external_labels_once_per_series(void **state)
{
	static const struct rule_spec global[] = {{RELABEL_REPLACE, "k", NULL, "g", NULL}, {0}};
	static const struct rule_spec rules_a[] = {
		{RELABEL_DROP, "k", "b", NULL, NULL},
		{RELABEL_REPLACE, "cluster", NULL, "from_cluster", NULL}, {0}};
	static const struct rule_spec rules_b[] = {
		{RELABEL_REPLACE, "__name__", "test_(.*)", "__name__", "renamed_$1"}, {0}};
	static const char *const ab[] = {"a", "b", NULL}, *const a_only[] = {"a", NULL};
	struct registry *r = new_registry(global);
	struct rules_holder ha, hb;
	struct relabel_stats st;
	char why[256];
	int va = registry_view_add(r, to_list(&ha, rules_a), why, sizeof(why));
	int vb = registry_view_add(r, to_list(&hb, rules_b), why, sizeof(why));
	const struct sample *s, *m;
	size_t n, k;
	(void)state;

	assert_true(va >= 0 && vb >= 0 && va != vb);
	for (int round = 0; round < 3; round++) {
		s = round_of(r, ab, &n);
		m = registry_view_map(r, va, s, n, &k);
		assert_int_equal(k, 1);
		assert_string_equal(wire_text(m[0].series), "__name__=test_gauge,cluster=prod,"
			"from_cluster=prod,g=a,instance=host-a,job=bpfpush,k=a");
		m = registry_view_map(r, vb, s, n, &k);
		assert_int_equal(k, 2);
		assert_string_equal(wire_text(m[1].series), "__name__=renamed_gauge,cluster=prod,"
			"g=b,instance=host-a,job=bpfpush,k=b");
		assert_true(m[1].value == 1.0 && m[1].timestamp_ms == s[1].timestamp_ms);
	}
	s = round_of(r, a_only, &n); /* b's stale marker */
	assert_int_equal(n, 2);
	registry_view_map(r, va, s, n, &k);
	assert_int_equal(k, 1);
	m = registry_view_map(r, vb, s, n, &k);
	assert_int_equal(k, 2);
	assert_true(m[1].value != m[1].value); /* the stale NaN, through the view */
	registry_relabel_stats(r, va, &st);
	assert_int_equal(st.applied, 2);
	assert_int_equal(st.dropped[RELABEL_REASON_RULE], 1);
	registry_relabel_stats(r, vb, &st);
	assert_int_equal(st.applied, 2);
	registry_destroy(r);
}

/* A removed view lets go of every series' result; its id serves a new
 * view, which computes afresh with its own rules. */
static void a_removed_view_is_forgotten_and_its_id_reused(void **state)
{
	static const struct rule_spec rules_a[] = {{RELABEL_DROP, "k", "a", NULL, NULL}, {0}};
	static const struct rule_spec rules_b[] = {{RELABEL_REPLACE, NULL, NULL, "v", "b"}, {0}};
	static const char *const v[] = {"a", NULL};
	struct registry *r = new_registry(NULL);
	struct rules_holder ha, hb;
	struct relabel_stats st;
	const struct sample *s, *m;
	char why[256];
	int va = registry_view_add(r, to_list(&ha, rules_a), why, sizeof(why)), vb;
	size_t n, k;
	(void)state;

	s = round_of(r, v, &n);
	registry_view_map(r, va, s, n, &k);
	assert_int_equal(k, 0);
	registry_view_remove(r, va);
	vb = registry_view_add(r, to_list(&hb, rules_b), why, sizeof(why));
	assert_int_equal(vb, va);
	s = round_of(r, v, &n);
	m = registry_view_map(r, vb, s, n, &k);
	assert_int_equal(k, 1);
	assert_string_equal(wire_text(m[0].series), "__name__=test_gauge,cluster=prod,"
		"instance=host-a,job=bpfpush,k=a,v=b");
	registry_relabel_stats(r, vb, &st);
	assert_int_equal(st.applied, 1);
	assert_int_equal(st.dropped[RELABEL_REASON_RULE], 0);
	registry_destroy(r);
}

/* Two series a view makes one: the second is dropped (a receiver would
 * refuse its samples), counted; once the first is forgotten, a new series
 * with those labels is sent again. */
static void a_view_drops_duplicates_until_the_first_is_forgotten(void **state)
{
	static const struct rule_spec rules[] = {{RELABEL_LABELDROP, NULL, "k", NULL, NULL}, {0}};
	static const char *const ab[] = {"a", "b", NULL}, *const b[] = {"b", NULL},
			       *const c[] = {"c", NULL};
	struct registry *r = new_registry(NULL);
	struct rules_holder h;
	struct relabel_stats st;
	const struct sample *s;
	char why[256];
	int view = registry_view_add(r, to_list(&h, rules), why, sizeof(why));
	size_t n, k;
	(void)state;

	s = round_of(r, ab, &n);
	assert_non_null(registry_view_map(r, view, s, n, &k));
	assert_int_equal(k, 1);
	for (int round = 0; round < 3; round++) { /* a: stale marker, then forgotten */
		s = round_of(r, b, &n);
		registry_view_map(r, view, s, n, &k);
		assert_int_equal(k, round == 0 ? 1 : 0); /* a's stale marker; b stays dropped */
	}
	s = round_of(r, c, &n);
	registry_view_map(r, view, s, n, &k);
	assert_int_equal(k, 1);
	registry_relabel_stats(r, view, &st);
	assert_int_equal(st.dropped[RELABEL_REASON_DUPLICATE], 1);
	assert_int_equal(st.applied, 3);
	registry_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(external_labels_come_after_the_global_rules),
		cmocka_unit_test(double_underscore_labels_are_removed),
		cmocka_unit_test(bad_results_are_dropped_by_reason_and_relabeled_once),
		cmocka_unit_test(dropped_series_do_not_count_toward_max_series),
		cmocka_unit_test(abort_takes_relabeled_and_dropped_series_out),
		cmocka_unit_test(churning_dropped_series_are_forgotten_and_freed),
		cmocka_unit_test(views_relabel_after_external_labels_once_per_series),
		cmocka_unit_test(a_removed_view_is_forgotten_and_its_id_reused),
		cmocka_unit_test(a_view_drops_duplicates_until_the_first_is_forgotten),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
