/* SPDX-License-Identifier: MIT */
/* The oauth2 block of a remote_write entry (OAuth2 client credentials),
 * with Prometheus' keys and checks; queue/oauth2.c fetches the token. */
#include "config/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_scopes(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			void *dst)
{
	struct oauth2_config *o = dst;
	char q[QUOTE_BUF];

	(void)key;
	if (cfg_is_null(value))
		return 0;
	if (value->type != YAML_SEQUENCE_NODE)
		return cfg_fail(ctx, value, "oauth2: \"scopes\": expected a sequence of strings, "
				"got %s", cfg_describe(value, q, sizeof(q)));
	for (yaml_node_item_t *it = value->data.sequence.items.start;
	     it < value->data.sequence.items.top; it++) {
		const yaml_node_t *item = cfg_node(ctx, *it);
		const char *text = cfg_scalar(ctx, item, "scopes");
		char **a;

		if (!text)
			return -1;
		/* RFC 6749: scopes are joined with spaces, so one cannot hold one. */
		if (!*text || strpbrk(text, " \"\\") || !cfg_valid_header_value(text))
			return cfg_fail(ctx, item, "oauth2: \"scopes\": %s is not a scope (no "
					"spaces, quotes or backslashes)",
					cfg_quote_str(text, q, sizeof(q)));
		a = realloc(o->scopes, (o->n_scopes + 1) * sizeof(*a));
		if (!a)
			return cfg_fail(ctx, NULL, "out of memory");
		o->scopes = a;
		if (!(a[o->n_scopes] = strdup(text)))
			return cfg_fail(ctx, NULL, "out of memory");
		o->n_scopes++;
	}
	return 0;
}

static int parse_params(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			void *dst)
{
	struct oauth2_config *o = dst;

	(void)key;
	if (cfg_expect_mapping(ctx, value, "oauth2: \"endpoint_params\"") < 0)
		return -1;
	if (cfg_is_null(value))
		return 0;
	for (size_t i = 0; i < cfg_map_len(value); i++) {
		const yaml_node_pair_t *pr = value->data.mapping.pairs.start + i;
		const yaml_node_t *k = cfg_node(ctx, pr->key), *v = cfg_node(ctx, pr->value);
		const char *name = cfg_key(ctx, k), *text = "";
		char *copy;

		if (!name || cfg_check_duplicate(ctx, value, i, false) < 0)
			return -1;
		if (!cfg_is_null(v) && !(text = cfg_scalar(ctx, v, name)))
			return -1;
		if (!(copy = strdup(text)))
			return cfg_fail(ctx, NULL, "out of memory");
		if (cfg_kv_add(ctx, &o->endpoint_params, &o->n_endpoint_params, name, copy) < 0)
			return -1;
	}
	return 0;
}

static int parse_token_url(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			   void *dst)
{
	char q[QUOTE_BUF], why[128], masked[QUOTE_BUF];
	const char *text;

	(void)key;
	if (cfg_is_null(value))
		return 0;
	if (!(text = cfg_scalar(ctx, value, "token_url")))
		return -1;
	if (*text && cfg_check_url(text, why, sizeof(why)) < 0) {
		config_mask_url(text, masked, sizeof(masked));
		return cfg_fail(ctx, value, "oauth2: \"token_url\": must be an http:// or https:// "
				"URL with a host, got %s%s%s%s", cfg_quote_str(masked, q, sizeof(q)),
				why[0] ? " (" : "", why, why[0] ? ")" : "");
	}
	return *text ? cfg_set_string(ctx, dst, text) : 0;
}

enum {
	OA_ID, OA_SECRET, OA_SECRET_FILE, OA_TOKEN_URL, OA_SCOPES, OA_PARAMS, OA_TLS,
	OA_PROXY_URL, OA_NO_PROXY, OA_PROXY_ENV, OA_N
};

static const struct field oauth2_fields[] = {
	[OA_ID] = {"client_id", F_OPTSTRING, offsetof(struct oauth2_config, client_id), 0, NULL},
	[OA_SECRET] = {"client_secret", F_OPTSTRING, offsetof(struct oauth2_config, client_secret),
		       0, NULL},
	[OA_SECRET_FILE] = {"client_secret_file", F_OPTSTRING,
			    offsetof(struct oauth2_config, client_secret_file), 0, NULL},
	[OA_TOKEN_URL] = {"token_url", F_CUSTOM, offsetof(struct oauth2_config, token_url), 0,
			  parse_token_url},
	[OA_SCOPES] = {"scopes", F_CUSTOM, 0, 0, parse_scopes},
	[OA_PARAMS] = {"endpoint_params", F_CUSTOM, 0, 0, parse_params},
	/* The token request's own connection settings, as Prometheus has them
	 * in the oauth2 block (the endpoint's are not used for it). */
	[OA_TLS] = {"tls_config", F_CUSTOM, offsetof(struct oauth2_config, tls), 0, cfg_parse_tls},
	[OA_PROXY_URL] = {"proxy_url", F_CUSTOM, offsetof(struct oauth2_config, proxy.url), 0,
			  cfg_parse_proxy_url},
	[OA_NO_PROXY] = {"no_proxy", F_OPTSTRING, offsetof(struct oauth2_config, proxy.no_proxy),
			 0, NULL},
	[OA_PROXY_ENV] = {"proxy_from_environment", F_BOOL,
			  offsetof(struct oauth2_config, proxy.from_environment), 0, NULL},
};

/* Prometheus' checks, and the parameters the token request sets itself. */
static int check_oauth2(struct cfg_ctx *ctx, const struct oauth2_config *o,
			const yaml_node_t *map, const struct field_pos *pos)
{
	if (!o->client_id)
		return cfg_fail(ctx, map, "oauth2: \"client_id\" must be set");
	if (!o->token_url)
		return cfg_fail(ctx, map, "oauth2: \"token_url\" must be set");
	if (o->client_secret && o->client_secret_file)
		return cfg_fail(ctx, cfg_later(pos[OA_SECRET].key, pos[OA_SECRET_FILE].key),
				"oauth2: \"client_secret\" and \"client_secret_file\" cannot both "
				"be set");
	if (o->client_secret && !cfg_valid_header_value(o->client_secret))
		return cfg_fail(ctx, pos[OA_SECRET].value, "oauth2: \"client_secret\": must not "
				"contain control characters");
	if (o->client_secret_file &&
	    cfg_check_secret_file(ctx, pos[OA_SECRET_FILE].value, "client_secret_file",
				  o->client_secret_file) < 0)
		return -1;
	for (size_t i = 0; i < o->n_endpoint_params; i++)
		if (!strcmp(o->endpoint_params[i].key, "scope") && o->n_scopes)
			return cfg_fail(ctx, pos[OA_PARAMS].value, "oauth2: \"endpoint_params\": "
					"\"scope\" cannot be set together with \"scopes\"");
	/* libcurl has no SNI override; the endpoint's own server_name is done
	 * with a rewritten URL, which the token request does not have. */
	if (o->tls.server_name)
		return cfg_fail(ctx, pos[OA_TLS].value, "oauth2: \"tls_config\": \"server_name\" "
				"is not supported for the token request");
	return cfg_check_proxy(ctx, &o->proxy, "oauth2", &(struct rw_auth_keys){
		.proxy_url = pos[OA_PROXY_URL].key, .no_proxy = pos[OA_NO_PROXY].key,
		.proxy_from_env = pos[OA_PROXY_ENV].key});
}

int cfg_parse_oauth2(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		     void *dst)
{
	static const struct mapping_spec spec = {"\"oauth2\"", "key", "in oauth2", oauth2_fields,
						 OA_N};
	struct remote_write_config *rw = dst;
	struct field_pos pos[OA_N];

	(void)key;
	if (cfg_is_null(value))
		return 0;
	if (cfg_expect_mapping(ctx, value, spec.label) < 0)
		return -1;
	rw->has_oauth2 = true;
	if (cfg_parse_mapping(ctx, value, &spec, &rw->oauth2, pos) < 0)
		return -1;
	return check_oauth2(ctx, &rw->oauth2, value, pos);
}

void cfg_oauth2_free(struct oauth2_config *o)
{
	free(o->client_id);
	config_free_secret(o->client_secret);
	free(o->client_secret_file);
	config_free_secret(o->token_url); /* its userinfo may hold a password */
	for (size_t i = 0; i < o->n_scopes; i++)
		free(o->scopes[i]);
	free(o->scopes);
	cfg_kv_free(o->endpoint_params, o->n_endpoint_params);
	free(o->tls.ca_file);
	free(o->tls.cert_file);
	free(o->tls.key_file);
	free(o->tls.server_name);
	config_free_secret(o->proxy.url);
	free(o->proxy.no_proxy);
}
