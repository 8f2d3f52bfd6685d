/* SPDX-License-Identifier: MIT */
/* listen_diag: the agent's TCP listening sockets as the kernel's sock_diag
 * netlink interface reports them (what `ss -ltnm` shows), for skb_drops.
 *
 * Why: a SYN that finds a listener's accept queue full is counted in TcpExt
 * ListenOverflows and then consumed, not dropped with a reason, so no
 * tracepoint sees it (measured on 6.18: a flood of 144 such SYNs, not one
 * kfree_skb for them). What does see it is the listener's own drop counter,
 * sk_drops: +1 from tcp_listendrop() for each SYN or final ACK the listener
 * refuses, and +1 from tcp_v4_rcv()'s discard for each segment that reached
 * the listener or one of its half-open requests and was thrown away (so a
 * refused final ACK counts twice). sock_diag returns it, with the accept
 * queue's length and capacity. One dump per round walks only the listening
 * hash (the state filter is applied in the kernel), and costs the packets
 * nothing.
 *
 * Sockets of the agent's network namespace only (like TcpExt itself). */
#ifndef BPFPUSH_LISTEN_DIAG_H
#define BPFPUSH_LISTEN_DIAG_H

#include <stdint.h>

struct listen_port {
	uint16_t port;
	uint64_t drops;    /* sum over its listening sockets of sk_drops */
	uint64_t queued;   /* connections waiting in accept queues */
	uint64_t capacity; /* sum of the listen() backlogs */
};

/* Calls fn once per local port with listening TCP sockets (IPv4 and IPv6,
 * SO_REUSEPORT groups summed). Returns the number of ports, or -1. */
int listen_diag_ports(void (*fn)(const struct listen_port *p, void *arg), void *arg);

#endif
