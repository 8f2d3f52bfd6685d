/* SPDX-License-Identifier: MIT */
/* mkdirs: `mkdir -p`, for the data directory and the disk tier's. */
#ifndef BPFPUSH_MKDIRS_H
#define BPFPUSH_MKDIRS_H

#include <sys/types.h>

/* Creates dir and each missing parent with mode; an existing one is fine.
 * 0, or -1 with errno (ENAMETOOLONG, ENOENT for "", or mkdir's). */
int mkdirs(const char *dir, mode_t mode);

#endif
