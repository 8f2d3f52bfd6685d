/* SPDX-License-Identifier: MIT */
/* calibrate: loads calibrate.bpf.c, runs the ping-pong given on the
 * command line, prints "program ns_per_event events" per program from the
 * kernel's run statistics. Usage: calibrate CTXSWITCH_BINARY ROUND_TRIPS */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "calibrate.skel.h"

int main(int argc, char **argv)
{
	char cmd[512];
	struct calibrate_bpf *skel;
	struct bpf_program *prog;
	int stats = bpf_enable_stats(BPF_STATS_RUN_TIME);

	if (argc != 3 || stats < 0)
		return 2;
	skel = calibrate_bpf__open_and_load();
	if (!skel || calibrate_bpf__attach(skel))
		return 1;
	snprintf(cmd, sizeof(cmd), "%s %s > /dev/null", argv[1], argv[2]);
	if (system(cmd) != 0)
		return 1;
	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0 && info.run_cnt)
			printf("%s %.1f %llu\n", bpf_program__name(prog),
			       (double)info.run_time_ns / (double)info.run_cnt,
			       (unsigned long long)info.run_cnt);
	}
	calibrate_bpf__destroy(skel);
	close(stats);
	return 0;
}
