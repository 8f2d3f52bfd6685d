/* Duplicate keys in the mappings whose keys are the user's own (headers,
 * external_labels, collectors). Each pair is checked as it is read, so the
 * first error in the file is still the one reported; comparing a pair with
 * every earlier one made that quadratic (a mapping of 50,000 headers took
 * 10 s to check). An index of the mapping's keys, built once per mapping
 * and kept in the context while its pairs are read, answers each pair in
 * constant time. */
#include "config/internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct dup_index {
	const yaml_node_t *map;
	bool nocase;
	size_t mask;   /* slots - 1; slots is a power of two, at least twice the pairs */
	size_t *slots; /* pair index + 1, or 0 for an empty slot */
};

static const char *key_text(struct cfg_ctx *ctx, const yaml_node_t *map, size_t i)
{
	const yaml_node_t *k = cfg_node(ctx, map->data.mapping.pairs.start[i].key);

	return k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : NULL;
}

static size_t key_hash(const char *s, bool nocase)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (nocase && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a'); /* strcasecmp's ASCII folding */
		h = (h ^ c) * 1099511628211ull;
	}
	return (size_t)h;
}

/* The slot that holds the first pair whose key is name, or the empty slot
 * where it would go. */
static size_t *probe(struct cfg_ctx *ctx, const struct dup_index *ix, const char *name)
{
	size_t at = key_hash(name, ix->nocase) & ix->mask;

	for (;; at = (at + 1) & ix->mask) {
		size_t *slot = &ix->slots[at];
		const char *other;

		if (!*slot)
			return slot;
		other = key_text(ctx, ix->map, *slot - 1);
		if (!(ix->nocase ? strcasecmp(other, name) : strcmp(other, name)))
			return slot;
	}
}

static int build_index(struct cfg_ctx *ctx, const yaml_node_t *map, bool nocase)
{
	struct dup_index *ix = ctx->dups;
	size_t n = cfg_map_len(map), slots = 16;

	if (!ix && !(ix = ctx->dups = calloc(1, sizeof(*ix))))
		return -1;
	while (slots < 2 * n)
		slots *= 2;
	free(ix->slots);
	ix->map = NULL;
	ix->slots = calloc(slots, sizeof(*ix->slots));
	if (!ix->slots)
		return -1;
	ix->mask = slots - 1;
	ix->nocase = nocase;
	ix->map = map;
	for (size_t i = 0; i < n; i++) {
		const char *name = key_text(ctx, map, i);
		size_t *slot;

		if (!name)
			continue; /* a complex key: cfg_key() refuses it */
		slot = probe(ctx, ix, name);
		if (!*slot)
			*slot = i + 1; /* the first pair with this key */
	}
	return 0;
}

int cfg_check_duplicate(struct cfg_ctx *ctx, const yaml_node_t *map, size_t i, bool nocase)
{
	const yaml_node_t *key = cfg_node(ctx, map->data.mapping.pairs.start[i].key);
	const char *name = (const char *)key->data.scalar.value;
	const yaml_node_t *first;
	char q[QUOTE_BUF];
	size_t j;

	if ((!ctx->dups || ctx->dups->map != map || ctx->dups->nocase != nocase) &&
	    build_index(ctx, map, nocase) < 0)
		return cfg_fail(ctx, NULL, "out of memory");
	j = *probe(ctx, ctx->dups, name) - 1;
	if (j >= i)
		return 0;
	first = cfg_node(ctx, map->data.mapping.pairs.start[j].key);
	return cfg_fail(ctx, key, "duplicate key %s (first set at line %d)",
			cfg_quote_str(name, q, sizeof(q)), (int)first->start_mark.line + 1);
}

void cfg_dup_index_free(struct cfg_ctx *ctx)
{
	if (!ctx->dups)
		return;
	free(ctx->dups->slots);
	free(ctx->dups);
	ctx->dups = NULL;
}
