/* SPDX-License-Identifier: MIT */
/* The configuration file: libyaml builds the node tree (it keeps every
 * node's line and column), then each section of the file is a table of
 * fields walked by cfg_parse_mapping() (node.c), with the checks that involve
 * more than one key done right after their section is read (global.c,
 * remote_write.c, sections.c).
 *
 * Everything is built into a local struct config and handed over only when
 * the whole file is good; on any error config_free() takes back what was
 * built, so the caller never sees half a config. */
#include "config/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"

/* A config is a page or two; anything this big is the wrong file. */
#define CONFIG_FILE_MAX (16u << 20)

/* ---- values the sections keep ---------------------------------------- */

int cfg_set_string(struct cfg_ctx *ctx, char **dst, const char *value)
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
int cfg_kv_add(struct cfg_ctx *ctx, struct kv **arr, size_t *n, const char *key, char *value)
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
	{"global", F_CUSTOM, offsetof(struct config, global), 0, cfg_parse_global},
	{"remote_write", F_CUSTOM, 0, 0, cfg_parse_remote_writes},
	{"collectors", F_CUSTOM, 0, 0, parse_collectors},
	{"bpf", F_CUSTOM, 0, 0, parse_bpf},
	{"http", F_CUSTOM, offsetof(struct config, http), 0, cfg_parse_http},
};

static int config_defaults(struct cfg_ctx *ctx, struct config *cfg)
{
	const struct config_schemas *s = ctx->schemas;

	cfg->global.interval_ms = 15 * 1000;
	cfg->global.histograms = HISTOGRAMS_CLASSIC;
	if (cfg_set_string(ctx, &cfg->file, ctx->name) < 0 ||
	    cfg_set_string(ctx, &cfg->global.procfs, "/proc") < 0 ||
	    cfg_set_string(ctx, &cfg->global.sysfs, "/sys") < 0 ||
	    cfg_set_string(ctx, &cfg->global.rootfs, "/") < 0 ||
	    cfg_set_string(ctx, &cfg->global.data_dir, "/var/lib/bpfpush") < 0 ||
	    cfg_set_string(ctx, &cfg->http.listen_address, "127.0.0.1:9477") < 0)
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
 * be turned into a line and column, which needs the bytes. Not
 * lib/readfile's reader: that one refuses anything but a regular file (a
 * collector must not block on a FIFO), while a config may come through a
 * pipe (--config <(envsubst < tmpl)), and a directory is "Is a directory". */
static int read_file(const char *path, struct buf *text, struct config_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		goto fail;
	for (;;) {
		ssize_t r;

		if (buf_reserve(text, 4096) < 0)
			goto fail;
		r = read(fd, text->data + text->len, text->cap - text->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		text->len += (size_t)r;
		if (text->len > CONFIG_FILE_MAX) {
			errno = EFBIG;
			goto fail;
		}
	}
	close(fd);
	return 0;
fail:
	cfg_error(err, path, 0, 0, "cannot read the configuration file: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	buf_free(text);
	return -1;
}

int config_load(const char *path, const struct config_schemas *schemas, struct config *out,
		struct config_error *err)
{
	struct buf text = {0};
	int ret;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	if (read_file(path, &text, err) < 0)
		return -1;
	ret = config_load_string(path, (const char *)text.data, text.len, schemas, out, err);
	buf_free(&text);
	return ret;
}

/* ---- freeing and lookups -------------------------------------------- */

void cfg_kv_free(struct kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->file);
	cfg_kv_free(cfg->global.external_labels, cfg->global.n_external_labels);
	cfg_relabel_free(&cfg->global.relabel_configs);
	free(cfg->global.procfs);
	free(cfg->global.sysfs);
	free(cfg->global.rootfs);
	free(cfg->global.data_dir);
	for (size_t i = 0; cfg->remote_write && i < cfg->n_remote_write; i++)
		cfg_remote_write_free(&cfg->remote_write[i]);
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
