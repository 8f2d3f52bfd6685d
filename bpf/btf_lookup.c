#include "bpf/btf_lookup.h"

#include <stdio.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

struct btf *btf_lookup_open(void)
{
	struct btf *btf = btf__load_vmlinux_btf();

	if (libbpf_get_error(btf))
		return NULL;
	return btf;
}

void btf_lookup_close(struct btf *btf)
{
	btf__free(btf);
}

/* Enumerator i of an enum or enum64 type. */
static const char *enumerator(const struct btf *btf, const struct btf_type *t, int i,
			      int64_t *value)
{
	if (btf_is_enum(t)) {
		const struct btf_enum *e = btf_enum(t) + i;
		/* A signed enum keeps negative values; unsigned ones are < 2^32. */
		*value = (btf_kflag(t) ? (int64_t)(int32_t)e->val : (int64_t)(uint32_t)e->val);
		return btf__name_by_offset(btf, e->name_off);
	}
	const struct btf_enum64 *e = btf_enum64(t) + i;
	*value = (int64_t)btf_enum64_value(e);
	return btf__name_by_offset(btf, e->name_off);
}

/* The enum type defining name, and its index in it. */
static const struct btf_type *find_enum(const struct btf *btf, const char *name, int *index)
{
	uint32_t n = btf ? btf__type_cnt(btf) : 0;

	for (uint32_t id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if (!btf_is_any_enum(t))
			continue;
		for (int i = 0; i < btf_vlen(t); i++) {
			int64_t v;
			const char *s = enumerator(btf, t, i, &v);

			if (s && strcmp(s, name) == 0) {
				*index = i;
				return t;
			}
		}
	}
	return NULL;
}

bool btf_lookup_enum_value(const struct btf *btf, const char *name, int64_t *value)
{
	int i;
	const struct btf_type *t = find_enum(btf, name, &i);

	if (!t)
		return false;
	enumerator(btf, t, i, value);
	return true;
}

int btf_lookup_enum_each(const struct btf *btf, const char *member,
			 void (*fn)(const char *name, int64_t value, void *arg), void *arg)
{
	int i;
	const struct btf_type *t = find_enum(btf, member, &i);

	if (!t)
		return -1;
	for (i = 0; i < btf_vlen(t); i++) {
		int64_t v;
		const char *s = enumerator(btf, t, i, &v);

		if (s)
			fn(s, v, arg);
	}
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

int btf_lookup_tp_arg(const struct btf *btf, const char *tp, const char *struct_name)
{
	char name[128];
	const struct btf_type *t;
	const struct btf_param *p;
	int id;

	if (!btf)
		return -1;
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id < 0)
		return -1;
	/* typedef void (*btf_trace_x)(void *, args...) */
	t = resolve(btf, btf__type_by_id(btf, id)->type);
	if (!t || !btf_is_ptr(t))
		return -1;
	t = resolve(btf, t->type);
	if (!t || !btf_is_func_proto(t))
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
