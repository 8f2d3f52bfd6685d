/* SPDX-License-Identifier: MIT */
/* nameset: a set of NUL-terminated names, for telling whether a name
 * repeats among a few (or, written by a hostile file, many thousands of)
 * names, in time linear in their number. The names are not copied: each
 * must stay valid and unchanged until the set is cleared. */
#ifndef BPFPUSH_NAMESET_H
#define BPFPUSH_NAMESET_H

#include <stddef.h>
#include <stdint.h>

#include "lib/hashmap.h"

struct nameset_entry {
	uint64_t hash;
	const char *name;
};

struct nameset {
	struct hashmap map;            /* the names, by XXH3 */
	struct nameset_entry *entries; /* the same, in the order added: what
					* clear removes without reading the
					* names, which may be gone by then */
	size_t n, cap;
};

void nameset_init(struct nameset *s);
void nameset_free(struct nameset *s);
/* Empties the set in time linear in its names, not in its largest size. */
void nameset_clear(struct nameset *s);
/* 1 when name is in the set already, else 0 once it has been added;
 * -1 on ENOMEM (the set is unchanged). */
int nameset_add(struct nameset *s, const char *name);
/* Bytes the set holds, for a caller that bounds its memory. */
size_t nameset_bytes(const struct nameset *s);

#endif
