/* SPDX-License-Identifier: MIT */
/* ctxswitch: two processes pinned to one CPU ping-pong a byte over two
 * pipes, so every round trip is two context switches (and two wakeups):
 * the hooks runqlat uses, fired as fast as the kernel can.
 * Prints nanoseconds per round trip. Usage: ctxswitch ROUND_TRIPS */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pin_to_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	int ping[2], pong[2];
	struct timespec t0, t1;
	char c = 0;
	pid_t child;

	if (pipe(ping) || pipe(pong))
		return 1;
	pin_to_cpu0();
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
	printf("%.1f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n);
	return 0;
}
