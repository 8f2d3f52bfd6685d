/* nameset: a set of NUL-terminated names, emptied in O(1), for telling
 * whether a name repeats among a few (or, written by a hostile file, many
 * thousands of) names, in time linear in their number. The names are not
 * copied: each must stay valid and unchanged until the set is cleared. */
#ifndef BPFPUSH_NAMESET_H
#define BPFPUSH_NAMESET_H

#include <stddef.h>
#include <stdint.h>

struct nameset_slot {
	const char *name;
	uint32_t gen; /* the slot is in the set when gen equals the set's */
};

struct nameset {
	struct nameset_slot *slots; /* open addressing, at most half full */
	size_t cap;                 /* a power of two, or 0 */
	size_t n;                   /* names in the set */
	uint32_t gen;               /* bumped by clear: older slots are empty */
};

void nameset_init(struct nameset *s);
void nameset_free(struct nameset *s);
/* Empties the set without touching its slots (except once in 2^32 clears). */
void nameset_clear(struct nameset *s);
/* 1 when name is in the set already, else 0 once it has been added;
 * -1 on ENOMEM (the set is unchanged). */
int nameset_add(struct nameset *s, const char *name);
/* Bytes the set holds, for a caller that bounds its memory. */
size_t nameset_bytes(const struct nameset *s);

#endif
