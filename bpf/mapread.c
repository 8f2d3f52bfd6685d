/* SPDX-License-Identifier: MIT */
#include "bpf/mapread.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "lib/buf.h"
#include "series/registry.h"
#include "bpf/bpfutil.h"
#include "bpf/portcount.h"

#define BATCH 4096 /* per-CPU values held at once while walking a hash */

static uint64_t *values; /* per-CPU values */
static size_t values_cap;

/* sum[i] = chunk c's port i summed over ncpu CPUs; whether any is nonzero.
 * The first two CPUs in one pass (no copy first), and plain loops without
 * a branch per port, which the compiler vectorises (restrict: without
 * it, -O2 does not add the overlap check it would need). */
static bool sum_chunk(const struct port_chunk *restrict c, int ncpu, uint64_t *restrict sum)
{
	uint64_t any = 0;

	if (ncpu == 1)
		memcpy(sum, c[0].count, sizeof(c[0].count));
	else
		for (uint32_t i = 0; i < PORTCOUNT_CHUNK; i++)
			sum[i] = c[0].count[i] + c[1].count[i];
	for (int cpu = 2; cpu < ncpu; cpu++)
		for (uint32_t i = 0; i < PORTCOUNT_CHUNK; i++)
			sum[i] += c[cpu].count[i];
	for (uint32_t i = 0; i < PORTCOUNT_CHUNK; i++)
		any |= sum[i];
	return any != 0;
}

/* out[p] = sum over CPUs of port p's counter in a portcount map, for the
 * ports of the chunks touched marks (every chunk when touched is NULL);
 * live[c]: chunk c was read and has a nonzero count. out's other chunks
 * are left as they are: a chunk is never unmarked, so they are the zeros
 * top_ports_init put there. 0 or -1. */
static int read_ports(int map_fd, const volatile uint8_t *touched, uint64_t *out,
		      bool live[PORTCOUNT_CHUNKS])
{
	int ncpu = bpf_possible_cpus();

	if (ncpu <= 0 || grow_array((void **)&values, &values_cap,
				    (size_t)PORTCOUNT_CHUNK * (size_t)ncpu, sizeof(*values)) < 0)
		return -1;
	for (uint32_t chunk = 0; chunk < PORTCOUNT_CHUNKS; chunk++) {
		live[chunk] = false;
		if (touched && !touched[chunk])
			continue;
		if (bpf_map_lookup_elem(map_fd, &chunk, values) < 0)
			return -1;
		live[chunk] = sum_chunk((const struct port_chunk *)values, ncpu,
					out + (size_t)chunk * PORTCOUNT_CHUNK);
	}
	return 0;
}

#define ZERO_RUN 8 /* ports checked at once by busiest_ports; divides PORTCOUNT_CHUNK */

/* counts[0..ZERO_RUN) are all 0: one branch for the run, not one a port. */
static bool all_zero(const uint64_t *counts)
{
	uint64_t any = 0;

	for (int i = 0; i < ZERO_RUN; i++)
		any |= counts[i];
	return any == 0;
}

/* The (at most n) ports with the largest nonzero counts, largest first
 * (ties: lower port first), into top[]; returns how many. */
static size_t busiest_ports(const uint64_t *counts, const bool live[PORTCOUNT_CHUNKS], size_t n,
			    uint16_t *top)
{
	size_t have = 0;

	if (!n)
		return 0;
	/* Insertion into a short sorted list: n is small (tens). */
	for (uint32_t p = 0; p < MAPREAD_PORTS; p++) {
		size_t at;

		if (p % PORTCOUNT_CHUNK == 0 && !live[p / PORTCOUNT_CHUNK]) {
			p += PORTCOUNT_CHUNK - 1; /* all zero */
			continue;
		}
		if (p % ZERO_RUN == 0 && all_zero(counts + p)) {
			p += ZERO_RUN - 1; /* most ports of a live chunk are 0 too */
			continue;
		}
		if (!counts[p] || (have == n && counts[p] <= counts[top[have - 1]]))
			continue;
		at = have < n ? have++ : n - 1;
		while (at > 0 && counts[top[at - 1]] < counts[p]) {
			top[at] = top[at - 1];
			at--;
		}
		top[at] = (uint16_t)p;
	}
	return have;
}

int top_ports_init(struct top_ports *t, int64_t n)
{
	t->n = n <= 0 ? 0 : n > MAPREAD_PORTS ? MAPREAD_PORTS : (size_t)n;
	t->counts = calloc(MAPREAD_PORTS, sizeof(*t->counts));
	t->top = calloc(t->n + 1, sizeof(*t->top));
	return t->counts && t->top ? 0 : -1;
}

void top_ports_free(struct top_ports *t)
{
	free(t->counts);
	free(t->top);
	t->counts = NULL;
	t->top = NULL;
}

int top_ports_emit(struct top_ports *t, int map_fd, const volatile uint8_t *touched,
		   struct registry *reg, const struct metric_desc *desc)
{
	char port[8];
	struct label l = {"remote_port", port};
	bool live[PORTCOUNT_CHUNKS];
	size_t have;

	if (read_ports(map_fd, touched, t->counts, live) < 0)
		return -1;
	have = busiest_ports(t->counts, live, t->n, t->top);
	for (size_t i = 0; i < have; i++) {
		snprintf(port, sizeof(port), "%u", t->top[i]);
		registry_emit(reg, desc, NULL, &l, 1, (double)t->counts[t->top[i]], 0);
	}
	return 0;
}

int mapread_percpu_hash_sums(int map_fd, size_t key_size, size_t n,
			     void (*fn)(const void *key, const uint64_t *sums, void *arg),
			     void *arg)
{
	int ncpu = bpf_possible_cpus(), keys = 0;
	unsigned char key[64], next[64];
	void *prev = NULL;

	if (ncpu <= 0 || key_size > sizeof(key) || n == 0 ||
	    grow_array((void **)&values, &values_cap, (n > BATCH ? n : BATCH) * (size_t)ncpu,
		       sizeof(*values)) < 0)
		return -1;
	while (bpf_map_get_next_key(map_fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_elem(map_fd, key, values) < 0) {
			if (errno == ENOENT)
				continue; /* deleted meanwhile */
			return -1;
		}
		/* Into CPU 0's copy: each CPU's value is n u64, one after another. */
		for (int cpu = 1; cpu < ncpu; cpu++)
			for (size_t i = 0; i < n; i++)
				values[i] += values[(size_t)cpu * n + i];
		fn(key, values, arg);
		keys++;
	}
	return errno == ENOENT ? keys : -1;
}

struct one_value {
	void (*fn)(const void *key, uint64_t sum, void *arg);
	void *arg;
};

static void call_one(const void *key, const uint64_t *sums, void *arg)
{
	const struct one_value *o = arg;

	o->fn(key, sums[0], o->arg);
}

int mapread_percpu_hash(int map_fd, size_t key_size,
			void (*fn)(const void *key, uint64_t sum, void *arg), void *arg)
{
	struct one_value o = {fn, arg};

	return mapread_percpu_hash_sums(map_fd, key_size, 1, call_one, &o);
}

/* Keys and per-CPU values of one batched array read. */
static uint32_t *batch_keys;
static size_t batch_keys_cap;
static uint64_t *batch_values;
static size_t batch_values_cap;
static bool batch_unsupported; /* the kernel refused once: per element */

/* out[i] = the sum over CPUs of slot first + i, with one
 * BPF_MAP_LOOKUP_BATCH (Linux 5.6). 0; 1 when the kernel cannot (the
 * caller reads slot by slot); -1 with errno set. */
static int array_sum_batch(int map_fd, uint32_t first, uint32_t n, uint64_t *out, int ncpu)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t before = first - 1, next = 0, count = n;

	if (grow_array((void **)&batch_keys, &batch_keys_cap, n, sizeof(*batch_keys)) < 0 ||
	    grow_array((void **)&batch_values, &batch_values_cap, (size_t)n * (size_t)ncpu,
		       sizeof(*batch_values)) < 0)
		return -1;
	/* in_batch is the key before the first one wanted; NULL: from 0.
	 * ENOENT: the array ended, with count read. */
	if (bpf_map_lookup_batch(map_fd, first ? &before : NULL, &next, batch_keys, batch_values,
				 &count, &opts) < 0 &&
	    errno != ENOENT) {
		if (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP || errno == ENOSYS)
			return 1;
		return -1;
	}
	if (count != n || (n && batch_keys[0] != first)) {
		errno = EIO;
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint64_t *v = batch_values + (size_t)i * (size_t)ncpu;
		out[i] = 0;
		for (int cpu = 0; cpu < ncpu; cpu++)
			out[i] += v[cpu];
	}
	return 0;
}

int mapread_percpu_array_sum(int map_fd, uint32_t first, uint32_t n, uint64_t *out)
{
	int ncpu = bpf_possible_cpus(), rc;

	if (ncpu <= 0)
		return -1;
	if (!batch_unsupported) {
		if ((rc = array_sum_batch(map_fd, first, n, out, ncpu)) <= 0)
			return rc;
		batch_unsupported = true;
	}
	if (grow_array((void **)&values, &values_cap, (size_t)ncpu, sizeof(*values)) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t key = first + i;
		out[i] = 0;
		if (bpf_map_lookup_elem(map_fd, &key, values) < 0)
			return -1;
		for (int cpu = 0; cpu < ncpu; cpu++)
			out[i] += values[cpu];
	}
	return 0;
}
