/* SPDX-License-Identifier: MIT */
/* tcp_sendmsg: sizes of sendmsg calls on TCP sockets, as a histogram in
 * bytes, kernel_tcp_sendmsg_size_bytes, and failed calls,
 * kernel_tcp_sendmsg_errors_total. Kernel side in tcp_sendmsg.bpf.c.
 *
 * The hook is chosen at load, the first that loads and attaches:
 * tp_btf/sock_send_length, raw_tp/sock_send_length (size = bytes the call
 * accepted; errors counted), fentry/tcp_sendmsg, kprobe/tcp_sendmsg (size
 * = bytes asked for; errors not seen, their series is not emitted). The
 * option `hook` pins one (auto, tp_btf, raw_tp, fentry, kprobe). */
#include <stddef.h>
#include <stdio.h>

#include <bpf/libbpf.h>

#include "bpf/bpfutil.h"
#include "bpf/loader.h"
#include "bpf/tcp_sendmsg.h"
#include "bpf/tcp_sendmsg.skel.h" /* generated into $(BUILD)/bpf */

BPF_SKEL_OPS(tcp_sendmsg_bpf);

/* Buckets up to 2^30 bytes (1 GiB); larger sends count in +Inf. */
#define TCP_SENDMSG_BUCKETS 30

struct tcp_sendmsg_opts {
	char *hook; /* auto, tp_btf, raw_tp, fentry, kprobe */
};

static const struct opt_desc tcp_sendmsg_opt_descs[] = {
	{"hook", OPT_ENUM, "auto|tp_btf|raw_tp|fentry|kprobe", offsetof(struct tcp_sendmsg_opts, hook), 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

static const struct metric_desc size_desc = {
	"kernel_tcp_sendmsg_size_bytes",
	"Sizes of sendmsg calls on TCP sockets (bytes accepted with the sock_send_length "
	"tracepoint, bytes asked for with fentry/kprobe on tcp_sendmsg).",
	METRIC_HISTOGRAM};
static const struct metric_desc errors_desc = {
	"kernel_tcp_sendmsg_errors_total",
	"sendmsg calls on TCP sockets that failed (EAGAIN: send buffer full; EPIPE, ...).",
	METRIC_COUNTER};

enum hook { HOOK_TP_BTF, HOOK_RAW_TP, HOOK_FENTRY, HOOK_KPROBE };
static const struct bpf_hook tracepoint[] = {{BPF_RAW_TP, NULL, "sock_send_length"}, BPF_HOOKS_END};
static const struct bpf_hook function[] = {{BPF_FUNCTION, NULL, "tcp_sendmsg"}, BPF_HOOKS_END};
static const struct bpf_hook kprobe[] = {{BPF_KPROBE, NULL, "tcp_sendmsg"}, BPF_HOOKS_END};
static const char *const btf_progs[] = {"tcp_send_length", NULL};
static const char *const raw_progs[] = {"tcp_send_length_raw", NULL};
static const char *const fentry_progs[] = {"tcp_sendmsg_fentry", NULL};
static const char *const kprobe_progs[] = {"tcp_sendmsg_kprobe", NULL};
static const struct bpf_way ways[] = {
	[HOOK_TP_BTF] = {"tp_btf", "tp_btf/sock_send_length", tracepoint, btf_progs},
	[HOOK_RAW_TP] = {"raw_tp", "raw_tp/sock_send_length", tracepoint, raw_progs},
	[HOOK_FENTRY] = {"fentry", "fentry/tcp_sendmsg", function, fentry_progs},
	[HOOK_KPROBE] = {"kprobe", "kprobe/tcp_sendmsg", kprobe, kprobe_progs},
};

static void tcp_sendmsg_describe(const struct bpf_run *r, char *buf, size_t size)
{
	snprintf(buf, size, "hook=%s", ways[r->way].label);
}

static int tcp_sendmsg_update(struct bpf_run *r, struct registry *reg)
{
	struct tcp_sendmsg_bpf *skel = r->skel;
	uint64_t entries[HIST_ENTRIES], counters[TCP_SENDMSG_COUNTERS];

	if (bpf_percpu_sum(bpf_map__fd(skel->maps.hist), 0, HIST_ENTRIES, entries) < 0 ||
	    bpf_percpu_sum(bpf_map__fd(skel->maps.counters), 0, TCP_SENDMSG_COUNTERS, counters) < 0)
		return -1;
	bpf_emit_log2_histogram(reg, &size_desc, NULL, 0, entries, TCP_SENDMSG_BUCKETS, 1, 1);
	if (r->way == HOOK_TP_BTF || r->way == HOOK_RAW_TP)
		registry_emit(reg, &errors_desc, NULL, NULL, 0,
			      (double)counters[TCP_SENDMSG_ERRORS], 0);
	return 0;
}

/* Every way that exists is tried in turn, whatever its hook: fentry and
 * kprobe see what tp_btf and raw_tp see, less precisely. */
const struct bpf_collector bpf_collector_tcp_sendmsg = {
	.collector = BPF_COLLECTOR("tcp_sendmsg", true, sizeof(struct tcp_sendmsg_opts),
				   tcp_sendmsg_opt_descs),
	.skel = &tcp_sendmsg_bpf_ops,
	.ways = ways,
	.n_ways = sizeof(ways) / sizeof(ways[0]),
	.pin_option = "hook",
	.every_hook = true,
	.describe = tcp_sendmsg_describe,
	.update = tcp_sendmsg_update,
};
