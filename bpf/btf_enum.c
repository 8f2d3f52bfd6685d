#include "bpf/btf_enum.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

struct btf *btf_enum_open(void)
{
	struct btf *btf = btf__load_vmlinux_btf();

	if (libbpf_get_error(btf))
		return NULL;
	return btf;
}

void btf_enum_close(struct btf *btf)
{
	btf__free(btf);
}

/* Calls fn for each enumerator of type t (ENUM or ENUM64); stops when fn
 * returns nonzero and returns that. */
static int each_enumerator(const struct btf *btf, const struct btf_type *t,
			   int (*fn)(const char *name, int64_t value, void *arg), void *arg)
{
	int n = btf_vlen(t), rc;

	for (int i = 0; i < n; i++) {
		const char *name;
		int64_t value;

		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t) + i;
			name = btf__name_by_offset(btf, e->name_off);
			/* kflag set: unsigned; the values we want fit either way. */
			value = btf_kflag(t) ? (int64_t)(uint32_t)e->val : (int64_t)e->val;
		} else {
			const struct btf_enum64 *e = btf_enum64(t) + i;
			name = btf__name_by_offset(btf, e->name_off);
			value = (int64_t)btf_enum64_value(e);
		}
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
	uint32_t n = btf__type_cnt(btf);

	for (uint32_t id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if ((btf_is_enum(t) || btf_is_enum64(t)) &&
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
	if (!btf || !(t = enum_with(btf, member)))
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

	if (!btf || !(t = enum_with(btf, name)))
		return false;
	each_enumerator(btf, t, value_of, &c);
	*value = c.value;
	return true;
}

int btf_enum_tp_nargs(const struct btf *btf, const char *tp)
{
	char name[128];
	const struct btf_type *t;
	int id;

	if (!btf)
		return -1;
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id < 0)
		return -1;
	/* typedef -> pointer -> function prototype (void *, args...) */
	t = btf__type_by_id(btf, id);
	t = t ? btf__type_by_id(btf, t->type) : NULL;
	if (!t || !btf_is_ptr(t))
		return -1;
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t) || btf_vlen(t) < 1)
		return -1;
	return btf_vlen(t) - 1;
}
