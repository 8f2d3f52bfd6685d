/* SPDX-License-Identifier: MIT */
/* relabel: see relabel.h. The working set is Prometheus' labels.Builder:
 * an unordered array of owned (name, value) strings where setting "" is
 * deleting, sorted once at the end. The actions that walk every label
 * (labelmap, labeldrop, labelkeep) walk a snapshot taken before the rule,
 * as Builder.Range does. */
#include "series/relabel.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <inttypes.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "lib/buf.h"
#include "lib/md5.h"
#include "lib/names.h"

struct rule {
	enum relabel_action action;
	char **source;
	size_t n_source;
	char *separator, *target, *replacement;
	uint64_t modulus;
	pcre2_code *re;
	pcre2_match_data *md; /* reused by every match of this rule */
};

/* seq orders the walks as Builder.Range does: labels of the input never
 * set (seq 0) first, by name, then the others in the order they were first
 * set, which decides the winner when two labelmap results collide. */
struct wlabel {
	char *name, *value;
	uint64_t seq;
};

struct relabel_rules {
	struct rule *rules;
	size_t n_rules;
	uint64_t seq;               /* the last wlabel.seq given */
	struct wlabel *set;         /* the labels being relabeled */
	size_t n_set, cap_set;
	struct wlabel *snap;        /* a copy of set for the walking actions */
	size_t n_snap, cap_snap;
	struct label *view;         /* what relabel_apply hands out */
	size_t cap_view;
	struct buf joined, expanded;
};

/* ---- compiling --------------------------------------------------------- */

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static int compile_regex(struct rule *ru, const char *text, char *why, size_t why_size)
{
	uint32_t opts = PCRE2_UTF | PCRE2_DOLLAR_ENDONLY;
	PCRE2_SIZE at;
	char *anchored;
	int err;

#ifdef PCRE2_MATCH_INVALID_UTF
	opts |= PCRE2_MATCH_INVALID_UTF; /* Go's regexp matches any bytes */
#endif
	/* Exactly Prometheus' anchoring; $ means end of text, as in Go, and
	 * only \n is a newline (to . and to (?m)), whatever PCRE2's build
	 * default is. */
	if (asprintf(&anchored, "(*LF)^(?:%s)$", text ? text : "(.*)") < 0)
		return snprintf(why, why_size, "out of memory"), -1;
	ru->re = pcre2_compile((PCRE2_SPTR)anchored, PCRE2_ZERO_TERMINATED, opts, &err, &at, NULL);
	free(anchored);
	if (!ru->re) {
		PCRE2_UCHAR msg[128];

		pcre2_get_error_message(err, msg, sizeof(msg));
		snprintf(why, why_size, "invalid regex: %s", (const char *)msg);
		return -1;
	}
	/* Native code where PCRE2 and the host allow it (a first round matches
	 * every rule against every new series); where refused (no JIT in the
	 * build, W^X enforced) the interpreter runs, with the same results. */
	(void)pcre2_jit_compile(ru->re, PCRE2_JIT_COMPLETE);
	ru->md = pcre2_match_data_create_from_pattern(ru->re, NULL);
	if (!ru->md)
		return snprintf(why, why_size, "out of memory"), -1;
	return 0;
}

static int compile_rule(struct rule *ru, const struct relabel_config *rc, char *why,
			size_t why_size)
{
	ru->action = rc->action;
	ru->modulus = rc->modulus > 0 ? (uint64_t)rc->modulus : 0;
	ru->separator = strdup(rc->separator ? rc->separator : ";");
	ru->target = dup_or_empty(rc->target_label);
	ru->replacement = strdup(rc->replacement ? rc->replacement : "$1");
	ru->source = calloc(rc->n_source_labels ? rc->n_source_labels : 1, sizeof(char *));
	if (!ru->separator || !ru->target || !ru->replacement || !ru->source)
		return snprintf(why, why_size, "out of memory"), -1;
	for (; ru->n_source < rc->n_source_labels; ru->n_source++)
		if (!(ru->source[ru->n_source] = strdup(rc->source_labels[ru->n_source])))
			return snprintf(why, why_size, "out of memory"), -1;
	return compile_regex(ru, rc->regex, why, why_size);
}

/* lowercase and uppercase map every Unicode letter, as Go's strings.ToLower
 * and ToUpper do; glibc's towlower/towupper in C.UTF-8 hold the same simple
 * case mappings. The locale is opened once, at the first compile (it reads
 * a file); where it is missing, only ASCII letters are mapped. */
static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void open_utf8_locale(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

struct relabel_rules *relabel_compile(const struct relabel_list *list, char *why,
				      size_t why_size)
{
	struct relabel_rules *r = calloc(1, sizeof(*r));

	pthread_once(&utf8_once, open_utf8_locale);
	if (!r || !(r->rules = calloc(list->n ? list->n : 1, sizeof(*r->rules)))) {
		free(r);
		snprintf(why, why_size, "out of memory");
		return NULL;
	}
	for (; r->n_rules < list->n; r->n_rules++)
		if (compile_rule(&r->rules[r->n_rules], &list->rules[r->n_rules], why,
				 why_size) < 0) {
			r->n_rules++; /* freed with the others */
			relabel_free(r);
			return NULL;
		}
	return r;
}

static void wl_clear(struct wlabel *w, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free(w[i].name);
		free(w[i].value);
	}
	*n = 0;
}

void relabel_free(struct relabel_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_rules; i++) {
		struct rule *ru = &r->rules[i];

		for (size_t j = 0; j < ru->n_source; j++)
			free(ru->source[j]);
		free(ru->source);
		free(ru->separator);
		free(ru->target);
		free(ru->replacement);
		pcre2_match_data_free(ru->md);
		pcre2_code_free(ru->re);
	}
	free(r->rules);
	wl_clear(r->set, &r->n_set);
	wl_clear(r->snap, &r->n_snap);
	free(r->set);
	free(r->snap);
	free(r->view);
	buf_free(&r->joined);
	buf_free(&r->expanded);
	free(r);
}

/* ---- the working set (labels.Builder) ----------------------------------- */

static struct wlabel *find(struct relabel_rules *r, const char *name)
{
	for (size_t i = 0; i < r->n_set; i++)
		if (!strcmp(r->set[i].name, name))
			return &r->set[i];
	return NULL;
}

static const char *get(struct relabel_rules *r, const char *name)
{
	struct wlabel *l = find(r, name);

	return l ? l->value : "";
}

static void del(struct relabel_rules *r, const char *name)
{
	struct wlabel *l = find(r, name);

	if (!l)
		return;
	free(l->name);
	free(l->value);
	*l = r->set[--r->n_set];
}

/* value (len bytes) under name; an empty value deletes, as Builder.Set. */
static int set(struct relabel_rules *r, const char *name, const char *value, size_t len)
{
	struct wlabel *l;
	char *v;

	if (!len) {
		del(r, name);
		return 0;
	}
	if (!(v = strndup(value, len)))
		return -1;
	if ((l = find(r, name))) {
		free(l->value);
		l->value = v;
		if (!l->seq)
			l->seq = ++r->seq;
		return 0;
	}
	if (grow_array((void **)&r->set, &r->cap_set, r->n_set + 1, sizeof(*r->set)) < 0 ||
	    !(r->set[r->n_set].name = strdup(name))) {
		free(v);
		return -1;
	}
	r->set[r->n_set].seq = ++r->seq;
	r->set[r->n_set++].value = v;
	return 0;
}

static int copy_labels(struct wlabel **dst, size_t *n, size_t *cap, const struct wlabel *src,
		       const struct label *in, size_t n_in)
{
	if (grow_array((void **)dst, cap, n_in ? n_in : 1, sizeof(**dst)) < 0)
		return -1;
	for (size_t i = 0; i < n_in; i++) {
		const char *name = src ? src[i].name : in[i].name;
		const char *value = src ? src[i].value : in[i].value;

		(*dst)[i].name = strdup(name);
		(*dst)[i].value = strdup(value);
		(*dst)[i].seq = src ? src[i].seq : 0;
		*n = i + 1;
		if (!(*dst)[i].name || !(*dst)[i].value)
			return -1;
	}
	return 0;
}

static int range_order(const void *pa, const void *pb)
{
	const struct wlabel *a = pa, *b = pb;

	if (!a->seq && !b->seq)
		return strcmp(a->name, b->name);
	if (!a->seq || !b->seq)
		return a->seq ? 1 : -1;
	return a->seq < b->seq ? -1 : 1;
}

static int take_snapshot(struct relabel_rules *r)
{
	wl_clear(r->snap, &r->n_snap);
	if (copy_labels(&r->snap, &r->n_snap, &r->cap_snap, r->set, NULL, r->n_set) < 0)
		return -1;
	qsort(r->snap, r->n_snap, sizeof(*r->snap), range_order);
	return 0;
}

/* ---- matching and templates ---------------------------------------------- */

/* rc of pcre2_match: > 0 matched (groups below rc may be set), else none. */
static int match(struct rule *ru, const char *s, size_t len)
{
	int rc = pcre2_match(ru->re, (PCRE2_SPTR)s, len, 0, 0, ru->md, NULL);

	return rc > 0 ? rc : 0;
}

/* Go's regexp name characters; bytes of multibyte UTF-8 count as letters. */
static bool name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c >= 0x80;
}

/* The group a template name refers to, or -1: a decimal number without a
 * leading zero is an index, anything else a group name. */
static int group_of(const struct rule *ru, const char *name, size_t len)
{
	char buf[64];
	long num = 0;
	size_t i;

	for (i = 0; i < len && name[i] >= '0' && name[i] <= '9' && num < 100000000; i++)
		num = num * 10 + (name[i] - '0');
	if (i == len && !(name[0] == '0' && len > 1))
		return num <= INT32_MAX ? (int)num : -1;
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, name, len);
	buf[len] = 0;
	return pcre2_substring_number_from_name(ru->re, (PCRE2_SPTR)buf);
}

/* Length of the $name or ${name} reference at t (t[0] == '$'), with the
 * name's start and length; 0 when malformed, where Go keeps the $. */
static size_t reference(const char *t, const char **name, size_t *len)
{
	size_t i = 1, brace = t[1] == '{';

	i += brace;
	*name = t + i;
	while (name_char((unsigned char)t[i]))
		i++;
	*len = (size_t)(t + i - *name);
	if (!*len || (brace && t[i] != '}'))
		return 0;
	return i + brace;
}

/* Expands tmpl as Go's Regexp.ExpandString into r->expanded (not
 * NUL-terminated). ngroups is match()'s result for subject s. */
static int expand(struct relabel_rules *r, struct rule *ru, const char *tmpl, const char *s,
		  int ngroups)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(ru->md);

	buf_reset(&r->expanded);
	if (buf_reserve(&r->expanded, 1) < 0) /* data never NULL, even when empty */
		return -1;
	for (const char *t = tmpl; *t;) {
		const char *name, *dollar = strchr(t, '$');
		size_t len, n;
		int g;

		if (!dollar)
			return buf_append(&r->expanded, t, strlen(t));
		if (buf_append(&r->expanded, t, (size_t)(dollar - t)) < 0)
			return -1;
		t = dollar;
		if (t[1] == '$' || !(n = reference(t, &name, &len))) {
			if (buf_append(&r->expanded, "$", 1) < 0)
				return -1;
			t += t[1] == '$' ? 2 : 1;
			continue;
		}
		t += n;
		g = group_of(ru, name, len);
		if (g >= 0 && g < ngroups && ov[2 * g] != PCRE2_UNSET &&
		    buf_append(&r->expanded, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]) < 0)
			return -1;
	}
	return 0;
}

static int set_expanded(struct relabel_rules *r, const char *name)
{
	return set(r, name, (const char *)r->expanded.data, r->expanded.len);
}

/* The source values joined by the separator, NUL-terminated. */
static int join_sources(struct relabel_rules *r, const struct rule *ru)
{
	buf_reset(&r->joined);
	for (size_t i = 0; i < ru->n_source; i++) {
		const char *v = get(r, ru->source[i]);

		if ((i && buf_append(&r->joined, ru->separator, strlen(ru->separator)) < 0) ||
		    buf_append(&r->joined, v, strlen(v)) < 0)
			return -1;
	}
	if (buf_append(&r->joined, "", 1) < 0)
		return -1;
	r->joined.len--;
	return 0;
}

/* ---- the actions ----------------------------------------------------------- */

static int do_replace(struct relabel_rules *r, struct rule *ru)
{
	const char *val = (const char *)r->joined.data;
	int ng = match(ru, val, r->joined.len), rc;
	char *target;

	if (!ng) /* no match, no replacement */
		return 0;
	if (expand(r, ru, ru->target, val, ng) < 0 ||
	    !(target = strndup((const char *)r->expanded.data, r->expanded.len)))
		return -1;
	rc = 0;
	/* A target that expands to an invalid name is skipped, not an error. */
	if (valid_label_name(target, strlen(target)))
		rc = expand(r, ru, ru->replacement, val, ng) < 0 ? -1 : set_expanded(r, target);
	free(target);
	return rc;
}

/* The low 8 bytes of the MD5, big-endian, modulo modulus, in decimal. */
static int do_hashmod(struct relabel_rules *r, const struct rule *ru)
{
	uint8_t digest[16];
	uint64_t h = 0;
	char text[24];

	md5(r->joined.data ? r->joined.data : (const uint8_t *)"", r->joined.len, digest);
	for (int i = 8; i < 16; i++)
		h = h << 8 | digest[i];
	snprintf(text, sizeof(text), "%" PRIu64, h % ru->modulus);
	return set(r, ru->target, text, strlen(text));
}

/* The case actions: see open_utf8_locale. */
static void case_ascii(char *s, size_t len, bool upper)
{
	for (size_t i = 0; i < len; i++) {
		if (upper && s[i] >= 'a' && s[i] <= 'z')
			s[i] = (char)(s[i] - 'a' + 'A');
		else if (!upper && s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	}
}

/* s[0..len) case-mapped into r->expanded, character by character; a byte
 * that does not start a valid UTF-8 character is kept as it is. */
static int case_unicode(struct relabel_rules *r, const char *s, size_t len, bool upper)
{
	locale_t old = uselocale(utf8_locale);
	mbstate_t in = {0}, out = {0};
	char enc[MB_LEN_MAX];
	int rc = 0;

	buf_reset(&r->expanded);
	for (size_t i = 0, n; i < len && rc == 0; i += n) {
		wchar_t wc;

		n = mbrtowc(&wc, s + i, len - i, &in);
		if (n == 0 || n > len - i) { /* NUL, invalid or cut short */
			memset(&in, 0, sizeof(in));
			n = 1;
			rc = buf_append(&r->expanded, s + i, 1);
			continue;
		}
		wc = upper ? (wchar_t)towupper((wint_t)wc) : (wchar_t)towlower((wint_t)wc);
		size_t m = wcrtomb(enc, wc, &out);
		rc = m == (size_t)-1 ? buf_append(&r->expanded, s + i, n)
				     : buf_append(&r->expanded, enc, m);
	}
	uselocale(old);
	return rc;
}

static int do_case(struct relabel_rules *r, const struct rule *ru, bool upper)
{
	char *s = (char *)r->joined.data;

	if (!utf8_locale) {
		case_ascii(s, r->joined.len, upper);
		return set(r, ru->target, s, r->joined.len);
	}
	if (case_unicode(r, s, r->joined.len, upper) < 0)
		return -1;
	return set(r, ru->target, (const char *)r->expanded.data, r->expanded.len);
}

static int do_labelmap(struct relabel_rules *r, struct rule *ru)
{
	if (take_snapshot(r) < 0)
		return -1;
	for (size_t i = 0; i < r->n_snap; i++) {
		const struct wlabel *l = &r->snap[i];
		int ng = match(ru, l->name, strlen(l->name));

		if (!ng)
			continue;
		if (expand(r, ru, ru->replacement, l->name, ng) < 0 ||
		    buf_append(&r->expanded, "", 1) < 0 ||
		    set(r, (const char *)r->expanded.data, l->value, strlen(l->value)) < 0)
			return -1;
	}
	return 0;
}

/* In place: whether a label goes depends on its name only, which no label
 * of this rule changes, so this is the same as walking a snapshot. */
static void do_labelfilter(struct relabel_rules *r, struct rule *ru, bool keep)
{
	size_t kept = 0;

	for (size_t i = 0; i < r->n_set; i++) {
		struct wlabel *l = &r->set[i];

		if (!match(ru, l->name, strlen(l->name)) == !keep) {
			r->set[kept++] = *l;
			continue;
		}
		free(l->name);
		free(l->value);
	}
	r->n_set = kept;
}

/* 1 keep, 0 drop, -1 ENOMEM. */
static int apply_rule(struct relabel_rules *r, struct rule *ru)
{
	const char *val;

	if (join_sources(r, ru) < 0)
		return -1;
	val = (const char *)r->joined.data;
	switch (ru->action) {
	case RELABEL_DROP:
		return !match(ru, val, r->joined.len);
	case RELABEL_KEEP:
		return match(ru, val, r->joined.len) > 0;
	case RELABEL_DROPEQUAL:
		return strcmp(get(r, ru->target), val) != 0;
	case RELABEL_KEEPEQUAL:
		return strcmp(get(r, ru->target), val) == 0;
	case RELABEL_REPLACE:
		return do_replace(r, ru) < 0 ? -1 : 1;
	case RELABEL_LOWERCASE:
	case RELABEL_UPPERCASE:
		return do_case(r, ru, ru->action == RELABEL_UPPERCASE) < 0 ? -1 : 1;
	case RELABEL_HASHMOD:
		return do_hashmod(r, ru) < 0 ? -1 : 1;
	case RELABEL_LABELMAP:
		return do_labelmap(r, ru) < 0 ? -1 : 1;
	case RELABEL_LABELDROP:
	case RELABEL_LABELKEEP:
		do_labelfilter(r, ru, ru->action == RELABEL_LABELKEEP);
		return 1;
	}
	return 1;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

int relabel_apply(struct relabel_rules *r, const struct label *in, size_t n_in,
		  const struct label **out, size_t *n_out)
{
	wl_clear(r->set, &r->n_set);
	r->seq = 0;
	if (copy_labels(&r->set, &r->n_set, &r->cap_set, NULL, in, n_in) < 0)
		return -1;
	for (size_t i = 0; i < r->n_rules; i++) {
		int rc = apply_rule(r, &r->rules[i]);

		if (rc <= 0)
			return rc;
	}
	if (grow_array((void **)&r->view, &r->cap_view, r->n_set ? r->n_set : 1,
		       sizeof(*r->view)) < 0)
		return -1;
	for (size_t i = 0; i < r->n_set; i++)
		r->view[i] = (struct label){r->set[i].name, r->set[i].value};
	qsort(r->view, r->n_set, sizeof(*r->view), by_name);
	*out = r->view;
	*n_out = r->n_set;
	return 1;
}
