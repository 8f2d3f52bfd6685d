/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* tcp_states: TCP state transitions (sock:inet_sock_set_state, TCP sockets
 * only), connection lifetimes, and connections entering TIME_WAIT by
 * remote port (the storm of short connections in docs/design.md).
 *
 * Counts go to per-CPU arrays (transition old x new; TIME_WAIT entries by
 * port, 65536 slots, see portcount.h): no lock, no atomic.
 *
 * A connection's start time waits for its end in a set-associative table
 * (an array of sets of START_WAYS slots, the set chosen by a hash of the
 * socket's address, see sock_addr()): plain loads and stores, no lock, no
 * allocation, one cache line per connection at each end. It replaces a
 * bucket-locked hash (a lock and a free-list pop at each start; `make
 * bench` showed 269.7 ns per state change with it at fa4c93f); socket local
 * storage would allocate and link under a lock instead. A full set is
 * counted as untimed. Why plain stores are enough: a socket's own
 * transitions are serialized by its lock, so only two different sockets
 * can race, for the same free slot within nanoseconds: the loser's end
 * does not find itself (one connection untimed), and the winner's start
 * may be the loser's, those nanoseconds apart.
 *
 * tp_btf reads the socket directly where raw_tp needs a probe-read helper
 * call per field; raw_tp, then the classic tracepoint, are the fallbacks.
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
const volatile __u32 start_sets_mask = 4095; /* the start table's sets - 1 */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCP_STATES * TCP_STATES);
	__type(key, u32);
	__type(value, u64);
} transitions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096); /* user space: max_inflight / START_WAYS */
	__type(key, u32);
	__type(value, struct start_set);
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

/* The time_wait chunks ever counted into (portcount.h), read by user space
 * through the mmapped .bss. */
__u8 time_wait_touched[PORTCOUNT_CHUNKS];

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCP_STATES_COUNTERS);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

static __always_inline void count_transition(u32 old, u32 new)
{
	if (old < TCP_STATES && new < TCP_STATES)
		percpu_add(&transitions, old * TCP_STATES + new, 1);
}

/* A connection starts: connect() (CLOSE -> SYN_SENT), or a listener's new
 * child (LISTEN -> SYN_RECV). */
static __always_inline bool starts(u32 new)
{
	return new == st_syn_sent || new == st_syn_recv;
}

/* At CLOSE: counts a connection entering TIME_WAIT (see the top). */
static __always_inline void count_time_wait(u32 old, int sk_err, u32 remote_port)
{
	if (by_port && (old == st_fin_wait2 || old == st_closing) && !sk_err)
		portcount_add(&time_wait, time_wait_touched, remote_port, 1);
}

/* sk: the connection's key, a socket's address (0 marks a free slot). */
static __always_inline struct start_set *set_of(u64 sk)
{
	/* Fibonacci hashing: socket addresses are a few KiB apart, and
	 * their low bits alone would crowd a few sets. */
	u32 set = (u32)((sk * 0x9E3779B97F4A7C15ULL) >> 32) & start_sets_mask;

	return bpf_map_lookup_elem(&start, &set);
}

static __always_inline void start_timing(u64 sk)
{
	struct start_set *set = set_of(sk);
	u64 now = bpf_ktime_get_ns();
	int free = -1;

	if (!set || !sk)
		return;
	for (int i = 0; i < START_WAYS; i++) {
		u64 owner = set->way[i].sk;

		if (owner == sk) { /* connect() again after CLOSE */
			set->way[i].ts = now;
			return;
		}
		if (!owner && free < 0)
			free = i;
	}
	if (free < 0 || free >= START_WAYS) {
		percpu_add(&counters, TCP_STATES_START_OVERFLOW, 1);
		return;
	}
	set->way[free].sk = sk;
	set->way[free].ts = now;
}

/* The connection's start time, its slot freed; 0 if it was not timed. */
static __always_inline u64 end_timing(u64 sk)
{
	struct start_set *set = set_of(sk);
	u64 ts;

	if (!set)
		return 0;
	for (int i = 0; i < START_WAYS; i++) {
		if (set->way[i].sk != sk)
			continue;
		ts = set->way[i].ts;
		set->way[i].sk = 0;
		return ts;
	}
	return 0;
}

/* Per-CPU scratch for sock_addr(). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} addr_scratch SEC(".maps");

/* What names a connection in the start table: its socket's address, the
 * same from its start to its end. A typed (tp_btf) pointer allows no
 * arithmetic (the set hash multiplies), but a pointer stored to a map
 * value reads back as a plain number (tracing programs may store pointers:
 * they need CAP_PERFMON); the volatiles keep the compiler from eliding the
 * round trip. The socket's cookie would do too, but its first call writes
 * the socket: 160.6 ns per state change in `make bench` at 99e0871, 126.5
 * with addresses (test/bench/README.md). An address is reused
 * only after the socket is freed, which passes CLOSE and frees its slot;
 * a stale slot of the same address is overwritten at the next start. */
static __always_inline u64 sock_addr(const struct sock *sk, const bool typed)
{
	u32 zero = 0;
	u64 *slot;

	if (!typed)
		return (u64)sk;
	slot = bpf_map_lookup_elem(&addr_scratch, &zero);
	if (!slot)
		return 0;
	*(const struct sock *volatile *)slot = sk;
	return *(volatile u64 *)slot;
}

static __always_inline int handle(const struct sock *sk, u32 old, u32 new, int sk_err,
				  u32 remote_port, const bool typed)
{
	u64 started, lifetime_ns;

	count_transition(old, new);
	if (starts(new)) {
		start_timing(sock_addr(sk, typed));
		return 0;
	}
	if (new != st_close)
		return 0;
	count_time_wait(old, sk_err, remote_port);
	started = end_timing(sock_addr(sk, typed));
	if (!started)
		return 0; /* not timed: opened before we started, or its set was full */
	lifetime_ns = bpf_ktime_get_ns() - started;
	hist_add(&lifetime, 0, lifetime_ns / TCP_LIFETIME_UNIT_NS, lifetime_ns);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcp_states_set_state_btf, struct sock *sk, int oldstate, int newstate)
{
	/* A plain field since 5.6 (tp_btf came in 5.5; there it does not
	 * load, and raw_tp does). */
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	/* sk_err matters only at CLOSE: read it only there. */
	return handle(sk, (u32)oldstate, (u32)newstate, newstate == (int)st_close ? sk->sk_err : 0,
		      bpf_ntohs(sk->__sk_common.skc_dport), true);
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
		      newstate == (int)st_close ? BPF_CORE_READ(sk, sk_err) : 0,
		      bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport)), false);
}

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_states_set_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	const struct sock *sk = ctx->skaddr;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	/* The event's dport is already in host order. */
	return handle(sk, (u32)ctx->oldstate, (u32)ctx->newstate,
		      ctx->newstate == (int)st_close ? BPF_CORE_READ(sk, sk_err) : 0, ctx->dport,
		      false);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
