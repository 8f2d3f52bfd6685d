/* The names a set holds are the slots stamped with its current generation,
 * so clearing is a counter bump: a set used once per sample must not pay
 * for its largest sample on every other one. */
#include "collectors/nameset.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define FIRST_CAP 64

void nameset_init(struct nameset *s)
{
	*s = (struct nameset){.gen = 1};
}

void nameset_free(struct nameset *s)
{
	free(s->slots);
	nameset_init(s);
}

void nameset_clear(struct nameset *s)
{
	s->n = 0;
	if (++s->gen != 0)
		return;
	/* The counter wrapped: a stamp from 2^32 clears ago would match. */
	if (s->slots)
		memset(s->slots, 0, s->cap * sizeof(*s->slots));
	s->gen = 1;
}

static struct nameset_slot *slot_for(const struct nameset *s, const char *name)
{
	size_t mask = s->cap - 1, len = strlen(name);

	for (size_t i = XXH3_64bits(name, len) & mask;; i = (i + 1) & mask) {
		struct nameset_slot *slot = &s->slots[i];
		if (slot->gen != s->gen || strcmp(slot->name, name) == 0)
			return slot;
	}
}

/* Room for one more name, keeping the table at most half full. */
static int reserve(struct nameset *s)
{
	struct nameset_slot *old = s->slots;
	size_t old_cap = s->cap, cap = s->cap ? s->cap : FIRST_CAP;

	if ((s->n + 1) * 2 <= s->cap)
		return 0;
	while ((s->n + 1) * 2 > cap)
		cap *= 2;
	if (!(s->slots = calloc(cap, sizeof(*s->slots)))) {
		s->slots = old;
		return -1;
	}
	s->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].gen == s->gen)
			*slot_for(s, old[i].name) = old[i];
	free(old);
	return 0;
}

int nameset_add(struct nameset *s, const char *name)
{
	struct nameset_slot *slot;

	if (s->cap && (slot = slot_for(s, name))->gen == s->gen)
		return 1;
	if (reserve(s) < 0)
		return -1;
	slot = slot_for(s, name);
	*slot = (struct nameset_slot){name, s->gen};
	s->n++;
	return 0;
}

size_t nameset_bytes(const struct nameset *s)
{
	return s->cap * sizeof(*s->slots);
}
