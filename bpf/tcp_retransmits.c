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
 * emitted label values are capped. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "agent/log.h"
#include "bpf/bpf_collector.h"
#include "bpf/bpfutil.h"
#include "bpf/btf_enum.h"
#include "bpf/mapread.h"
#include "bpf/portcount.h"
#include "bpf/tcp_retransmits.h"
#include "bpf/tcp_retransmits.skel.h" /* generated into $(BUILD)/bpf */
#include "bpf/tphook.h"

struct tcp_retransmits_opts {
	bool remote_port;  /* also count by remote port */
	int64_t top_ports; /* remote ports emitted, the busiest first */
	char *hook;        /* auto, raw_tp, tracepoint */
};

static const struct opt_desc tcp_retransmits_opt_descs[] = {
	{"remote_port", OPT_BOOL, "false", offsetof(struct tcp_retransmits_opts, remote_port), 0},
	{"top_ports", OPT_INT, "20", offsetof(struct tcp_retransmits_opts, top_ports), 0},
	{"hook", OPT_ENUM, "auto|raw_tp|tracepoint", offsetof(struct tcp_retransmits_opts, hook), 0},
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
	struct tcp_retransmits_bpf *skel;
	struct enum_names states;
	struct top_ports ports; /* when by port */
};

static void tcp_retransmits_free(struct tcp_retransmits_state *st)
{
	if (!st)
		return;
	tcp_retransmits_bpf__destroy(st->skel);
	btf_enum_free(&st->states);
	top_ports_free(&st->ports);
	free(st);
}

static int tcp_retransmits_init(struct collector_ctx *ctx)
{
	const struct tcp_retransmits_opts *opts = ctx->opts;
	const char *want = opts ? opts->hook : NULL;
	struct tcp_retransmits_state *st = NULL;
	const char *progs[2] = {NULL, NULL};
	enum tp_hook hook, synack;
	const struct btf *btf;
	int64_t max_states = TCP_RETRANS_STATES;
	char where[96];

	bpf_setup();
	hook = tphook_choose("tcp", "tcp_retransmit_skb", want);
	if (hook == TP_HOOK_NONE) {
		log_msg(LOG_WARN, "bpf collector disabled: kernel lacks its hook",
			"collector=tcp_retransmits hook=%s",
			tphook_describe(hook, "tcp", "tcp_retransmit_skb", want, where, sizeof(where)));
		return -1;
	}
	/* SYN-ACK retransmissions: the same way in, when the kernel has it. */
	synack = tphook_choose("tcp", "tcp_retransmit_synack",
			       hook == TP_HOOK_RAW ? "raw_tp" : "tracepoint");
	if (!(st = calloc(1, sizeof(*st))))
		goto fail;
	btf = bpf_kernel_btf();
	if (!btf_enum_value(btf, "TCP_MAX_STATES", &max_states) || max_states > TCP_RETRANS_STATES)
		max_states = TCP_RETRANS_STATES;
	btf_enum_load(btf, "TCP_ESTABLISHED", "TCP_", "TCP_", max_states, &st->states);
	if (hook == TP_HOOK_RAW)
		progs[0] = btf_enum_tp_nargs(btf, "tcp_retransmit_skb") >= 3 ? "tcp_retransmit_skb_err"
									     : "tcp_retransmit_skb";
	else
		progs[0] = "tcp_retransmit_skb_tp";
	if (synack != TP_HOOK_NONE)
		progs[1] = synack == TP_HOOK_RAW ? "tcp_retransmit_synack" : "tcp_retransmit_synack_tp";

	if (!(st->skel = tcp_retransmits_bpf__open()))
		goto fail;
	tphook_keep_only(st->skel->obj, progs, 2);
	if (opts && opts->remote_port) {
		if (top_ports_init(&st->ports, opts->top_ports) < 0)
			goto fail;
		st->skel->rodata->by_port = true;
		bpf_map__set_max_entries(st->skel->maps.ports, PORTCOUNT_CHUNKS);
	}
	if (tcp_retransmits_bpf__load(st->skel) || tcp_retransmits_bpf__attach(st->skel))
		goto fail;
	log_msg(LOG_DEBUG, "bpf collector loaded", "collector=tcp_retransmits program=%s synack=%s",
		progs[0], progs[1] ? progs[1] : "none");
	ctx->state = st;
	return 0;
fail:
	log_msg(LOG_WARN, "bpf collector disabled: cannot load or attach",
		"collector=tcp_retransmits err=%d", -errno);
	tcp_retransmits_free(st);
	return -1;
}

static int tcp_retransmits_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct tcp_retransmits_state *st = ctx->state;
	uint64_t counts[TCP_RETRANS_STATES];
	char number[16];

	if (bpf_percpu_sum(bpf_map__fd(st->skel->maps.retransmits), 0, TCP_RETRANS_STATES,
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
	if (st->ports.counts &&
	    top_ports_emit(&st->ports, bpf_map__fd(st->skel->maps.ports), reg, &port_desc) < 0)
		return -1;
	bpf_emit_program_stats(reg, "tcp_retransmits", st->skel->obj);
	return 0;
}

static void tcp_retransmits_exit(struct collector_ctx *ctx)
{
	tcp_retransmits_free(ctx->state);
	ctx->state = NULL;
}

const struct collector bpf_collector_tcp_retransmits = {
	.name = "tcp_retransmits",
	.default_enabled = true,
	.opts_size = sizeof(struct tcp_retransmits_opts),
	.opts = tcp_retransmits_opt_descs,
	.init = tcp_retransmits_init,
	.update = tcp_retransmits_update,
	.exit = tcp_retransmits_exit,
};
