/* SPDX-License-Identifier: MIT */
#include "bpf/bpfutil.h"
#include "bpf/mapread.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "bpf/histogram.h"
#include "series/native.h"

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static int stats_fd = -1;      /* keeps BPF_ENABLE_STATS on while open */
static bool stats_enabled;
static bool stats_requested;  /* --enable-bpf-stats */
static int64_t duty_on_ms, duty_period_ms; /* --bpf-stats-duty; 0: always on */
static pid_t duty_pid = -1;   /* the process that switches them on and off */
static double stats_scale = 1; /* period / on while duty-cycled */
static struct btf *vmlinux_btf; /* loaded on first probe, for all of them */
static bool vmlinux_btf_tried;

/* libbpf explains every failure at length; we log our own one line where
 * a collector is disabled, so libbpf's text goes to debug. */
static int libbpf_to_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char text[512], quoted[1100];
	int n;

	if (!log_enabled(LOG_DEBUG))
		return 0;
	n = vsnprintf(text, sizeof(text), fmt, ap);
	if (n < 0)
		return 0;
	/* vsnprintf returns the length it wanted: a verifier log is longer
	 * than text, which holds its first sizeof(text) - 1 bytes. */
	if ((size_t)n >= sizeof(text))
		n = (int)sizeof(text) - 1;
	while (n > 0 && text[n - 1] == '\n')
		text[--n] = '\0';
	log_msg(LOG_DEBUG, "libbpf", "level=%d text=%s", (int)level,
		log_quote(text, strlen(text), quoted, sizeof(quoted)));
	return 0;
}

static bool sysctl_stats_enabled(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");
	int v = 0;

	if (!f)
		return false;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v == 1;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The duty cycle's process: it holds CAP_SYS_ADMIN (which the agent drops
 * once loaded) and nothing else, reads no input, and dies with the agent.
 * Run statistics add two clock reads to every BPF program on the host,
 * the agent's and everyone else's: on for duty_on_ms in every
 * duty_period_ms, that is paid only that fraction of the time. */
static void duty_cycle(pid_t parent)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {{0}};
	int null;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	/* Nothing of the agent's: not its maps and links, nor its output
	 * pipes (a reader waiting for their end would wait for us too). */
	null = open("/dev/null", O_RDWR);
	if (null >= 0)
		for (int fd = 0; fd < 3; fd++)
			dup2(null, fd);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	data[0].effective = data[0].permitted = 1U << CAP_SYS_ADMIN;
	syscall(SYS_capset, &hdr, data);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	for (;;) {
		int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

		sleep_ms(duty_on_ms);
		if (fd >= 0)
			close(fd);
		sleep_ms(duty_period_ms - duty_on_ms);
	}
}

/* Switches the run statistics on (held for the agent's life, or
 * duty-cycled by a child process); whether they are on. */
static bool start_stats(void)
{
	pid_t parent = getpid();
	/* Someone else keeps them on (the sysctl set by hand, another
	 * holder): they stay on whatever we do, and scaling would overstate. */
	bool on_elsewhere = sysctl_stats_enabled();

	/* Held open for the agent's life: the kernel counts while any such
	 * fd is open, and it stays valid after the capabilities are dropped. */
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0 || !duty_period_ms || on_elsewhere)
		return stats_fd >= 0;
	fflush(NULL);
	duty_pid = fork();
	if (duty_pid == 0)
		duty_cycle(parent);
	if (duty_pid < 0) {
		log_msg(LOG_WARN, "cannot duty-cycle BPF run statistics: always on",
			"error=\"%s\"", strerror(errno));
		return true;
	}
	close(stats_fd); /* the child switches them on from now */
	stats_fd = -1;
	stats_scale = (double)duty_period_ms / (double)duty_on_ms;
	return true;
}

static void setup(void)
{
	libbpf_set_print(libbpf_to_log);
	stats_enabled = (stats_requested && start_stats()) || sysctl_stats_enabled();
	if (!stats_enabled)
		log_msg(LOG_WARN,
			"BPF run statistics are off: program cost is not reported",
			stats_requested ? "hint=\"--enable-bpf-stats needs CAP_SYS_ADMIN at start, "
					  "or set sysctl kernel.bpf_stats_enabled=1\""
					: "hint=\"--enable-bpf-stats with CAP_SYS_ADMIN at start, "
					  "or set sysctl kernel.bpf_stats_enabled=1\"");
}

void bpf_stats_request(bool enable, int64_t on_ms, int64_t period_ms)
{
	stats_requested = enable;
	duty_on_ms = on_ms > 0 && on_ms < period_ms ? on_ms : 0;
	duty_period_ms = duty_on_ms ? period_ms : 0;
}

void bpf_setup(void)
{
	pthread_once(&setup_once, setup);
}

const struct btf *bpf_kernel_btf(void)
{
	if (!vmlinux_btf_tried) {
		vmlinux_btf_tried = true;
		vmlinux_btf = btf__load_vmlinux_btf();
		if (libbpf_get_error(vmlinux_btf)) {
			vmlinux_btf = NULL;
			log_msg(LOG_WARN, "no kernel BTF: BPF collectors cannot load",
				"path=/sys/kernel/btf/vmlinux");
		}
	}
	return vmlinux_btf;
}

void bpf_teardown(void)
{
	btf__free(vmlinux_btf);
	vmlinux_btf = NULL;
	vmlinux_btf_tried = false;
	if (stats_fd >= 0)
		close(stats_fd);
	stats_fd = -1;
	if (duty_pid > 0) {
		kill(duty_pid, SIGKILL);
		waitpid(duty_pid, NULL, 0);
	}
	duty_pid = -1;
}

/* BPFPUSH_BPF_HIDE_HOOKS=a,b makes the probes report hooks a and b as
 * absent: the only way to exercise the "kernel lacks this hook" path on a
 * kernel that has them all (tests), or to keep one program off a host. */
static bool hidden(const char *name)
{
	const char *list = getenv("BPFPUSH_BPF_HIDE_HOOKS");
	size_t len = strlen(name);

	for (const char *p = list; p && *p; p += strcspn(p, ",")) {
		p += *p == ',';
		if (strncmp(p, name, len) == 0 && (p[len] == ',' || p[len] == '\0'))
			return true;
	}
	return false;
}

bool bpf_has_raw_tracepoint(const char *name)
{
	const struct btf *btf = bpf_kernel_btf();
	char type_name[128];

	if (hidden(name))
		return false;
	snprintf(type_name, sizeof(type_name), "btf_trace_%s", name);
	return btf && btf__find_by_name_kind(btf, type_name, BTF_KIND_TYPEDEF) >= 0;
}

bool bpf_has_kernel_function(const char *name)
{
	const struct btf *btf = bpf_kernel_btf();

	return !hidden(name) && btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) >= 0;
}

bool bpf_has_tracefs_event(const char *category, const char *name)
{
	static const char *const roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
	char path[256];

	if (hidden(name))
		return false;
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(path, sizeof(path), "%s/events/%s/%s/id", roots[i], category, name);
		if (access(path, R_OK) == 0)
			return true;
	}
	return false;
}

bool bpf_has_map_type_task_storage(void)
{
	return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) == 1;
}

int bpf_possible_cpus(void)
{
	static int n;

	if (!n)
		n = libbpf_num_possible_cpus();
	return n;
}

int bpf_percpu_sum(int map_fd, uint32_t first, uint32_t n, uint64_t *out)
{
	/* Batched where the kernel allows: one system call, not n. */
	return mapread_percpu_array_sum(map_fd, first, n, out);
}

void bpf_emit_log2_histogram(struct registry *reg, const struct metric_desc *desc,
			     const struct label *labels, size_t n_labels,
			     const uint64_t *entries, unsigned n_slots, double unit_seconds,
			     double sum_scale)
{
	struct log2_histogram h = {entries, HIST_SLOTS, n_slots, unit_seconds,
				   (double)entries[HIST_SUM_SLOT] * sum_scale};

	registry_emit_log2_histogram(reg, desc, labels, n_labels, &h);
}

static const struct metric_desc prog_seconds = {
	"bpfpush_bpf_program_run_seconds_total",
	"Time the kernel spent running this BPF program (run statistics).", METRIC_COUNTER};
static const struct metric_desc prog_runs = {
	"bpfpush_bpf_program_runs_total",
	"Times the kernel ran this BPF program (run statistics).", METRIC_COUNTER};

static const struct metric_desc prog_missed = {
	"bpfpush_bpf_program_missed_total",
	"Events this BPF program did not run for: it was already running on that CPU "
	"(an interrupt's event nested in it), so the kernel skipped it.", METRIC_COUNTER};

void bpf_emit_program_stats(struct registry *reg, const char *collector,
			    struct bpf_object *obj)
{
	struct bpf_program *prog;

	if (!obj)
		return;
	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);
		int fd = bpf_program__fd(prog);
		struct label l[2] = {{"collector", collector}, {"program", bpf_program__name(prog)}};

		if (fd < 0)
			continue; /* not loaded: a hook this kernel lacks */
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
			continue;
		/* Counted by the kernel with or without run statistics: a count
		 * that came out short says so here. */
		registry_emit(reg, &prog_missed, NULL, l, 2, (double)info.recursion_misses, 0);
		if (!stats_enabled)
			continue;
		/* Duty-cycled, what ran while counted stands for the whole:
		 * scaled by period / on (a constant: the counters stay monotonic). */
		registry_emit(reg, &prog_seconds, NULL, l, 2,
			      (double)info.run_time_ns * stats_scale / 1e9, 0);
		registry_emit(reg, &prog_runs, NULL, l, 2, (double)info.run_cnt * stats_scale, 0);
	}
}
