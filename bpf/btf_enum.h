/* btf_enum: label values and tracepoint shapes read from the running
 * kernel's BTF, so that no state number, drop reason or argument position
 * is copied into our source:
 *
 *   - enum value -> name, for the enum that holds a given enumerator (TCP
 *     states live in an anonymous enum holding TCP_ESTABLISHED; drop reasons
 *     in enum skb_drop_reason holding SKB_DROP_REASON_NOT_SPECIFIED);
 *   - one enumerator's value (SKB_DROP_REASON_MAX sizes a map, and
 *     SKB_DROP_REASON_TCP_LISTEN_OVERFLOW picks the reason to watch);
 *   - how many arguments a raw tracepoint passes (kfree_skb gained "reason"
 *     in 5.17 and later "rx_sk"; tcp_retransmit_skb later gained "err"): a
 *     raw_tp program must not read past the last one, or attach fails.
 *
 * The vmlinux BTF is parsed by btf_enum_open() (btf__load_vmlinux_btf: a
 * few ms, ~10 MB) and freed by btf_enum_close(); a collector opens it in
 * init and closes it before init returns. The tables it builds are its own
 * and are freed with btf_enum_free(). */
#ifndef BPFPUSH_BTF_ENUM_H
#define BPFPUSH_BTF_ENUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct btf;

/* vmlinux BTF, or NULL (no /sys/kernel/btf/vmlinux). */
struct btf *btf_enum_open(void);
void btf_enum_close(struct btf *btf);

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

/* Arguments raw tracepoint tp passes to a program (its btf_trace_<tp>
 * prototype minus the hidden void *), or -1 when the kernel lacks it. */
int btf_enum_tp_nargs(const struct btf *btf, const char *tp);

#endif
