/* SPDX-License-Identifier: MIT */
/* tcp_retransmits: TCP segments retransmitted, by socket state, and
 * optionally by remote port. Kernel side in tcp_retransmits.bpf.c.
 *
 * state is the kernel's own name for sk_state without the TCP_ prefix
 * (ESTABLISHED, SYN_SENT, ..., NEW_SYN_RECV for a request socket's SYN-ACK),
 * read from the kernel's BTF at init, never a copied number. With the sum
 * over states, this is TcpRetransSegs of every network namespace (the
 * tracepoints are global), SYN-ACKs included.
 *
 * remote_port (option, off by default) adds
 * kernel_tcp_remote_port_retransmits_total{remote_port} for the top_ports
 * ports with the most retransmissions: the kernel side counts every port
 * (portcount.h: 512 KiB per CPU), so no port is ever missed; only the
 * emitted label values are capped.
 *
 * Hook: tp_btf (direct reads), then raw_tp (probe reads) if the tp_btf
 * programs do not load, then the classic tracepoint when the raw one is
 * absent; the SYN-ACK program goes the same way in. The option `hook`
 * (auto, tp_btf, raw_tp, tracepoint) pins one. */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <bpf/libbpf.h>

#include "lib/log.h"
#include "bpf/bpfutil.h"
#include "bpf/btf_enum.h"
#include "bpf/loader.h"
#include "bpf/mapread.h"
#include "bpf/portcount.h"
#include "bpf/tcp_retransmits.h"
#include "bpf/tcp_retransmits.skel.h" /* generated into $(BUILD)/bpf */

BPF_SKEL_OPS(tcp_retransmits_bpf);

struct tcp_retransmits_opts {
	bool remote_port;  /* also count by remote port */
	int64_t top_ports; /* remote ports emitted, the busiest first */
	char *hook;        /* auto, tp_btf, raw_tp, tracepoint */
};

static const struct opt_desc tcp_retransmits_opt_descs[] = {
	{"remote_port", OPT_BOOL, "false", offsetof(struct tcp_retransmits_opts, remote_port), 0},
	{"top_ports", OPT_INT, "20", offsetof(struct tcp_retransmits_opts, top_ports), MAPREAD_PORTS},
	{"hook", OPT_ENUM, "auto|tp_btf|raw_tp|tracepoint", offsetof(struct tcp_retransmits_opts, hook),
	 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

static const struct metric_desc retrans_desc = {
	"kernel_tcp_retransmits_total",
	"TCP segments retransmitted (tcp:tcp_retransmit_skb, tcp:tcp_retransmit_synack), by the "
	"socket's state.",
	METRIC_COUNTER};
static const struct metric_desc port_desc = {
	"kernel_tcp_remote_port_retransmits_total",
	"TCP segments retransmitted to this remote port (the top_ports busiest ports only).",
	METRIC_COUNTER};

struct tcp_retransmits_state {
	struct enum_names states;
	struct top_ports ports; /* when by port */
	bool err;               /* tcp_retransmit_skb passes (sk, skb, err), not (sk, skb) */
	const char *synack;     /* the SYN-ACK program loaded, or NULL */
};

static const struct bpf_hook raw_hook[] = {{BPF_RAW_TP, NULL, "tcp_retransmit_skb"}, BPF_HOOKS_END};
static const struct bpf_hook tp_hook[] = {
	{BPF_TRACEPOINT, "tcp", "tcp_retransmit_skb"}, BPF_HOOKS_END};
/* Raw tracepoints mean tp_btf (direct reads) then raw_tp (probe reads); a
 * classic tracepoint has its own programs. configure names them. */
enum way { WAY_TP_BTF, WAY_RAW_TP, WAY_TRACEPOINT };
static const struct bpf_way ways[] = {
	[WAY_TP_BTF] = {"tp_btf", NULL, raw_hook, NULL},
	[WAY_RAW_TP] = {"raw_tp", NULL, raw_hook, NULL},
	[WAY_TRACEPOINT] = {"tracepoint", NULL, tp_hook, NULL},
};
/* Per way: the skb program without and with err, and the SYN-ACK one. */
static const char *const skb_progs[][2] = {
	[WAY_TP_BTF] = {"tcp_retransmit_skb_btf", "tcp_retransmit_skb_err_btf"},
	[WAY_RAW_TP] = {"tcp_retransmit_skb", "tcp_retransmit_skb_err"},
	[WAY_TRACEPOINT] = {"tcp_retransmit_skb_tp", "tcp_retransmit_skb_tp"},
};
static const char *const synack_progs[] = {
	[WAY_TP_BTF] = "tcp_retransmit_synack_btf",
	[WAY_RAW_TP] = "tcp_retransmit_synack",
	[WAY_TRACEPOINT] = "tcp_retransmit_synack_tp",
};

static void tcp_retransmits_release(struct bpf_run *r)
{
	struct tcp_retransmits_state *st = r->state;

	btf_enum_free(&st->states);
	top_ports_free(&st->ports);
}

static int tcp_retransmits_prepare(struct bpf_run *r)
{
	const struct tcp_retransmits_opts *opts = r->opts;
	struct tcp_retransmits_state *st = r->state;
	const struct btf *btf = bpf_kernel_btf();
	int64_t max_states = TCP_RETRANS_STATES;

	if (!btf_enum_value(btf, "TCP_MAX_STATES", &max_states) || max_states > TCP_RETRANS_STATES)
		max_states = TCP_RETRANS_STATES;
	btf_enum_load(btf, "TCP_ESTABLISHED", "TCP_", "TCP_", max_states, &st->states);
	if (opts && opts->remote_port && top_ports_init(&st->ports, opts->top_ports) < 0)
		return -1;
	st->err = btf_enum_tp_nargs(btf, "tcp_retransmit_skb") >= 3;
	return 0;
}

/* The skb program, and the SYN-ACK one when the kernel has
 * tcp_retransmit_synack the same way in. */
static int tcp_retransmits_configure(struct bpf_run *r)
{
	struct tcp_retransmits_state *st = r->state;
	struct tcp_retransmits_bpf *skel = r->skel;
	bool synack = r->way == WAY_TRACEPOINT
			      ? bpf_has_tracefs_event("tcp", "tcp_retransmit_synack")
			      : bpf_has_raw_tracepoint("tcp_retransmit_synack");
	const char *progs[2] = {skb_progs[r->way][st->err], synack ? synack_progs[r->way] : NULL};

	r->program = progs[0];
	st->synack = progs[1];
	bpf_keep_programs(r, progs, 2);
	if (st->ports.counts) {
		skel->rodata->by_port = true;
		bpf_map__set_max_entries(skel->maps.ports, PORTCOUNT_CHUNKS);
	}
	return 0;
}

static void tcp_retransmits_describe(const struct bpf_run *r, char *buf, size_t size)
{
	const struct tcp_retransmits_state *st = r->state;

	snprintf(buf, size, "program=%s synack=%s", r->program, st->synack ? st->synack : "none");
}

static int tcp_retransmits_update(struct bpf_run *r, struct registry *reg)
{
	struct tcp_retransmits_state *st = r->state;
	struct tcp_retransmits_bpf *skel = r->skel;
	uint64_t counts[TCP_RETRANS_STATES];
	char number[16];

	if (bpf_percpu_sum(bpf_map__fd(skel->maps.retransmits), 0, TCP_RETRANS_STATES,
			   counts) < 0)
		return -1;
	for (uint32_t s = 0; s < TCP_RETRANS_STATES; s++) {
		struct label l = {"state", btf_enum_name(&st->states, s)};

		if (!counts[s])
			continue;
		if (!l.value) {
			snprintf(number, sizeof(number), "%u", s);
			l.value = number;
		}
		registry_emit(reg, &retrans_desc, NULL, &l, 1, (double)counts[s], 0);
	}
	/* No .bss mapping (a kernel without mmapable arrays): every chunk. */
	if (st->ports.counts &&
	    top_ports_emit(&st->ports, bpf_map__fd(skel->maps.ports),
			   skel->bss ? skel->bss->ports_touched : NULL, reg, &port_desc) < 0)
		return -1;
	return 0;
}

const struct bpf_collector bpf_collector_tcp_retransmits = {
	.collector = BPF_COLLECTOR("tcp_retransmits", true, sizeof(struct tcp_retransmits_opts),
				   tcp_retransmits_opt_descs),
	.skel = &tcp_retransmits_bpf_ops,
	.state_size = sizeof(struct tcp_retransmits_state),
	.ways = ways,
	.n_ways = sizeof(ways) / sizeof(ways[0]),
	.pin_option = "hook",
	.prepare = tcp_retransmits_prepare,
	.configure = tcp_retransmits_configure,
	.describe = tcp_retransmits_describe,
	.update = tcp_retransmits_update,
	.release = tcp_retransmits_release,
};
