/* SPDX-License-Identifier: MIT */
/* syscalls: syscall latency as histograms in seconds,
 * kernel_syscall_latency_seconds{syscall="read"}, for a configured set of
 * syscalls (by name) plus syscall="other". Kernel side in syscalls.bpf.c.
 * Off by default: every syscall on the host pays for it (see
 * bpfpush_bpf_program_run_seconds_total).
 *
 * Entry times wait in task local storage where the kernel has it
 * (programs syscall_enter/syscall_exit), else in a bounded hash keyed by
 * thread id (syscall_enter_hash/syscall_exit_hash); the option `storage`
 * (auto, task, hash) pins one. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "lib/log.h"
#include "bpf/bpfutil.h"
#include "bpf/loader.h"
#include "bpf/syscall_names.h"
#include "bpf/syscalls.h"
#include "bpf/syscalls.skel.h" /* generated into $(BUILD)/bpf */

BPF_SKEL_OPS(syscalls_bpf);

/* Buckets up to 2^27 us (134 s); blocking calls past that count in +Inf. */
#define SYSCALLS_BUCKETS 27
/* max_inflight's ceiling: the kernel's PID_MAX_LIMIT, as many threads as
 * there can be. */
#define SYSCALLS_MAX_INFLIGHT (4 * 1024 * 1024)

/* Syscalls that matter to most services, present on every architecture's
 * generic table (no open/stat/poll/epoll_wait: x86-only). */
#define DEFAULT_SYSCALLS                                                                  \
	"read,write,pread64,pwrite64,readv,writev,openat,close,newfstatat,statx,lseek,"   \
	"getdents64,fsync,fdatasync,sync_file_range,mmap,munmap,mprotect,madvise,brk,"    \
	"ioctl,fcntl,futex,nanosleep,clock_nanosleep,epoll_pwait,ppoll,pselect6,"         \
	"sendto,recvfrom,sendmsg,recvmsg,connect,accept4,io_uring_enter,io_getevents,"    \
	"clone,clone3,execve,wait4,getpid"

struct syscalls_opts {
	char *syscalls;       /* comma-separated names with their own histogram */
	char *storage;        /* auto, task, hash: where entry times wait */
	bool other;           /* time the rest as syscall="other" */
	int64_t max_inflight; /* threads timed at once (storage hash) */
};

static const struct opt_desc syscalls_opt_descs[] = {
	{"syscalls", OPT_STRING, DEFAULT_SYSCALLS, offsetof(struct syscalls_opts, syscalls), 0},
	{"other", OPT_BOOL, "true", offsetof(struct syscalls_opts, other), 0},
	{"storage", OPT_STRING, "auto", offsetof(struct syscalls_opts, storage), 0},
	{"max_inflight", OPT_INT, "16384", offsetof(struct syscalls_opts, max_inflight),
	 SYSCALLS_MAX_INFLIGHT},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

static const struct metric_desc latency_desc = {
	"kernel_syscall_latency_seconds",
	"Syscall latency from entry to exit (time blocked included), per syscall.",
	METRIC_HISTOGRAM};
static const struct metric_desc overflow_desc = {
	"kernel_syscall_untimed_total",
	"Syscalls not timed because max_inflight threads were already being timed.",
	METRIC_COUNTER};

static const struct bpf_hook hooks[] = {
	{BPF_RAW_TP, NULL, "sys_enter"}, {BPF_RAW_TP, NULL, "sys_exit"}, BPF_HOOKS_END};
/* Where entry times wait: task local storage, else a hash by thread id. */
enum storage { STORAGE_TASK, STORAGE_HASH };
static const char *const task_progs[] = {"syscall_enter", "syscall_exit", NULL};
static const char *const hash_progs[] = {"syscall_enter_hash", "syscall_exit_hash", NULL};
static const struct bpf_way ways[] = {
	[STORAGE_TASK] = {"task", NULL, hooks, task_progs},
	[STORAGE_HASH] = {"hash", NULL, hooks, hash_progs},
};

struct syscalls_state {
	bool skel_tried;        /* configure() warned once already */
	unsigned n;             /* configured syscalls found: slots 0 .. n-1 */
	bool other;             /* slot n */
	char names[SYSCALLS_MAX_TRACKED][32];
};

/* Fills the slot table from the configured names. Names this architecture
 * lacks are skipped, with one warning listing them. */
static void fill_slots(struct syscalls_state *st, struct syscalls_bpf *skel, const char *list,
		       bool warn)
{
	char *copy = strdup(list ? list : ""), *save = NULL, unknown[256] = "";
	__u8 *slot_of = (__u8 *)skel->rodata->slot_of;
	long nr;

	memset(slot_of, SYSCALLS_UNTIMED, SYSCALLS_NR_MAX);
	for (char *name = copy ? strtok_r(copy, ", \t", &save) : NULL; name;
	     name = strtok_r(NULL, ", \t", &save)) {
		nr = syscall_number(name);
		if (nr < 0 || nr >= SYSCALLS_NR_MAX) {
			if (strlen(unknown) + strlen(name) + 2 < sizeof(unknown))
				strcat(strcat(unknown, *unknown ? "," : ""), name);
			continue;
		}
		if (slot_of[nr] != SYSCALLS_UNTIMED)
			continue; /* listed twice */
		if (st->n >= SYSCALLS_MAX_TRACKED) {
			if (warn)
				log_msg(LOG_WARN, "bpf collector option: too many syscalls",
					"collector=syscalls max=%d rest=other",
					SYSCALLS_MAX_TRACKED);
			break;
		}
		snprintf(st->names[st->n], sizeof(st->names[0]), "%s", name);
		slot_of[nr] = (__u8)st->n++;
	}
	free(copy);
	if (*unknown && warn)
		log_msg(LOG_WARN, "bpf collector option: syscalls unknown here, ignored",
			"collector=syscalls syscalls=%s", unknown);
	skel->rodata->other_slot = st->other ? (__u8)st->n : SYSCALLS_UNTIMED;
	for (nr = 0; nr < SYSCALLS_NR_MAX; nr++) {
		if (slot_of[nr] == SYSCALLS_UNTIMED && st->other)
			slot_of[nr] = (__u8)st->n;
	}
	/* These never return: their entries would stay in the table. */
	if ((nr = syscall_number("exit")) >= 0 && nr < SYSCALLS_NR_MAX)
		slot_of[nr] = SYSCALLS_UNTIMED;
	if ((nr = syscall_number("exit_group")) >= 0 && nr < SYSCALLS_NR_MAX)
		slot_of[nr] = SYSCALLS_UNTIMED;
}

static int syscalls_prepare(struct bpf_run *r)
{
	const struct syscalls_opts *opts = r->opts;
	struct syscalls_state *st = r->state;

	st->other = opts ? opts->other : true;
	return 0;
}

/* The slot table, and only this storage's map. */
static int syscalls_configure(struct bpf_run *r)
{
	const struct syscalls_opts *opts = r->opts;
	struct syscalls_state *st = r->state;
	struct syscalls_bpf *skel = r->skel;
	bool task = r->way == STORAGE_TASK;

	if (task && !bpf_has_map_type_task_storage()) {
		errno = ENOTSUP;
		return -1;
	}
	st->n = 0;
	fill_slots(st, skel, opts ? opts->syscalls : DEFAULT_SYSCALLS, !st->skel_tried);
	st->skel_tried = true;
	if (bpf_map__set_autocreate(skel->maps.task_start, task) ||
	    bpf_map__set_autocreate(skel->maps.start, !task) ||
	    (opts && opts->max_inflight > 0 &&
	     bpf_map__set_max_entries(skel->maps.start, (uint32_t)opts->max_inflight)) ||
	    bpf_map__set_max_entries(skel->maps.hist, (st->n + 1) * HIST_ENTRIES))
		return -1;
	return 0;
}

static int syscalls_ready(struct bpf_run *r)
{
	const struct syscalls_state *st = r->state;

	if (st->n || st->other)
		return 0;
	log_msg(LOG_WARN, "bpf collector disabled: nothing to time",
		"collector=syscalls hint=\"list syscalls, or set other: true\"");
	return BPF_LOGGED;
}

static void syscalls_describe(const struct bpf_run *r, char *buf, size_t size)
{
	const struct syscalls_state *st = r->state;

	snprintf(buf, size, "storage=%s syscalls=%u other=%s", ways[r->way].option, st->n,
		 st->other ? "true" : "false");
}

static int syscalls_update(struct bpf_run *r, struct registry *reg)
{
	struct syscalls_state *st = r->state;
	struct syscalls_bpf *skel = r->skel;
	int fd = bpf_map__fd(skel->maps.hist);
	uint64_t entries[HIST_ENTRIES], counters[SYSCALLS_COUNTERS], sum;

	if (bpf_percpu_sum(bpf_map__fd(skel->maps.counters), 0, SYSCALLS_COUNTERS,
			   counters) < 0)
		return -1;
	for (unsigned s = 0; s < st->n + (st->other ? 1 : 0); s++) {
		struct label l = {"syscall", s < st->n ? st->names[s] : "other"};

		/* Series appear once the syscall was timed (its sum is > 0). */
		if (bpf_percpu_sum(fd, s * HIST_ENTRIES + HIST_SUM_SLOT, 1, &sum) < 0)
			return -1;
		if (!sum)
			continue;
		if (bpf_percpu_sum(fd, s * HIST_ENTRIES, HIST_ENTRIES, entries) < 0)
			return -1;
		bpf_emit_log2_histogram(reg, &latency_desc, &l, 1, entries, SYSCALLS_BUCKETS,
					SYSCALLS_UNIT_NS / 1e9, 1e-9);
	}
	registry_emit(reg, &overflow_desc, NULL, NULL, 0,
		      (double)counters[SYSCALLS_START_OVERFLOW], 0);
	return 0;
}

const struct bpf_collector bpf_collector_syscalls = {
	.collector = BPF_COLLECTOR("syscalls", false, sizeof(struct syscalls_opts),
				   syscalls_opt_descs),
	.skel = &syscalls_bpf_ops,
	.state_size = sizeof(struct syscalls_state),
	.ways = ways,
	.n_ways = sizeof(ways) / sizeof(ways[0]),
	.pin_option = "storage",
	.fail_names_pin = true,
	.prepare = syscalls_prepare,
	.configure = syscalls_configure,
	.ready = syscalls_ready,
	.describe = syscalls_describe,
	.update = syscalls_update,
};
