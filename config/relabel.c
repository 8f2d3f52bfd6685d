/* SPDX-License-Identifier: MIT */
/* relabel_configs (under global:) and write_relabel_configs (per
 * remote_write entry): a sequence of rules with Prometheus' keys, defaults
 * and validation (model/relabel: which action needs or forbids which key),
 * so that a file Prometheus refuses is refused here too, at the key. */
#include "config/internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const action_names[] = {
	[RELABEL_REPLACE] = "replace",       [RELABEL_KEEP] = "keep",
	[RELABEL_DROP] = "drop",             [RELABEL_KEEPEQUAL] = "keepequal",
	[RELABEL_DROPEQUAL] = "dropequal",   [RELABEL_HASHMOD] = "hashmod",
	[RELABEL_LABELMAP] = "labelmap",     [RELABEL_LABELDROP] = "labeldrop",
	[RELABEL_LABELKEEP] = "labelkeep",   [RELABEL_LOWERCASE] = "lowercase",
	[RELABEL_UPPERCASE] = "uppercase",
};

const char *relabel_action_name(enum relabel_action a)
{
	return (size_t)a < NFIELDS(action_names) ? action_names[a] : "?";
}

/* Case-insensitive, as Prometheus lowercases the action first. */
static int parse_action(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			void *dst)
{
	const char *text, *hint;
	char q[QUOTE_BUF], lower[32];
	size_t i;

	(void)key;
	if (cfg_is_null(value))
		return 0;
	if (!(text = cfg_scalar(ctx, value, "action")))
		return -1;
	for (i = 0; i < NFIELDS(action_names); i++)
		if (!strcasecmp(text, action_names[i])) {
			*(enum relabel_action *)dst = (enum relabel_action)i;
			return 0;
		}
	for (i = 0; text[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32 : text[i]);
	lower[i] = 0;
	hint = cfg_suggest(lower, action_names, NFIELDS(action_names), sizeof(action_names[0]));
	cfg_quote_str(text, q, sizeof(q));
	if (hint)
		return cfg_fail(ctx, value, "unknown relabel action %s (did you mean \"%s\"?)", q,
				hint);
	return cfg_fail(ctx, value, "unknown relabel action %s: expected one of replace, keep, "
			"drop, keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep, "
			"lowercase, uppercase", q);
}

/* Compiled as the engine does, "^(?:" + text + ")$", so that whatever
 * compiles here compiles there; "" is a pattern (it matches ""), not unset. */
static int parse_regex(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		       void *dst)
{
	char why[160], *anchored;
	const char *text;
	pcre2_code *re;
	PCRE2_SIZE at;
	int err;

	(void)key;
	if (cfg_is_null(value))
		return 0;
	if (!(text = cfg_scalar(ctx, value, "regex")))
		return -1;
	if (cfg_check_re2(text, why, sizeof(why)) < 0)
		return cfg_fail(ctx, value, "\"regex\": %s", why);
	if (asprintf(&anchored, "^(?:%s)$", text) < 0)
		return cfg_fail(ctx, NULL, "out of memory");
	re = pcre2_compile((PCRE2_SPTR)anchored, PCRE2_ZERO_TERMINATED,
			   PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &err, &at, NULL);
	free(anchored);
	if (!re) {
		PCRE2_UCHAR msg[128];

		pcre2_get_error_message(err, msg, sizeof(msg));
		return cfg_fail(ctx, value, "\"regex\": invalid regular expression: %s",
				(const char *)msg);
	}
	pcre2_code_free(re);
	return cfg_set_string(ctx, dst, text);
}

static int parse_source_labels(struct cfg_ctx *ctx, const yaml_node_t *key,
			       const yaml_node_t *value, void *dst)
{
	struct relabel_config *rc = dst;
	char q[QUOTE_BUF];

	(void)key;
	if (cfg_is_null(value))
		return 0;
	if (value->type != YAML_SEQUENCE_NODE)
		return cfg_fail(ctx, value, "\"source_labels\": expected a sequence, got %s",
				cfg_describe(value, q, sizeof(q)));
	for (yaml_node_item_t *it = value->data.sequence.items.start;
	     it < value->data.sequence.items.top; it++) {
		const yaml_node_t *n = cfg_node(ctx, *it);
		const char *name = cfg_scalar(ctx, n, "source_labels");
		char **a;

		if (!name)
			return -1;
		if (!cfg_valid_label_name(name))
			return cfg_fail(ctx, n, "\"source_labels\": %s is not a valid label name",
					cfg_quote_str(name, q, sizeof(q)));
		a = realloc(rc->source_labels, (rc->n_source_labels + 1) * sizeof(*a));
		if (!a)
			return cfg_fail(ctx, NULL, "out of memory");
		rc->source_labels = a;
		a[rc->n_source_labels] = NULL;
		if (cfg_set_string(ctx, &a[rc->n_source_labels], name) < 0)
			return -1;
		rc->n_source_labels++;
	}
	return 0;
}

enum {
	RL_SOURCE, RL_SEPARATOR, RL_REGEX, RL_MODULUS, RL_TARGET, RL_REPLACEMENT, RL_ACTION, RL_N
};

/* separator, target_label and replacement may be "": Prometheus keeps an
 * explicit "" (replacement: "" deletes the target label). */
static const struct field relabel_fields[] = {
	[RL_SOURCE] = {"source_labels", F_CUSTOM, 0, 0, parse_source_labels},
	[RL_SEPARATOR] = {"separator", F_STRING, offsetof(struct relabel_config, separator), 0,
			  NULL},
	[RL_REGEX] = {"regex", F_CUSTOM, offsetof(struct relabel_config, regex), 0, parse_regex},
	[RL_MODULUS] = {"modulus", F_INT, offsetof(struct relabel_config, modulus), 0, NULL},
	[RL_TARGET] = {"target_label", F_STRING, offsetof(struct relabel_config, target_label), 0,
		       NULL},
	[RL_REPLACEMENT] = {"replacement", F_STRING, offsetof(struct relabel_config, replacement),
			    0, NULL},
	[RL_ACTION] = {"action", F_CUSTOM, offsetof(struct relabel_config, action), 0,
		       parse_action},
};

static bool is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Prometheus' relabelTarget: label-name characters and $1, ${1}, $name,
 * ${name} references, not starting with a digit. */
bool cfg_relabel_template_ok(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	while (*s) {
		size_t n;

		if (*s != '$') {
			if (!is_word(*s++))
				return false;
			continue;
		}
		s++;
		bool brace = *s == '{';
		s += brace;
		for (n = 0; is_word(s[n]); n++)
			;
		if (!n || (brace && s[n] != '}'))
			return false;
		s += n + brace;
	}
	return true;
}

/* Where an error about key k points: its value when written, else the
 * action, else the entry. */
static const yaml_node_t *at_key(const struct field_pos *pos, int k, const yaml_node_t *item)
{
	if (pos[k].value)
		return pos[k].value;
	return pos[RL_ACTION].value ? pos[RL_ACTION].value : item;
}

static bool needs_target(enum relabel_action a)
{
	return a == RELABEL_REPLACE || a == RELABEL_HASHMOD || a == RELABEL_LOWERCASE ||
	       a == RELABEL_UPPERCASE || a == RELABEL_KEEPEQUAL || a == RELABEL_DROPEQUAL;
}

/* lowercase, uppercase, keepequal, dropequal: a plain target, no template. */
static bool plain_target(enum relabel_action a)
{
	return a == RELABEL_LOWERCASE || a == RELABEL_UPPERCASE || a == RELABEL_KEEPEQUAL ||
	       a == RELABEL_DROPEQUAL || a == RELABEL_HASHMOD;
}

static int check_target(struct cfg_ctx *ctx, const struct relabel_config *rc,
			const struct field_pos *pos, const yaml_node_t *item, const char *act)
{
	const char *t = rc->target_label;
	char q[QUOTE_BUF];
	bool ok;

	if (!needs_target(rc->action))
		return 0;
	if (!*t)
		return cfg_fail(ctx, at_key(pos, RL_TARGET, item), "relabel action %s requires "
				"\"target_label\"", act);
	if (rc->action == RELABEL_REPLACE && strchr(t, '$'))
		ok = cfg_relabel_template_ok(t);
	else
		ok = cfg_valid_label_name(t);
	if (!ok)
		return cfg_fail(ctx, at_key(pos, RL_TARGET, item), "\"target_label\": %s is not a "
				"valid %s for relabel action %s", cfg_quote_str(t, q, sizeof(q)),
				plain_target(rc->action) ? "label name" : "label name or template",
				act);
	return 0;
}

/* The first key of keys[] (ending in -1) set away from its default. */
static int first_set(const struct relabel_config *rc, const struct field_pos *pos,
		     const int *keys)
{
	for (; *keys >= 0; keys++) {
		int k = *keys;

		if ((k == RL_SOURCE || k == RL_REGEX) && pos[k].value)
			return k;
		if ((k == RL_SEPARATOR && strcmp(rc->separator, ";")) ||
		    (k == RL_REPLACEMENT && strcmp(rc->replacement, "$1")) ||
		    (k == RL_TARGET && rc->target_label[0]) || (k == RL_MODULUS && rc->modulus))
			return k;
	}
	return -1;
}

static int check_forbidden(struct cfg_ctx *ctx, const struct relabel_config *rc,
			   const struct field_pos *pos, const yaml_node_t *item, const char *act)
{
	static const int equal_keys[] = {RL_REGEX, RL_MODULUS, RL_SEPARATOR, RL_REPLACEMENT, -1};
	static const int label_keys[] = {RL_SOURCE, RL_TARGET, RL_MODULUS, RL_SEPARATOR,
					 RL_REPLACEMENT, -1};
	static const int case_keys[] = {RL_REPLACEMENT, -1};
	const int *keys = NULL;
	const char *allowed = NULL;
	int k;

	if (rc->action == RELABEL_KEEPEQUAL || rc->action == RELABEL_DROPEQUAL) {
		keys = equal_keys;
		allowed = "\"source_labels\" and \"target_label\"";
	} else if (rc->action == RELABEL_LABELDROP || rc->action == RELABEL_LABELKEEP) {
		keys = label_keys;
		allowed = "\"regex\"";
	} else if (rc->action == RELABEL_LOWERCASE || rc->action == RELABEL_UPPERCASE) {
		keys = case_keys;
		allowed = "\"source_labels\", \"separator\" and \"target_label\"";
	}
	if (!keys || (k = first_set(rc, pos, keys)) < 0)
		return 0;
	return cfg_fail(ctx, at_key(pos, k, item), "\"%s\" cannot be set for relabel action %s, "
			"which takes only %s", relabel_fields[k].name, act, allowed);
}

static int check_rule(struct cfg_ctx *ctx, const struct relabel_config *rc,
		      const struct field_pos *pos, const yaml_node_t *item)
{
	const char *act = relabel_action_name(rc->action);
	char q[QUOTE_BUF];

	if (rc->action == RELABEL_HASHMOD && rc->modulus == 0)
		return cfg_fail(ctx, at_key(pos, RL_MODULUS, item), "relabel action hashmod "
				"requires a non-zero \"modulus\"");
	if (check_forbidden(ctx, rc, pos, item, act) < 0 ||
	    check_target(ctx, rc, pos, item, act) < 0)
		return -1;
	if (rc->action == RELABEL_LABELMAP && !cfg_relabel_template_ok(rc->replacement))
		return cfg_fail(ctx, at_key(pos, RL_REPLACEMENT, item), "\"replacement\": %s is "
				"not a valid label name or template for relabel action labelmap",
				cfg_quote_str(rc->replacement, q, sizeof(q)));
	return 0;
}

static int rule_defaults(struct cfg_ctx *ctx, struct relabel_config *rc)
{
	rc->action = RELABEL_REPLACE;
	return cfg_set_string(ctx, &rc->separator, ";") < 0 ||
	       cfg_set_string(ctx, &rc->regex, "(.*)") < 0 ||
	       cfg_set_string(ctx, &rc->target_label, "") < 0 ||
	       cfg_set_string(ctx, &rc->replacement, "$1") < 0 ? -1 : 0;
}

static int parse_rule(struct cfg_ctx *ctx, const yaml_node_t *item, const char *list, size_t i,
		      struct relabel_config *rc)
{
	char label[64], where[72], q[QUOTE_BUF];
	struct mapping_spec spec = {label, "key", where, relabel_fields, RL_N};
	struct field_pos pos[RL_N];

	snprintf(label, sizeof(label), "%s[%zu]", list, i);
	snprintf(where, sizeof(where), "in %s[%zu]", list, i);
	if (cfg_is_null(item) || item->type != YAML_MAPPING_NODE)
		return cfg_fail(ctx, item, "%s: expected a mapping, got %s", label,
				cfg_describe(item, q, sizeof(q)));
	if (rule_defaults(ctx, rc) < 0 || cfg_parse_mapping(ctx, item, &spec, rc, pos) < 0)
		return -1;
	return check_rule(ctx, rc, pos, item);
}

int cfg_parse_relabel_configs(struct cfg_ctx *ctx, const yaml_node_t *key,
			      const yaml_node_t *value, void *dst)
{
	struct relabel_list *list = dst;
	const char *name = (const char *)key->data.scalar.value;
	char q[QUOTE_BUF];

	if (cfg_is_null(value))
		return 0;
	if (value->type != YAML_SEQUENCE_NODE)
		return cfg_fail(ctx, value, "\"%s\": expected a sequence, got %s", name,
				cfg_describe(value, q, sizeof(q)));
	for (yaml_node_item_t *it = value->data.sequence.items.start;
	     it < value->data.sequence.items.top; it++) {
		struct relabel_config *a = realloc(list->rules, (list->n + 1) * sizeof(*a));

		if (!a)
			return cfg_fail(ctx, NULL, "out of memory");
		list->rules = a;
		memset(&a[list->n], 0, sizeof(a[list->n]));
		list->n++; /* counted now so that it is freed on error */
		if (parse_rule(ctx, cfg_node(ctx, *it), name, list->n - 1, &a[list->n - 1]) < 0)
			return -1;
	}
	return 0;
}

void cfg_relabel_free(struct relabel_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		struct relabel_config *rc = &list->rules[i];

		for (size_t j = 0; j < rc->n_source_labels; j++)
			free(rc->source_labels[j]);
		free(rc->source_labels);
		free(rc->separator);
		free(rc->regex);
		free(rc->target_label);
		free(rc->replacement);
	}
	free(list->rules);
	list->rules = NULL;
	list->n = 0;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool rule_equal(const struct relabel_config *a, const struct relabel_config *b)
{
	if (a->action != b->action || a->modulus != b->modulus ||
	    a->n_source_labels != b->n_source_labels || !str_eq(a->separator, b->separator) ||
	    !str_eq(a->regex, b->regex) || !str_eq(a->target_label, b->target_label) ||
	    !str_eq(a->replacement, b->replacement))
		return false;
	for (size_t i = 0; i < a->n_source_labels; i++)
		if (!str_eq(a->source_labels[i], b->source_labels[i]))
			return false;
	return true;
}

bool config_relabel_equal(const struct relabel_list *a, const struct relabel_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!rule_equal(&a->rules[i], &b->rules[i]))
			return false;
	return true;
}
