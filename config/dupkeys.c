/* SPDX-License-Identifier: MIT */
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

#include "lib/hashmap.h"

struct dup_index {
	const yaml_node_t *map;
	bool nocase;
	struct hashmap first; /* the first pair of each key: pair index + 1 */
};

static const char *key_text(struct cfg_ctx *ctx, const yaml_node_t *map, size_t i)
{
	const yaml_node_t *k = cfg_node(ctx, map->data.mapping.pairs.start[i].key);

	return k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : NULL;
}

/* Folded as strcasecmp folds (ASCII) a piece at a time, without a copy. */
static uint64_t key_hash(const char *s, bool nocase)
{
	char folded[64];
	uint64_t h = 0;
	size_t n;

	if (!nocase)
		return hashmap_hash(s, strlen(s));
	do {
		for (n = 0; n < sizeof(folded) && s[n]; n++)
			folded[n] = s[n] >= 'A' && s[n] <= 'Z' ? (char)(s[n] - 'A' + 'a') : s[n];
		h = hashmap_hash_more(folded, n, h);
		s += n;
	} while (n == sizeof(folded));
	return h;
}

/* The index of the first pair whose key is name, or SIZE_MAX. */
static size_t first_pair(struct cfg_ctx *ctx, const struct dup_index *ix, const char *name,
			 uint64_t hash)
{
	size_t pos;

	for (void *it = hashmap_first(&ix->first, hash, &pos); it;
	     it = hashmap_next(&ix->first, hash, &pos)) {
		const char *other = key_text(ctx, ix->map, (uintptr_t)it - 1);
		if (!(ix->nocase ? strcasecmp(other, name) : strcmp(other, name)))
			return (uintptr_t)it - 1;
	}
	return SIZE_MAX;
}

static int build_index(struct cfg_ctx *ctx, const yaml_node_t *map, bool nocase)
{
	struct dup_index *ix = ctx->dups;
	size_t n = cfg_map_len(map);

	if (!ix && !(ix = ctx->dups = calloc(1, sizeof(*ix))))
		return -1;
	ix->map = NULL;
	hashmap_clear(&ix->first);
	if (hashmap_reserve(&ix->first, n) < 0)
		return -1;
	ix->nocase = nocase;
	ix->map = map;
	for (size_t i = 0; i < n; i++) {
		const char *name = key_text(ctx, map, i);
		uint64_t hash;

		if (!name)
			continue; /* a complex key: cfg_key() refuses it */
		hash = key_hash(name, nocase);
		if (first_pair(ctx, ix, name, hash) == SIZE_MAX)
			hashmap_insert(&ix->first, hash, (void *)(uintptr_t)(i + 1)); /* reserved */
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
	j = first_pair(ctx, ctx->dups, name, key_hash(name, nocase));
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
	hashmap_free(&ctx->dups->first);
	free(ctx->dups);
	ctx->dups = NULL;
}
