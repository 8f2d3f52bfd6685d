/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* bits.bpf.h: integer log2 for histogram slots, branch-light so the
 * verifier sees a bounded result. Kernel side only. */
#ifndef BPFPUSH_BITS_BPF_H
#define BPFPUSH_BITS_BPF_H

static __always_inline __u64 log2_u32(__u32 v)
{
	__u32 shift, r;

	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

/* floor(log2(v)), and 0 for v == 0. */
static __always_inline __u64 log2_u64(__u64 v)
{
	__u32 hi = v >> 32;

	return hi ? log2_u32(hi) + 32 : log2_u32((__u32)v);
}

#endif
