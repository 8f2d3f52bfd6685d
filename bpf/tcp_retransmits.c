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
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "lib/log.h"
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

/* Opens and loads the skeleton with programs progs alone (the skb
 * program, and the SYN-ACK one or NULL). 0, or -1 with errno set and
 * st->skel NULL. */
static int load(struct tcp_retransmits_state *st, const char *const progs[2])
{
	struct tcp_retransmits_bpf *skel = tcp_retransmits_bpf__open();
	int err;

	if (!skel)
		return -1;
	tphook_keep_only(skel->obj, progs, 2);
	if (st->ports.counts) {
		skel->rodata->by_port = true;
		bpf_map__set_max_entries(skel->maps.ports, PORTCOUNT_CHUNKS);
	}
	if (tcp_retransmits_bpf__load(skel) || tcp_retransmits_bpf__attach(skel)) {
		err = errno;
		tcp_retransmits_bpf__destroy(skel);
		errno = err;
		return -1;
	}
	st->skel = skel;
	return 0;
}

/* The program pairs to try (skb, SYN-ACK), cheapest first, for hook and
 * the option want: raw tracepoints mean tp_btf (direct reads) then raw_tp
 * (probe reads); a classic tracepoint has its own. synack: the kernel has
 * tcp_retransmit_synack the same way in; err: tcp_retransmit_skb passes
 * (sk, skb, err), not (sk, skb). */
static size_t candidates(enum tp_hook hook, const char *want, bool synack, bool err,
			 const char *progs[2][2])
{
	bool any = !want || !strcmp(want, "auto");
	size_t n = 0;

	if (hook == TP_HOOK_TRACEPOINT) {
		progs[n][0] = "tcp_retransmit_skb_tp";
		progs[n++][1] = synack ? "tcp_retransmit_synack_tp" : NULL;
		return n;
	}
	if (any || !strcmp(want, "tp_btf")) {
		progs[n][0] = err ? "tcp_retransmit_skb_err_btf" : "tcp_retransmit_skb_btf";
		progs[n++][1] = synack ? "tcp_retransmit_synack_btf" : NULL;
	}
	if (any || !strcmp(want, "raw_tp")) {
		progs[n][0] = err ? "tcp_retransmit_skb_err" : "tcp_retransmit_skb";
		progs[n++][1] = synack ? "tcp_retransmit_synack" : NULL;
	}
	return n;
}

static int tcp_retransmits_init(struct collector_ctx *ctx)
{
	const struct tcp_retransmits_opts *opts = ctx->opts;
	const char *want = opts ? opts->hook : NULL;
	struct tcp_retransmits_state *st = NULL;
	const char *progs[2][2];
	enum tp_hook hook, synack;
	const struct btf *btf;
	int64_t max_states = TCP_RETRANS_STATES;
	size_t n, i;
	char where[96];

	bpf_setup();
	/* tp_btf needs what raw_tp needs: the raw tracepoint. */
	hook = tphook_choose("tcp", "tcp_retransmit_skb",
			     want && !strcmp(want, "tp_btf") ? "raw_tp" : want);
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
	if (opts && opts->remote_port && top_ports_init(&st->ports, opts->top_ports) < 0)
		goto fail;
	n = candidates(hook, want, synack != TP_HOOK_NONE,
		       btf_enum_tp_nargs(btf, "tcp_retransmit_skb") >= 3, progs);
	for (i = 0; i < n && load(st, progs[i]) < 0; i++)
		log_msg(LOG_DEBUG, "bpf program did not load",
			"collector=tcp_retransmits program=%s err=%d", progs[i][0], -errno);
	if (!st->skel)
		goto fail;
	log_msg(LOG_INFO, "bpf collector loaded", "collector=tcp_retransmits program=%s synack=%s",
		progs[i][0], progs[i][1] ? progs[i][1] : "none");
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
	.kind = &bpf_collector_kind,
	.init = tcp_retransmits_init,
	.update = tcp_retransmits_update,
	.exit = tcp_retransmits_exit,
};
