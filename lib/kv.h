/* SPDX-License-Identifier: MIT */
/* kv: a key and its value, as the config holds external labels and
 * remote-write headers. Down here so that the series registry, which takes
 * the external labels, needs nothing else of config.h. */
#ifndef BPFPUSH_KV_H
#define BPFPUSH_KV_H

struct kv {
	char *key;
	char *value;
};

#endif
