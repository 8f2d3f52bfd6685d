/* SPDX-License-Identifier: MIT */
/* config/internal.h: shared by the files of the config module only; other
 * modules include config/config.h. The pieces:
 *
 *   node.c      error reporting, scalars and typed values, the table-driven
 *               mapping walker every section of the file goes through
 *   check.c     text validators (URL, listen address, label and header
 *               names) and ${VAR} expansion; no YAML in there
 *   sections.c  collectors: and bpf: against the collectors' own schemas
 *   duration.c  Prometheus durations
 *   secret.c    credentials_file and password_file contents
 *   config.c    loading, the top level of the file, config_free
 *   global.c    the global: and http: sections
 *   remote_write.c  the remote_write: section, one entry per endpoint
 *   alias.c     bounds on YAML aliases, checked before the file is loaded
 *   dupkeys.c   duplicate keys in the mappings of user-chosen keys
 *   relabel.c   relabel_configs and write_relabel_configs; re2check.c keeps
 *               their patterns to what RE2 (Prometheus) accepts
 *
 * Typed scalars are read the same whether plain or quoted ("15s", 15s,
 * "100", 100, "true"): every key has exactly one type, so a quote never
 * changes meaning, and templating tools (Helm, envsubst) quote freely.
 * A YAML null (~, null, or nothing after the colon) is the same as leaving
 * the key out, except under collectors:/bpf:, where "cpu:" enables cpu. */
#ifndef BPFPUSH_CONFIG_INTERNAL_H
#define BPFPUSH_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config/config.h"

/* Room for a user value quoted in a message (it is truncated to fit). */
#define QUOTE_BUF 96

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

struct cfg_ctx {
	const char *name;                     /* file name for messages */
	yaml_document_t *doc;
	const struct config_schemas *schemas; /* never NULL */
	struct config_error *err;
	struct dup_index *dups;               /* dupkeys.c's, of the mapping being read */
};

/* ---- errors (node.c) ------------------------------------------------- */

/* Fills err with "NAME:LINE:COL: message" (line/col 1-based; 0 means no
 * position, and the text is "NAME: message"). Keeps the first error. */
void cfg_verror(struct config_error *err, const char *name, int line, int col,
		const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
void cfg_error(struct config_error *err, const char *name, int line, int col,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Error at node's start (NULL: no position). Always returns -1. */
int cfg_fail(struct cfg_ctx *ctx, const yaml_node_t *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- nodes and scalars (node.c) -------------------------------------- */

yaml_node_t *cfg_node(struct cfg_ctx *ctx, int index);
bool cfg_is_null(const yaml_node_t *n);
/* Number of pairs of a mapping node. */
size_t cfg_map_len(const yaml_node_t *map);
/* The scalar's text, or NULL (with the error set) when n is not a scalar or
 * holds a NUL byte, which no C string could carry. what names the key. */
const char *cfg_scalar(struct cfg_ctx *ctx, const yaml_node_t *n, const char *what);

/* A mapping key's text, or NULL with the error set (complex keys). */
const char *cfg_key(struct cfg_ctx *ctx, const yaml_node_t *key);

/* s (len bytes) in double quotes, escaped, truncated: for messages. */
const char *cfg_quote(const char *s, size_t len, char *buf, size_t size);
const char *cfg_quote_str(const char *s, char *buf, size_t size);
/* "a mapping", "a sequence", "null", "an empty value", or the quoted scalar. */
const char *cfg_describe(const yaml_node_t *n, char *buf, size_t size);

/* Error unless n is a mapping or null; label is how the message names it
 * ("\"queue_config\"", "remote_write[2]"). */
int cfg_expect_mapping(struct cfg_ctx *ctx, const yaml_node_t *n, const char *label);

/* Error when the key of pair i of map repeats an earlier key (dupkeys.c).
 * Constant time per pair: an index of map is kept in ctx until another
 * mapping is checked, and freed by cfg_dup_index_free. */
int cfg_check_duplicate(struct cfg_ctx *ctx, const yaml_node_t *map, size_t i, bool nocase);
void cfg_dup_index_free(struct cfg_ctx *ctx);

/* The closest name to key among n names found at base + i * stride (each
 * a const char *), or NULL when none is close enough to be a likely typo. */
const char *cfg_suggest(const char *key, const void *base, size_t n, size_t stride);

/* ---- typed values ---------------------------------------------------- */

enum field_type {
	F_STRING,    /* char *; min 1: must not be empty */
	F_OPTSTRING, /* char *; "" is the same as unset (NULL), as in Prometheus */
	F_BOOL,      /* bool: true or false */
	F_INT,       /* int64_t decimal, >= min */
	F_DURATION,  /* int64_t ms, >= min */
	F_BYTES,     /* int64_t bytes, >= min: parse_byte_size */
	F_REGEX,     /* char *: a regular expression PCRE2 compiles; "" is unset */
	F_CUSTOM,    /* parse() does it */
};

/* Parses text as type t into dst (for strings, replacing and freeing the old
 * value). Returns 0, or -1 with why set to a message such as
 * `expected true or false, got "yes"`. Shared by values from the file and by
 * the default_value texts of the collectors' schemas. */
int cfg_text_value(enum field_type t, const char *text, int64_t min, void *dst,
		   char *why, size_t why_size);

/* The same for a node; messages start with "\"key\": ". */
int cfg_node_value(struct cfg_ctx *ctx, const char *key, enum field_type t, int64_t min,
		   const yaml_node_t *value, void *dst);

/* ---- the mapping walker ---------------------------------------------- */

struct field {
	const char *name; /* first member: cfg_suggest() relies on it */
	enum field_type type;
	size_t offset;    /* of the value in the object being filled */
	int64_t min;
	/* F_CUSTOM: value may be a null node; dst is object + offset. */
	int (*parse)(struct cfg_ctx *ctx, const yaml_node_t *key,
		     const yaml_node_t *value, void *dst);
};

/* Where each field was set: key and value nodes, value NULL when the key
 * is absent or its value null. For errors that involve two keys. */
struct field_pos {
	const yaml_node_t *key, *value;
};

struct mapping_spec {
	const char *label; /* for "LABEL: expected a mapping" */
	const char *noun;  /* "key" or "option" */
	const char *where; /* "in queue_config", "at top level" */
	const struct field *fields;
	size_t n_fields;
};

/* Walks map (a mapping or null) and fills obj: unknown and duplicate keys
 * are errors, null values leave the default. pos has n_fields entries. */
int cfg_parse_mapping(struct cfg_ctx *ctx, const yaml_node_t *map,
		      const struct mapping_spec *spec, void *obj, struct field_pos *pos);

/* The later of two keys in the file (either may be NULL). */
const yaml_node_t *cfg_later(const yaml_node_t *a, const yaml_node_t *b);

/* ---- validators (check.c); each returns 0 or -1 with why set --------- */

int cfg_check_url(const char *url, char *why, size_t why_size);
int cfg_check_listen_address(const char *addr, char *why, size_t why_size);
bool cfg_valid_label_name(const char *name);
bool cfg_valid_header_name(const char *name);
bool cfg_valid_header_value(const char *value);
/* NULL, or the kind of reserved header this is (see check.c). */
const char *cfg_reserved_header(const char *name);
bool cfg_valid_utf8(const char *s);
/* ${VAR} from the environment (unset: ""), $$ -> $, any other $ literal.
 * Returns a malloc'd string, or NULL with why set. */
char *cfg_expand_env(const char *text, char *why, size_t why_size);

/* ---- secret files (secret.c) ------------------------------------------ */

/* Error at `at` when the file at path exists but holds a control character
 * or cannot be read whole; a missing or unreadable file is left to the
 * sender, which reads it before each request. */
int cfg_check_secret_file(struct cfg_ctx *ctx, const yaml_node_t *at, const char *key,
			  const char *path);

/* ---- durations (duration.c) ------------------------------------------ */

/* ms in Prometheus' form ("1m30s", "0s") into buf. */
const char *cfg_format_duration_ms(int64_t ms, char *buf, size_t size);

/* ---- aliases (alias.c) ----------------------------------------------- */

/* Refuses (error set, -1) a file whose first document uses more than 1,000
 * aliases, grows past 100,000 nodes once its aliases are expanded, or holds
 * an alias inside its own anchor. Syntax errors are left to the loader. */
int cfg_check_aliases(struct cfg_ctx *ctx, const char *buf, size_t len);

/* ---- values the sections keep (config.c) ----------------------------- */

/* Replaces *dst with a copy of value. 0, or -1 with the error set. */
int cfg_set_string(struct cfg_ctx *ctx, char **dst, const char *value);
/* Appends key (copied) and value (taken, freed on error) to *arr. */
int cfg_kv_add(struct cfg_ctx *ctx, struct kv **arr, size_t *n, const char *key, char *value);
void cfg_kv_free(struct kv *kv, size_t n);

/* ---- the sections of the file (global.c, remote_write.c) ------------- */

/* F_CUSTOM parsers of the top-level keys; dst as struct field says. */
int cfg_parse_global(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		     void *dst);
int cfg_parse_http(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		   void *dst);
/* dst is the struct config: the entries go into its remote_write array. */
int cfg_parse_remote_writes(struct cfg_ctx *ctx, const yaml_node_t *key,
			    const yaml_node_t *value, void *dst);
/* What one remote_write entry owns; the entry itself is the caller's. */
void cfg_remote_write_free(struct remote_write_config *rw);

/* ---- relabeling (relabel.c, re2check.c) ------------------------------ */

/* F_CUSTOM parser of relabel_configs and write_relabel_configs; dst is the
 * struct relabel_list. */
int cfg_parse_relabel_configs(struct cfg_ctx *ctx, const yaml_node_t *key,
			      const yaml_node_t *value, void *dst);
void cfg_relabel_free(struct relabel_list *list);
/* A target_label with $ references (or a labelmap replacement): label-name
 * characters and $1, ${1}, $name, ${name}, not starting with a digit. */
bool cfg_relabel_template_ok(const char *s);
/* 0, or -1 with why set when pattern uses syntax RE2 lacks (lookaround,
 * backreferences, possessive or atomic groups, \C, ...). */
int cfg_check_re2(const char *pattern, char *why, size_t why_size);
/* ---- proxy and sigv4 of a remote_write entry (http_auth.c) ----------- */

/* F_CUSTOM parsers: proxy_url into a char *, sigv4 into the whole entry. */
int cfg_parse_proxy_url(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			void *dst);
int cfg_parse_sigv4(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		    void *dst);

/* oauth2 into the whole entry (oauth2.c). */
int cfg_parse_oauth2(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		     void *dst);
void cfg_oauth2_free(struct oauth2_config *o);

/* protobuf_message into an enum rw_protocol, metadata_config into a struct
 * metadata_config; their defaults into an entry (rw_protocol.c). */
int cfg_parse_protobuf_message(struct cfg_ctx *ctx, const yaml_node_t *key,
			       const yaml_node_t *value, void *dst);
int cfg_parse_metadata_config(struct cfg_ctx *ctx, const yaml_node_t *key,
			      const yaml_node_t *value, void *dst);
void cfg_rw_protocol_defaults(struct remote_write_config *rw);

/* The keys of an entry the checks below point at (NULL when absent). */
struct rw_auth_keys {
	const yaml_node_t *basic_auth, *authorization, *sigv4, *oauth2;
	const yaml_node_t *proxy_url, *no_proxy, *proxy_from_env;
};

/* The checks that span keys: one auth method at most, and the proxy keys
 * as Prometheus combines them. label: "remote_write[N]". */
int cfg_check_rw_auth(struct cfg_ctx *ctx, const struct remote_write_config *rw,
		      const char *label, const struct rw_auth_keys *k);
void cfg_http_auth_free(struct remote_write_config *rw);
/* Prometheus' ProxyConfig.Validate over p (k: where its keys are). */
int cfg_check_proxy(struct cfg_ctx *ctx, const struct proxy_config *p, const char *label,
		    const struct rw_auth_keys *k);
/* A tls_config mapping into the struct tls_config at dst. */
int cfg_parse_tls(struct cfg_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		  void *dst);

/* ---- collector sections (sections.c) --------------------------------- */

/* One section_config per schema, defaults applied. */
int cfg_sections_init(struct cfg_ctx *ctx, const struct section_schema *schemas, size_t n,
		      struct section_config **out, size_t *n_out);
/* Applies collectors: or bpf: (kind is "collector" or "BPF collector"). */
int cfg_sections_parse(struct cfg_ctx *ctx, const yaml_node_t *key,
		       const yaml_node_t *value, const char *kind,
		       struct section_config *secs, size_t n);
void cfg_sections_free(struct section_config *secs, size_t n);

#endif
