/* SPDX-License-Identifier: MIT */
/* bpfutil: what the user sides of the BPF collectors share: one-time libbpf
 * setup, probing which hooks this kernel has, reading per-CPU maps, and
 * turning log2 histograms and program run statistics into series. */
#ifndef BPFPUSH_BPFUTIL_H
#define BPFPUSH_BPFUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "series/registry.h"

struct bpf_object;
struct btf;

/* Once per process: libbpf's messages into our log (debug), and BPF run
 * statistics: switched on by the agent when bpf_stats_request(true) was
 * called first (--enable-bpf-stats; BPF_ENABLE_STATS needs CAP_SYS_ADMIN),
 * else used when the sysctl kernel.bpf_stats_enabled is already 1, else a
 * warning. Safe to call from every collector's init. */
void bpf_setup(void);
/* enable: --enable-bpf-stats. With 0 < on_ms < period_ms (--bpf-stats-duty)
 * they are on for on_ms in every period_ms, switched by a child process
 * that keeps CAP_SYS_ADMIN alone, and the program cost series are scaled
 * by period_ms / on_ms; else on for the agent's life. */
void bpf_stats_request(bool enable, int64_t on_ms, int64_t period_ms);

/* Hook probes: does this kernel have it? A hook named in the environment
 * variable BPFPUSH_BPF_HIDE_HOOKS (comma-separated) is reported absent. */
bool bpf_has_raw_tracepoint(const char *name);   /* btf_trace_<name> in vmlinux BTF */
bool bpf_has_kernel_function(const char *name);  /* a BTF FUNC: fentry/kprobe target */
bool bpf_has_tracefs_event(const char *category, const char *name);
bool bpf_has_map_type_task_storage(void);

/* The running kernel's BTF (/sys/kernel/btf/vmlinux), parsed on first use
 * (a few ms, ~10 MB) and kept for every collector until bpf_teardown(); or
 * NULL when the kernel has none. */
const struct btf *bpf_kernel_btf(void);

/* Number of possible CPUs (the width of a per-CPU map value). */
/* Frees what bpf_setup and the probes keep; after every collector exited. */
void bpf_teardown(void);

int bpf_possible_cpus(void);

/* out[i] = sum over CPUs of keys first + i, for i < n. 0 or -1. */
int bpf_percpu_sum(int map_fd, uint32_t first, uint32_t n, uint64_t *out);

/* A log2 histogram (see histogram.h) as a Prometheus histogram, in the
 * forms the registry was told for this collector (series/native.h):
 * classic buckets le = 2^(i+1) * unit_seconds for slots i < n_slots
 * (slots past n_slots fold into +Inf), _sum = entries[HIST_SUM_SLOT] *
 * sum_scale, and _count; and/or one native histogram of schema 0.
 * labels: at most 6. */
void bpf_emit_log2_histogram(struct registry *reg, const struct metric_desc *desc,
			     const struct label *labels, size_t n_labels,
			     const uint64_t *entries, unsigned n_slots, double unit_seconds,
			     double sum_scale);

/* bpfpush_bpf_program_missed_total{collector,program}, always (events the
 * kernel skipped because the program was already running on that CPU), and
 * bpfpush_bpf_program_run_seconds_total and bpfpush_bpf_program_runs_total:
 * each program's own cost, from the kernel's run statistics (when enabled). */
void bpf_emit_program_stats(struct registry *reg, const char *collector,
			    struct bpf_object *obj);

#endif
