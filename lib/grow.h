/* grow: amortised growth of a malloc'd array, so that steady state (the
 * same sizes every round) allocates nothing. A leaf utility. */
#ifndef BPFPUSH_GROW_H
#define BPFPUSH_GROW_H

#include <stddef.h>
#include <stdlib.h>

/* Makes *items hold at least need elements of size bytes, doubling *cap
 * (from 64). Returns 0, or -1 with *items unchanged on ENOMEM. */
static inline int grow_array(void **items, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*items, n * size);
	if (!p)
		return -1;
	*items = p;
	*cap = n;
	return 0;
}

#endif
