/* SPDX-License-Identifier: MIT */
/* A set used once per sample must not pay for its largest sample on every
 * other one: clearing removes the names it holds, one by one, instead of
 * wiping the whole table. */
#include "collectors/nameset.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

#define FIRST_CAP 64

void nameset_init(struct nameset *s)
{
	*s = (struct nameset){0};
	hashmap_init(&s->map, FIRST_CAP);
}

void nameset_free(struct nameset *s)
{
	hashmap_free(&s->map);
	free(s->entries);
	nameset_init(s);
}

void nameset_clear(struct nameset *s)
{
	for (size_t i = 0; i < s->n; i++)
		hashmap_remove(&s->map, s->entries[i].hash, s->entries[i].name);
	s->n = 0;
}

int nameset_add(struct nameset *s, const char *name)
{
	uint64_t hash = hashmap_hash(name, strlen(name));
	const char *other;
	size_t pos;

	for (other = hashmap_first(&s->map, hash, &pos); other;
	     other = hashmap_next(&s->map, hash, &pos))
		if (strcmp(other, name) == 0)
			return 1;
	if (grow_array((void **)&s->entries, &s->cap, s->n + 1, sizeof(*s->entries)) < 0 ||
	    hashmap_insert(&s->map, hash, (void *)name) < 0)
		return -1;
	s->entries[s->n++] = (struct nameset_entry){hash, name};
	return 0;
}

size_t nameset_bytes(const struct nameset *s)
{
	return hashmap_bytes(&s->map) + s->cap * sizeof(*s->entries);
}
