/* btf_lookup: what the user sides of biolatency, softirq (and anyone else)
 * read from the kernel's own BTF at init, so that label values and
 * constants come from the running kernel instead of copies in our source:
 * enum values by enumerator name (REQ_OP_WRITE, NET_RX_SOFTIRQ) and the
 * position of an argument in a raw tracepoint's prototype.
 *
 * The kernel BTF is parsed once per call of btf_lookup_open() and freed by
 * btf_lookup_close(); a collector opens it in init and closes it before
 * init returns (parsing takes a few ms and ~10 MB). */
#ifndef BPFPUSH_BTF_LOOKUP_H
#define BPFPUSH_BTF_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct btf;

/* vmlinux BTF, or NULL when the kernel has none. */
struct btf *btf_lookup_open(void);
void btf_lookup_close(struct btf *btf);

/* The value of enumerator name in whichever kernel enum defines it.
 * true and *value set, or false when no enum has it. */
bool btf_lookup_enum_value(const struct btf *btf, const char *name, int64_t *value);

/* Calls fn for every enumerator of the enum that defines member (e.g. all
 * *_SOFTIRQ of the enum holding NR_SOFTIRQS). Returns the number visited,
 * or -1 when no enum defines member. */
int btf_lookup_enum_each(const struct btf *btf, const char *member,
			 void (*fn)(const char *name, int64_t value, void *arg), void *arg);

/* Raw tracepoint name's arguments (those after the hidden void *): the
 * 0-based index of the first one that is a pointer to struct struct_name,
 * or -1 (no such tracepoint, or no such argument). Tracepoints whose
 * prototype changed across kernels (block_rq_issue lost its request_queue
 * argument in 5.11) are read at the right position this way. */
int btf_lookup_tp_arg(const struct btf *btf, const char *tp, const char *struct_name);

#endif
