/* SPDX-License-Identifier: MIT */
/* config: the YAML configuration file, parsed with libyaml into typed structs,
 * with defaults filled in and every value validated.
 *
 * Strict: an unknown key, a wrong type, a bad duration or URL, a value out of
 * range is an error reported as "FILE:LINE:COL: message" (1-based), and the
 * caller exits with status 2. Nothing is half-loaded: on error *out is left
 * zeroed and owns nothing.
 *
 * Collectors and BPF collectors describe their own options (name, type,
 * default, offset into their options struct) in a section_schema; this module
 * knows nothing about any particular collector. */
#ifndef BPFPUSH_CONFIG_H
#define BPFPUSH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/kv.h"

#define CONFIG_ERR_MAX 512

struct config_error {
	char text[CONFIG_ERR_MAX]; /* "FILE:LINE:COL: message", or "FILE: message" */
	int line, col;             /* 1-based; 0 when the error has no position */
};

/* ---- durations ------------------------------------------------------- */

/* Prometheus duration syntax: one or more <int><unit> with units in
 * decreasing order, unit in y w d h m s ms ("15s", "30ms", "1m30s", "0s");
 * a bare "0" is accepted. Returns 0 and sets *ms, or -1. */
int parse_duration_ms(const char *text, int64_t *ms);

/* A byte size: digits, then optionally B, KB, MB, GB, TB or KiB, MiB, GiB,
 * TiB (both powers of 1024, as Prometheus reads them): "1GiB", "512MB",
 * "65536". Returns 0 and sets *bytes, or -1. */
int parse_byte_size(const char *text, int64_t *bytes);

/* ---- secrets in files ------------------------------------------------ */

#define CONFIG_SECRET_MAX (64 * 1024)

/* Reads a secret file (credentials_file, password_file): at most
 * CONFIG_SECRET_MAX bytes, surrounding whitespace trimmed (as Prometheus
 * does), and no control character but tab left, the rule for inline
 * values. 0 and a malloc'd *value (free with config_free_secret), or -1
 * with errno set (EINVAL: a control character) and why filled in; why
 * names the path, never the contents. */
int config_read_secret(const char *path, char **value, char *why, size_t why_size);
void config_free_secret(char *value); /* wipes, then frees; NULL is fine */

/* ---- option schemas for collectors ---------------------------------- */

enum opt_type {
	OPT_BOOL,     /* bool */
	OPT_INT,      /* int64_t, must be >= 0 and, when max is set, <= max */
	OPT_DURATION, /* int64_t milliseconds */
	OPT_STRING,   /* char *, owned by the config, freed by config_free */
	OPT_REGEX,    /* char *, a PCRE2 pattern checked at load (node_exporter's
			 RE2 patterns mean the same); "" or unset: NULL */
	OPT_ENUM,     /* char *, one of the choices its default_value lists:
			 "a|b|c", the default first (checked at load) */
};

struct opt_desc {
	const char *name;
	enum opt_type type;
	const char *default_value; /* parsed like a YAML value; NULL: zero/NULL */
	size_t offset;             /* into the section's options struct */
	int64_t max;               /* OPT_INT: the largest value accepted; 0: no limit */
};

struct section_schema {
	const char *name;             /* key under collectors: or bpf: */
	bool default_enabled;         /* enabled when the key is absent */
	size_t opts_size;             /* sizeof the options struct (may be 0) */
	const struct opt_desc *opts;  /* terminated by an entry with name NULL */
};

/* A key maps to a collector as:  cpu: {}   cpu: {opt: v}   cpu: true
 * (enabled) or  cpu: false (disabled); an absent key leaves the default,
 * unless the section says `defaults: false`: then only listed ones run. */
struct section_config {
	const struct section_schema *schema;
	bool enabled;
	bool explicit;  /* its key is in the file */
	void *opts; /* malloc'd opts_size bytes, defaults applied; NULL if size 0 */
};

/* ---- the configuration ----------------------------------------------- */

struct tls_config {
	char *ca_file, *cert_file, *key_file, *server_name; /* NULL when unset */
	bool insecure_skip_verify;
};

struct basic_auth {
	char *username, *password, *password_file; /* password XOR password_file */
};

struct authorization {
	char *type; /* default "Bearer" */
	char *credentials, *credentials_file; /* at most one of them */
};

/* proxy_url, no_proxy, proxy_from_environment: Prometheus' keys, at the
 * top of a remote_write entry. */
struct proxy_config {
	char *url;                    /* http(s)://[user:pass@]host[:port]; NULL: none */
	char *no_proxy;               /* hosts that bypass url (needs url) */
	bool from_environment;        /* false: http_proxy & co are ignored */
};

/* sigv4: signs each request for AWS (service "aps"). Credentials: these
 * keys, else AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN,
 * else the shared credentials file. */
struct sigv4_config {
	char *region;                 /* else AWS_REGION / AWS_DEFAULT_REGION */
	char *access_key, *secret_key; /* both or neither */
	char *profile;                /* else AWS_PROFILE, else "default" */
	char *role_arn;               /* assumed with STS (queue/aws_sts.c); NULL: none */
};

/* oauth2: client credentials; the token is fetched by the queue. */
struct oauth2_config {
	char *client_id, *token_url;  /* both required */
	char *client_secret, *client_secret_file; /* at most one of them */
	char **scopes;
	size_t n_scopes;
	struct kv *endpoint_params;   /* extra form fields of the token request */
	size_t n_endpoint_params;
	struct tls_config tls;        /* of the token request (no server_name) */
	struct proxy_config proxy;    /* of the token request; none by default */
};

struct queue_config {             /* Prometheus' defaults */
	int64_t capacity;             /* 10000 */
	int64_t max_shards;           /* 50 */
	int64_t min_shards;           /* 1, and <= max_shards */
	int64_t max_samples_per_send; /* 2000 */
	int64_t batch_send_deadline_ms; /* 5s */
	int64_t min_backoff_ms;       /* 30ms */
	int64_t max_backoff_ms;       /* 5s, and >= min_backoff */
	bool retry_on_http_429;       /* true */
	int64_t sample_age_limit_ms;  /* 0: no limit */
	int64_t max_retry_after_ms;   /* 1m (or max_backoff if longer): the longest
				       * a Retry-After may hold a retry back */
	/* The disk tier, under global.data_dir (docs/design.md, "The disk tier"): */
	int64_t max_disk_bytes;       /* 1GiB: beyond it the oldest is dropped */
	int64_t rate_limit;           /* bytes per second sent; 0: none */
	int64_t catchup_jitter_ms;    /* 5s: the longest the first replay after an
				       * outage (or a start) waits, at random */
};

struct connection_config {        /* recycling (docs/design.md); 0 = never */
	int64_t max_requests;
	int64_t max_age_ms;
};

/* One relabel_configs entry, Prometheus' keys and defaults; series/relabel.h
 * compiles and applies them. */
enum relabel_action {
	RELABEL_REPLACE, RELABEL_KEEP, RELABEL_DROP, RELABEL_KEEPEQUAL, RELABEL_DROPEQUAL,
	RELABEL_HASHMOD, RELABEL_LABELMAP, RELABEL_LABELDROP, RELABEL_LABELKEEP,
	RELABEL_LOWERCASE, RELABEL_UPPERCASE,
};

struct relabel_config {
	enum relabel_action action;   /* replace */
	char **source_labels;
	size_t n_source_labels;
	char *separator;              /* ";" */
	char *regex;                  /* "(.*)", as written: anchored when compiled */
	int64_t modulus;              /* hashmod only, > 0 there */
	char *target_label;           /* "" when unset */
	char *replacement;            /* "$1" */
};

struct relabel_list {             /* applied in order */
	struct relabel_config *rules;
	size_t n;
};

/* protobuf_message: what a request body is. */
enum rw_protocol {
	RW_PROTO_V1,                  /* prometheus.WriteRequest (the default) */
	RW_PROTO_V2,                  /* io.prometheus.write.v2.Request */
};

struct metadata_config {          /* Prometheus' defaults; 1.0 only (2.0 inlines it) */
	bool send;                    /* true */
	int64_t send_interval_ms;     /* 1m */
	int64_t max_samples_per_send; /* 2000 metadata entries per request */
};

struct remote_write_config {
	char *url;                    /* http:// or https://, with a host */
	char *name;                   /* default: "" -> caller derives one */
	int64_t remote_timeout_ms;    /* 30s */
	struct kv *headers;           /* user headers; never the protocol's own */
	size_t n_headers;
	bool has_basic_auth;
	struct basic_auth basic_auth;
	bool has_authorization;
	struct authorization authorization;
	struct tls_config tls;
	struct queue_config queue;
	struct connection_config connection;
	bool follow_redirects;        /* true, as Prometheus */
	struct relabel_list write_relabel_configs; /* after external labels */
	struct proxy_config proxy;
	bool has_sigv4;               /* excludes basic_auth and authorization */
	struct sigv4_config sigv4;
	bool has_oauth2;
	struct oauth2_config oauth2;
	enum rw_protocol protobuf_message;
	struct metadata_config metadata;
};

/* Which forms of a BPF log2 histogram are sent (bits): global.histograms
 * and a BPF collector's histograms option, "classic", "native" or "both". */
enum histogram_forms {
	HISTOGRAMS_CLASSIC = 1, /* _bucket{le}, _sum, _count */
	HISTOGRAMS_NATIVE = 2,  /* one native histogram series, schema 0 */
	HISTOGRAMS_BOTH = 3,
};

/* "classic", "native" or "both": the forms, or 0 for anything else. */
enum histogram_forms config_histogram_forms(const char *text);

struct global_config {
	int64_t interval_ms;          /* 15s */
	struct kv *external_labels;   /* ${VAR} expanded, in file order */
	size_t n_external_labels;
	char *procfs, *sysfs, *rootfs; /* "/proc", "/sys", "/" */
	char *data_dir;               /* /var/lib/bpfpush; "": memory only, no lock;
				       * else locked, one agent per dir, and the
				       * endpoints' disk tiers are under it */
	struct relabel_list relabel_configs; /* before external labels */
	enum histogram_forms histograms; /* classic; a BPF collector's own wins */
};

struct http_config {
	char *listen_address;         /* "127.0.0.1:9477"; "" disables */
};

struct config {
	char *file;
	struct global_config global;
	struct remote_write_config *remote_write;
	size_t n_remote_write;
	struct section_config *collectors; /* one per schema entry, schema order */
	size_t n_collectors;
	struct section_config *bpf;
	size_t n_bpf;
	struct http_config http;
};

struct config_schemas {
	const struct section_schema *collectors; /* array of n_collectors */
	size_t n_collectors;
	const struct section_schema *bpf;
	size_t n_bpf;
};

/* Loads and validates path. Returns 0, or -1 with err filled in. */
int config_load(const char *path, const struct config_schemas *schemas,
		struct config *out, struct config_error *err);

/* Same, from a buffer; name is used in error messages in place of a path. */
int config_load_string(const char *name, const char *yaml, size_t len,
		       const struct config_schemas *schemas, struct config *out,
		       struct config_error *err);

void config_free(struct config *cfg);

/* The section config named name, or NULL. */
const struct section_config *config_collector(const struct config *cfg, const char *name);
const struct section_config *config_bpf(const struct config *cfg, const char *name);

/* Deep equality, for a reload (what is equal keeps running untouched).
 * Sections compare their schema's options (max_series included), not bytes. */
bool config_kv_equal(const struct kv *a, size_t n_a, const struct kv *b, size_t n_b);
bool config_remote_write_equal(const struct remote_write_config *a,
			       const struct remote_write_config *b);
bool config_rw_protocol_equal(const struct remote_write_config *a,
			      const struct remote_write_config *b);
bool config_relabel_equal(const struct relabel_list *a, const struct relabel_list *b);
/* "replace", "keep", ... */
const char *relabel_action_name(enum relabel_action a);
bool config_section_equal(const struct section_config *a, const struct section_config *b);

/* url with its userinfo ("user:password@") replaced by "<secret>", cut to
 * outsz: the one form of a URL for logs, metric labels and errors. */
void config_mask_url(const char *url, char *out, size_t outsz);

#endif
