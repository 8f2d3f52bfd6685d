/* SPDX-License-Identifier: MIT */
/* The one hash table; see hashmap.h. */
#include "lib/hashmap.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define DEFAULT_MIN_CAP 16

uint64_t hashmap_hash(const void *data, size_t len)
{
	return XXH3_64bits(data, len);
}

uint64_t hashmap_hash_more(const void *data, size_t len, uint64_t seed)
{
	return XXH3_64bits_withSeed(data, len, seed);
}

void hashmap_init(struct hashmap *m, size_t min_cap)
{
	*m = (struct hashmap){.min_cap = min_cap};
}

/* A zeroed struct is an empty table too. */
static size_t floor_cap(const struct hashmap *m)
{
	return m->min_cap ? m->min_cap : DEFAULT_MIN_CAP;
}

void hashmap_free(struct hashmap *m)
{
	unsigned max_load = m->max_load;

	free(m->slots);
	hashmap_init(m, m->min_cap);
	m->max_load = max_load;
}

void hashmap_set_max_load(struct hashmap *m, unsigned eighths)
{
	m->max_load = eighths < 6 ? 6 : eighths > 7 ? 7 : eighths;
}

void hashmap_clear(struct hashmap *m)
{
	if (m->slots)
		memset(m->slots, 0, m->cap * sizeof(*m->slots));
	m->len = 0;
}

/* The one probe loop: from *pos, the next slot holding hash, or NULL at
 * the first empty slot. */
static void *scan(const struct hashmap *m, uint64_t hash, size_t *pos)
{
	size_t mask = m->cap - 1;

	for (size_t i = *pos;; i = (i + 1) & mask) {
		const struct hashmap_slot *s = &m->slots[i];
		if (!s->item || s->hash == hash) {
			*pos = i;
			return s->item;
		}
	}
}

void *hashmap_first(const struct hashmap *m, uint64_t hash, size_t *pos)
{
	if (m->len == 0)
		return NULL;
	*pos = hash & (m->cap - 1);
	return scan(m, hash, pos);
}

void *hashmap_next(const struct hashmap *m, uint64_t hash, size_t *pos)
{
	*pos = (*pos + 1) & (m->cap - 1);
	return scan(m, hash, pos);
}

void *hashmap_each(const struct hashmap *m, size_t *pos)
{
	for (; *pos < m->cap; (*pos)++)
		if (m->slots[*pos].item)
			return m->slots[(*pos)++].item;
	return NULL;
}

/* Into the first empty slot from its home: only ever called with room. */
static void place(struct hashmap_slot *slots, size_t cap, uint64_t hash, void *item)
{
	size_t i = hash & (cap - 1);

	while (slots[i].item)
		i = (i + 1) & (cap - 1);
	slots[i] = (struct hashmap_slot){hash, item};
}

static int rehash(struct hashmap *m, size_t cap)
{
	struct hashmap_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].item)
			place(slots, cap, m->slots[i].hash, m->slots[i].item);
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

int hashmap_reserve(struct hashmap *m, size_t n)
{
	size_t cap = m->cap ? m->cap : floor_cap(m);

	while (n > cap / 8 * (m->max_load ? m->max_load : 6)) {
		if (cap > SIZE_MAX / 2 / sizeof(struct hashmap_slot))
			return -1;
		cap *= 2;
	}
	return cap == m->cap ? 0 : rehash(m, cap);
}

int hashmap_insert(struct hashmap *m, uint64_t hash, void *item)
{
	/* A table that cannot grow takes items while it has an empty slot
	 * left for the probe loop to stop at: longer probes, still correct. */
	if (hashmap_reserve(m, m->len + 1) < 0 && m->len + 2 > m->cap)
		return -1;
	place(m->slots, m->cap, hash, item);
	m->len++;
	return 0;
}

/* Whether a slot whose home is home may sit at to with hole empty: only
 * if the hole is not cyclically within [home, to). */
static bool stays(size_t home, size_t hole, size_t to)
{
	return hole < to ? home > hole && home <= to : home > hole || home <= to;
}

bool hashmap_remove(struct hashmap *m, uint64_t hash, const void *item)
{
	size_t mask = m->cap - 1, hole = 0;
	void *it;

	for (it = hashmap_first(m, hash, &hole); it != item; it = hashmap_next(m, hash, &hole))
		if (!it)
			return false;
	/* Shift back what follows in the run, so no probe stops early. */
	for (size_t i = (hole + 1) & mask; m->slots[i].item; i = (i + 1) & mask) {
		if (stays(m->slots[i].hash & mask, hole, i))
			continue;
		m->slots[hole] = m->slots[i];
		hole = i;
	}
	m->slots[hole] = (struct hashmap_slot){0};
	m->len--;
	return true;
}

void hashmap_shrink(struct hashmap *m)
{
	size_t cap = m->cap;

	while (cap > floor_cap(m) && m->len < cap / 8)
		cap /= 2;
	if (cap != m->cap)
		rehash(m, cap); /* without memory, it keeps its size */
}

size_t hashmap_bytes(const struct hashmap *m)
{
	return m->cap * sizeof(*m->slots);
}
