/* SPDX-License-Identifier: MIT */
/* pbread: a bounds-checked protobuf reader for the few places that parse
 * wire bytes (a 2.0 Request to transcode, a series' encoded labels).
 * Nothing here reads past end; a truncated or overlong field is an error. */
#ifndef BPFPUSH_PBREAD_H
#define BPFPUSH_PBREAD_H

#include <stddef.h>
#include <stdint.h>

#include "proto/pbwire.h"

struct pb_reader {
	const uint8_t *p, *end;
};

/* One field: its number and wire type, and either its varint or (for
 * length-delimited and fixed fields) its bytes. */
struct pb_field {
	unsigned num;
	enum pb_wire_type type;
	uint64_t varint;
	const uint8_t *data;
	size_t len;
};

static inline struct pb_reader pb_reader_of(const uint8_t *data, size_t len)
{
	struct pb_reader r = {data, data + len};

	return r;
}

/* 0, or -1 when the varint is truncated or longer than 10 bytes. */
static inline int pb_read_varint(struct pb_reader *r, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 70 && r->p < r->end; shift += 7) {
		uint8_t b = *r->p++;

		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

static inline int pb_read_bytes(struct pb_reader *r, struct pb_field *f, size_t len)
{
	if ((size_t)(r->end - r->p) < len)
		return -1;
	f->data = r->p;
	f->len = len;
	r->p += len;
	return 1;
}

/* 1 with *f filled, 0 at the end of the bytes, -1 when malformed (field
 * number 0, a group, a truncated value). */
static inline int pb_read_field(struct pb_reader *r, struct pb_field *f)
{
	uint64_t tag, len;

	*f = (struct pb_field){0};
	if (r->p >= r->end)
		return 0;
	if (pb_read_varint(r, &tag) < 0 || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
		return -1;
	f->num = (unsigned)(tag >> 3);
	f->type = (enum pb_wire_type)(tag & 7);
	switch (tag & 7) {
	case PB_VARINT:
		return pb_read_varint(r, &f->varint) < 0 ? -1 : 1;
	case PB_FIXED64:
		return pb_read_bytes(r, f, 8);
	case PB_FIXED32:
		return pb_read_bytes(r, f, 4);
	case PB_LEN:
		if (pb_read_varint(r, &len) < 0 || len > (uint64_t)(r->end - r->p))
			return -1;
		return pb_read_bytes(r, f, (size_t)len);
	default:
		return -1;
	}
}

/* 0 when data[0..len) is a sequence of well-formed fields, else -1. */
static inline int pb_check_fields(const uint8_t *data, size_t len)
{
	struct pb_reader r = pb_reader_of(data, len);
	struct pb_field f;
	int rc;

	while ((rc = pb_read_field(&r, &f)) > 0)
		;
	return rc;
}

#endif
