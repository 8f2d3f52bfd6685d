/* SPDX-License-Identifier: MIT */
/* tcp_states: TCP state transitions, connection lifetimes, and connections
 * entering TIME_WAIT by remote port. Kernel side in tcp_states.bpf.c.
 *
 * State names are the kernel's own (BTF) without the TCP_ prefix:
 * ESTABLISHED, FIN_WAIT1, ... The values the kernel side compares against
 * (CLOSE, SYN_SENT, ...) are read from BTF by name too.
 *
 * Lifetime: from the connection's start (connect(): CLOSE -> SYN_SENT; a
 * listener's child: LISTEN -> SYN_RECV) to its socket reaching CLOSE, in a
 * histogram of 64 us log2 buckets up to 38 hours. Connections open when the
 * agent started are not timed.
 *
 * TIME_WAIT by remote port: the kernel side counts every port (portcount.h:
 * 512 KiB per CPU); the top_ports ports with the most entries are emitted.
 * The side that closes first enters TIME_WAIT: for a client that opens a
 * connection per request to a server (docs/design.md), the
 * remote port is the server's, a handful of values; for a server that
 * closes first, it is the clients' ephemeral ports, thousands of values,
 * hence the cap on what is emitted, not on what is counted. */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <bpf/libbpf.h>

#include "lib/log.h"
#include "bpf/bpfutil.h"
#include "bpf/btf_enum.h"
#include "bpf/loader.h"
#include "bpf/mapread.h"
#include "bpf/tcp_states.h"
#include "bpf/tcp_states.skel.h" /* generated into $(BUILD)/bpf */

BPF_SKEL_OPS(tcp_states_bpf);

/* Buckets up to 2^31 units of 64 us (38 h); longer lives count in +Inf. */
#define TCP_LIFETIME_BUCKETS 31

/* The start table's size bound: 2^20 sets of 64 bytes (64 MiB of kernel
 * memory), room for max_inflight 2^21. */
#define MAX_START_SETS (1u << 20)
#define MAX_INFLIGHT ((int64_t)MAX_START_SETS * START_WAYS / 2)

struct tcp_states_opts {
	int64_t max_inflight;  /* connections timed at once (the table holds twice as many) */
	bool time_wait_ports;  /* count TIME_WAIT entries by remote port */
	int64_t top_ports;     /* remote ports emitted, the busiest first */
	char *hook;            /* auto, tp_btf, raw_tp, tracepoint */
};

static const struct opt_desc tcp_states_opt_descs[] = {
	{"max_inflight", OPT_INT, "16384", offsetof(struct tcp_states_opts, max_inflight),
	 MAX_INFLIGHT},
	{"time_wait_ports", OPT_BOOL, "true", offsetof(struct tcp_states_opts, time_wait_ports), 0},
	{"top_ports", OPT_INT, "20", offsetof(struct tcp_states_opts, top_ports), MAPREAD_PORTS},
	{"hook", OPT_ENUM, "auto|tp_btf|raw_tp|tracepoint", offsetof(struct tcp_states_opts, hook), 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

static const struct metric_desc transitions_desc = {
	"kernel_tcp_state_transitions_total",
	"TCP socket state changes (sock:inet_sock_set_state).", METRIC_COUNTER};
static const struct metric_desc lifetime_desc = {
	"kernel_tcp_connection_lifetime_seconds",
	"TCP connection lifetime: from connect() or a listener's new child to CLOSE.",
	METRIC_HISTOGRAM};
static const struct metric_desc time_wait_desc = {
	"kernel_tcp_time_wait_entered_total",
	"TCP connections closed first by this host (entering TIME_WAIT), by remote port; the "
	"top_ports busiest ports only.",
	METRIC_COUNTER};
static const struct metric_desc untimed_desc = {
	"kernel_tcp_untimed_connections_total",
	"TCP connections whose lifetime was not measured: the slots of the start table "
	"(max_inflight) their socket maps to were all taken.",
	METRIC_COUNTER};

/* The states the kernel side compares against, in struct tcp_states_state
 * and in its rodata, in this order. */
static const char *const compared[] = {"CLOSE", "SYN_SENT", "SYN_RECV", "FIN_WAIT2", "CLOSING"};
#define N_COMPARED (sizeof(compared) / sizeof(compared[0]))

struct tcp_states_state {
	struct enum_names states;
	struct top_ports ports; /* when time_wait_ports */
	__u32 value[N_COMPARED];
};

static const struct bpf_hook raw_hook[] = {{BPF_RAW_TP, NULL, "inet_sock_set_state"}, BPF_HOOKS_END};
static const struct bpf_hook tp_hook[] = {
	{BPF_TRACEPOINT, "sock", "inet_sock_set_state"}, BPF_HOOKS_END};
static const char *const btf_progs[] = {"tcp_states_set_state_btf", NULL};
static const char *const raw_progs[] = {"tcp_states_set_state", NULL};
static const char *const tp_progs[] = {"tcp_states_set_state_tp", NULL};
/* Raw tracepoints mean tp_btf (direct reads) then raw_tp (probe reads); a
 * classic tracepoint has its own program. */
static const struct bpf_way ways[] = {
	{"tp_btf", NULL, raw_hook, btf_progs},
	{"raw_tp", NULL, raw_hook, raw_progs},
	{"tracepoint", NULL, tp_hook, tp_progs},
};

static void tcp_states_release(struct bpf_run *r)
{
	struct tcp_states_state *st = r->state;

	btf_enum_free(&st->states);
	top_ports_free(&st->ports);
}

/* The value of TCP_<name>, into *out; false when BTF lacks it. */
static bool state_value(const struct btf *btf, const char *name, __u32 *out)
{
	char full[32];
	int64_t v;

	snprintf(full, sizeof(full), "TCP_%s", name);
	if (!btf_enum_value(btf, full, &v) || v < 0 || v >= TCP_STATES)
		return false;
	*out = (__u32)v;
	return true;
}

/* Sets in the start table for max_inflight connections: a power of two
 * (the kernel side masks the hash), twice what max_inflight needs, since a
 * connection can only use the START_WAYS slots of its own set. */
static uint32_t start_sets(int64_t max_inflight)
{
	uint32_t sets = 1;

	while (sets < MAX_START_SETS && (int64_t)sets * START_WAYS < 2 * max_inflight)
		sets <<= 1;
	return sets;
}

/* State names and values from the kernel's BTF; the port table. */
static int tcp_states_prepare(struct bpf_run *r)
{
	const struct tcp_states_opts *opts = r->opts;
	struct tcp_states_state *st = r->state;
	const struct btf *btf = bpf_kernel_btf();
	int64_t max_states = TCP_STATES;

	if (!btf_enum_value(btf, "TCP_MAX_STATES", &max_states) || max_states > TCP_STATES)
		max_states = TCP_STATES;
	btf_enum_load(btf, "TCP_ESTABLISHED", "TCP_", "TCP_", max_states, &st->states);
	if ((!opts || opts->time_wait_ports) &&
	    top_ports_init(&st->ports, opts ? opts->top_ports : 20) < 0)
		return -1;
	for (size_t i = 0; i < N_COMPARED; i++) {
		if (!state_value(btf, compared[i], &st->value[i])) {
			log_msg(LOG_WARN, "bpf collector disabled: kernel BTF lacks the TCP states",
				"collector=tcp_states");
			return BPF_LOGGED;
		}
	}
	return 0;
}

static int tcp_states_configure(struct bpf_run *r)
{
	const struct tcp_states_opts *opts = r->opts;
	const struct tcp_states_state *st = r->state;
	struct tcp_states_bpf *skel = r->skel;
	uint32_t sets = start_sets(opts && opts->max_inflight > 0 ? opts->max_inflight : 16384);

	skel->rodata->st_close = st->value[0];
	skel->rodata->st_syn_sent = st->value[1];
	skel->rodata->st_syn_recv = st->value[2];
	skel->rodata->st_fin_wait2 = st->value[3];
	skel->rodata->st_closing = st->value[4];
	bpf_map__set_max_entries(skel->maps.start, sets);
	skel->rodata->start_sets_mask = sets - 1;
	skel->rodata->by_port = st->ports.counts != NULL;
	if (!st->ports.counts)
		bpf_map__set_max_entries(skel->maps.time_wait, 1);
	return 0;
}

static void tcp_states_describe(const struct bpf_run *r, char *buf, size_t size)
{
	snprintf(buf, size, "program=%s", r->program);
}

static const char *state_name(const struct tcp_states_state *st, uint32_t s, char *buf,
			      size_t size)
{
	const char *name = btf_enum_name(&st->states, s);

	if (name)
		return name;
	snprintf(buf, size, "%u", s);
	return buf;
}

static int tcp_states_update(struct bpf_run *r, struct registry *reg)
{
	struct tcp_states_state *st = r->state;
	struct tcp_states_bpf *skel = r->skel;
	uint64_t transitions[TCP_STATES * TCP_STATES], hist[HIST_ENTRIES],
		counters[TCP_STATES_COUNTERS];
	char old_buf[16], new_buf[16];

	if (bpf_percpu_sum(bpf_map__fd(skel->maps.transitions), 0, TCP_STATES * TCP_STATES,
			   transitions) < 0 ||
	    bpf_percpu_sum(bpf_map__fd(skel->maps.lifetime), 0, HIST_ENTRIES, hist) < 0 ||
	    bpf_percpu_sum(bpf_map__fd(skel->maps.counters), 0, TCP_STATES_COUNTERS,
			   counters) < 0)
		return -1;
	for (uint32_t i = 0; i < TCP_STATES * TCP_STATES; i++) {
		struct label l[2];

		if (!transitions[i])
			continue;
		l[0] = (struct label){"old_state",
				      state_name(st, i / TCP_STATES, old_buf, sizeof(old_buf))};
		l[1] = (struct label){"new_state",
				      state_name(st, i % TCP_STATES, new_buf, sizeof(new_buf))};
		registry_emit(reg, &transitions_desc, NULL, l, 2, (double)transitions[i], 0);
	}
	bpf_emit_log2_histogram(reg, &lifetime_desc, NULL, 0, hist, TCP_LIFETIME_BUCKETS,
				TCP_LIFETIME_UNIT_NS / 1e9, 1e-9);
	registry_emit(reg, &untimed_desc, NULL, NULL, 0,
		      (double)counters[TCP_STATES_START_OVERFLOW], 0);
	if (st->ports.counts) {
		int fd = bpf_map__fd(skel->maps.time_wait);
		/* No .bss mapping (a kernel without mmapable arrays): every chunk. */
		const volatile uint8_t *touched = skel->bss ? skel->bss->time_wait_touched : NULL;

		if (top_ports_emit(&st->ports, fd, touched, reg, &time_wait_desc) < 0)
			return -1;
	}
	return 0;
}

const struct bpf_collector bpf_collector_tcp_states = {
	.collector = BPF_COLLECTOR("tcp_states", true, sizeof(struct tcp_states_opts),
				   tcp_states_opt_descs),
	.skel = &tcp_states_bpf_ops,
	.state_size = sizeof(struct tcp_states_state),
	.ways = ways,
	.n_ways = sizeof(ways) / sizeof(ways[0]),
	.pin_option = "hook",
	.prepare = tcp_states_prepare,
	.configure = tcp_states_configure,
	.describe = tcp_states_describe,
	.update = tcp_states_update,
	.release = tcp_states_release,
};
