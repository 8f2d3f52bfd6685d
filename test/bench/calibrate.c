/* SPDX-License-Identifier: MIT */
/* calibrate: loads calibrate.bpf.c and prints "program ns_per_event events"
 * per program that ran, from the kernel's run statistics.
 *   calibrate CTXSWITCH_BINARY ROUND_TRIPS: the sched_switch programs
 *     under that ping-pong;
 *   calibrate --hold [PROGRAM...]: the empty programs on every hook (or
 *     those named), attached until standard input closes (a workload runs
 *     meanwhile); "ready" first. --hold-quiet: the same without switching
 *     run statistics on, for the host cost of the hook's dispatch alone. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "calibrate.skel.h"

static void print_stats(struct calibrate_bpf *skel)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info);

		if (bpf_program__fd(prog) >= 0 &&
		    bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0 && info.run_cnt)
			printf("%s %.1f %llu\n", bpf_program__name(prog),
			       (double)info.run_time_ns / (double)info.run_cnt,
			       (unsigned long long)info.run_cnt);
	}
}

static bool named(const char *name, int n, char **names)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return n == 0;
}

/* --hold: a hook this kernel lacks is left out, not fatal. */
static int hold(struct calibrate_bpf *skel, int n, char **names)
{
	struct bpf_program *prog;
	char buf[64];

	bpf_program__set_autoload(skel->progs.clock_read, false);
	bpf_program__set_autoload(skel->progs.percpu_counter, false);
	if (calibrate_bpf__load(skel))
		return 1;
	bpf_object__for_each_program(prog, skel->obj)
		if (bpf_program__fd(prog) >= 0 && named(bpf_program__name(prog), n, names))
			bpf_program__attach(prog); /* detached when the object goes */
	printf("ready\n");
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	print_stats(skel);
	return 0;
}

static int pingpong(struct calibrate_bpf *skel, const char *ctx, const char *trips)
{
	char cmd[512];

	bpf_program__set_autoload(skel->progs.empty_sched_wakeup, false);
	bpf_program__set_autoload(skel->progs.empty_inet_sock_set_state, false);
	bpf_program__set_autoload(skel->progs.empty_kfree_skb, false);
	bpf_program__set_autoload(skel->progs.empty_sock_send_length, false);
	if (calibrate_bpf__load(skel))
		return 1;
	if (bpf_program__attach(skel->progs.empty) == NULL ||
	    bpf_program__attach(skel->progs.clock_read) == NULL ||
	    bpf_program__attach(skel->progs.percpu_counter) == NULL)
		return 1;
	snprintf(cmd, sizeof(cmd), "%s %s > /dev/null", ctx, trips);
	if (system(cmd) != 0)
		return 1;
	print_stats(skel);
	return 0;
}

int main(int argc, char **argv)
{
	bool holding = argc >= 2 && strncmp(argv[1], "--hold", 6) == 0;
	bool quiet = holding && strcmp(argv[1], "--hold-quiet") == 0;
	int stats = quiet ? -1 : bpf_enable_stats(BPF_STATS_RUN_TIME);
	struct calibrate_bpf *skel;
	int rc;

	if ((!quiet && stats < 0) || (!holding && argc != 3))
		return 2;
	skel = calibrate_bpf__open();
	if (!skel)
		return 1;
	rc = holding ? hold(skel, argc - 2, argv + 2) : pingpong(skel, argv[1], argv[2]);
	calibrate_bpf__destroy(skel);
	if (stats >= 0)
		close(stats);
	return rc;
}
