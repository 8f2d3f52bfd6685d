// SPDX-License-Identifier: GPL-2.0
/* tcp_states: TCP state transitions (sock:inet_sock_set_state, TCP sockets
 * only), connection lifetimes, and connections entering TIME_WAIT by
 * remote port (seed 003's storm of short connections to the storage).
 *
 * Counts go to per-CPU arrays (transition old x new; TIME_WAIT entries by
 * port, 65536 slots, see portcount.h): no lock, no atomic. The only shared
 * map is the bounded hash of in-flight start timestamps keyed by socket,
 * touched twice per socket (its start and its end), never per packet; its
 * updates take a bucket lock, at connection rate.
 *
 * TIME_WAIT has no transition of its own: the kernel hands an actively
 * closed connection to a new timewait socket (tcp_time_wait()) and closes
 * the full socket, whose last transition is FIN_WAIT2 -> CLOSE (or CLOSING
 * -> CLOSE). Those, without a socket error (a reset sets sk_err first), are
 * the connections entering TIME_WAIT (or its FIN_WAIT2 substate: what
 * /proc/net/sockstat counts as tw). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/bits.bpf.h"
#include "bpf/maps.bpf.h"
#include "bpf/portcount.h"
#include "bpf/tcp_states.h"

/* State values, from the kernel's BTF (user space, before load). */
const volatile __u32 st_close = ~0U;
const volatile __u32 st_syn_sent = ~0U;
const volatile __u32 st_syn_recv = ~0U;
const volatile __u32 st_fin_wait2 = ~0U;
const volatile __u32 st_closing = ~0U;
const volatile bool by_port = true;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCP_STATES * TCP_STATES);
	__type(key, u32);
	__type(value, u64);
} transitions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* user space sets it from max_inflight */
	__type(key, u64);
	__type(value, u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HIST_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} lifetime SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PORTCOUNT_CHUNKS); /* 1 when the time_wait_ports option is off */
	__type(key, u32);
	__type(value, struct port_chunk);
} time_wait SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCP_STATES_COUNTERS);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

static __always_inline int handle(const struct sock *sk, u32 old, u32 new, u32 remote_port)
{
	u64 key = (u64)sk, now, *started, delta, slot;

	if (old < TCP_STATES && new < TCP_STATES)
		percpu_add(&transitions, old * TCP_STATES + new, 1);

	/* A connection starts: connect() (CLOSE -> SYN_SENT), or a listener's
	 * new child (LISTEN -> SYN_RECV). */
	if (new == st_syn_sent || new == st_syn_recv) {
		now = bpf_ktime_get_ns();
		if (bpf_map_update_elem(&start, &key, &now, BPF_ANY))
			percpu_add(&counters, TCP_STATES_START_OVERFLOW, 1);
		return 0;
	}
	if (new != st_close)
		return 0;
	if (by_port && (old == st_fin_wait2 || old == st_closing) && !BPF_CORE_READ(sk, sk_err))
		portcount_add(&time_wait, remote_port, 1);
	started = bpf_map_lookup_elem(&start, &key);
	if (!started)
		return 0; /* opened before we started, or never timed */
	delta = bpf_ktime_get_ns() - *started;
	bpf_map_delete_elem(&start, &key);
	slot = log2_u64(delta / TCP_LIFETIME_UNIT_NS);
	if (slot >= HIST_SLOTS)
		slot = HIST_SLOTS - 1;
	percpu_add(&lifetime, (u32)slot, 1);
	percpu_add(&lifetime, HIST_SUM_SLOT, delta);
	return 0;
}

/* sk_protocol was a bitfield before 5.6: the probed read copes with both. */
static __always_inline bool is_tcp(const struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) == IPPROTO_TCP;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(tcp_states_set_state, const struct sock *sk, int oldstate, int newstate)
{
	if (!is_tcp(sk))
		return 0;
	return handle(sk, (u32)oldstate, (u32)newstate,
		      bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport)));
}

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_states_set_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	/* The event's dport is already in host order. */
	return handle(ctx->skaddr, (u32)ctx->oldstate, (u32)ctx->newstate, ctx->dport);
}

char LICENSE[] SEC("license") = "GPL";
