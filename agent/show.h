/* SPDX-License-Identifier: MIT */
/* show: `bpfpush show [--interval 1s] [--config FILE] [COLLECTOR...]`,
 * the BPF collectors run locally, no remote, their histograms drawn each
 * interval with the interval's own counts, the way bcc's tools draw them,
 * beside the top changes of their counters. */
#ifndef BPFPUSH_SHOW_H
#define BPFPUSH_SHOW_H

/* argv[0] is "show". Returns the process' exit status. */
int show_main(int argc, char **argv);

#endif
