/* SPDX-License-Identifier: MIT */
/* Capabilities are per thread in Linux, and libcap-ng's capng_apply (like
 * capset itself) changes only the calling thread's. By the time the agent
 * can drop (after its programs are loaded and its files open), the status
 * endpoint and the queues already run threads that were created with every
 * capability. So each thread drops its own, in a signal handler, with the
 * raw system calls (async-signal-safe); the main thread checks each one's
 * /proc/self/task/<tid>/status until they all match its own. libcap-ng
 * names the capabilities and reads the sets back for the log and metrics. */
#include "agent/caps.h"

#include <cap-ng.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include <bpf/bpf.h>

#include "lib/log.h"

#define CAPS_SIGNAL (SIGRTMIN + 1)
#define MAX_CAP 63

static caps_mask drop_keep;     /* what every thread keeps; set before any is signalled */
static int last_cap = MAX_CAP;  /* /proc/sys/kernel/cap_last_cap */
static caps_mask held[3];       /* after the drop: effective, permitted, bounding */
static const char *const set_names[3] = {"effective", "permitted", "bounding"};

static caps_mask bit(unsigned cap)
{
	return (caps_mask)1 << cap;
}

int caps_parse_list(const char *list, caps_mask *out, char *err, size_t errsz)
{
	char name[64];

	*out = 0;
	if (!strcmp(list, "none"))
		return 0;
	for (const char *p = list; *p; p += *p == ',') {
		size_t len = strcspn(p, ",");
		int cap;

		if (len == 0 || len >= sizeof(name)) {
			snprintf(err, errsz, "empty or too long capability name in \"%s\"", list);
			return -1;
		}
		for (size_t i = 0; i < len; i++)
			name[i] = (char)tolower((unsigned char)p[i]);
		name[len] = '\0';
		cap = capng_name_to_capability(strncmp(name, "cap_", 4) ? name : name + 4);
		if (cap < 0 || cap > MAX_CAP) {
			snprintf(err, errsz, "unknown capability \"%.*s\"", (int)len, p);
			return -1;
		}
		*out |= bit((unsigned)cap);
		p += len;
	}
	return 0;
}

/* The calling thread drops to drop_keep. Async-signal-safe. Dropping from
 * the bounding set needs CAP_SETPCAP: without it (a container given only
 * BPF and PERFMON) the set stays as it is, which grants nothing back: the
 * permitted set is empty and no_new_privs stops an execve from refilling
 * it. */
static void drop_this_thread(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	int saved = errno;

	for (int cap = 0; cap <= last_cap; cap++)
		if (!(drop_keep & bit((unsigned)cap)) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(data, 0, sizeof(data));
	for (int i = 0; i < 2; i++)
		data[i].effective = data[i].permitted = (uint32_t)(drop_keep >> (32 * i));
	syscall(SYS_capset, &hdr, data);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	errno = saved;
}

static void on_caps_signal(int sig)
{
	(void)sig;
	drop_this_thread();
}

/* A thread's capability sets and no_new_privs, as the kernel reports them. */
static int thread_state(pid_t tid, char *out, size_t outsz)
{
	char path[64], line[256];
	size_t used = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	if (!(f = fopen(path, "r")))
		return -1;
	out[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if ((!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs:", 11)) &&
		    used + strlen(line) < outsz) {
			memcpy(out + used, line, strlen(line) + 1);
			used += strlen(line);
		}
	fclose(f);
	return 0;
}

/* Signals every other thread until each reports the main thread's state
 * (want), for up to 2 s. A thread blocked in the kernel (a statfs on a hung
 * mount) handles the signal when it returns. Returns the threads left. */
static int drop_other_threads(const char *want)
{
	pid_t self = (pid_t)syscall(SYS_gettid);
	int left = 0;

	for (int pass = 0; pass < 200; pass++) {
		DIR *d = opendir("/proc/self/task");
		struct dirent *e;
		char got[1024];

		if (!d)
			return -1;
		left = 0;
		while ((e = readdir(d))) {
			pid_t tid = (pid_t)atoi(e->d_name);

			if (tid <= 0 || tid == self || thread_state(tid, got, sizeof(got)) < 0 ||
			    !strcmp(got, want))
				continue; /* gone, or done */
			left++;
			if (pass % 50 == 0) /* real-time signals queue: not every pass */
				syscall(SYS_tgkill, getpid(), tid, CAPS_SIGNAL);
		}
		closedir(d);
		if (!left)
			return 0;
		usleep(10000);
	}
	return left;
}

struct map_probe {
	int map_fd, err;
};

static void *probe_main(void *arg)
{
	struct map_probe *p = arg;
	uint32_t key = 0;
	uint64_t value;

	drop_this_thread();
	p->err = bpf_map_lookup_elem(p->map_fd, &key, &value) == 0 ? 0 : errno;
	return NULL;
}

/* Before Linux 6.5, with kernel.unprivileged_bpf_disabled set (most
 * distributions' default), every bpf() call needs CAP_BPF, map reads
 * included: without it the collectors could no longer read what their
 * programs count. Tried on a thread of its own that drops as planned. */
static bool map_reads_need_cap_bpf(void)
{
	struct map_probe p = {.err = 0};
	pthread_t t;

	p.map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bpfpush_probe", 4, 8, 1, NULL);
	if (p.map_fd < 0)
		return false; /* no BPF here at all: nothing to keep it for */
	if (pthread_create(&t, NULL, probe_main, &p) == 0)
		pthread_join(t, NULL);
	close(p.map_fd);
	return p.err == EPERM;
}

static void names_of(caps_mask set, char *out, size_t outsz)
{
	size_t used = 0;

	snprintf(out, outsz, "none");
	for (unsigned cap = 0; cap <= MAX_CAP && used < outsz; cap++) {
		const char *name = (set & bit(cap)) ? capng_capability_to_name(cap) : NULL;

		if (name)
			used += (size_t)snprintf(out + used, outsz - used, "%scap_%s",
						 used ? "," : "", name);
	}
}

/* What the main thread holds now, per set, into held[]. */
static void read_back(void)
{
	const capng_type_t types[3] = {CAPNG_EFFECTIVE, CAPNG_PERMITTED, CAPNG_BOUNDING_SET};

	capng_clear(CAPNG_SELECT_ALL);
	capng_get_caps_process();
	for (int s = 0; s < 3; s++) {
		held[s] = 0;
		for (int cap = 0; cap <= last_cap; cap++)
			if (capng_have_capability(types[s], (unsigned)cap))
				held[s] |= bit((unsigned)cap);
	}
}

static void read_last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");

	if (f) {
		if (fscanf(f, "%d", &last_cap) != 1 || last_cap < 0 || last_cap > MAX_CAP)
			last_cap = MAX_CAP;
		fclose(f);
	}
}

/* keep, less what is not held (it cannot be kept), plus CAP_BPF where the
 * kernel needs it for map reads. */
static caps_mask plan(caps_mask keep)
{
	caps_mask permitted, missing;
	char names[512];

	read_back();
	permitted = held[1];
	missing = keep & ~permitted;
	if (missing) {
		names_of(missing, names, sizeof(names));
		log_msg(LOG_WARN, "--capabilities-keep: not held, so not kept", "capabilities=%s",
			names);
	}
	keep &= permitted;
	if ((permitted & bit(CAP_BPF)) && !(keep & bit(CAP_BPF)) && map_reads_need_cap_bpf()) {
		log_msg(LOG_WARN, "this kernel checks CAP_BPF on every bpf() call, map reads "
			"included (before Linux 6.5, with kernel.unprivileged_bpf_disabled set): "
			"keeping cap_bpf", NULL);
		keep |= bit(CAP_BPF);
	}
	return keep;
}

int caps_drop(caps_mask keep)
{
	struct sigaction sa = {.sa_handler = on_caps_signal, .sa_flags = SA_RESTART};
	char want[1024], kept[512], bounding[512];
	int left;

	read_last_cap();
	drop_keep = plan(keep);
	sigemptyset(&sa.sa_mask);
	sigaction(CAPS_SIGNAL, &sa, NULL);
	drop_this_thread();
	read_back();
	if ((held[0] | held[1]) & ~drop_keep ||
	    thread_state((pid_t)syscall(SYS_gettid), want, sizeof(want)) < 0) {
		log_msg(LOG_ERROR, "cannot drop capabilities", "err=\"%s\"", strerror(errno));
		return -1;
	}
	left = drop_other_threads(want);
	names_of(held[1], kept, sizeof(kept));
	names_of(held[2], bounding, sizeof(bounding));
	log_msg(LOG_INFO, "capabilities dropped", "kept=%s bounding=%s no_new_privs=1", kept,
		bounding);
	if (left)
		log_msg(LOG_WARN, "threads busy in the kernel drop their capabilities when they "
			"return", "threads=%d", left);
	return 0;
}

void caps_emit(struct registry *reg)
{
	static const struct metric_desc desc = {
		"bpfpush_capabilities",
		"1 for each capability the agent holds after dropping, by set.", METRIC_GAUGE};
	char name[64];

	for (int s = 0; s < 3; s++)
		for (unsigned cap = 0; cap <= MAX_CAP; cap++) {
			const char *cn = (held[s] & bit(cap)) ? capng_capability_to_name(cap) : NULL;
			struct label l[2] = {{"set", set_names[s]}, {"capability", name}};

			if (!cn)
				continue;
			snprintf(name, sizeof(name), "cap_%s", cn);
			registry_emit(reg, &desc, NULL, l, 2, 1, 0);
		}
}
