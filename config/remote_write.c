/* SPDX-License-Identifier: MIT */
/* The remote_write: section: one entry per endpoint, each a URL with its
 * headers, credentials, TLS, queue and connection settings. The checks
 * that involve more than one key of an entry are done here, right after
 * their block is read. */
#include "config/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- remote_write: url and headers ----------------------------------- */

static int parse_url(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		     void *dst)
{
	char q[QUOTE_BUF], why[128], masked[QUOTE_BUF];
	const char *text;

	(void)key;
	if (cfg_is_null(value))
		return 0; /* "missing url" is reported for the whole entry */
	text = cfg_scalar(ctx, value, "url");
	if (!text)
		return -1;
	if (cfg_check_url(text, why, sizeof(why)) < 0) {
		config_mask_url(text, masked, sizeof(masked)); /* a typo'd URL may hold a password */
		return cfg_fail(ctx, value, "\"url\": must be an http:// or https:// URL with a "
				"host, got %s%s%s%s", cfg_quote_str(masked, q, sizeof(q)),
				why[0] ? " (" : "", why, why[0] ? ")" : "");
	}
	return cfg_set_string(ctx, dst, text);
}

static int check_header_name(struct cfg_ctx *ctx, const yaml_node_t *k, const char *name)
{
	const char *reserved = cfg_reserved_header(name);
	char q[QUOTE_BUF];

	cfg_quote_str(name, q, sizeof(q));
	if (!cfg_valid_header_name(name))
		return cfg_fail(ctx, k, "invalid header name %s", q);
	if (reserved && !strcmp(reserved, "authorization"))
		return cfg_fail(ctx, k, "header %s cannot be set in headers: use the "
				"authorization or basic_auth block", q);
	if (reserved)
		return cfg_fail(ctx, k, "header %s is set by bpfpush itself (remote-write "
				"protocol or connection handling) and cannot be overridden", q);
	return 0;
}

static int parse_header(struct cfg_ctx *ctx, const yaml_node_t *map, size_t i,
			struct remote_write_config *rw)
{
	const yaml_node_pair_t *pr = map->data.mapping.pairs.start + i;
	const yaml_node_t *k = cfg_node(ctx, pr->key), *v = cfg_node(ctx, pr->value);
	const char *name = cfg_key(ctx, k), *text = "";
	char *value;

	/* HTTP header names are case-insensitive, so are the duplicates. */
	if (!name || cfg_check_duplicate(ctx, map, i, true) < 0 ||
	    check_header_name(ctx, k, name) < 0)
		return -1;
	if (!cfg_is_null(v) && !(text = cfg_scalar(ctx, v, name)))
		return -1;
	if (!cfg_valid_header_value(text))
		return cfg_fail(ctx, v, "\"%s\": a header value must not contain control "
				"characters such as CR or LF", name);
	value = strdup(text);
	if (!value)
		return cfg_fail(ctx, NULL, "out of memory");
	return cfg_kv_add(ctx, &rw->headers, &rw->n_headers, name, value);
}

static int parse_headers(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			 void *dst)
{
	(void)key;
	if (cfg_expect_mapping(ctx, value, "\"headers\"") < 0)
		return -1;
	if (cfg_is_null(value))
		return 0;
	for (size_t i = 0; i < cfg_map_len(value); i++)
		if (parse_header(ctx, value, i, dst) < 0)
			return -1;
	return 0;
}

/* ---- remote_write: auth and TLS -------------------------------------- */

/* Two keys that exclude each other: the error points at the later one. */
static int exclusive(struct cfg_ctx *ctx, const struct field_pos *a, const struct field_pos *b,
		     const char *block, const char *na, const char *nb)
{
	if (!a->value || !b->value)
		return 0;
	return cfg_fail(ctx, cfg_later(a->key, b->key), "%s%s\"%s\" and \"%s\" cannot both be set",
			block, *block ? ": " : "", na, nb);
}

enum { BA_USERNAME, BA_PASSWORD, BA_PASSWORD_FILE, BA_N };

static const struct field basic_auth_fields[] = {
	[BA_USERNAME] = {"username", F_STRING, offsetof(struct basic_auth, username), 0, NULL},
	[BA_PASSWORD] = {"password", F_OPTSTRING, offsetof(struct basic_auth, password), 0, NULL},
	[BA_PASSWORD_FILE] = {"password_file", F_OPTSTRING,
			      offsetof(struct basic_auth, password_file), 0, NULL},
};

static int parse_basic_auth(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			    void *dst)
{
	static const struct mapping_spec spec = {"\"basic_auth\"", "key", "in basic_auth",
						 basic_auth_fields, BA_N};
	struct remote_write_config *rw = dst;
	struct field_pos pos[BA_N];

	(void)key;
	if (cfg_is_null(value))
		return 0;
	if (cfg_expect_mapping(ctx, value, spec.label) < 0)
		return -1;
	rw->has_basic_auth = true;
	/* username may be empty (token-as-password services) but not NULL. */
	if (cfg_set_string(ctx, &rw->basic_auth.username, "") < 0 ||
	    cfg_parse_mapping(ctx, value, &spec, &rw->basic_auth, pos) < 0)
		return -1;
	/* F_OPTSTRING: pos says "given", the pointer says "given non-empty". */
	if (!rw->basic_auth.password)
		pos[BA_PASSWORD].value = NULL;
	if (!rw->basic_auth.password_file)
		pos[BA_PASSWORD_FILE].value = NULL;
	if (rw->basic_auth.password && !cfg_valid_header_value(rw->basic_auth.password))
		return cfg_fail(ctx, pos[BA_PASSWORD].value, "\"password\": must not contain "
				"control characters such as CR or LF");
	if (rw->basic_auth.password_file &&
	    cfg_check_secret_file(ctx, pos[BA_PASSWORD_FILE].value, "password_file",
				  rw->basic_auth.password_file) < 0)
		return -1;
	return exclusive(ctx, &pos[BA_PASSWORD], &pos[BA_PASSWORD_FILE], "basic_auth", "password",
			 "password_file");
}

enum { AU_TYPE, AU_CREDENTIALS, AU_CREDENTIALS_FILE, AU_N };

static const struct field authorization_fields[] = {
	[AU_TYPE] = {"type", F_STRING, offsetof(struct authorization, type), 0, NULL},
	[AU_CREDENTIALS] = {"credentials", F_OPTSTRING, offsetof(struct authorization, credentials),
			    0, NULL},
	[AU_CREDENTIALS_FILE] = {"credentials_file", F_OPTSTRING,
				 offsetof(struct authorization, credentials_file), 0, NULL},
};

/* The type and the credentials end up in "Authorization: TYPE CREDENTIALS". */
static int check_authorization(struct cfg_ctx *ctx, struct authorization *a,
			       struct field_pos *pos)
{
	char q[QUOTE_BUF];

	if (!a->type[0] && cfg_set_string(ctx, &a->type, "Bearer") < 0)
		return -1;
	if (!cfg_valid_header_name(a->type))
		return cfg_fail(ctx, pos[AU_TYPE].value,
				"\"type\": must be one word such as Bearer, got %s",
				cfg_quote_str(a->type, q, sizeof(q)));
	if (!strcasecmp(a->type, "Basic"))
		return cfg_fail(ctx, pos[AU_TYPE].value, "\"type\": %s is not allowed here: use "
				"basic_auth", cfg_quote_str(a->type, q, sizeof(q)));
	if (a->credentials && !cfg_valid_header_value(a->credentials))
		return cfg_fail(ctx, pos[AU_CREDENTIALS].value, "\"credentials\": must not "
				"contain control characters such as CR or LF");
	if (!a->credentials)
		pos[AU_CREDENTIALS].value = NULL;
	if (!a->credentials_file)
		pos[AU_CREDENTIALS_FILE].value = NULL;
	if (a->credentials_file && cfg_check_secret_file(ctx, pos[AU_CREDENTIALS_FILE].value,
							 "credentials_file", a->credentials_file) < 0)
		return -1;
	return exclusive(ctx, &pos[AU_CREDENTIALS], &pos[AU_CREDENTIALS_FILE], "authorization",
			 "credentials", "credentials_file");
}

static int parse_authorization(struct cfg_ctx *ctx, const yaml_node_t *key,
			       const yaml_node_t *value, void *dst)
{
	static const struct mapping_spec spec = {"\"authorization\"", "key", "in authorization",
						 authorization_fields, AU_N};
	struct remote_write_config *rw = dst;
	struct field_pos pos[AU_N];

	(void)key;
	if (cfg_is_null(value))
		return 0;
	if (cfg_expect_mapping(ctx, value, spec.label) < 0)
		return -1;
	rw->has_authorization = true;
	if (cfg_parse_mapping(ctx, value, &spec, &rw->authorization, pos) < 0)
		return -1;
	return check_authorization(ctx, &rw->authorization, pos);
}

enum { TLS_CA, TLS_CERT, TLS_KEY, TLS_SERVER_NAME, TLS_INSECURE, TLS_N };

static const struct field tls_fields[] = {
	[TLS_CA] = {"ca_file", F_OPTSTRING, offsetof(struct tls_config, ca_file), 0, NULL},
	[TLS_CERT] = {"cert_file", F_OPTSTRING, offsetof(struct tls_config, cert_file), 0, NULL},
	[TLS_KEY] = {"key_file", F_OPTSTRING, offsetof(struct tls_config, key_file), 0, NULL},
	[TLS_SERVER_NAME] = {"server_name", F_OPTSTRING, offsetof(struct tls_config, server_name),
			     0, NULL},
	[TLS_INSECURE] = {"insecure_skip_verify", F_BOOL,
			  offsetof(struct tls_config, insecure_skip_verify), 0, NULL},
};

int cfg_parse_tls(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		  void *dst)
{
	static const struct mapping_spec spec = {"\"tls_config\"", "key", "in tls_config",
						 tls_fields, TLS_N};
	struct tls_config *tls = dst;
	struct field_pos pos[TLS_N];

	(void)key;
	if (cfg_parse_mapping(ctx, value, &spec, tls, pos) < 0)
		return -1;
	/* A client certificate is useless without its key, and the other
	 * way round: say so now, not at the first TLS handshake. */
	if (tls->cert_file && !tls->key_file)
		return cfg_fail(ctx, pos[TLS_CERT].key,
				"tls_config: \"cert_file\" is set but \"key_file\" is not");
	if (tls->key_file && !tls->cert_file)
		return cfg_fail(ctx, pos[TLS_KEY].key,
				"tls_config: \"key_file\" is set but \"cert_file\" is not");
	return 0;
}

/* ---- remote_write: queue and connection ------------------------------ */

enum {
	Q_CAPACITY, Q_MAX_SHARDS, Q_MIN_SHARDS, Q_MAX_SAMPLES, Q_DEADLINE, Q_MIN_BACKOFF,
	Q_MAX_BACKOFF, Q_RETRY_429, Q_AGE_LIMIT, Q_MAX_RETRY_AFTER, Q_MAX_DISK, Q_RATE_LIMIT,
	Q_JITTER, Q_N
};

/* Counts are >= 1: a zero capacity or shard count would stall the queue.
 * Backoffs are > 0: a zero backoff retries a failing receiver in a hot
 * loop. sample_age_limit 0 means "no limit", as in Prometheus. */
static const struct field queue_fields[] = {
	[Q_CAPACITY] = {"capacity", F_INT, offsetof(struct queue_config, capacity), 1, NULL},
	[Q_MAX_SHARDS] = {"max_shards", F_INT, offsetof(struct queue_config, max_shards), 1, NULL},
	[Q_MIN_SHARDS] = {"min_shards", F_INT, offsetof(struct queue_config, min_shards), 1, NULL},
	[Q_MAX_SAMPLES] = {"max_samples_per_send", F_INT,
			   offsetof(struct queue_config, max_samples_per_send), 1, NULL},
	[Q_DEADLINE] = {"batch_send_deadline", F_DURATION,
			offsetof(struct queue_config, batch_send_deadline_ms), 1, NULL},
	[Q_MIN_BACKOFF] = {"min_backoff", F_DURATION, offsetof(struct queue_config, min_backoff_ms),
			   1, NULL},
	[Q_MAX_BACKOFF] = {"max_backoff", F_DURATION, offsetof(struct queue_config, max_backoff_ms),
			   1, NULL},
	[Q_RETRY_429] = {"retry_on_http_429", F_BOOL,
			 offsetof(struct queue_config, retry_on_http_429), 0, NULL},
	[Q_AGE_LIMIT] = {"sample_age_limit", F_DURATION,
			 offsetof(struct queue_config, sample_age_limit_ms), 0, NULL},
	[Q_MAX_RETRY_AFTER] = {"max_retry_after", F_DURATION,
			       offsetof(struct queue_config, max_retry_after_ms), 1, NULL},
	/* 64 KiB: the smallest segment; below it the bound means nothing. */
	[Q_MAX_DISK] = {"max_disk_bytes", F_BYTES, offsetof(struct queue_config, max_disk_bytes),
			64 * 1024, NULL},
	[Q_RATE_LIMIT] = {"rate_limit", F_BYTES, offsetof(struct queue_config, rate_limit), 0,
			  NULL},
	[Q_JITTER] = {"catchup_jitter", F_DURATION,
		      offsetof(struct queue_config, catchup_jitter_ms), 0, NULL},
};

static int check_queue(struct cfg_ctx *ctx, struct queue_config *q, const struct field_pos *pos)
{
	char a[32], b[32];

	/* Point at whichever side the user wrote; the other may be a default. */
	if (q->min_shards > q->max_shards)
		return cfg_fail(ctx, pos[Q_MIN_SHARDS].value ? pos[Q_MIN_SHARDS].value
							     : pos[Q_MAX_SHARDS].value,
				"\"min_shards\" (%lld) is greater than \"max_shards\" (%lld)",
				(long long)q->min_shards, (long long)q->max_shards);
	if (q->max_backoff_ms < q->min_backoff_ms)
		return cfg_fail(ctx, pos[Q_MAX_BACKOFF].value ? pos[Q_MAX_BACKOFF].value
							      : pos[Q_MIN_BACKOFF].value,
				"\"max_backoff\" (%s) is less than \"min_backoff\" (%s)",
				cfg_format_duration_ms(q->max_backoff_ms, a, sizeof(a)),
				cfg_format_duration_ms(q->min_backoff_ms, b, sizeof(b)));
	/* Unset, it follows a longer max_backoff; set, it must not undercut it. */
	if (!pos[Q_MAX_RETRY_AFTER].value && q->max_retry_after_ms < q->max_backoff_ms)
		q->max_retry_after_ms = q->max_backoff_ms;
	if (q->max_retry_after_ms < q->max_backoff_ms)
		return cfg_fail(ctx, pos[Q_MAX_RETRY_AFTER].value,
				"\"max_retry_after\" (%s) is less than \"max_backoff\" (%s)",
				cfg_format_duration_ms(q->max_retry_after_ms, a, sizeof(a)),
				cfg_format_duration_ms(q->max_backoff_ms, b, sizeof(b)));
	return 0;
}

static int parse_queue(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		       void *dst)
{
	static const struct mapping_spec spec = {"\"queue_config\"", "key", "in queue_config",
						 queue_fields, Q_N};
	struct field_pos pos[Q_N];

	(void)key;
	if (cfg_parse_mapping(ctx, value, &spec, dst, pos) < 0)
		return -1;
	return check_queue(ctx, dst, pos);
}

static const struct field connection_fields[] = {
	{"max_requests", F_INT, offsetof(struct connection_config, max_requests), 0, NULL},
	{"max_age", F_DURATION, offsetof(struct connection_config, max_age_ms), 0, NULL},
};

static int parse_connection(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			    void *dst)
{
	static const struct mapping_spec spec = {"\"connection\"", "key", "in connection",
						 connection_fields, NFIELDS(connection_fields)};
	struct field_pos pos[NFIELDS(connection_fields)];

	(void)key;
	return cfg_parse_mapping(ctx, value, &spec, dst, pos);
}

/* ---- remote_write ---------------------------------------------------- */

enum {
	RW_URL, RW_NAME, RW_TIMEOUT, RW_HEADERS, RW_BASIC_AUTH, RW_AUTHORIZATION, RW_TLS,
	RW_QUEUE, RW_CONNECTION, RW_FOLLOW_REDIRECTS, RW_PROXY_URL, RW_NO_PROXY, RW_PROXY_ENV,
	RW_SIGV4, RW_OAUTH2, RW_RELABEL, RW_PROTOBUF_MESSAGE, RW_METADATA, RW_N
};

static const struct field rw_fields[] = {
	[RW_URL] = {"url", F_CUSTOM, offsetof(struct remote_write_config, url), 0, parse_url},
	[RW_NAME] = {"name", F_STRING, offsetof(struct remote_write_config, name), 0, NULL},
	[RW_TIMEOUT] = {"remote_timeout", F_DURATION,
			offsetof(struct remote_write_config, remote_timeout_ms), 1, NULL},
	[RW_HEADERS] = {"headers", F_CUSTOM, 0, 0, parse_headers},
	[RW_BASIC_AUTH] = {"basic_auth", F_CUSTOM, 0, 0, parse_basic_auth},
	[RW_AUTHORIZATION] = {"authorization", F_CUSTOM, 0, 0, parse_authorization},
	[RW_TLS] = {"tls_config", F_CUSTOM, offsetof(struct remote_write_config, tls), 0,
		    cfg_parse_tls},
	[RW_QUEUE] = {"queue_config", F_CUSTOM, offsetof(struct remote_write_config, queue), 0,
		      parse_queue},
	[RW_CONNECTION] = {"connection", F_CUSTOM, offsetof(struct remote_write_config, connection),
			   0, parse_connection},
	[RW_FOLLOW_REDIRECTS] = {"follow_redirects", F_BOOL,
				 offsetof(struct remote_write_config, follow_redirects), 0, NULL},
	[RW_RELABEL] = {"write_relabel_configs", F_CUSTOM,
			offsetof(struct remote_write_config, write_relabel_configs), 0,
			cfg_parse_relabel_configs},
	[RW_PROXY_URL] = {"proxy_url", F_CUSTOM, offsetof(struct remote_write_config, proxy.url),
			  0, cfg_parse_proxy_url},
	[RW_NO_PROXY] = {"no_proxy", F_OPTSTRING,
			 offsetof(struct remote_write_config, proxy.no_proxy), 0, NULL},
	[RW_PROXY_ENV] = {"proxy_from_environment", F_BOOL,
			  offsetof(struct remote_write_config, proxy.from_environment), 0, NULL},
	[RW_SIGV4] = {"sigv4", F_CUSTOM, 0, 0, cfg_parse_sigv4},
	[RW_OAUTH2] = {"oauth2", F_CUSTOM, 0, 0, cfg_parse_oauth2},
	[RW_PROTOBUF_MESSAGE] = {"protobuf_message", F_CUSTOM,
				 offsetof(struct remote_write_config, protobuf_message), 0,
				 cfg_parse_protobuf_message},
	[RW_METADATA] = {"metadata_config", F_CUSTOM,
			 offsetof(struct remote_write_config, metadata), 0,
			 cfg_parse_metadata_config},
};

static int rw_defaults(struct cfg_ctx *ctx, struct remote_write_config *rw)
{
	rw->remote_timeout_ms = 30 * 1000;
	rw->queue = (struct queue_config){
		.capacity = 10000,
		.max_shards = 50,
		.min_shards = 1,
		.max_samples_per_send = 2000,
		.batch_send_deadline_ms = 5 * 1000,
		.min_backoff_ms = 30,
		.max_backoff_ms = 5 * 1000,
		.retry_on_http_429 = true,
		.sample_age_limit_ms = 0,
		.max_retry_after_ms = 60 * 1000,
		.max_disk_bytes = 1LL << 30,
		.rate_limit = 0,
		.catchup_jitter_ms = 5 * 1000,
	};
	rw->follow_redirects = true;
	cfg_rw_protocol_defaults(rw);
	if (cfg_set_string(ctx, &rw->name, "") < 0)
		return -1;
	return cfg_set_string(ctx, &rw->authorization.type, "Bearer");
}

/* Names label the self-metrics (remote_name=...), so two endpoints must
 * not share one. */
static int check_rw_name(struct cfg_ctx *ctx, const struct remote_write_config *rws, size_t i,
			 const yaml_node_t *at)
{
	char q[QUOTE_BUF];

	if (!rws[i].name[0])
		return 0; /* the caller derives one */
	for (size_t j = 0; j < i; j++)
		if (!strcmp(rws[j].name, rws[i].name))
			return cfg_fail(ctx, at, "duplicate remote_write name %s: names must be "
					"unique (also used by remote_write[%zu])",
					cfg_quote_str(rws[i].name, q, sizeof(q)), j);
	return 0;
}

static int parse_rw_entry(struct cfg_ctx *ctx, const yaml_node_t *item,
			  struct remote_write_config *rws, size_t i)
{
	char label[32], where[48];
	struct mapping_spec spec = {label, "key", where, rw_fields, RW_N};
	struct remote_write_config *rw = &rws[i];
	struct field_pos pos[RW_N];

	snprintf(label, sizeof(label), "remote_write[%zu]", i);
	snprintf(where, sizeof(where), "in remote_write[%zu]", i);
	if (cfg_is_null(item) || item->type != YAML_MAPPING_NODE) {
		char q[QUOTE_BUF];
		return cfg_fail(ctx, item, "%s: expected a mapping, got %s", label,
				cfg_describe(item, q, sizeof(q)));
	}
	if (rw_defaults(ctx, rw) < 0 || cfg_parse_mapping(ctx, item, &spec, rw, pos) < 0)
		return -1;
	if (!rw->url)
		return cfg_fail(ctx, item, "%s: missing required key \"url\"", label);
	if (rw->has_basic_auth && rw->has_authorization)
		return cfg_fail(ctx, cfg_later(pos[RW_BASIC_AUTH].key, pos[RW_AUTHORIZATION].key),
				"%s: \"basic_auth\" and \"authorization\" cannot both be set",
				label);
	if (cfg_check_rw_auth(ctx, rw, label, &(struct rw_auth_keys){
		    pos[RW_BASIC_AUTH].key, pos[RW_AUTHORIZATION].key, pos[RW_SIGV4].key,
		    pos[RW_OAUTH2].key, pos[RW_PROXY_URL].key, pos[RW_NO_PROXY].key,
		    pos[RW_PROXY_ENV].key}) < 0)
		return -1;
	return check_rw_name(ctx, rws, i, pos[RW_NAME].value);
}

int cfg_parse_remote_writes(struct cfg_ctx *ctx, const yaml_node_t *key,
			    const yaml_node_t *value, void *dst)
{
	struct config *cfg = dst;
	char q[QUOTE_BUF];

	(void)key;
	if (cfg_is_null(value))
		return 0; /* nothing is pushed; /metrics may still serve */
	if (value->type != YAML_SEQUENCE_NODE)
		return cfg_fail(ctx, value, "\"remote_write\": expected a sequence, got %s",
				cfg_describe(value, q, sizeof(q)));
	for (yaml_node_item_t *it = value->data.sequence.items.start;
	     it < value->data.sequence.items.top; it++) {
		size_t n = cfg->n_remote_write;
		struct remote_write_config *a = realloc(cfg->remote_write, (n + 1) * sizeof(*a));

		if (!a)
			return cfg_fail(ctx, NULL, "out of memory");
		cfg->remote_write = a;
		memset(&a[n], 0, sizeof(a[n]));
		cfg->n_remote_write = n + 1; /* counted now so config_free sees it */
		if (parse_rw_entry(ctx, cfg_node(ctx, *it), a, n) < 0)
			return -1;
	}
	return 0;
}

void cfg_remote_write_free(struct remote_write_config *rw)
{
	free(rw->url);
	free(rw->name);
	cfg_kv_free(rw->headers, rw->n_headers);
	free(rw->basic_auth.username);
	free(rw->basic_auth.password);
	free(rw->basic_auth.password_file);
	free(rw->authorization.type);
	free(rw->authorization.credentials);
	free(rw->authorization.credentials_file);
	free(rw->tls.ca_file);
	free(rw->tls.cert_file);
	free(rw->tls.key_file);
	free(rw->tls.server_name);
	cfg_relabel_free(&rw->write_relabel_configs);
	cfg_http_auth_free(rw);
}
