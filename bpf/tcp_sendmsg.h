/* SPDX-License-Identifier: MIT */
/* tcp_sendmsg: what tcp_sendmsg.bpf.c and tcp_sendmsg.c share. */
#ifndef BPFPUSH_TCP_SENDMSG_H
#define BPFPUSH_TCP_SENDMSG_H

#include "bpf/histogram.h"

/* One histogram at key 0. Slots are bytes rounded up to a power of two:
 * slot i counts sizes in (2^i, 2^(i+1)], so a 4096-byte send is in the
 * le="4096" bucket. */

enum tcp_sendmsg_counter {
	TCP_SENDMSG_ERRORS, /* sendmsg on a TCP socket that failed (EAGAIN, EPIPE, ...) */
	TCP_SENDMSG_COUNTERS
};

#endif
