/* SPDX-License-Identifier: MIT */
/* textparse: the Prometheus text exposition format (version 0.0.4), parsed
 * the way Prometheus' own Go parser (expfmt.TextParser, which node_exporter's
 * textfile collector uses) parses it, with two deliberate differences:
 *   - client-side timestamps are kept (node_exporter refuses them; remote
 *     write carries them natively, see docs/design.md);
 *   - blanks after the value or the timestamp are tolerated.
 *
 * Like expfmt, the last line must end with '\n': a file caught half-written
 * by a non-atomic writer is refused rather than read short.
 *
 * The parser works in place: it unescapes HELP texts and label values inside
 * the caller's buffer and NUL-terminates names and values there (over the
 * byte that ended them: a blank, '=', '"', '{' or the line's '\n'), so a
 * sample's strings point into that buffer and nothing is copied. Families'
 * names and HELP texts are copied (a text has few families): they outlive
 * the piece they were read from, so a text can be fed in pieces
 * (textparse_begin, textparse_feed, textparse_end), each piece's samples
 * used before the next is read. Its arrays are reused from one parse to the
 * next: steady state allocates nothing. */
#ifndef BPFPUSH_TEXTPARSE_H
#define BPFPUSH_TEXTPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collectors/nameset.h"
#include "lib/hashmap.h"
#include "series/registry.h"

#define TEXTPARSE_REASON_MAX 160

struct textparse_family {
	const char *name;      /* for a histogram the base name, without _bucket */
	size_t name_len;
	const char *help;      /* NULL when the text has no HELP for it */
	enum metric_type type; /* METRIC_UNTYPED unless a TYPE line said otherwise */
	bool typed;            /* a TYPE line or a first sample fixed the type */
	/* Set by the caller when it used a sample of the family without HELP:
	 * a HELP line for it after that sets textparse.late_help. */
	bool used_without_help;
	unsigned line;         /* where it first appeared */
	uint32_t name_off, help_off; /* in strings; help_off UINT32_MAX: none */
};

/* 40 bytes, not 48: textparse_parse holds one per sample line of the text
 * (a piece fed holds its own only). */
struct textparse_sample {
	const char *name;      /* the series' own name: foo_bucket, foo_sum... */
	uint32_t family;       /* index into families */
	uint32_t first_label;  /* index into labels */
	uint32_t n_labels;
	uint32_t line : 31;    /* a line past 2^31 (a 2 GiB file) wraps, in logs only */
	uint32_t has_ts : 1;
	double value;
	int64_t ts_ms;         /* valid when has_ts */
};
_Static_assert(sizeof(struct textparse_sample) == 40, "a sample line's record stays small");

/* Bounds on what one text may hold; past one, the parse fails (and the
 * caller skips the whole text). 0: no bound. */
struct textparse_limits {
	size_t max_samples; /* sample lines in the text */
	size_t max_labels;  /* labels between one sample's braces */
};

/* A sample's label: where its name and value start in the text (both
 * NUL-terminated there). Offsets, not pointers: 8 bytes a label instead
 * of 16, and a textfile line holds two or three. textparse_label gives
 * it as a struct label. */
struct textparse_label {
	uint32_t name, value;
};

struct textparse_error {
	unsigned line; /* 1-based */
	char reason[TEXTPARSE_REASON_MAX];
};

struct textparse {
	struct textparse_family *families;
	size_t n_families, cap_families;
	char *strings;         /* the families' names and HELP texts */
	size_t len_strings, cap_strings;
	struct textparse_sample *samples; /* of the piece parsed last */
	size_t n_samples, cap_samples;
	size_t n_total;        /* sample lines in the text so far */
	unsigned line;         /* lines of the text so far */
	bool late_help;        /* see textparse_family.used_without_help */
	const char *text;      /* the text parsed last: what labels index */
	struct textparse_label *labels; /* the samples' labels, in file order */
	size_t n_labels, cap_labels;
	struct hashmap index;  /* families by name: index + 1 */
	/* The name resolved last and its family: consecutive lines are
	 * nearly always of one family, so most lines skip the hash. */
	const char *last_name;
	size_t last_name_len;
	uint32_t last_family;
	struct nameset label_names; /* of the sample being parsed: duplicates */
	struct textparse_limits limits; /* set by the caller, kept across parses */
	struct textparse_error error;
};

void textparse_init(struct textparse *p);
void textparse_free(struct textparse *p);

/* Frees what the arrays hold when it is more than keep_bytes, so that one
 * huge text does not pin its memory after it is gone; the next parse
 * allocates again. Keeps the limits. Returns whether it freed them. */
bool textparse_trim(struct textparse *p, size_t keep_bytes);

static inline struct label textparse_label(const struct textparse *p, size_t i)
{
	return (struct label){p->text + p->labels[i].name, p->text + p->labels[i].value};
}

/* Parses text[0..len), writing into it (see above); a text of 4 GiB or
 * more is refused (labels are 32-bit offsets into it). Returns 0, or -1 with
 * p->error set (the first error; the result is then incomplete and must
 * not be used). The result is valid until the next parse or until text
 * changes. */
int textparse_parse(struct textparse *p, char *text, size_t len);

/* A text fed in pieces: begin; feed each piece (writing into it), which
 * parses its complete lines (up to its last '\n'), leaves in samples and
 * labels that piece's only, and sets *used to the bytes parsed (the rest,
 * an incomplete line, starts the next piece); end with what was left
 * after the last piece (an error unless blanks: the last line has no
 * newline). feed and end return 0, or -1 with p->error set. */
void textparse_begin(struct textparse *p);
int textparse_feed(struct textparse *p, char *text, size_t len, size_t *used);
int textparse_end(struct textparse *p, const char *rest, size_t len);
/* The family named name[0..len) in the text so far, or NULL. */
const struct textparse_family *textparse_find(const struct textparse *p, const char *name,
					      size_t len);

#endif
