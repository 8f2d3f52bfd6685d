/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* tcp_sendmsg: the sizes of sendmsg calls on TCP sockets (docs/design.md,
 * "Signals that explained real incidents").
 *
 * Four ways in, one loaded (user space picks, in this order):
 *  - tp_btf/sock_send_length (Linux 6.3+): fires once per sendmsg on any
 *    socket, after the protocol's sendmsg returned, with the bytes it
 *    accepted or the error; filtered to TCP. No tracefs, cheapest hook
 *    (BTF-typed: the socket's fields are read directly), and it sees every
 *    entry point (write, send*, sendfile/splice, io_uring, kernel sockets).
 *  - raw_tp/sock_send_length: the same, with probe reads.
 *  - fentry/tcp_sendmsg: the size asked for, on entry.
 *  - kprobe/tcp_sendmsg: the same, on kernels with kprobes and no fentry.
 * (tcp:tcp_sendmsg_locked fires once per segment-building loop of one
 * call, not once per call: not used.)
 * Counts go to per-CPU arrays: no lock on this path. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/maps.bpf.h"
#include "bpf/tcp_sendmsg.h"

#define IPPROTO_TCP 6
#define SOCK_STREAM 1

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HIST_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCP_SENDMSG_COUNTERS);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

static __always_inline void record(u64 bytes)
{
	hist_add(&hist, 0, bytes > 1 ? bytes - 1 : 0, bytes);
}

static __always_inline void sent(int ret)
{
	if (ret < 0)
		percpu_add(&counters, TCP_SENDMSG_ERRORS, 1);
	else
		record((u64)ret);
}

/* sk_protocol and sk_type were bitfields before 5.6: these read either. */
SEC("tp_btf/sock_send_length")
int BPF_PROG(tcp_send_length, struct sock *sk, int ret, int flags)
{
	if (BPF_CORE_READ_BITFIELD(sk, sk_protocol) == IPPROTO_TCP &&
	    BPF_CORE_READ_BITFIELD(sk, sk_type) == SOCK_STREAM)
		sent(ret);
	return 0;
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(tcp_send_length_raw, struct sock *sk, int ret, int flags)
{
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) == IPPROTO_TCP &&
	    BPF_CORE_READ_BITFIELD_PROBED(sk, sk_type) == SOCK_STREAM)
		sent(ret);
	return 0;
}

SEC("fentry/tcp_sendmsg")
int BPF_PROG(tcp_sendmsg_fentry, struct sock *sk, struct msghdr *msg, size_t size)
{
	record(size);
	return 0;
}

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(tcp_sendmsg_kprobe, struct sock *sk, struct msghdr *msg, size_t size)
{
	record(size);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
