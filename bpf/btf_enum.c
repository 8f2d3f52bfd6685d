/* SPDX-License-Identifier: MIT */
#include "bpf/btf_enum.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

/* Enumerator i of an enum or enum64 type: its name (or NULL) and value.
 * kflag set means a signed enum, which keeps negative values; unsigned
 * ones are < 2^32. */
static const char *enumerator(const struct btf *btf, const struct btf_type *t, int i,
			      int64_t *value)
{
	if (btf_is_enum(t)) {
		const struct btf_enum *e = btf_enum(t) + i;
		*value = btf_kflag(t) ? (int64_t)(int32_t)e->val : (int64_t)(uint32_t)e->val;
		return btf__name_by_offset(btf, e->name_off);
	}
	const struct btf_enum64 *e = btf_enum64(t) + i;
	*value = (int64_t)btf_enum64_value(e);
	return btf__name_by_offset(btf, e->name_off);
}

/* Calls fn for each enumerator of type t (ENUM or ENUM64); stops when fn
 * returns nonzero and returns that. */
static int each_enumerator(const struct btf *btf, const struct btf_type *t,
			   int (*fn)(const char *name, int64_t value, void *arg), void *arg)
{
	int n = btf_vlen(t), rc;

	for (int i = 0; i < n; i++) {
		int64_t value;
		const char *name = enumerator(btf, t, i, &value);

		if (name && (rc = fn(name, value, arg)))
			return rc;
	}
	return 0;
}

static int is_member(const char *name, int64_t value, void *arg)
{
	(void)value;
	return strcmp(name, arg) == 0;
}

/* The enum type holding enumerator member, or NULL. */
static const struct btf_type *enum_with(const struct btf *btf, const char *member)
{
	uint32_t n = btf ? btf__type_cnt(btf) : 0;

	for (uint32_t id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if (btf_is_any_enum(t) &&
		    each_enumerator(btf, t, is_member, (void *)member))
			return t;
	}
	return NULL;
}

struct load_ctx {
	const char *keep, *strip;
	int64_t limit;
	struct enum_names *out;
	bool sizing;
	int err;
};

/* strip is "A|B|...": the first alternative that prefixes name. */
static const char *stripped(const char *name, const char *strip)
{
	while (strip && *strip) {
		const char *bar = strchr(strip, '|');
		size_t len = bar ? (size_t)(bar - strip) : strlen(strip);

		if (len && strncmp(name, strip, len) == 0 && name[len])
			return name + len;
		strip = bar ? bar + 1 : NULL;
	}
	return name;
}

static int load_one(const char *name, int64_t value, void *arg)
{
	struct load_ctx *c = arg;

	if (value < 0 || value >= c->limit)
		return 0;
	if (c->keep && *c->keep && strncmp(name, c->keep, strlen(c->keep)) != 0)
		return 0;
	if (c->sizing) {
		if ((uint64_t)value >= c->out->n)
			c->out->n = (uint32_t)value + 1;
		return 0;
	}
	if (c->out->names[value])
		return 0; /* two names for one value: the first wins */
	c->out->names[value] = strdup(stripped(name, c->strip));
	if (!c->out->names[value]) {
		c->err = ENOMEM;
		return 1;
	}
	return 0;
}

int btf_enum_load(const struct btf *btf, const char *member, const char *keep_prefix,
		  const char *strip_prefix, int64_t limit, struct enum_names *out)
{
	const struct btf_type *t;
	struct load_ctx c = {keep_prefix, strip_prefix, limit, out, true, 0};

	memset(out, 0, sizeof(*out));
	if (!(t = enum_with(btf, member)))
		return -1;
	if (limit > (int64_t)1 << 20)
		c.limit = (int64_t)1 << 20; /* a table, not a sparse map */
	each_enumerator(btf, t, load_one, &c);
	if (!out->n)
		return -1;
	out->names = calloc(out->n, sizeof(*out->names));
	if (!out->names) {
		out->n = 0;
		return -1;
	}
	c.sizing = false;
	each_enumerator(btf, t, load_one, &c);
	if (c.err) {
		btf_enum_free(out);
		return -1;
	}
	return 0;
}

void btf_enum_free(struct enum_names *e)
{
	for (uint32_t i = 0; e->names && i < e->n; i++)
		free(e->names[i]);
	free(e->names);
	e->names = NULL;
	e->n = 0;
}

struct value_ctx {
	const char *name;
	int64_t value;
};

static int value_of(const char *name, int64_t value, void *arg)
{
	struct value_ctx *c = arg;

	if (strcmp(name, c->name) != 0)
		return 0;
	c->value = value;
	return 1;
}

bool btf_enum_value(const struct btf *btf, const char *name, int64_t *value)
{
	struct value_ctx c = {name, 0};
	const struct btf_type *t;

	if (!(t = enum_with(btf, name)))
		return false;
	each_enumerator(btf, t, value_of, &c);
	*value = c.value;
	return true;
}

struct each_ctx {
	void (*fn)(const char *name, int64_t value, void *arg);
	void *arg;
};

static int call_each(const char *name, int64_t value, void *arg)
{
	struct each_ctx *c = arg;

	c->fn(name, value, c->arg);
	return 0;
}

int btf_enum_each(const struct btf *btf, const char *member,
		  void (*fn)(const char *name, int64_t value, void *arg), void *arg)
{
	struct each_ctx c = {fn, arg};
	const struct btf_type *t = enum_with(btf, member);

	if (!t)
		return -1;
	each_enumerator(btf, t, call_each, &c);
	return btf_vlen(t);
}

/* Follows typedefs and modifiers. */
static const struct btf_type *resolve(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_typedef(t) || btf_is_mod(t)))
		t = btf__type_by_id(btf, t->type);
	return t;
}

/* Raw tracepoint tp's prototype (void *, args...), from its
 * typedef void (*btf_trace_<tp>)(void *, args...); or NULL. */
static const struct btf_type *tp_proto(const struct btf *btf, const char *tp)
{
	char name[128];
	const struct btf_type *t;
	int id;

	if (!btf)
		return NULL;
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id < 0)
		return NULL;
	t = btf__type_by_id(btf, id);
	t = t ? resolve(btf, t->type) : NULL;
	if (!t || !btf_is_ptr(t))
		return NULL;
	t = resolve(btf, t->type);
	return t && btf_is_func_proto(t) && btf_vlen(t) >= 1 ? t : NULL;
}

int btf_enum_tp_nargs(const struct btf *btf, const char *tp)
{
	const struct btf_type *t = tp_proto(btf, tp);

	return t ? btf_vlen(t) - 1 : -1;
}

int btf_enum_tp_arg(const struct btf *btf, const char *tp, const char *struct_name)
{
	const struct btf_type *t = tp_proto(btf, tp);
	const struct btf_param *p;

	if (!t)
		return -1;
	p = btf_params(t);
	for (int i = 1; i < btf_vlen(t); i++) {
		const struct btf_type *a = resolve(btf, p[i].type);

		if (!a || !btf_is_ptr(a))
			continue;
		a = resolve(btf, a->type);
		if (a && btf_is_struct(a) &&
		    strcmp(btf__name_by_offset(btf, a->name_off), struct_name) == 0)
			return i - 1;
	}
	return -1;
}
