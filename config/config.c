/* The configuration file: libyaml builds the node tree (it keeps every
 * node's line and column), then each section of the file is a table of
 * fields walked by cfg_parse_mapping() (node.c), with the checks that involve
 * more than one key done here, right after their section is read.
 *
 * Everything is built into a local struct config and handed over only when
 * the whole file is good; on any error config_free() takes back what was
 * built, so the caller never sees half a config. */
#include "config/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* A config is a page or two; anything this big is the wrong file. */
#define CONFIG_FILE_MAX (16u << 20)

static int set_string(struct cfg_ctx *ctx, char **dst, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return cfg_fail(ctx, NULL, "out of memory");
	free(*dst);
	*dst = copy;
	return 0;
}

/* The array doubles (when n is a power of two), so a mapping of many keys
 * is not copied once per key. */
static int kv_add(struct cfg_ctx *ctx, struct kv **arr, size_t *n, const char *key, char *value)
{
	bool full = (*n & (*n - 1)) == 0;
	struct kv *a = full ? realloc(*arr, (*n ? 2 * *n : 1) * sizeof(**arr)) : *arr;
	char *k = strdup(key);

	if (a)
		*arr = a;
	if (!a || !k) {
		free(k);
		free(value);
		return cfg_fail(ctx, NULL, "out of memory");
	}
	a[*n].key = k;
	a[*n].value = value;
	(*n)++;
	return 0;
}

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
	return kv_add(ctx, &g->external_labels, &g->n_external_labels, name, value);
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

static const struct field global_fields[] = {
	{"interval", F_DURATION, offsetof(struct global_config, interval_ms), 1, NULL},
	{"external_labels", F_CUSTOM, 0, 0, parse_external_labels},
	{"procfs", F_STRING, offsetof(struct global_config, procfs), 1, NULL},
	{"sysfs", F_STRING, offsetof(struct global_config, sysfs), 1, NULL},
	{"rootfs", F_STRING, offsetof(struct global_config, rootfs), 1, NULL},
	{"data_dir", F_STRING, offsetof(struct global_config, data_dir), 0, NULL},
};

static int parse_global(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
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
	return set_string(ctx, dst, text);
}

static const struct field http_fields[] = {
	{"listen_address", F_CUSTOM, offsetof(struct http_config, listen_address), 0,
	 parse_listen_address},
};

static int parse_http(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		      void *dst)
{
	static const struct mapping_spec spec = {"\"http\"", "key", "in http", http_fields,
						 NFIELDS(http_fields)};
	struct field_pos pos[NFIELDS(http_fields)];

	(void)key;
	return cfg_parse_mapping(ctx, value, &spec, dst, pos);
}

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
	return set_string(ctx, dst, text);
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
	return kv_add(ctx, &rw->headers, &rw->n_headers, name, value);
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
	if (set_string(ctx, &rw->basic_auth.username, "") < 0 ||
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

	if (!a->type[0] && set_string(ctx, &a->type, "Bearer") < 0)
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

static int parse_tls(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
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
	Q_MAX_BACKOFF, Q_RETRY_429, Q_AGE_LIMIT, Q_MAX_RETRY_AFTER, Q_N
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
	RW_QUEUE, RW_CONNECTION, RW_FOLLOW_REDIRECTS, RW_N
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
		    parse_tls},
	[RW_QUEUE] = {"queue_config", F_CUSTOM, offsetof(struct remote_write_config, queue), 0,
		      parse_queue},
	[RW_CONNECTION] = {"connection", F_CUSTOM, offsetof(struct remote_write_config, connection),
			   0, parse_connection},
	[RW_FOLLOW_REDIRECTS] = {"follow_redirects", F_BOOL,
				 offsetof(struct remote_write_config, follow_redirects), 0, NULL},
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
	};
	rw->follow_redirects = true;
	if (set_string(ctx, &rw->name, "") < 0)
		return -1;
	return set_string(ctx, &rw->authorization.type, "Bearer");
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
	return check_rw_name(ctx, rws, i, pos[RW_NAME].value);
}

static int parse_remote_writes(struct cfg_ctx *ctx, const yaml_node_t *key,
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

/* ---- top level ------------------------------------------------------- */

static int parse_collectors(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			    void *dst)
{
	struct config *cfg = dst;

	return cfg_sections_parse(ctx, key, value, "collector", cfg->collectors, cfg->n_collectors);
}

static int parse_bpf(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		     void *dst)
{
	struct config *cfg = dst;

	return cfg_sections_parse(ctx, key, value, "BPF collector", cfg->bpf, cfg->n_bpf);
}

static const struct field top_fields[] = {
	{"global", F_CUSTOM, offsetof(struct config, global), 0, parse_global},
	{"remote_write", F_CUSTOM, 0, 0, parse_remote_writes},
	{"collectors", F_CUSTOM, 0, 0, parse_collectors},
	{"bpf", F_CUSTOM, 0, 0, parse_bpf},
	{"http", F_CUSTOM, offsetof(struct config, http), 0, parse_http},
};

static int config_defaults(struct cfg_ctx *ctx, struct config *cfg)
{
	const struct config_schemas *s = ctx->schemas;

	cfg->global.interval_ms = 15 * 1000;
	if (set_string(ctx, &cfg->file, ctx->name) < 0 ||
	    set_string(ctx, &cfg->global.procfs, "/proc") < 0 ||
	    set_string(ctx, &cfg->global.sysfs, "/sys") < 0 ||
	    set_string(ctx, &cfg->global.rootfs, "/") < 0 ||
	    set_string(ctx, &cfg->global.data_dir, "") < 0 ||
	    set_string(ctx, &cfg->http.listen_address, "127.0.0.1:9477") < 0)
		return -1;
	if (cfg_sections_init(ctx, s->collectors, s->n_collectors, &cfg->collectors,
			  &cfg->n_collectors) < 0)
		return -1;
	return cfg_sections_init(ctx, s->bpf, s->n_bpf, &cfg->bpf, &cfg->n_bpf);
}

static int build_config(struct cfg_ctx *ctx, struct config *cfg)
{
	static const struct mapping_spec spec = {"top level", "key", "at top level", top_fields,
						 NFIELDS(top_fields)};
	struct field_pos pos[NFIELDS(top_fields)];
	const yaml_node_t *root;

	if (config_defaults(ctx, cfg) < 0)
		return -1;
	root = yaml_document_get_root_node(ctx->doc);
	if (!root)
		return 0; /* empty, or only comments: all defaults */
	return cfg_parse_mapping(ctx, root, &spec, cfg, pos);
}

/* ---- loading --------------------------------------------------------- */

/* libyaml's reader reports a byte offset, not a mark: count it out. */
static void offset_position(const char *buf, size_t len, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			(*col)++; /* columns count characters, as libyaml's do */
		}
	}
}

static int syntax_error(struct cfg_ctx *ctx, const yaml_parser_t *p, const char *buf, size_t len)
{
	const char *problem = p->problem ? p->problem : "unknown error", *tab = "";
	struct config_error *err = ctx->err;
	const char *name = ctx->name;
	int line, col;

	if (p->error == YAML_MEMORY_ERROR) {
		cfg_error(err, name, 0, 0, "out of memory while parsing YAML");
		return -1;
	}
	if (p->error == YAML_READER_ERROR) {
		offset_position(buf, len, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			cfg_error(err, name, line, col, "YAML encoding error: %s (byte 0x%02X)",
				  problem, (unsigned)p->problem_value);
		else
			cfg_error(err, name, line, col, "YAML encoding error: %s", problem);
		return -1;
	}
	line = (int)p->problem_mark.line + 1;
	col = (int)p->problem_mark.column + 1;
	/* libyaml's words for a tab are "cannot start any token". */
	if (p->problem_mark.index < len && buf[p->problem_mark.index] == '\t')
		tab = " (YAML does not allow tabs for indentation)";
	if (p->context)
		cfg_error(err, name, line, col,
			  "YAML syntax error: %s (%s at line %d, column %d)%s", problem,
			  p->context, (int)p->context_mark.line + 1,
			  (int)p->context_mark.column + 1, tab);
	else
		cfg_error(err, name, line, col, "YAML syntax error: %s%s", problem, tab);
	return -1;
}

/* Loads the one document of the stream into doc; a second one is an error
 * (it would be silently ignored otherwise). */
static int load_document(struct cfg_ctx *ctx, yaml_parser_t *p, const char *buf, size_t len,
			 yaml_document_t *doc)
{
	yaml_document_t extra;
	bool more;

	if (cfg_check_aliases(ctx, buf, len) < 0)
		return -1;
	if (!yaml_parser_load(p, doc))
		return syntax_error(ctx, p, buf, len);
	if (!yaml_document_get_root_node(doc))
		return 0;
	if (!yaml_parser_load(p, &extra)) {
		yaml_document_delete(doc);
		return syntax_error(ctx, p, buf, len);
	}
	more = yaml_document_get_root_node(&extra) != NULL;
	if (more)
		cfg_error(ctx->err, ctx->name, (int)extra.start_mark.line + 1,
			  (int)extra.start_mark.column + 1,
			  "a second YAML document starts here; the file must hold only one");
	yaml_document_delete(&extra);
	if (more) {
		yaml_document_delete(doc);
		return -1;
	}
	return 0;
}

int config_load_string(const char *name, const char *yaml, size_t len,
		       const struct config_schemas *schemas, struct config *out,
		       struct config_error *err)
{
	static const struct config_schemas no_schemas;
	struct cfg_ctx ctx = {name ? name : "<config>", NULL, schemas ? schemas : &no_schemas, err,
			      NULL};
	struct config cfg = {0};
	yaml_document_t doc;
	yaml_parser_t parser;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	if (!yaml_parser_initialize(&parser))
		return cfg_fail(&ctx, NULL, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	ret = load_document(&ctx, &parser, yaml, len, &doc);
	if (ret == 0) {
		ctx.doc = &doc;
		ret = build_config(&ctx, &cfg);
		cfg_dup_index_free(&ctx);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	if (ret < 0) {
		config_free(&cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

/* The whole file in memory: reader errors give a byte offset that has to
 * be turned into a line and column, which needs the bytes. */
static int read_file(const char *path, char **buf, size_t *len, struct config_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, n = 0;
	char *b = NULL;

	*buf = NULL;
	if (fd < 0)
		goto fail;
	for (;;) {
		ssize_t r;

		if (n == cap || !b) {
			char *nb;
			cap = b ? cap * 2 : cap;
			nb = realloc(b, cap);
			if (!nb) {
				errno = ENOMEM;
				goto fail;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > CONFIG_FILE_MAX) {
			errno = EFBIG;
			goto fail;
		}
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
fail:
	cfg_error(err, path, 0, 0, "cannot read the configuration file: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	free(b);
	return -1;
}

int config_load(const char *path, const struct config_schemas *schemas, struct config *out,
		struct config_error *err)
{
	char *buf;
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	if (read_file(path, &buf, &len, err) < 0)
		return -1;
	ret = config_load_string(path, buf, len, schemas, out, err);
	free(buf);
	return ret;
}

/* ---- freeing and lookups -------------------------------------------- */

static void kv_free(struct kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void rw_free(struct remote_write_config *rw)
{
	free(rw->url);
	free(rw->name);
	kv_free(rw->headers, rw->n_headers);
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
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->file);
	kv_free(cfg->global.external_labels, cfg->global.n_external_labels);
	free(cfg->global.procfs);
	free(cfg->global.sysfs);
	free(cfg->global.rootfs);
	free(cfg->global.data_dir);
	for (size_t i = 0; cfg->remote_write && i < cfg->n_remote_write; i++)
		rw_free(&cfg->remote_write[i]);
	free(cfg->remote_write);
	cfg_sections_free(cfg->collectors, cfg->n_collectors);
	cfg_sections_free(cfg->bpf, cfg->n_bpf);
	free(cfg->http.listen_address);
	memset(cfg, 0, sizeof(*cfg));
}

static const struct section_config *find(const struct section_config *secs, size_t n,
					 const char *name)
{
	for (size_t i = 0; secs && i < n; i++)
		if (!strcmp(secs[i].schema->name, name))
			return &secs[i];
	return NULL;
}

const struct section_config *config_collector(const struct config *cfg, const char *name)
{
	return find(cfg->collectors, cfg->n_collectors, name);
}

const struct section_config *config_bpf(const struct config *cfg, const char *name)
{
	return find(cfg->bpf, cfg->n_bpf, name);
}
