/* SPDX-License-Identifier: MIT */
/* The emit path's common case, without building anything: a collector
 * emits the series it emitted at this position last round, so its labels
 * are compared with that node's key where they stand, merged with the base
 * labels on the fly. No label is validated, copied or encoded (a few are
 * sorted, by pointer): the key was built from labels that passed those checks, and labels whose
 * encoding equals it byte for byte would pass them again. Anything this
 * does not settle (more than 16 labels, a label too long for a one-byte
 * length, a label left out for its empty value whose name fails a check)
 * answers "no", and the caller takes the full path, which gives
 * the same verdict it always gave. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/names.h"
#include "proto/encode.h"
#include "series/registry_priv.h"

#define TAG_LEN1 0x0a /* field 1, length-delimited */
#define TAG_LEN2 0x12 /* field 2, length-delimited */

struct key_cursor {
	const uint8_t *p, *end;
};

/* Whether the C string s is the len bytes at k. strncmp stops at s's end
 * and reads k no further than len (a key holds no NUL), so s[len] is read
 * only when s is at least that long; one call instead of strlen + memcmp. */
static bool same_string(const uint8_t *k, size_t len, const char *s)
{
	return strncmp(s, (const char *)k, len) == 0 && s[len] == '\0';
}

/* Consumes one Label of the short form encode_label writes (name and value
 * non-empty, one-byte lengths: a key holds no other for short labels) if
 * it is this one. */
static bool take_label(struct key_cursor *k, const char *name, const char *value)
{
	const uint8_t *p = k->p, *v;

	if (k->end - p < 6 || p[0] != TAG_LEN1 || p[2] != TAG_LEN1 || p[1] >= 0x80 ||
	    (size_t)(k->end - p) < (size_t)p[1] + 2 || (size_t)p[3] + 4 > p[1] ||
	    !same_string(p + 4, p[3], name))
		return false;
	v = p + 4 + p[3];
	if (v[0] != TAG_LEN2 || (size_t)v[1] + 6 + p[3] != (size_t)p[1] + 2 ||
	    !same_string(v + 2, v[1], value))
		return false;
	k->p = v + 2 + v[1];
	return true;
}

/* Consumes base label i (pre-encoded: registry_encode_base). */
static bool take_base(const struct registry *r, struct key_cursor *k, size_t i)
{
	uint32_t from = i ? r->base_end[i - 1] : 0, len = r->base_end[i] - from;

	if ((size_t)(k->end - k->p) < len || memcmp(k->p, r->base_pb.data + from, len) != 0)
		return false;
	k->p += len;
	return true;
}

int registry_encode_base(struct registry *r)
{
	if (r->n_base && !(r->base_end = calloc(r->n_base, sizeof(*r->base_end))))
		return -1;
	for (size_t i = 0; i < r->n_base; i++) {
		const struct label *l = &r->base_labels[i];

		if (encode_label(&r->base_pb, l->name, strlen(l->name), l->value, strlen(l->value)) < 0)
			return -1;
		r->base_end[i] = (uint32_t)r->base_pb.len;
	}
	return 0;
}

/* strcmp's sign, deciding on the first byte when it differs (nearly
 * always: label names rarely share one). */
static int name_cmp(const char *a, const char *b)
{
	if (a[0] != b[0])
		return (unsigned char)a[0] < (unsigned char)b[0] ? -1 : 1;
	return strcmp(a, b);
}

/* Takes the collector's (or __name__'s) label l from the key, after the
 * base labels that sort before it; a base label of the same name is
 * skipped (the collector's wins, as build_labels merges). */
static bool take_own(const struct registry *r, struct key_cursor *k, size_t *base,
		     const struct label *l)
{
	int c = -1;

	while (*base < r->n_base && (c = name_cmp(r->base_labels[*base].name, l->name)) < 0) {
		if (!take_base(r, k, *base))
			return false;
		++*base;
	}
	if (*base < r->n_base && c == 0)
		++*base;
	return take_label(k, l->name, l->value);
}

/* A label left out for its empty value is in no key: it must pass the
 * checks build_labels makes, or the full path would refuse the emit. */
static bool dropped_label_ok(const struct label *l)
{
	return valid_label_name(l->name, strlen(l->name)) && strcmp(l->name, "__name__") != 0;
}

/* Labels in any order: up to this many are sorted here (by pointer, an
 * insertion sort, one comparison a label when they come sorted); more
 * take the full path. */
#define MATCH_SORTED_MAX 16

/* No check for a name given twice is needed: the key's names strictly
 * ascend, so two labels of one name cannot both match it. */
bool labels_match_key(const struct registry *r, const struct series_node *node,
		      const char *name, const struct label *labels, size_t n_labels)
{
	const struct label metric = {"__name__", name};
	const struct label *own[MATCH_SORTED_MAX + 1]; /* [0, n_own) set */
	const uint8_t *key = node_key(node);
	struct key_cursor k = {key, key + node->key_len};
	size_t n_own = 1, base = 0;

	own[0] = &metric;
	for (size_t i = 0; i < n_labels; i++) {
		const struct label *l = &labels[i];
		size_t j = n_own;

		if (!l->value || !l->value[0]) {
			if (!dropped_label_ok(l))
				return false;
			continue;
		}
		if (n_own > MATCH_SORTED_MAX)
			return false;
		for (; j > 0 && name_cmp(own[j - 1]->name, l->name) > 0; j--)
			own[j] = own[j - 1];
		own[j] = l;
		n_own++;
	}
	for (size_t i = 0; i < n_own; i++)
		if (!take_own(r, &k, &base, own[i]))
			return false;
	for (; base < r->n_base; base++)
		if (!take_base(r, &k, base))
			return false;
	return k.p == k.end;
}
