/* SPDX-License-Identifier: MIT */
/* btf_enum: label values, constants and tracepoint shapes read from the
 * running kernel's BTF, so that no state number, drop reason, operation
 * code or argument position is copied into our source:
 *
 *   - enum value -> name, for the enum that holds a given enumerator (TCP
 *     states live in an anonymous enum holding TCP_ESTABLISHED; drop reasons
 *     in enum skb_drop_reason holding SKB_DROP_REASON_NOT_SPECIFIED), as a
 *     table or one enumerator at a time (the *_SOFTIRQ of NR_SOFTIRQS's);
 *   - one enumerator's value (SKB_DROP_REASON_MAX sizes a map,
 *     SKB_DROP_REASON_TCP_LISTEN_OVERFLOW picks the reason to watch,
 *     REQ_OP_WRITE names an IO operation);
 *   - how many arguments a raw tracepoint passes (kfree_skb gained "reason"
 *     in 5.17 and later "rx_sk"; tcp_retransmit_skb later gained "err"): a
 *     raw_tp program must not read past the last one, or attach fails;
 *   - where in a raw tracepoint's arguments a struct pointer is
 *     (block_rq_issue lost its request_queue argument in 5.11).
 *
 * btf is the vmlinux BTF: bpf_kernel_btf() (bpfutil.h), parsed once for
 * every collector and freed by bpf_teardown(); NULL (no kernel BTF) makes
 * every lookup fail. The tables built here are the caller's and are freed
 * with btf_enum_free(). */
#ifndef BPFPUSH_BTF_ENUM_H
#define BPFPUSH_BTF_ENUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct btf;

/* names[v] is the name of value v (NULL where the enum has no value v),
 * for 0 <= v < n. */
struct enum_names {
	char **names;
	uint32_t n;
};

/* Fills *out from the enum (BTF_KIND_ENUM or ENUM64, named or anonymous)
 * that has an enumerator called member. Only enumerators whose names start
 * with keep_prefix are kept (NULL or "": all), with strip_prefix removed
 * from the front when present (the first of the '|'-separated alternatives
 * that matches; NULL: none). Values >= limit and negative ones are skipped,
 * so sentinels like SKB_DROP_REASON_SUBSYS_MASK never size the table; n is
 * one past the largest value kept. 0, or -1 (no such enum, or ENOMEM). */
int btf_enum_load(const struct btf *btf, const char *member, const char *keep_prefix,
		  const char *strip_prefix, int64_t limit, struct enum_names *out);
void btf_enum_free(struct enum_names *e);

/* The name of value v, or NULL. */
static inline const char *btf_enum_name(const struct enum_names *e, uint64_t v)
{
	return v < e->n ? e->names[v] : NULL;
}

/* The value of enumerator name in whichever enum defines it: true and
 * *value set, or false. */
bool btf_enum_value(const struct btf *btf, const char *name, int64_t *value);

/* Calls fn for every enumerator of the enum that defines member. Returns
 * the number visited, or -1 when no enum defines member. */
int btf_enum_each(const struct btf *btf, const char *member,
		  void (*fn)(const char *name, int64_t value, void *arg), void *arg);

/* Arguments raw tracepoint tp passes to a program (its btf_trace_<tp>
 * prototype minus the hidden void *), or -1 when the kernel lacks it. */
int btf_enum_tp_nargs(const struct btf *btf, const char *tp);

/* The 0-based index, among raw tracepoint tp's arguments (those after the
 * hidden void *), of the first that is a pointer to struct struct_name, or
 * -1 (no such tracepoint, or no such argument). */
int btf_enum_tp_arg(const struct btf *btf, const char *tp, const char *struct_name);

#endif
