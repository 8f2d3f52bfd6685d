/* mapread: reading the per-CPU map shapes that tcp_retransmits,
 * tcp_states, skb_drops and writeback count into, beside bpfutil's dense
 * bpf_percpu_sum():
 *
 *   - per-port counters (portcount.h: 16 chunks of 4096 ports), summed over
 *     CPUs, and cut to the N busiest ports so that a label never takes
 *     65536 values;
 *   - a bounded per-CPU hash (keys that are neither small nor dense:
 *     function addresses, cgroup pairs, listening ports): walked key by
 *     key, each value summed over CPUs.
 *
 * Collection-thread only (shared scratch buffers). */
#ifndef BPFPUSH_MAPREAD_H
#define BPFPUSH_MAPREAD_H

#include <stddef.h>
#include <stdint.h>

#define MAPREAD_PORTS 65536

/* out[p] = sum over CPUs of port p's counter in a portcount map, for
 * p < MAPREAD_PORTS. 0 or -1. */
int mapread_ports(int map_fd, uint64_t *out);

/* The (at most n) ports with the largest nonzero counts, largest first
 * (ties: lower port first), into top[]; returns how many. */
size_t mapread_top_ports(const uint64_t *counts, size_t n, uint16_t *top);

/* Calls fn(key, sum over CPUs of its u64 value, arg) for every key of a
 * per-CPU hash with u64 values. Returns the number of keys, or -1. */
int mapread_percpu_hash(int map_fd, size_t key_size,
			void (*fn)(const void *key, uint64_t sum, void *arg), void *arg);

#endif
