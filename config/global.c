/* SPDX-License-Identifier: MIT */
/* The global: and http: sections of the file: the agent-wide settings and
 * the status server's address. */
#include "config/internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- global ---------------------------------------------------------- */

/* external_labels: {name: value}, values ${VAR}-expanded. A value that
 * expands to "" is kept: the registry drops empty labels, as Prometheus
 * does, and the name still shows the label was meant to be there. */
static int parse_external_label(struct cfg_ctx *ctx, const yaml_node_t *map, size_t i,
				struct global_config *g)
{
	const yaml_node_pair_t *pr = map->data.mapping.pairs.start + i;
	const yaml_node_t *k = cfg_node(ctx, pr->key), *v = cfg_node(ctx, pr->value);
	const char *name = cfg_key(ctx, k), *text = "";
	char q[QUOTE_BUF], why[CONFIG_ERR_MAX / 2];
	char *value;

	if (!name || cfg_check_duplicate(ctx, map, i, false) < 0)
		return -1;
	if (!cfg_valid_label_name(name))
		return cfg_fail(ctx, k, "invalid label name %s: must match [a-zA-Z_][a-zA-Z0-9_]*",
				cfg_quote_str(name, q, sizeof(q)));
	if (!strncmp(name, "__", 2))
		return cfg_fail(ctx, k, "invalid label name %s: names starting with \"__\" are "
				"reserved", cfg_quote_str(name, q, sizeof(q)));
	if (!cfg_is_null(v) && !(text = cfg_scalar(ctx, v, name)))
		return -1;
	value = cfg_expand_env(text, why, sizeof(why));
	if (!value)
		return cfg_fail(ctx, v, "\"%s\": %s", name, why);
	if (!cfg_valid_utf8(value)) {
		free(value);
		return cfg_fail(ctx, v, "\"%s\": not valid UTF-8 once environment variables are "
				"expanded", name);
	}
	return cfg_kv_add(ctx, &g->external_labels, &g->n_external_labels, name, value);
}

static int parse_external_labels(struct cfg_ctx *ctx, const yaml_node_t *key,
				 const yaml_node_t *value, void *dst)
{
	(void)key;
	if (cfg_expect_mapping(ctx, value, "\"external_labels\"") < 0)
		return -1;
	if (cfg_is_null(value))
		return 0;
	for (size_t i = 0; i < cfg_map_len(value); i++)
		if (parse_external_label(ctx, value, i, dst) < 0)
			return -1;
	return 0;
}

enum histogram_forms config_histogram_forms(const char *text)
{
	if (!strcmp(text, "classic"))
		return HISTOGRAMS_CLASSIC;
	if (!strcmp(text, "native"))
		return HISTOGRAMS_NATIVE;
	return strcmp(text, "both") ? 0 : HISTOGRAMS_BOTH;
}

static int parse_histograms(struct cfg_ctx *ctx, const yaml_node_t *key,
			    const yaml_node_t *value, void *dst)
{
	char q[QUOTE_BUF];
	const char *text;
	enum histogram_forms forms;

	(void)key;
	if (cfg_is_null(value))
		return 0; /* the default */
	if (!(text = cfg_scalar(ctx, value, "histograms")))
		return -1;
	forms = config_histogram_forms(text);
	if (!forms)
		return cfg_fail(ctx, value, "\"histograms\": expected \"classic\", \"native\" or "
				"\"both\", got %s", cfg_quote_str(text, q, sizeof(q)));
	memcpy(dst, &forms, sizeof(forms));
	return 0;
}

static const struct field global_fields[] = {
	{"interval", F_DURATION, offsetof(struct global_config, interval_ms), 1, NULL},
	{"external_labels", F_CUSTOM, 0, 0, parse_external_labels},
	{"procfs", F_STRING, offsetof(struct global_config, procfs), 1, NULL},
	{"sysfs", F_STRING, offsetof(struct global_config, sysfs), 1, NULL},
	{"rootfs", F_STRING, offsetof(struct global_config, rootfs), 1, NULL},
	{"data_dir", F_STRING, offsetof(struct global_config, data_dir), 0, NULL},
	{"relabel_configs", F_CUSTOM, offsetof(struct global_config, relabel_configs), 0,
	 cfg_parse_relabel_configs},
	{"histograms", F_CUSTOM, offsetof(struct global_config, histograms), 0, parse_histograms},
};

int cfg_parse_global(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		     void *dst)
{
	static const struct mapping_spec spec = {"\"global\"", "key", "in global", global_fields,
						 NFIELDS(global_fields)};
	struct field_pos pos[NFIELDS(global_fields)];

	(void)key;
	return cfg_parse_mapping(ctx, value, &spec, dst, pos);
}

/* ---- http ------------------------------------------------------------ */

static int parse_listen_address(struct cfg_ctx *ctx, const yaml_node_t *key,
				const yaml_node_t *value, void *dst)
{
	char q[QUOTE_BUF], why[128];
	const char *text;

	(void)key;
	if (cfg_is_null(value))
		return 0;
	text = cfg_scalar(ctx, value, "listen_address");
	if (!text)
		return -1;
	if (cfg_check_listen_address(text, why, sizeof(why)) < 0)
		return cfg_fail(ctx, value, "\"listen_address\": expected HOST:PORT like "
				"127.0.0.1:9477 or [::1]:9477, or \"\" to disable, got %s: %s",
				cfg_quote_str(text, q, sizeof(q)), why);
	return cfg_set_string(ctx, dst, text);
}

static const struct field http_fields[] = {
	{"listen_address", F_CUSTOM, offsetof(struct http_config, listen_address), 0,
	 parse_listen_address},
};

int cfg_parse_http(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		   void *dst)
{
	static const struct mapping_spec spec = {"\"http\"", "key", "in http", http_fields,
						 NFIELDS(http_fields)};
	struct field_pos pos[NFIELDS(http_fields)];

	(void)key;
	return cfg_parse_mapping(ctx, value, &spec, dst, pos);
}
