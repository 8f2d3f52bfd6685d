/* SPDX-License-Identifier: MIT */
/* The parts of a remote_write entry that say how to reach the endpoint and
 * prove who we are beyond basic_auth and authorization: the proxy keys and
 * the sigv4 block, with Prometheus' names, defaults and refusals. */
#include "config/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- proxy ----------------------------------------------------------- */

int cfg_parse_proxy_url(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			void *dst)
{
	char q[QUOTE_BUF], why[128], masked[QUOTE_BUF];
	const char *text;

	(void)key;
	if (cfg_is_null(value))
		return 0;
	text = cfg_scalar(ctx, value, "proxy_url");
	if (!text)
		return -1;
	if (!*text)
		return 0; /* "" is unset, as in Prometheus */
	if (cfg_check_url(text, why, sizeof(why)) < 0) {
		config_mask_url(text, masked, sizeof(masked)); /* it may hold a password */
		return cfg_fail(ctx, value, "\"proxy_url\": must be an http:// or https:// URL "
				"with a host, got %s%s%s%s", cfg_quote_str(masked, q, sizeof(q)),
				why[0] ? " (" : "", why, why[0] ? ")" : "");
	}
	return cfg_set_string(ctx, dst, text);
}

/* Prometheus' ProxyConfig.Validate, key by key. */
int cfg_check_proxy(struct cfg_ctx *ctx, const struct proxy_config *p, const char *label,
		    const struct rw_auth_keys *k)
{
	if (p->from_environment && p->url)
		return cfg_fail(ctx, cfg_later(k->proxy_url, k->proxy_from_env), "%s: \"proxy_url\" "
				"and \"proxy_from_environment\" cannot both be set", label);
	if (p->from_environment && p->no_proxy)
		return cfg_fail(ctx, cfg_later(k->no_proxy, k->proxy_from_env), "%s: \"no_proxy\" "
				"and \"proxy_from_environment\" cannot both be set (the "
				"environment's no_proxy applies)", label);
	if (p->no_proxy && !p->url)
		return cfg_fail(ctx, k->no_proxy, "%s: \"no_proxy\" is set but \"proxy_url\" is "
				"not", label);
	if (p->no_proxy && !cfg_valid_header_value(p->no_proxy))
		return cfg_fail(ctx, k->no_proxy, "%s: \"no_proxy\": must not contain control "
				"characters", label);
	return 0;
}

/* ---- sigv4 ----------------------------------------------------------- */

enum { SV_REGION, SV_ACCESS_KEY, SV_SECRET_KEY, SV_PROFILE, SV_ROLE_ARN, SV_N };

static const struct field sigv4_fields[] = {
	[SV_REGION] = {"region", F_OPTSTRING, offsetof(struct sigv4_config, region), 0, NULL},
	[SV_ACCESS_KEY] = {"access_key", F_OPTSTRING, offsetof(struct sigv4_config, access_key), 0,
			   NULL},
	[SV_SECRET_KEY] = {"secret_key", F_OPTSTRING, offsetof(struct sigv4_config, secret_key), 0,
			   NULL},
	[SV_PROFILE] = {"profile", F_OPTSTRING, offsetof(struct sigv4_config, profile), 0, NULL},
	[SV_ROLE_ARN] = {"role_arn", F_OPTSTRING, offsetof(struct sigv4_config, role_arn), 0,
			 NULL},
};

/* The region goes into libcurl's "aws:amz:REGION:aps", and into the
 * credential scope: letters, digits and '-' only. */
static bool valid_region(const char *r)
{
	return *r && strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(r);
}

/* Without a region in the file, the AWS SDKs' variables name it (read
 * once, here, so a bad one is a config error like a bad key). */
static int resolve_region(struct cfg_ctx *ctx, struct sigv4_config *sv, const yaml_node_t *at)
{
	const char *env = getenv("AWS_REGION");
	char q[QUOTE_BUF];

	if (!sv->region) {
		if (!env || !*env)
			env = getenv("AWS_DEFAULT_REGION");
		if (!env || !*env)
			return cfg_fail(ctx, at, "sigv4: no \"region\", and neither AWS_REGION nor "
					"AWS_DEFAULT_REGION is set");
		if (cfg_set_string(ctx, &sv->region, env) < 0)
			return -1;
	}
	if (!valid_region(sv->region))
		return cfg_fail(ctx, at, "sigv4: \"region\": expected an AWS region such as "
				"us-east-1, got %s", cfg_quote_str(sv->region, q, sizeof(q)));
	return 0;
}

static int check_sigv4(struct cfg_ctx *ctx, struct sigv4_config *sv, const yaml_node_t *map,
		       const struct field_pos *pos)
{
	const yaml_node_t *region_at = pos[SV_REGION].value ? pos[SV_REGION].value : map;

	/* An ARN goes in a form field and names itself; a typo is better
	 * said now than as an STS error at the first request. */
	if (sv->role_arn && (strncmp(sv->role_arn, "arn:", 4) != 0 ||
			     !cfg_valid_header_value(sv->role_arn)))
		return cfg_fail(ctx, pos[SV_ROLE_ARN].value, "sigv4: \"role_arn\": expected an "
				"ARN such as arn:aws:iam::123456789012:role/name");
	if (!sv->access_key != !sv->secret_key)
		return cfg_fail(ctx, sv->access_key ? pos[SV_ACCESS_KEY].key : pos[SV_SECRET_KEY].key,
				"sigv4: \"access_key\" and \"secret_key\" go together: set both "
				"or neither");
	if (sv->access_key && (!cfg_valid_header_value(sv->access_key) ||
			       strchr(sv->access_key, ':')))
		return cfg_fail(ctx, pos[SV_ACCESS_KEY].value, "sigv4: \"access_key\": must not "
				"contain ':' or control characters");
	if (sv->secret_key && !cfg_valid_header_value(sv->secret_key))
		return cfg_fail(ctx, pos[SV_SECRET_KEY].value, "sigv4: \"secret_key\": must not "
				"contain control characters");
	return resolve_region(ctx, sv, region_at);
}

int cfg_parse_sigv4(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		    void *dst)
{
	static const struct mapping_spec spec = {"\"sigv4\"", "key", "in sigv4", sigv4_fields,
						 SV_N};
	struct remote_write_config *rw = dst;
	struct field_pos pos[SV_N];

	(void)key;
	if (cfg_is_null(value))
		return 0;
	if (cfg_expect_mapping(ctx, value, spec.label) < 0)
		return -1;
	rw->has_sigv4 = true;
	if (cfg_parse_mapping(ctx, value, &spec, &rw->sigv4, pos) < 0)
		return -1;
	return check_sigv4(ctx, &rw->sigv4, value, pos);
}

/* ---- the whole entry ------------------------------------------------- */

/* oauth2 with any other method; pairs with sigv4 are checked below. */
static int check_oauth2_alone(struct cfg_ctx *ctx, const struct remote_write_config *rw,
			      const char *label, const struct rw_auth_keys *k)
{
	const char *other = rw->has_basic_auth ? "basic_auth"
			    : rw->has_authorization ? "authorization"
			    : rw->has_sigv4 ? "sigv4" : NULL;
	const yaml_node_t *at = rw->has_basic_auth ? k->basic_auth
				: rw->has_authorization ? k->authorization : k->sigv4;

	if (!rw->has_oauth2 || !other)
		return 0;
	return cfg_fail(ctx, cfg_later(k->oauth2, at), "%s: \"oauth2\" and \"%s\" cannot both "
			"be set", label, other);
}

/* Prometheus: "at most one of basic_auth, authorization, oauth2, sigv4". */
int cfg_check_rw_auth(struct cfg_ctx *ctx, const struct remote_write_config *rw,
		      const char *label, const struct rw_auth_keys *k)
{
	if (check_oauth2_alone(ctx, rw, label, k) < 0)
		return -1;
	if (rw->has_sigv4 && rw->has_basic_auth)
		return cfg_fail(ctx, cfg_later(k->sigv4, k->basic_auth), "%s: \"sigv4\" and "
				"\"basic_auth\" cannot both be set", label);
	if (rw->has_sigv4 && rw->has_authorization)
		return cfg_fail(ctx, cfg_later(k->sigv4, k->authorization), "%s: \"sigv4\" and "
				"\"authorization\" cannot both be set", label);
	return cfg_check_proxy(ctx, &rw->proxy, label, k);
}

void cfg_http_auth_free(struct remote_write_config *rw)
{
	config_free_secret(rw->proxy.url); /* its userinfo may hold a password */
	free(rw->proxy.no_proxy);
	free(rw->sigv4.region);
	free(rw->sigv4.access_key);
	config_free_secret(rw->sigv4.secret_key);
	free(rw->sigv4.profile);
	free(rw->sigv4.role_arn);
	cfg_oauth2_free(&rw->oauth2);
}
