/* SPDX-License-Identifier: MIT */
/* ctxswitch: two processes pinned to one CPU ping-pong a byte over two
 * pipes, so every round trip is two context switches (and two wakeups):
 * the hooks runqlat uses, fired as fast as the kernel can.
 *
 * Prints three figures per round trip: wall nanoseconds; CPU nanoseconds
 * the two processes were charged by the scheduler (user + system, both
 * ends: a BPF program on the switch runs in the kernel on their time, while
 * another task taking the CPU between them adds to wall time only); and
 * instructions retired, user and kernel, both ends (hardware counter), or
 * "-" where the machine has no PMU. Usage: ctxswitch ROUND_TRIPS [CPU] */
#define _GNU_SOURCE
#include <linux/perf_event.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Instructions of this process and the children it forks after; -1 when
 * there is no hardware counter (a VM without a virtual PMU). */
static int open_instructions(void)
{
	struct perf_event_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_HARDWARE;
	attr.config = PERF_COUNT_HW_INSTRUCTIONS;
	attr.inherit = 1;
	attr.disabled = 1;
	return (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
}

static double tv_ns(struct timeval tv)
{
	return tv.tv_sec * 1e9 + tv.tv_usec * 1e3;
}

static double cpu_ns(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	int ping[2], pong[2], insns = open_instructions();
	struct timespec t0, t1;
	double cpu0 = cpu_ns(RUSAGE_SELF);
	uint64_t count = 0;
	char c = 0;
	pid_t child;

	if (pipe(ping) || pipe(pong))
		return 1;
	pin_to_cpu(argc > 2 ? atoi(argv[2]) : 0);
	if (insns >= 0)
		ioctl(insns, PERF_EVENT_IOC_ENABLE, 0);
	child = fork();
	if (child == 0) {
		for (long i = 0; i < n; i++)
			if (read(ping[0], &c, 1) != 1 || write(pong[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++)
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
			return 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waitpid(child, NULL, 0);
	printf("%.1f %.1f ", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n,
	       (cpu_ns(RUSAGE_SELF) - cpu0 + cpu_ns(RUSAGE_CHILDREN)) / n);
	if (insns >= 0 && read(insns, &count, sizeof(count)) == sizeof(count))
		printf("%.1f\n", (double)count / n);
	else
		printf("-\n");
	return 0;
}
