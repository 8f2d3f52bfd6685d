/* SPDX-License-Identifier: MIT */
/* buf: the growable buffers, reused across rounds and batches so that
 * steady state (the same sizes every round) allocates nothing: struct buf
 * for bytes, grow_array for a malloc'd array of any type. */
#ifndef BPFPUSH_BUF_H
#define BPFPUSH_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

struct buf {
	uint8_t *data;
	size_t len, cap;
};

/* Makes room for at least extra more bytes. Returns 0 or -1 (ENOMEM). */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
void buf_reset(struct buf *b); /* len = 0, keeps the memory */
void buf_free(struct buf *b);

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
