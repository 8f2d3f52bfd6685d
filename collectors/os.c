/* SPDX-License-Identifier: MIT */
/* os: the os-release file (<rootfs>/etc/os-release, or when that cannot be
 * read <rootfs>/usr/lib/os-release) as node_exporter 1.5's os collector
 * exposes it: node_os_info{build_id,id,id_like,image_id,image_version,name,
 * pretty_name,variant,variant_id,version,version_codename,version_id} 1 and,
 * when VERSION_ID starts with a number, node_os_version{id,id_like,name} with
 * its major.minor part (^[0-9]+\.?[0-9]* of VERSION_ID: "22.04" -> 22.04,
 * "7.9.2009" -> 7.9, "rolling" -> no series).
 *
 * os-release(5) is a list of shell-style assignments. Parsed here as the
 * shell (and systemd) read them, a superset of what node_exporter's
 * go-envparse accepts: blank lines and '#' comment lines, an optional
 * "export ", KEY=value where the value is any concatenation of
 *   "double quoted" (backslash escapes \" \\ \$ \` ; before any other
 *                    character the backslash stays, as in sh),
 *   'single quoted' (literal),
 *   unquoted text   (backslash escapes the next character; a '#' after a
 *                    blank starts a comment; trailing blanks are dropped).
 * A line with an unterminated quote or no valid KEY= is skipped (go-envparse
 * fails the whole file on it). A later assignment of a key wins.
 * The file is read into a reused buffer and decoded in place. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/all.h"
#include "lib/readfile.h"
#include "lib/log.h"

static const struct metric_desc info_desc = {
	"node_os_info",
	"A metric with a constant '1' value labeled by build_id, id, id_like, image_id, "
	"image_version, name, pretty_name, variant, variant_id, version, version_codename, "
	"version_id.",
	METRIC_GAUGE};
static const struct metric_desc version_desc = {
	"node_os_version", "Metric containing the major.minor part of the OS version.",
	METRIC_GAUGE};

enum os_field {
	F_BUILD_ID, F_ID, F_ID_LIKE, F_IMAGE_ID, F_IMAGE_VERSION, F_NAME, F_PRETTY_NAME,
	F_VARIANT, F_VARIANT_ID, F_VERSION, F_VERSION_CODENAME, F_VERSION_ID, N_FIELDS
};

static const char *const field_keys[N_FIELDS] = {
	"BUILD_ID", "ID", "ID_LIKE", "IMAGE_ID", "IMAGE_VERSION", "NAME", "PRETTY_NAME",
	"VARIANT", "VARIANT_ID", "VERSION", "VERSION_CODENAME", "VERSION_ID",
};
static const char *const field_labels[N_FIELDS] = {
	"build_id", "id", "id_like", "image_id", "image_version", "name", "pretty_name",
	"variant", "variant_id", "version", "version_codename", "version_id",
};

struct os_state {
	char *paths[2]; /* etc/os-release, usr/lib/os-release under rootfs */
	struct file_buf buf;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool key_char(char c, bool first)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (!first && c >= '0' && c <= '9');
}

enum quote_mode { NORMAL, DQ, SQ };

/* Where decoding a value in place stands. */
struct decoder {
	enum quote_mode mode;
	char *w;          /* where the next decoded byte goes */
	char *sig;        /* the end of what is kept: trailing blanks are not */
	bool after_blank; /* a '#' here starts a comment */
};

/* The byte at *p outside quotes (a backslash takes the next one with it,
 * moving *p); false at a comment, which ends the value. */
static bool decode_unquoted(struct decoder *d, char **p, char *eol)
{
	char c = **p;

	if (c == '"') {
		d->mode = DQ;
	} else if (c == '\'') {
		d->mode = SQ;
	} else if (c == '#' && d->after_blank) {
		return false;
	} else if (is_blank(c)) {
		*d->w++ = c; /* kept only if something follows */
		d->after_blank = true;
		return true;
	} else if (c == '\\') {
		if (*p + 1 < eol)
			*d->w++ = *++*p;
		d->sig = d->w;
	} else {
		*d->w++ = c;
		d->sig = d->w;
	}
	d->after_blank = false;
	return true;
}

/* Decodes the value in [p, eol) in place; returns its end (where the caller
 * puts the NUL), or NULL for an unterminated quote. */
static char *decode_value(char *p, char *eol)
{
	struct decoder d = {NORMAL, p, p, false};

	while (p < eol && is_blank(*p)) {
		p++;
		d.after_blank = true;
	}
	for (; p < eol; p++) {
		char c = *p;

		switch (d.mode) {
		case NORMAL:
			if (!decode_unquoted(&d, &p, eol))
				return d.sig;
			break;
		case DQ:
			if (c == '"') {
				d.mode = NORMAL;
			} else if (c == '\\' && p + 1 < eol && strchr("\"\\$`", p[1])) {
				*d.w++ = *++p;
			} else {
				*d.w++ = c;
			}
			d.sig = d.w;
			break;
		case SQ:
			if (c == '\'')
				d.mode = NORMAL;
			else
				*d.w++ = c;
			d.sig = d.w;
			break;
		}
	}
	return d.mode == NORMAL ? d.sig : NULL;
}

/* Parses buf in place; fields[] point into it ("" when absent). */
static void parse_os_release(char *text, size_t len, const char *fields[N_FIELDS])
{
	char *end = text + len, *line, *next;

	for (size_t i = 0; i < N_FIELDS; i++)
		fields[i] = "";
	for (line = text; line < end; line = next) {
		char *eol = memchr(line, '\n', (size_t)(end - line)), *p = line, *key, *val, *val_end;
		size_t key_len;

		if (!eol)
			eol = end;
		next = eol + (eol < end);
		while (p < eol && is_blank(*p))
			p++;
		if (p == eol || *p == '#')
			continue;
		if (eol - p > 7 && !strncmp(p, "export", 6) && is_blank(p[6]))
			for (p += 6; p < eol && is_blank(*p);)
				p++;
		key = p;
		while (p < eol && key_char(*p, p == key))
			p++;
		key_len = (size_t)(p - key);
		while (p < eol && is_blank(*p))
			p++;
		if (key_len == 0 || p == eol || *p != '=')
			continue;
		val = p + 1;
		if (!(val_end = decode_value(val, eol)))
			continue;
		*val_end = '\0'; /* at or before eol, which is consumed already */
		for (size_t i = 0; i < N_FIELDS; i++)
			if (strlen(field_keys[i]) == key_len && !memcmp(field_keys[i], key, key_len))
				fields[i] = val;
	}
}

/* node_exporter's versionRegex ^[0-9]+\.?[0-9]* and ParseFloat; 0 when
 * VERSION_ID does not start with a digit. */
static double major_minor(const char *v)
{
	char num[64];
	size_t n = 0;

	while (v[n] >= '0' && v[n] <= '9')
		n++;
	if (n == 0)
		return 0;
	if (v[n] == '.')
		for (n++; v[n] >= '0' && v[n] <= '9';)
			n++;
	if (n >= sizeof(num))
		return 0;
	memcpy(num, v, n);
	num[n] = '\0';
	return strtod(num, NULL);
}

static int os_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct os_state *st = ctx->state;
	const char *fields[N_FIELDS], *why = NULL, *path = NULL;
	struct label labels[N_FIELDS];
	double version;

	for (size_t i = 0; i < 2 && !path; i++)
		if (file_buf_read(&st->buf, st->paths[i], NULL, &why) == 0)
			path = st->paths[i];
	if (!path) {
		log_msg(LOG_DEBUG, "no os-release file found", "files=%s,%s err=\"%s\"",
			st->paths[0], st->paths[1], why ? why : "");
		return -1;
	}
	parse_os_release(st->buf.data, st->buf.len, fields);
	for (size_t i = 0; i < N_FIELDS; i++)
		labels[i] = (struct label){field_labels[i], fields[i]};
	registry_emit(reg, &info_desc, NULL, labels, N_FIELDS, 1, 0);
	version = major_minor(fields[F_VERSION_ID]);
	if (version > 0) {
		const struct label vlabels[] = {
			{"id", fields[F_ID]}, {"id_like", fields[F_ID_LIKE]}, {"name", fields[F_NAME]}};
		registry_emit(reg, &version_desc, NULL, vlabels, 3, version, 0);
	}
	return 0;
}

static void os_exit(struct collector_ctx *ctx)
{
	struct os_state *st = ctx->state;

	if (!st)
		return;
	free(st->paths[0]);
	free(st->paths[1]);
	file_buf_free(&st->buf);
	free(st);
	ctx->state = NULL;
}

static int os_init(struct collector_ctx *ctx)
{
	const char *rootfs = ctx->global ? ctx->global->rootfs : NULL;
	struct os_state *st = calloc(1, sizeof(*st));

	ctx->state = st;
	if (!st || !(st->paths[0] = collector_path(rootfs, "/", "etc/os-release")) ||
	    !(st->paths[1] = collector_path(rootfs, "/", "usr/lib/os-release"))) {
		os_exit(ctx);
		return -1;
	}
	return 0;
}

const struct collector collector_os = {
	.name = "os",
	.default_enabled = true,
	.init = os_init,
	.update = os_update,
	.exit = os_exit,
};
