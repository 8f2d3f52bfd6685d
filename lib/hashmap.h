/* SPDX-License-Identifier: MIT */
/* hashmap: the one hash table. Open addressing with linear probing over
 * (hash, item) slots: the caller owns the items and their keys, computes
 * the hash (hashmap_hash, XXH3) and compares keys itself, so one table
 * serves series, families, names and indexes alike. Deletion shifts the
 * following slots back (no tombstones), so a table that forgets as much
 * as it learns never fills up with dead slots. */
#ifndef BPFPUSH_HASHMAP_H
#define BPFPUSH_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashmap_slot {
	uint64_t hash;
	void *item; /* NULL: empty */
};

struct hashmap {
	struct hashmap_slot *slots;
	size_t cap;     /* 0 or a power of two */
	size_t len;
	size_t min_cap; /* first size, and the floor hashmap_shrink keeps */
	unsigned max_load; /* eighths full before it grows; 0: 6 (three quarters) */
};

uint64_t hashmap_hash(const void *data, size_t len);
/* Chains the hash of a key made of several fields. */
uint64_t hashmap_hash_more(const void *data, size_t len, uint64_t seed);

/* min_cap: a power of two, or 0 for 16. A zeroed struct hashmap is an
 * empty table with min_cap 0. */
void hashmap_init(struct hashmap *m, size_t min_cap);
void hashmap_free(struct hashmap *m);
/* Grows at eighths/8 full (6 to 7) instead of three quarters: for a big
 * table whose lookups are rare, half the memory at the price of longer
 * probes. */
void hashmap_set_max_load(struct hashmap *m, unsigned eighths);
/* Empties the table, keeping its memory. */
void hashmap_clear(struct hashmap *m);
/* Room for n items in all without growing. 0, or -1 on ENOMEM. */
int hashmap_reserve(struct hashmap *m, size_t n);
/* Adds item (not NULL), which the caller knows is absent. Grows at three
 * quarters full (or max_load); 0, or -1 on ENOMEM with the table unchanged. */
int hashmap_insert(struct hashmap *m, uint64_t hash, void *item);
/* Removes this item (by identity). Returns whether it was there. */
bool hashmap_remove(struct hashmap *m, uint64_t hash, const void *item);
/* Halves the table while it is less than one eighth full and above
 * min_cap: one burst must not keep its size for good. Never fails. */
void hashmap_shrink(struct hashmap *m);
size_t hashmap_bytes(const struct hashmap *m);

/* The items stored under hash, in turn: *pos is the caller's cursor,
 * set by hashmap_first and advanced by hashmap_next; NULL at the end.
 *   for (it = hashmap_first(m, h, &pos); it; it = hashmap_next(m, h, &pos))
 *           if (key_of(it) equals key) return it;                        */
void *hashmap_first(const struct hashmap *m, uint64_t hash, size_t *pos);
void *hashmap_next(const struct hashmap *m, uint64_t hash, size_t *pos);

/* Every item, in no order: from *pos = 0 until NULL. The table must not
 * change meanwhile. */
void *hashmap_each(const struct hashmap *m, size_t *pos);

#endif
