/* SPDX-License-Identifier: MIT */
/* tcp_retransmits: what tcp_retransmits.bpf.c and tcp_retransmits.c share. */
#ifndef BPFPUSH_TCP_RETRANSMITS_H
#define BPFPUSH_TCP_RETRANSMITS_H

/* One slot per TCP state value (sk_state is below 16 on every kernel: 14
 * states in 6.18, names from BTF); anything larger counts in the last. */
#define TCP_RETRANS_STATES 16

#endif
