/* SPDX-License-Identifier: MIT */
/* md5: RFC 1321, for relabeling's hashmod, which Prometheus defines on the
 * MD5 of the joined source values. Not for anything that needs security. */
#ifndef BPFPUSH_MD5_H
#define BPFPUSH_MD5_H

#include <stddef.h>
#include <stdint.h>

void md5(const void *data, size_t len, uint8_t digest[16]);

#endif
