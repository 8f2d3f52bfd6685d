/* SPDX-License-Identifier: MIT */
/* ksyms: kernel function addresses -> names, from /proc/kallsyms.
 *
 * The text symbols (types t T w W: functions, which is what a timer
 * callback or any code address is) are read once into one sorted array of
 * {address, name offset} plus one block of names, and looked up by binary
 * search: the name of the last symbol at or below an address. About 120k
 * symbols, 5 MB, 40 ms to load on a 6.x kernel.
 *
 * /proc/kallsyms shows every address as 0 to readers without
 * CAP_SYSLOG (kernel.kptr_restrict): then there is nothing to look up and
 * ksyms_acquire returns NULL; callers label by hex address instead. */
#ifndef BPFPUSH_KSYMS_H
#define BPFPUSH_KSYMS_H

#include <stdint.h>

struct ksyms;

/* The symbol containing addr, with *offset = addr - its start (offset may
 * be NULL); NULL when addr is below the first symbol or k is NULL. */
const char *ksyms_lookup(const struct ksyms *k, uint64_t addr, uint64_t *offset);

/* One table for the whole agent: the first acquire loads it (NULL if that
 * failed: later acquires do not retry), each acquire is paired with a
 * release, and the last release frees it. Collection-thread only. */
const struct ksyms *ksyms_acquire(void);
void ksyms_release(void);

#endif
