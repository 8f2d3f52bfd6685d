/* tphook: which way to attach to a kernel tracepoint, decided at load
 * time, for the collectors that count tracepoint events (tcp_retransmits,
 * tcp_states, skb_drops, timers, writeback):
 *
 *   1. raw tracepoint (SEC("raw_tp/...")): the kernel's BTF has
 *      btf_trace_<name>. No tracefs needed, and the cheapest way in (the
 *      arguments are the tracepoint's own, nothing is copied into a record);
 *   2. classic tracepoint (SEC("tracepoint/<category>/<name>")): only when
 *      tracefs is mounted and shows the event (it holds the event's id);
 *   3. nothing else: these five hooks are stable tracepoints on every
 *      kernel that has BTF; a kprobe on the functions behind them would
 *      cost ~140 ns more per event (seed 004's lesson) and is not offered.
 *
 * The option `hook` (auto, raw_tp, tracepoint: an OPT_ENUM, so config
 * load rejects anything else) forces one way; auto tries them in that
 * order. tcp_states and tcp_retransmits also offer tp_btf (the same raw
 * tracepoint, its arguments BTF-typed and read directly), tried before
 * raw_tp. Each program of the unused way gets bpf_program__set_autoload(false)
 * before load. */
#ifndef BPFPUSH_TPHOOK_H
#define BPFPUSH_TPHOOK_H

#include <stdbool.h>
#include <stddef.h>

struct bpf_object;

enum tp_hook {
	TP_HOOK_NONE,
	TP_HOOK_RAW,       /* raw_tp/<name> */
	TP_HOOK_TRACEPOINT /* tracepoint/<category>/<name> */
};

/* The way to attach to category:name given want (NULL or "auto": the
 * first available), or TP_HOOK_NONE. */
enum tp_hook tphook_choose(const char *category, const char *name, const char *want);

/* "raw_tp/<name>" or "tracepoint/<category>/<name>" into buf: for the log
 * line that names a missing hook (TP_HOOK_NONE: the one auto wanted). */
const char *tphook_describe(enum tp_hook h, const char *category, const char *name,
			    const char *want, char *buf, size_t size);

/* Turns autoload off for every program of obj not named in keep (n
 * names). */
void tphook_keep_only(struct bpf_object *obj, const char *const *keep, size_t n);

#endif
