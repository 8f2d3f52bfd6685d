/* SPDX-License-Identifier: MIT */
/* collectors: and bpf: read against the schemas the collectors publish.
 * This file knows no collector by name: a schema brings its options, their
 * types and defaults, and where they go in its options struct. */
#include "config/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

static enum field_type opt_field_type(enum opt_type t)
{
	switch (t) {
	case OPT_BOOL:
		return F_BOOL;
	case OPT_INT:
		return F_INT;
	case OPT_DURATION:
		return F_DURATION;
	case OPT_STRING:
	case OPT_ENUM:
		return F_STRING;
	case OPT_REGEX:
		return F_REGEX;
	}
	return F_CUSTOM;
}

static size_t opt_type_size(enum opt_type t)
{
	switch (t) {
	case OPT_BOOL:
		return sizeof(bool);
	case OPT_INT:
	case OPT_DURATION:
		return sizeof(int64_t);
	case OPT_STRING:
	case OPT_REGEX:
	case OPT_ENUM:
		return sizeof(char *);
	}
	return SIZE_MAX;
}

/* OPT_ENUM: is value one of the choices "a|b|c"? */
static bool is_choice(const struct opt_desc *o, const char *value)
{
	size_t len = value ? strlen(value) : 0;

	for (const char *c = o->default_value; value && *c;) {
		size_t n = strcspn(c, "|");

		if (n == len && !strncmp(c, value, n))
			return true;
		c += n + (c[n] == '|');
	}
	return false;
}

/* OPT_ENUM's choices for a message: "a", "b" or "c". */
static const char *choices_text(const struct opt_desc *o, char *buf, size_t size)
{
	const char *c = o->default_value;
	size_t len = 0;

	buf[0] = '\0';
	while (*c && len < size) {
		size_t n = strcspn(c, "|");
		const char *sep = c == o->default_value ? "" : strchr(c, '|') ? ", " : " or ";

		len += (size_t)snprintf(buf + len, size - len, "%s\"%.*s\"", sep, (int)n, c);
		c += n + (c[n] == '|');
	}
	return buf;
}

static size_t count_opts(const struct section_schema *s)
{
	size_t n = 0;

	while (s->opts && s->opts[n].name)
		n++;
	return n;
}

/* A schema is code, not input: a mistake in one is a bug to fix before it
 * ships, so it stops the program instead of becoming a config error. */
static void __attribute__((noreturn)) schema_bug(const struct section_schema *s,
						 const struct opt_desc *o, const char *what)
{
	char kv[256];

	snprintf(kv, sizeof(kv), "section=%s option=%s problem=\"%s\"", s->name,
		 o ? o->name : "-", what);
	log_msg(LOG_ERROR, "bad collector option schema", "%s", kv);
	abort();
}

static void check_schema(const struct section_schema *s, const struct section_schema *all)
{
	for (const struct section_schema *t = all; t < s; t++)
		if (!strcmp(t->name, s->name))
			schema_bug(s, NULL, "duplicate section name");
	for (size_t i = 0; s->opts && s->opts[i].name; i++) {
		const struct opt_desc *o = &s->opts[i];
		if (opt_type_size(o->type) == SIZE_MAX)
			schema_bug(s, o, "unknown option type");
		if (o->offset + opt_type_size(o->type) > s->opts_size)
			schema_bug(s, o, "offset past opts_size");
		if (o->type == OPT_ENUM && (!o->default_value || !o->default_value[0] ||
					    strstr(o->default_value, "||") ||
					    o->default_value[strlen(o->default_value) - 1] == '|'))
			schema_bug(s, o, "OPT_ENUM needs its choices as \"a|b\"");
		if (o->max && o->type != OPT_INT)
			schema_bug(s, o, "only OPT_INT has a maximum");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s->opts[j].name, o->name))
				schema_bug(s, o, "duplicate option name");
	}
}

static int apply_defaults(struct cfg_ctx *ctx, const struct section_schema *s, void *opts)
{
	char why[CONFIG_ERR_MAX / 2], first[64];

	for (size_t i = 0; s->opts && s->opts[i].name; i++) {
		const struct opt_desc *o = &s->opts[i];
		const char *text = o->default_value;

		if (!text)
			continue; /* calloc'd: false, 0, NULL */
		if (o->type == OPT_ENUM) { /* the first choice */
			snprintf(first, sizeof(first), "%.*s", (int)strcspn(text, "|"), text);
			text = first;
		}
		/* The same parser as the file's values, so a default cannot
		 * mean something a user could not write. */
		if (cfg_text_value(opt_field_type(o->type), text, 0, (char *)opts + o->offset, why,
				   sizeof(why)) == 0) {
			int64_t n = 0;

			if (o->type == OPT_INT)
				memcpy(&n, (char *)opts + o->offset, sizeof(n));
			if (o->max && n > o->max)
				schema_bug(s, o, "default above max");
			continue;
		}
		if (o->type == OPT_STRING || o->type == OPT_ENUM) /* they only fail to allocate */
			return cfg_fail(ctx, NULL, "out of memory");
		schema_bug(s, o, why);
	}
	return 0;
}

int cfg_sections_init(struct cfg_ctx *ctx, const struct section_schema *schemas, size_t n,
		      struct section_config **out, size_t *n_out)
{
	struct section_config *secs;

	*out = NULL;
	*n_out = 0;
	if (n == 0)
		return 0;
	secs = calloc(n, sizeof(*secs));
	if (!secs)
		return cfg_fail(ctx, NULL, "out of memory");
	*out = secs;
	for (size_t i = 0; i < n; i++) {
		check_schema(&schemas[i], schemas);
		secs[i].schema = &schemas[i];
		secs[i].enabled = schemas[i].default_enabled;
		*n_out = i + 1;
		if (schemas[i].opts_size == 0)
			continue;
		secs[i].opts = calloc(1, schemas[i].opts_size);
		if (!secs[i].opts)
			return cfg_fail(ctx, NULL, "out of memory");
		if (apply_defaults(ctx, &schemas[i], secs[i].opts) < 0)
			return -1;
	}
	return 0;
}

/* Values set in the file that the parser alone cannot judge: an OPT_ENUM
 * must be one of its choices, an OPT_INT at most its max. An error at the
 * value. */
static int check_values(struct cfg_ctx *ctx, const struct section_schema *s, const void *opts,
			const struct field_pos *pos)
{
	char choices[CONFIG_ERR_MAX / 2], q[QUOTE_BUF];

	for (size_t i = 0; s->opts && s->opts[i].name; i++) {
		const struct opt_desc *o = &s->opts[i];
		const char *at = (const char *)opts + o->offset;
		int64_t n;

		if (!pos[i].value)
			continue;
		if (o->type == OPT_ENUM && !is_choice(o, *(char *const *)(const void *)at))
			return cfg_fail(ctx, pos[i].value, "\"%s\": expected %s, got %s", o->name,
					choices_text(o, choices, sizeof(choices)),
					cfg_quote_str(*(char *const *)(const void *)at, q, sizeof(q)));
		if (o->type != OPT_INT || !o->max)
			continue;
		memcpy(&n, at, sizeof(n));
		if (n > o->max)
			return cfg_fail(ctx, pos[i].value, "\"%s\": must be <= %lld, got %lld", o->name,
					(long long)o->max, (long long)n);
	}
	return 0;
}

static int parse_options(struct cfg_ctx *ctx, const yaml_node_t *value, const char *kind,
			 struct section_config *sec)
{
	const struct section_schema *s = sec->schema;
	size_t n = count_opts(s);
	struct field *fields = calloc(n ? n : 1, sizeof(*fields));
	struct field_pos *pos = calloc(n ? n : 1, sizeof(*pos));
	char label[QUOTE_BUF + 4], where[QUOTE_BUF + 32], q[QUOTE_BUF];
	struct mapping_spec spec = {label, "option", where, fields, n};
	int ret = -1;

	if (!fields || !pos) {
		cfg_fail(ctx, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		fields[i].name = s->opts[i].name;
		fields[i].type = opt_field_type(s->opts[i].type);
		fields[i].offset = s->opts[i].offset;
		fields[i].min = 0; /* OPT_INT and OPT_DURATION are >= 0 */
	}
	cfg_quote_str(s->name, q, sizeof(q));
	snprintf(label, sizeof(label), "%s", q);
	snprintf(where, sizeof(where), "for %s %s", kind, q);
	ret = cfg_parse_mapping(ctx, value, &spec, sec->opts, pos);
	if (ret == 0)
		ret = check_values(ctx, s, sec->opts, pos);
out:
	free(fields);
	free(pos);
	return ret;
}

static struct section_config *find_section(struct section_config *secs, size_t n,
					   const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(secs[i].schema->name, name))
			return &secs[i];
	return NULL;
}

static int unknown_section(struct cfg_ctx *ctx, const yaml_node_t *key, const char *kind,
			   const struct section_config *secs, size_t n)
{
	const char *name = (const char *)key->data.scalar.value;
	const char *hint = NULL;
	const char **names = calloc(n ? n : 1, sizeof(*names));
	char q[QUOTE_BUF];

	if (names) { /* no suggestion is fine when memory is short */
		for (size_t i = 0; i < n; i++)
			names[i] = secs[i].schema->name;
		hint = cfg_suggest(name, names, n, sizeof(*names));
	}
	if (hint)
		cfg_fail(ctx, key, "unknown %s %s (did you mean \"%s\"?)", kind,
			 cfg_quote_str(name, q, sizeof(q)), hint);
	else
		cfg_fail(ctx, key, "unknown %s %s", kind, cfg_quote_str(name, q, sizeof(q)));
	free(names);
	return -1;
}

/*   cpu:            enabled (null: the key alone says "on")
 *   cpu: true/false
 *   cpu: {}         enabled, default options
 *   cpu: {opt: v}   enabled, with options */
static int parse_section(struct cfg_ctx *ctx, const yaml_node_t *value, const char *kind,
			 struct section_config *sec)
{
	const char *name = sec->schema->name;
	char q[QUOTE_BUF];

	sec->explicit = true;
	if (cfg_is_null(value)) {
		sec->enabled = true;
		return 0;
	}
	if (value->type == YAML_MAPPING_NODE) {
		sec->enabled = true;
		return parse_options(ctx, value, kind, sec);
	}
	if (value->type == YAML_SCALAR_NODE) {
		const char *text = cfg_scalar(ctx, value, name);
		if (!text)
			return -1;
		if (!strcmp(text, "true") || !strcmp(text, "false")) {
			sec->enabled = !strcmp(text, "true");
			return 0;
		}
	}
	return cfg_fail(ctx, value, "\"%s\": expected true, false or a mapping of options, got %s",
			name, cfg_describe(value, q, sizeof(q)));
}

int cfg_sections_parse(struct cfg_ctx *ctx, const yaml_node_t *key,
		       const yaml_node_t *value, const char *kind,
		       struct section_config *secs, size_t n)
{
	char label[QUOTE_BUF];

	cfg_quote_str((const char *)key->data.scalar.value, label, sizeof(label));
	if (cfg_expect_mapping(ctx, value, label) < 0)
		return -1;
	if (cfg_is_null(value))
		return 0;
	for (size_t i = 0; i < cfg_map_len(value); i++) {
		const yaml_node_pair_t *pr = value->data.mapping.pairs.start + i;
		const yaml_node_t *k = cfg_node(ctx, pr->key);
		const char *name = cfg_key(ctx, k);
		struct section_config *sec;

		if (!name || cfg_check_duplicate(ctx, value, i, false) < 0)
			return -1;
		if (!strcmp(name, "defaults")) {
			/* Like node_exporter's --collector.disable-defaults: only
			 * what is listed runs. Applies wherever the key stands. */
			bool on = true;
			if (cfg_node_value(ctx, name, F_BOOL, 0, cfg_node(ctx, pr->value), &on) < 0)
				return -1;
			for (size_t j = 0; j < n; j++)
				if (!secs[j].explicit)
					secs[j].enabled = on && secs[j].schema->default_enabled;
			continue;
		}
		sec = find_section(secs, n, name);
		if (!sec)
			return unknown_section(ctx, k, kind, secs, n);
		if (parse_section(ctx, cfg_node(ctx, pr->value), kind, sec) < 0)
			return -1;
	}
	return 0;
}

void cfg_sections_free(struct section_config *secs, size_t n)
{
	for (size_t i = 0; secs && i < n; i++) {
		const struct section_schema *s = secs[i].schema;

		for (size_t j = 0; secs[i].opts && s->opts && s->opts[j].name; j++)
			if (s->opts[j].type == OPT_STRING || s->opts[j].type == OPT_REGEX ||
			    s->opts[j].type == OPT_ENUM)
				free(*(char **)((char *)secs[i].opts + s->opts[j].offset));
		free(secs[i].opts);
	}
	free(secs);
}
