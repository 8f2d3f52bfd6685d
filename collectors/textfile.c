/* SPDX-License-Identifier: MIT */
/* textfile: every *.prom file of a directory, in file name order, each
 * interval, as node_exporter's textfile collector reads them, except that
 * client-side timestamps are passed on instead of refused (docs/design.md,
 * "Client timestamps in textfiles": remote write carries them, and late data such as a 3-hours-old air quality
 * reading belongs at its own time).
 *
 * A file is all or nothing: one bad line skips the whole file, so a
 * half-written file never shows half its series. It is read in pieces (a
 * reused buffer; a longer line grows it) and each sample is emitted as it
 * is parsed, inside a registry transaction: committed at the end of a good
 * file, aborted (every emit of the file undone) on a bad line or a bound.
 * node_textfile_scrape_error says whether some file (or the directory) could
 * not be read; node_textfile_mtime_seconds{file} tells when each good file
 * last changed, so a writer that stopped can be alerted on.
 *
 * A condition is logged when it appears, not every interval: what was
 * logged last round is remembered, and the same line is not logged again
 * while the condition lasts.
 *
 * What one round costs is bounded per file: a file over max_file_bytes is
 * not read, one over max_series_per_file or with a series over
 * max_labels_per_series is skipped like a malformed one, and checking a
 * sample's labels is linear in their number. Memory is bounded beyond the
 * round too: buffers a big file grew are freed when the round ends. */
#include <dirent.h>
#include <errno.h>
#include <unistd.h>
#include <stdint.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "collectors/all.h"
#include "lib/readfile.h"
#include "collectors/textfile.h"
#include "collectors/textparse.h"
#include "lib/log.h"
#include "lib/buf.h"

#define QUOTED_MAX 512
/* What the file buffer and the parser may keep from one round to the next:
 * enough for ordinary textfiles to allocate nothing in steady state. */
#define KEEP_BYTES (1024 * 1024)
/* The parser's arrays for a piece are of the order of its size in bytes;
 * a bound with room to spare. */
#define PARSER_PER_FILE_BYTE 4
/* What a file is read in: lines of a piece are parsed and emitted before
 * the next is read. A setter lets tests make it small. */
static size_t piece_bytes = TEXTFILE_PIECE_BYTES;
/* The parser indexes samples and labels with 32 bits. */
#define COUNT_MAX UINT32_MAX

static const struct opt_desc textfile_opt_descs[] = {
	{"directory", OPT_STRING, TEXTFILE_DEFAULT_DIRECTORY,
	 offsetof(struct textfile_opts, directory), 0},
	{"max_file_bytes", OPT_INT, TEXTFILE_DEFAULT_MAX_FILE_BYTES,
	 offsetof(struct textfile_opts, max_file_bytes), 0},
	{"max_series_per_file", OPT_INT, TEXTFILE_DEFAULT_MAX_SERIES_PER_FILE,
	 offsetof(struct textfile_opts, max_series_per_file), COUNT_MAX},
	{"max_labels_per_series", OPT_INT, TEXTFILE_DEFAULT_MAX_LABELS_PER_SERIES,
	 offsetof(struct textfile_opts, max_labels_per_series), COUNT_MAX},
	{NULL, 0, NULL, 0, 0},
};

static const struct metric_desc mtime_desc = {
	"node_textfile_mtime_seconds", "Unixtime mtime of textfiles successfully read.",
	METRIC_GAUGE};
static const struct metric_desc scrape_error_desc = {
	"node_textfile_scrape_error",
	"1 if there was an error opening or reading a file, 0 otherwise", METRIC_GAUGE};

/* Hashes of the log lines of the previous and of this round. */
struct log_memory {
	uint64_t *before, *now;
	size_t n_before, n_now, cap_before, cap_now;
};

/* The *.prom names, NUL-separated in chars, sorted through offs. */
struct name_list {
	char *chars;
	size_t len, cap;
	size_t *offs;
	size_t n, cap_offs;
};

struct textfile_state {
	char *directory;   /* without a trailing '/' */
	struct name_list names;
	char *path;        /* directory/name of the file being read */
	char *help;        /* "Metric read from <path>", for families without HELP */
	size_t path_cap, help_cap;
	size_t max_file_bytes; /* 0: no bound */
	struct file_buf file;  /* the piece being parsed, and a line begun */
	struct textparse parser;
	/* A file with a HELP line after samples of its family is read twice:
	 * the first reading's families give the second its HELP texts. */
	struct textparse hints;
	bool second_reading;
	struct label *labels;  /* a sample's labels as registry_emit takes them */
	size_t cap_labels;
	size_t round_peak; /* bytes of the largest piece read this round */
	struct log_memory logged;
};

/* ---- log once per condition ------------------------------------------ */

static bool log_memory_is_new(struct log_memory *m, uint64_t key)
{
	if (grow_array((void **)&m->now, &m->cap_now, m->n_now + 1, sizeof(*m->now)) == 0)
		m->now[m->n_now++] = key;
	for (size_t i = 0; i < m->n_before; i++)
		if (m->before[i] == key)
			return false;
	return true;
}

static void log_memory_end_round(struct log_memory *m)
{
	uint64_t *tmp = m->before;
	size_t cap = m->cap_before;

	m->before = m->now;
	m->cap_before = m->cap_now;
	m->n_before = m->n_now;
	m->now = tmp;
	m->cap_now = cap;
	m->n_now = 0;
}

/* Logs msg with the formatted tail unless the same condition was logged
 * last round. key names the condition; NULL: the tail does (when the tail
 * holds a value that moves, such as a growing file's size, the key must
 * leave it out or the line would repeat every round). */
static void vnote(struct textfile_state *st, const char *msg, const char *key, const char *fmt,
		  va_list ap) __attribute__((format(printf, 4, 0)));

static void vnote(struct textfile_state *st, const char *msg, const char *key, const char *fmt,
		  va_list ap)
{
	char tail[2 * QUOTED_MAX];

	if (vsnprintf(tail, sizeof(tail), fmt, ap) < 0)
		return;
	if (!key)
		key = tail;
	if (log_memory_is_new(&st->logged,
			      XXH3_64bits_withSeed(key, strlen(key), XXH3_64bits(msg, strlen(msg)))))
		log_msg(LOG_WARN, msg, "%s", tail);
}

static void note(struct textfile_state *st, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note(struct textfile_state *st, const char *msg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(st, msg, NULL, fmt, ap);
	va_end(ap);
}

static void note_keyed(struct textfile_state *st, const char *msg, const char *key,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void note_keyed(struct textfile_state *st, const char *msg, const char *key,
		       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(st, msg, key, fmt, ap);
	va_end(ap);
}

static const char *quote(const char *s, char out[QUOTED_MAX])
{
	return log_quote(s, strlen(s), out, QUOTED_MAX);
}

/* ---- the directory --------------------------------------------------- */

static int name_list_add(struct name_list *l, const char *name)
{
	size_t n = strlen(name) + 1;

	if (grow_array((void **)&l->chars, &l->cap, l->len + n, 1) < 0 ||
	    grow_array((void **)&l->offs, &l->cap_offs, l->n + 1, sizeof(*l->offs)) < 0)
		return -1;
	memcpy(l->chars + l->len, name, n);
	l->offs[l->n++] = l->len;
	l->len += n;
	return 0;
}

static int cmp_names(const void *a, const void *b, void *chars)
{
	return strcmp((const char *)chars + *(const size_t *)a, (const char *)chars + *(const size_t *)b);
}

static bool is_prom_file(const char *name)
{
	size_t len = strlen(name);

	return len >= 5 && strcmp(name + len - 5, ".prom") == 0;
}

/* The *.prom names in the directory, in strcmp order (Go's ReadDir order). */
static int list_prom_files(struct textfile_state *st, const char **why)
{
	struct name_list *l = &st->names;
	DIR *dir = opendir(st->directory);
	struct dirent *e;

	l->len = l->n = 0;
	if (!dir) {
		*why = strerror(errno);
		return -1;
	}
	for (errno = 0; (e = readdir(dir)); errno = 0) {
		if (is_prom_file(e->d_name) && name_list_add(l, e->d_name) < 0) {
			errno = ENOMEM;
			break;
		}
	}
	*why = errno ? strerror(errno) : NULL;
	closedir(dir);
	if (*why)
		return -1;
	if (l->n > 1)
		qsort_r(l->offs, l->n, sizeof(*l->offs), cmp_names, l->chars);
	return 0;
}

/* ---- one file -------------------------------------------------------- */

static int set_path_and_help(struct textfile_state *st, const char *name)
{
	static const char prefix[] = "Metric read from ";
	size_t path_len = strlen(st->directory) + 1 + strlen(name);

	if (grow_array((void **)&st->path, &st->path_cap, path_len + 1, 1) < 0 ||
	    grow_array((void **)&st->help, &st->help_cap, sizeof(prefix) + path_len, 1) < 0)
		return -1;
	snprintf(st->path, st->path_cap, "%s%s%s", st->directory,
		 strcmp(st->directory, "/") == 0 ? "" : "/", name);
	snprintf(st->help, st->help_cap, "%s%s", prefix, st->path);
	return 0;
}

/* Asked of every sample: the first byte rules out nearly every name. */
static bool is_reserved(const char *name)
{
	return name[0] == 'n' &&
	       (strcmp(name, mtime_desc.name) == 0 || strcmp(name, scrape_error_desc.name) == 0);
}

struct drops {
	size_t duplicates, rejected;
	unsigned first_line;
};

static void drop(struct drops *d, size_t *counter, unsigned line)
{
	if (d->duplicates + d->rejected == 0)
		d->first_line = line;
	(*counter)++;
}

static void emit_sample(struct textfile_state *st, struct registry *reg,
			const struct textparse_sample *s, struct drops *d)
{
	struct textparse_family *f = &st->parser.families[s->family];
	const struct textparse_family *hint;
	struct metric_desc desc = {f->name, f->help, f->type};
	int rc;

	if (!desc.help) {
		hint = st->second_reading ? textparse_find(&st->hints, f->name, f->name_len) : NULL;
		desc.help = hint && hint->help ? hint->help : st->help;
		f->used_without_help = !st->second_reading;
	}
	if (is_reserved(s->name)) {
		drop(d, &d->duplicates, s->line);
		return;
	}
	if (grow_array((void **)&st->labels, &st->cap_labels, s->n_labels, sizeof(*st->labels)) < 0) {
		drop(d, &d->rejected, s->line);
		return;
	}
	for (uint32_t i = 0; i < s->n_labels; i++)
		st->labels[i] = textparse_label(&st->parser, s->first_label + i);
	/* The registry knows a series seen before this round, from this file,
	 * another file or another collector: the first one wins. */
	rc = registry_emit(reg, &desc, s->name, st->labels, s->n_labels, s->value,
			   s->has_ts ? s->ts_ms : 0);
	if (rc < 0)
		drop(d, &d->rejected, s->line);
	else if (rc > 0)
		drop(d, &d->duplicates, s->line);
}

static void note_drops(struct textfile_state *st, const struct drops *d)
{
	char qpath[QUOTED_MAX];

	if (d->duplicates + d->rejected)
		note(st, "textfile series dropped",
		     "file=%s duplicates=%zu rejected=%zu first_line=%u", quote(st->path, qpath),
		     d->duplicates, d->rejected, d->first_line);
}

static void note_too_large(struct textfile_state *st, const struct stat *sb)
{
	char qpath[QUOTED_MAX];

	/* Keyed by the path alone: a file that keeps growing is one
	 * condition, logged once. */
	note_keyed(st, "textfile skipped", st->path,
		   "file=%s size=%jd err=\"over max_file_bytes (%zu)\"", quote(st->path, qpath),
		   (intmax_t)sb->st_size, st->max_file_bytes);
}

static int note_unreadable(struct textfile_state *st, const char *why)
{
	char qpath[QUOTED_MAX], qwhy[QUOTED_MAX];

	note(st, "textfile unreadable", "file=%s err=%s", quote(st->path, qpath), quote(why, qwhy));
	return -1;
}

static int note_parse_error(struct textfile_state *st)
{
	char qpath[QUOTED_MAX], qwhy[QUOTED_MAX], at[QUOTED_MAX];

	snprintf(at, sizeof(at), "%s:%u", st->path, st->parser.error.line);
	note(st, "textfile skipped", "at=%s err=%s", quote(at, qpath),
	     quote(st->parser.error.reason, qwhy));
	return -1;
}

/* Opens st->path: its descriptor, or -1 (logged) when it cannot be read
 * or fstat says it is over max_file_bytes. */
static int open_file(struct textfile_state *st, struct stat *sb)
{
	const char *why;
	int fd = file_open_regular(st->path, sb, st->max_file_bytes, &why);

	if (fd == FILE_BUF_TOO_LARGE)
		note_too_large(st, sb);
	else if (fd < 0)
		note_unreadable(st, why);
	return fd < 0 ? -1 : fd;
}

/* Room to read into: the piece, or twice the line begun when it fills the
 * piece (up to one byte past max_file_bytes: a line that long ends the
 * file anyway). How many bytes to read next, or 0 on ENOMEM. */
static size_t make_room(struct textfile_state *st)
{
	struct file_buf *b = &st->file;
	size_t need = b->len < piece_bytes ? piece_bytes : 2 * b->len;

	if (st->max_file_bytes && need > st->max_file_bytes + 1)
		need = st->max_file_bytes + 1;
	if (need < b->len + 1)
		need = b->len + 1;
	if (need > st->round_peak)
		st->round_peak = need;
	if (grow_array((void **)&b->data, &b->cap, need + 1, 1) < 0)
		return 0;
	return need - b->len;
}

/* The complete lines read so far parsed, their samples emitted (unless a
 * late HELP line means this reading only learns the HELP texts); the
 * incomplete last line moved to the front. 0, or -1 (logged). */
static int parse_piece(struct textfile_state *st, struct registry *reg, struct drops *d,
		       bool *emitting)
{
	struct file_buf *b = &st->file;
	size_t used;

	if (textparse_feed(&st->parser, b->data, b->len, &used) < 0)
		return note_parse_error(st);
	for (size_t i = 0; *emitting && i < st->parser.n_samples; i++)
		emit_sample(st, reg, &st->parser.samples[i], d);
	if (*emitting && st->parser.late_help && !st->second_reading) {
		registry_txn_abort(reg);
		*emitting = false;
	}
	memmove(b->data, b->data + used, b->len - used);
	b->len -= used;
	return 0;
}

/* One reading of the open file from its start: 0 when it was good (its
 * samples emitted unless *emitting went false), else -1 (logged). */
static int read_pieces(struct textfile_state *st, struct registry *reg, int fd,
		       const struct stat *sb, struct drops *d, bool *emitting)
{
	struct file_buf *b = &st->file;
	size_t total = 0;

	b->len = 0;
	textparse_begin(&st->parser);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return note_unreadable(st, strerror(errno));
	for (;;) {
		size_t room = make_room(st);
		ssize_t n;

		if (!room)
			return note_unreadable(st, "out of memory");
		n = read(fd, b->data + b->len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return note_unreadable(st, strerror(errno));
		if (n == 0)
			break;
		total += (size_t)n;
		b->len += (size_t)n;
		if (st->max_file_bytes && total > st->max_file_bytes) {
			note_too_large(st, sb); /* it grew while read */
			return -1;
		}
		if (parse_piece(st, reg, d, emitting) < 0)
			return -1;
	}
	if (textparse_end(&st->parser, b->data, b->len) < 0)
		return note_parse_error(st);
	return 0;
}

/* The file's samples emitted inside a transaction, committed when the file
 * was good: 0, or -1 (logged, nothing of it emitted). A HELP line after
 * samples of its family: the first reading only checks the file and learns
 * the HELP texts, and a second one emits with them. */
static int stream_file(struct textfile_state *st, struct registry *reg, int fd,
		       const struct stat *sb)
{
	struct drops d = {0};
	bool emitting = true;
	struct textparse swap;
	int rc;

	st->second_reading = false;
	registry_txn_begin(reg);
	rc = read_pieces(st, reg, fd, sb, &d, &emitting);
	if (rc == 0 && !emitting) {
		swap = st->hints, st->hints = st->parser, st->parser = swap;
		st->second_reading = true;
		d = (struct drops){0};
		emitting = true;
		registry_txn_begin(reg);
		rc = read_pieces(st, reg, fd, sb, &d, &emitting);
	}
	if (rc < 0) {
		registry_txn_abort(reg);
		return -1;
	}
	registry_txn_commit(reg);
	note_drops(st, &d);
	return 0;
}

/* 0, or -1 when the file could not be read or parsed (nothing emitted). */
static int collect_file(struct textfile_state *st, struct registry *reg, const char *name)
{
	char qpath[QUOTED_MAX];
	struct label file_label;
	struct stat sb;
	int fd, rc;

	if (set_path_and_help(st, name) < 0) {
		note(st, "textfile skipped", "file=%s err=\"out of memory\"", quote(name, qpath));
		return -1;
	}
	if ((fd = open_file(st, &sb)) < 0)
		return -1;
	rc = stream_file(st, reg, fd, &sb);
	close(fd);
	if (rc < 0)
		return -1;
	file_label = (struct label){"file", st->path};
	/* Whole seconds, as node_exporter reports it. */
	registry_emit(reg, &mtime_desc, NULL, &file_label, 1, (double)sb.st_mtim.tv_sec, 0);
	return 0;
}

/* ---- the collector --------------------------------------------------- */

/* 0, or -1 when the directory or some file in it could not be read. */
static int collect_directory(struct textfile_state *st, struct registry *reg)
{
	char qdir[QUOTED_MAX], qwhy[QUOTED_MAX];
	const char *why;
	int rc = 0;

	if (list_prom_files(st, &why) < 0) {
		note(st, "textfile directory unreadable", "dir=%s err=%s",
		     quote(st->directory, qdir), quote(why, qwhy));
		return -1;
	}
	for (size_t i = 0; i < st->names.n; i++)
		if (collect_file(st, reg, st->names.chars + st->names.offs[i]) < 0)
			rc = -1; /* the other files still count */
	return rc;
}

/* A long line's memory must not outlive it: buffers past KEEP_BYTES that
 * are more than this round needed (twice its largest piece, a piece
 * holding at least one whole line, for the read buffer, PARSER_PER_FILE_BYTE
 * times that for the parser's arrays) are freed, so a deleted or shrunk
 * file gives its memory back a round later. Buffers a file needs every
 * round are kept: freeing and faulting them in again every round showed as
 * CPU per sample in make bench.
 * free() alone may keep mid-sized blocks in the heap, so glibc is asked to
 * give the pages back. */
static void release_big_buffers(struct textfile_state *st)
{
	size_t need = st->round_peak;
	bool freed = file_buf_shrink(&st->file, need > KEEP_BYTES / 2 ? 2 * need : KEEP_BYTES);

	freed = textparse_trim(&st->parser, need > KEEP_BYTES / PARSER_PER_FILE_BYTE ?
						    PARSER_PER_FILE_BYTE * need : KEEP_BYTES) ||
		freed;
	freed = textparse_trim(&st->hints, KEEP_BYTES) || freed;
	st->round_peak = 0;
	if (st->cap_labels * sizeof(*st->labels) > KEEP_BYTES) { /* a line of many labels */
		free(st->labels);
		st->labels = NULL;
		st->cap_labels = 0;
		freed = true;
	}
#ifdef __GLIBC__
	if (freed)
		malloc_trim(0);
#else
	(void)freed;
#endif
}

/* Always 0: as in node_exporter, what went wrong is in
 * node_textfile_scrape_error, not in the collector's success. */
static int textfile_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct textfile_state *st = ctx->state;
	bool failed = false;

	if (st->directory[0])
		failed = collect_directory(st, reg) < 0;
	registry_emit(reg, &scrape_error_desc, NULL, NULL, 0, failed ? 1 : 0, 0);
	log_memory_end_round(&st->logged);
	release_big_buffers(st);
	return 0;
}

static void textfile_exit(struct collector_ctx *ctx)
{
	struct textfile_state *st = ctx->state;

	if (!st)
		return;
	free(st->directory);
	free(st->names.chars);
	free(st->names.offs);
	free(st->path);
	free(st->help);
	file_buf_free(&st->file);
	textparse_free(&st->parser);
	textparse_free(&st->hints);
	free(st->labels);
	free(st->logged.before);
	free(st->logged.now);
	free(st);
	ctx->state = NULL;
}

/* The limits from the options, or their defaults without options. */
static void set_limits(struct textfile_state *st, const struct textfile_opts *opts)
{
	int64_t file_bytes = strtoll(TEXTFILE_DEFAULT_MAX_FILE_BYTES, NULL, 10),
		series = strtoll(TEXTFILE_DEFAULT_MAX_SERIES_PER_FILE, NULL, 10),
		labels = strtoll(TEXTFILE_DEFAULT_MAX_LABELS_PER_SERIES, NULL, 10);

	if (opts) {
		file_bytes = opts->max_file_bytes;
		series = opts->max_series_per_file;
		labels = opts->max_labels_per_series;
	}
	st->max_file_bytes = (size_t)file_bytes;
	st->parser.limits = (struct textparse_limits){(size_t)series, (size_t)labels};
	st->hints.limits = st->parser.limits;
}

static int textfile_init(struct collector_ctx *ctx)
{
	const struct textfile_opts *opts = ctx->opts;
	const char *dir = opts && opts->directory ? opts->directory : TEXTFILE_DEFAULT_DIRECTORY;
	struct textfile_state *st = calloc(1, sizeof(*st));
	size_t len = strlen(dir);

	/* "" disables, as node_exporter's empty default does. "dir/" loses its
	 * '/', so that file labels read "dir/x.prom", never "dir//x.prom". */
	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (!st || !(st->directory = strndup(dir, len))) {
		free(st);
		log_msg(LOG_ERROR, "textfile: out of memory", NULL);
		return -1;
	}
	textparse_init(&st->parser);
	textparse_init(&st->hints);
	set_limits(st, opts);
	ctx->state = st;
	return 0;
}

const struct collector collector_textfile = {
	.name = "textfile",
	.default_enabled = true,
	.opts_size = sizeof(struct textfile_opts),
	.opts = textfile_opt_descs,
	.init = textfile_init,
	.update = textfile_update,
	.exit = textfile_exit,
};

void textfile_set_piece_bytes(size_t bytes)
{
	piece_bytes = bytes ? bytes : TEXTFILE_PIECE_BYTES;
}
