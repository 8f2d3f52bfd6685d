/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* tcp_retransmits: TCP segments retransmitted, by the socket's state
 * (tcp:tcp_retransmit_skb, and tcp:tcp_retransmit_synack for SYN-ACKs),
 * optionally by remote port.
 *
 * Counts are segments, as TcpRetransSegs counts them (a retransmitted GSO
 * skb of n segments counts n), and only retransmissions that were sent:
 * kernels that also trace failed attempts pass err != 0 for those. Both
 * maps are per-CPU arrays indexed by a small dense key (state, port): no
 * lock, no atomic.
 *
 * Raw tracepoints, no tracefs: BTF-typed ones (tp_btf) where the kernel
 * takes them, since they read the socket and skb fields directly, else
 * plain raw_tp with a probe-read helper call per field (`pytest -s
 * test/bpf/test_bpf_tcp_retransmits.py` prints both: medians of 182 and
 * 346 ns per retransmitted skb here); the classic tracepoint last. One
 * body serves both: the btf parameter of count_skb() and count_synack(). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/maps.bpf.h"
#include "bpf/portcount.h"
#include "bpf/tcp_retransmits.h"

const volatile bool by_port = false; /* user space: the remote_port option */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCP_RETRANS_STATES);
	__type(key, u32);
	__type(value, u64);
} retransmits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1); /* PORTCOUNT_CHUNKS when by_port: 512 KiB per CPU */
	__type(key, u32);
	__type(value, struct port_chunk);
} ports SEC(".maps");

/* The ports chunks ever counted into (portcount.h), read by user space
 * through the mmapped .bss. */
__u8 ports_touched[PORTCOUNT_CHUNKS];

static __always_inline int count(u32 state, u32 segs, u32 remote_port)
{
	percpu_add(&retransmits, state < TCP_RETRANS_STATES ? state : TCP_RETRANS_STATES - 1, segs);
	if (by_port)
		portcount_add(&ports, ports_touched, remote_port, segs);
	return 0;
}

/* tcp_skb_pcount(): the segments in the skb, from its control block. btf:
 * skb is a BTF pointer (tp_btf), read directly; otherwise a raw one
 * (raw_tp, tracepoint), read with a probe read. The compiler keeps only
 * one branch. */
static __always_inline u32 skb_segs(const struct sk_buff *skb, const bool btf)
{
	struct tcp_skb_cb *cb = (void *)skb + bpf_core_field_offset(struct sk_buff, cb);
	u16 segs = btf ? cb->tcp_gso_segs : BPF_CORE_READ(cb, tcp_gso_segs);

	return segs ? segs : 1;
}

static __always_inline int count_skb(const struct sock *sk, const struct sk_buff *skb,
				     const bool btf)
{
	const struct sock_common *c = &sk->__sk_common;

	if (btf)
		return count(c->skc_state, skb_segs(skb, true), bpf_ntohs(c->skc_dport));
	return count(BPF_CORE_READ(c, skc_state), skb_segs(skb, false),
		     bpf_ntohs(BPF_CORE_READ(c, skc_dport)));
}

/* A SYN-ACK sent again for a request socket (state NEW_SYN_RECV). */
static __always_inline int count_synack(const struct request_sock *req, const bool btf)
{
	const struct sock_common *c = &req->__req_common;

	if (btf)
		return count(c->skc_state, 1, bpf_ntohs(c->skc_dport));
	return count(BPF_CORE_READ(c, skc_state), 1, bpf_ntohs(BPF_CORE_READ(c, skc_dport)));
}

/* tp_btf, tried first: the arguments are typed, their fields read
 * directly. Kernels that trace failed retransmissions too: (sk, skb, err). */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_skb_err_btf, const struct sock *sk, const struct sk_buff *skb,
	     int err)
{
	return err ? 0 : count_skb(sk, skb, true);
}

/* Older kernels: (sk, skb), only successful retransmissions. */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_skb_btf, const struct sock *sk, const struct sk_buff *skb)
{
	return count_skb(sk, skb, true);
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(tcp_retransmit_synack_btf, const struct sock *sk, const struct request_sock *req)
{
	return count_synack(req, true);
}

/* raw_tp, the fallback: the same arguments, untyped, read with a probe
 * read (a helper call) per field. */
SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_skb_err, const struct sock *sk, const struct sk_buff *skb, int err)
{
	return err ? 0 : count_skb(sk, skb, false);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_skb, const struct sock *sk, const struct sk_buff *skb)
{
	return count_skb(sk, skb, false);
}

SEC("raw_tp/tcp_retransmit_synack")
int BPF_PROG(tcp_retransmit_synack, const struct sock *sk, const struct request_sock *req)
{
	return count_synack(req, false);
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tcp_retransmit_skb_tp(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	if (bpf_core_field_exists(ctx->err) && ctx->err)
		return 0;
	/* The event's dport is already in host order. */
	return count(ctx->state, skb_segs(ctx->skbaddr, false), ctx->dport);
}

SEC("tracepoint/tcp/tcp_retransmit_synack")
int tcp_retransmit_synack_tp(struct trace_event_raw_tcp_retransmit_synack *ctx)
{
	const struct request_sock *req = ctx->req;

	return count(BPF_CORE_READ(req, __req_common.skc_state), 1, ctx->dport);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
