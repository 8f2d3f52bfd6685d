/* SPDX-License-Identifier: MIT */
/* pbwire: the few protobuf wire-format primitives the hand-written
 * encoders share (varints, zigzag, fixed64, tags), as inline functions.
 * Writers take a pointer into a buffer already reserved to the exact size
 * (each encoder computes sizes first), and return the pointer past what
 * they wrote. */
#ifndef BPFPUSH_PBWIRE_H
#define BPFPUSH_PBWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum pb_wire_type { PB_VARINT = 0, PB_FIXED64 = 1, PB_LEN = 2, PB_FIXED32 = 5 };

/* A field's tag byte(s) as a varint value: (field << 3) | wire type. */
static inline uint64_t pb_tag(unsigned field, enum pb_wire_type type)
{
	return ((uint64_t)field << 3) | (uint64_t)type;
}

static inline size_t pb_varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline uint8_t *pb_put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* sint32/sint64's zigzag: small magnitudes, either sign, stay short. */
static inline uint64_t pb_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline uint8_t *pb_put_fixed64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + 8;
}

/* A length-delimited field: tag, length, bytes. */
static inline uint8_t *pb_put_len_field(uint8_t *p, unsigned field, const void *data,
					size_t len)
{
	p = pb_put_varint(p, pb_tag(field, PB_LEN));
	p = pb_put_varint(p, len);
	if (len)
		memcpy(p, data, len);
	return p + len;
}

/* Size of a length-delimited field whose body is len bytes. */
static inline size_t pb_len_field_size(unsigned field, size_t len)
{
	return pb_varint_size(pb_tag(field, PB_LEN)) + pb_varint_size(len) + len;
}

#endif
