/* SPDX-License-Identifier: MIT */
/* skb_drops: packets dropped by the kernel, per drop reason, and TCP listen
 * overflows per listening port. Kernel side in skb_drops.bpf.c.
 *
 * Reasons are the kernel's own enum skb_drop_reason, read from its BTF at
 * init: the label is the enumerator without its SKB_DROP_REASON_ prefix,
 * upper case as the kernel spells it and as the kfree_skb tracepoint
 * prints it (reason="NO_SOCKET", reason="TCP_LISTEN_OVERFLOW"); values past
 * the core reasons (subsystem reasons) are reason="OTHER". Only reasons
 * that have occurred are emitted.
 *
 * Listen overflows (docs/design.md) take one of two paths in the kernel, and no
 * single counter sees both per port:
 *
 *   - final ACK: the SYN was admitted, the accept queue filled before the
 *     handshake's last ACK came, and the kernel drops that ACK with
 *     SKB_DROP_REASON_TCP_LISTEN_OVERFLOW (looked up by that name in BTF).
 *     kernel_tcp_listen_overflows_total{port} counts exactly these, the port
 *     being the listener's (the dropped segment's destination port). The
 *     client believes the connection established; the server resends its
 *     SYN-ACK, and each answer overflows again.
 *   - SYN: a SYN that finds the accept queue full is counted in TcpExt
 *     ListenOverflows and consumed, without a drop reason, so no tracepoint
 *     sees it (measured on 6.18: 144 such SYNs, not one kfree_skb for them).
 *     What does is the listening socket's own drop counter, sk_drops, which
 *     sock_diag reports (listen_diag.h): kernel_tcp_listen_drops_total{port},
 *     read each round at no per-packet cost, with the accept queue's length
 *     and capacity as gauges. sk_drops counts one per refused SYN; a refused
 *     final ACK counts twice (tcp_listendrop(), then the receive path's
 *     discard), and other refusals (SYN queue full, resets of half-open
 *     connections) once.
 *
 * TcpExt ListenOverflows and ListenDrops (netstat collector) are the
 * all-ports totals. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/log.h"
#include "bpf/bpfutil.h"
#include "bpf/btf_enum.h"
#include "bpf/listen_diag.h"
#include "bpf/loader.h"
#include "bpf/mapread.h"
#include "bpf/skb_drops.h"
#include "bpf/skb_drops.skel.h" /* generated into $(BUILD)/bpf */

BPF_SKEL_OPS(skb_drops_bpf);

struct skb_drops_opts {
	int64_t max_ports;  /* listening ports counted one by one */
	bool listen_ports;  /* listening sockets' drops and queues, from sock_diag */
	char *hook;         /* auto, raw_tp, tracepoint */
};

static const struct opt_desc skb_drops_opt_descs[] = {
	{"max_ports", OPT_INT, "1024", offsetof(struct skb_drops_opts, max_ports), 65536},
	{"listen_ports", OPT_BOOL, "true", offsetof(struct skb_drops_opts, listen_ports), 0},
	{"hook", OPT_ENUM, "auto|raw_tp|tracepoint", offsetof(struct skb_drops_opts, hook), 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

static const struct metric_desc drops_desc = {
	"kernel_skb_drops_total",
	"Packets the kernel dropped (skb:kfree_skb), by drop reason (enum skb_drop_reason "
	"without its SKB_DROP_REASON_ prefix).",
	METRIC_COUNTER};
static const struct metric_desc overflows_desc = {
	"kernel_tcp_listen_overflows_total",
	"Handshake-completing ACKs dropped because the listener's accept queue was full "
	"(SKB_DROP_REASON_TCP_LISTEN_OVERFLOW), by the listener's local port.",
	METRIC_COUNTER};
static const struct metric_desc listen_drops_desc = {
	"kernel_tcp_listen_drops_total",
	"Packets the listening sockets on this local port dropped (their sk_drops, via sock_diag): "
	"one per SYN refused for a full accept queue, two per refused final ACK, one per other "
	"refusal.",
	METRIC_COUNTER};
static const struct metric_desc listen_queued_desc = {
	"kernel_tcp_listen_queue_length",
	"Connections waiting to be accepted on this local port's listening sockets.",
	METRIC_GAUGE};
static const struct metric_desc listen_capacity_desc = {
	"kernel_tcp_listen_queue_capacity",
	"Accept queue capacity (listen() backlog) of this local port's listening sockets.",
	METRIC_GAUGE};
static const struct metric_desc untracked_desc = {
	"kernel_tcp_listen_overflows_untracked_total",
	"Listen overflows not counted per port because max_ports ports already were.",
	METRIC_COUNTER};

struct skb_drops_state {
	struct enum_names reasons; /* value -> name, for values < n_slots - 1 */
	uint32_t n_slots;          /* max_reason + 1 */
	int64_t overflow;          /* SKB_DROP_REASON_TCP_LISTEN_OVERFLOW, or -1 */
	int nargs;                 /* kfree_skb's: 3 with the reason */
	uint64_t *counts;
	bool listen_ports;
	struct registry *reg;      /* during update */
};

static const struct bpf_hook raw_hook[] = {{BPF_RAW_TP, NULL, "kfree_skb"}, BPF_HOOKS_END};
static const struct bpf_hook tp_hook[] = {{BPF_TRACEPOINT, "skb", "kfree_skb"}, BPF_HOOKS_END};
static const char *const tp_progs[] = {"skb_drops_kfree_skb_tp", NULL};
static const struct bpf_way ways[] = {
	{"raw_tp", NULL, raw_hook, NULL}, /* the program with the reason, or without */
	{"tracepoint", NULL, tp_hook, tp_progs},
};

static void skb_drops_release(struct bpf_run *r)
{
	struct skb_drops_state *st = r->state;

	btf_enum_free(&st->reasons);
	free(st->counts);
}

/* The drop reasons this kernel has, from its BTF. */
static int skb_drops_prepare(struct bpf_run *r)
{
	const struct skb_drops_opts *opts = r->opts;
	struct skb_drops_state *st = r->state;
	const struct btf *btf = bpf_kernel_btf();
	int64_t max_reason = 0;

	st->overflow = -1;
	/* Kernels before 5.17 have neither the enum nor the argument. */
	if (!btf_enum_value(btf, "SKB_DROP_REASON_MAX", &max_reason) || max_reason <= 0)
		max_reason = 1;
	if (max_reason >= SKB_DROPS_MAX_SLOTS)
		max_reason = SKB_DROPS_MAX_SLOTS - 1;
	btf_enum_value(btf, "SKB_DROP_REASON_TCP_LISTEN_OVERFLOW", &st->overflow);
	btf_enum_load(btf, "SKB_DROP_REASON_NOT_SPECIFIED", "SKB_", "SKB_DROP_REASON_|SKB_",
		      max_reason, &st->reasons);
	st->nargs = btf_enum_tp_nargs(btf, "kfree_skb");
	st->listen_ports = !opts || opts->listen_ports;
	st->n_slots = (uint32_t)max_reason + 1;
	st->counts = calloc(st->n_slots, sizeof(*st->counts));
	return st->counts ? 0 : -1;
}

static int skb_drops_configure(struct bpf_run *r)
{
	const struct skb_drops_opts *opts = r->opts;
	struct skb_drops_state *st = r->state;
	struct skb_drops_bpf *skel = r->skel;
	uint32_t max_reason = st->n_slots - 1;

	if (!ways[r->way].progs) {
		r->program = st->nargs >= 3 ? "skb_drops_kfree_skb" : "skb_drops_kfree_skb_noreason";
		bpf_keep_programs(r, &r->program, 1);
	}
	skel->rodata->max_reason = max_reason;
	skel->rodata->listen_overflow_reason =
		st->overflow >= 0 && st->overflow < max_reason ? (uint32_t)st->overflow : ~0U;
	bpf_map__set_max_entries(skel->maps.drops, st->n_slots);
	if (opts && opts->max_ports > 0)
		bpf_map__set_max_entries(skel->maps.overflow_ports, (uint32_t)opts->max_ports);
	return 0;
}

static void skb_drops_describe(const struct bpf_run *r, char *buf, size_t size)
{
	const struct skb_drops_state *st = r->state;

	snprintf(buf, size, "program=%s reasons=%u listen_overflow_reason=%lld", r->program,
		 st->n_slots - 1, (long long)st->overflow);
}

static void emit_port(const void *key, uint64_t sum, void *arg)
{
	struct skb_drops_state *st = arg;
	char port[8];
	struct label l = {"port", port};

	if (!sum)
		return;
	snprintf(port, sizeof(port), "%u", *(const uint32_t *)key & 0xffff);
	registry_emit(st->reg, &overflows_desc, NULL, &l, 1, (double)sum, 0);
}

static void emit_listener(const struct listen_port *p, void *arg)
{
	struct skb_drops_state *st = arg;
	char port[8];
	struct label l = {"port", port};

	snprintf(port, sizeof(port), "%u", p->port);
	registry_emit(st->reg, &listen_drops_desc, NULL, &l, 1, (double)p->drops, 0);
	registry_emit(st->reg, &listen_queued_desc, NULL, &l, 1, (double)p->queued, 0);
	registry_emit(st->reg, &listen_capacity_desc, NULL, &l, 1, (double)p->capacity, 0);
}

static int skb_drops_update(struct bpf_run *r, struct registry *reg)
{
	struct skb_drops_state *st = r->state;
	struct skb_drops_bpf *skel = r->skel;
	uint64_t counters[SKB_DROPS_COUNTERS];
	char other[24];

	if (bpf_percpu_sum(bpf_map__fd(skel->maps.drops), 0, st->n_slots, st->counts) < 0 ||
	    bpf_percpu_sum(bpf_map__fd(skel->maps.counters), 0, SKB_DROPS_COUNTERS,
			   counters) < 0)
		return -1;
	for (uint32_t v = 0; v < st->n_slots; v++) {
		const char *name = v + 1 < st->n_slots ? btf_enum_name(&st->reasons, v) : "OTHER";
		struct label l = {"reason", name};

		if (!st->counts[v])
			continue;
		if (!name && !st->reasons.n) {
			l.value = "unknown"; /* a kernel without drop reasons */
		} else if (!name) {
			snprintf(other, sizeof(other), "%u", v); /* a gap in the enum */
			l.value = other;
		}
		registry_emit(reg, &drops_desc, NULL, &l, 1, (double)st->counts[v], 0);
	}
	st->reg = reg;
	if (mapread_percpu_hash(bpf_map__fd(skel->maps.overflow_ports), sizeof(uint32_t),
				emit_port, st) < 0)
		return -1;
	registry_emit(reg, &untracked_desc, NULL, NULL, 0, (double)counters[SKB_DROPS_PORTS_FULL],
		      0);
	if (st->listen_ports && listen_diag_ports(emit_listener, st) < 0)
		log_msg(LOG_DEBUG, "sock_diag dump failed", "collector=skb_drops err=%d", -errno);
	return 0;
}

const struct bpf_collector bpf_collector_skb_drops = {
	.collector =
		BPF_COLLECTOR("skb_drops", true, sizeof(struct skb_drops_opts), skb_drops_opt_descs),
	.skel = &skb_drops_bpf_ops,
	.state_size = sizeof(struct skb_drops_state),
	.ways = ways,
	.n_ways = sizeof(ways) / sizeof(ways[0]),
	.pin_option = "hook",
	.loaded_debug = true,
	.prepare = skb_drops_prepare,
	.configure = skb_drops_configure,
	.describe = skb_drops_describe,
	.update = skb_drops_update,
	.release = skb_drops_release,
};
