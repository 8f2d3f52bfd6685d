/* SPDX-License-Identifier: MIT */
/* mapread: reading the per-CPU map shapes that tcp_retransmits,
 * tcp_states, skb_drops and writeback count into, beside bpfutil's dense
 * bpf_percpu_sum():
 *
 *   - per-port counters (portcount.h: 16 chunks of 4096 ports), summed over
 *     CPUs, and cut to the N busiest ports so that a label never takes
 *     65536 values (struct top_ports, which also emits them);
 *   - a bounded per-CPU hash (keys that are neither small nor dense:
 *     function addresses, cgroup pairs, listening ports, cgroups): walked
 *     key by key, each value (a u64, or runqlat's histograms: a u64 array)
 *     summed over CPUs.
 *
 * Collection-thread only (shared scratch buffers). */
#ifndef BPFPUSH_MAPREAD_H
#define BPFPUSH_MAPREAD_H

#include <stddef.h>
#include <stdint.h>

#define MAPREAD_PORTS 65536

struct registry;
struct metric_desc;

/* The busiest remote ports of a portcount map, emitted as a counter with
 * a remote_port label (tcp_retransmits, tcp_states). */
struct top_ports {
	uint64_t *counts; /* MAPREAD_PORTS: per port, summed over CPUs */
	uint16_t *top;    /* the busiest, largest count first */
	size_t n;         /* how many are emitted */
};

/* Room for the n busiest ports (at most MAPREAD_PORTS). 0, or -1 with
 * errno set; top_ports_free either way. */
int top_ports_init(struct top_ports *t, int64_t n);
void top_ports_free(struct top_ports *t);

/* Reads the portcount map and emits desc{remote_port} for its t->n
 * busiest ports (ties: the lower port first). touched: the map's
 * PORTCOUNT_CHUNKS chunk marks (portcount.h, the kernel side's .bss), only
 * marked chunks are read; NULL reads every chunk. 0 or -1. */
int top_ports_emit(struct top_ports *t, int map_fd, const volatile uint8_t *touched,
		   struct registry *reg, const struct metric_desc *desc);

/* Calls fn(key, sum over CPUs of its u64 value, arg) for every key of a
 * per-CPU hash with u64 values. Returns the number of keys, or -1. */
int mapread_percpu_hash(int map_fd, size_t key_size,
			void (*fn)(const void *key, uint64_t sum, void *arg), void *arg);

/* The same for values of n u64: fn gets sums[i] = sum over CPUs of the
 * key's u64 number i, for i < n (valid during the call). */
int mapread_percpu_hash_sums(int map_fd, size_t key_size, size_t n,
			     void (*fn)(const void *key, const uint64_t *sums, void *arg),
			     void *arg);

/* out[i] = sum over CPUs of slot first + i of a per-CPU array of u64, for
 * i < n: one BPF_MAP_LOOKUP_BATCH system call where the kernel has it
 * (Linux 5.6), else one lookup per slot. 0, or -1 with errno set. */
int mapread_percpu_array_sum(int map_fd, uint32_t first, uint32_t n, uint64_t *out);

#endif
