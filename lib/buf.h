/* buf: a growable byte buffer, reused across batches so that steady state
 * allocates nothing. */
#ifndef BPFPUSH_BUF_H
#define BPFPUSH_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len, cap;
};

/* Makes room for at least extra more bytes. Returns 0 or -1 (ENOMEM). */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
void buf_reset(struct buf *b); /* len = 0, keeps the memory */
void buf_free(struct buf *b);

#endif
