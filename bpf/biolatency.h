/* SPDX-License-Identifier: MIT */
/* biolatency: what biolatency.bpf.c and biolatency.c share.
 *
 * Histograms, one per (device row, operation): device rows 0 .. max_devices-1
 * are the devices in the `devices` table (user space fills it with disks'
 * dev_t), row max_devices is every other device. Histogram h = row *
 * BIO_OPS + op starts at key h * HIST_ENTRIES of the latency and size maps. */
#ifndef BPFPUSH_BIOLATENCY_H
#define BPFPUSH_BIOLATENCY_H

#include "bpf/histogram.h"

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Latency slots are microseconds (2^31 us is 36 minutes). */
#define BIO_UNIT_NS 1000

/* Size slots are bytes, rounded up to a power of two: slot i counts sizes
 * in (2^i, 2^(i+1)], so a 4096-byte IO is in the le="4096" bucket. */

/* The operation of a request: cmd_flags & BIO_REQ_OP_MASK is its enum
 * req_op value (REQ_OP_BITS has been 8 since Linux 4.10); user space maps
 * each value to one of these from the kernel's BTF. */
#define BIO_REQ_OP_MASK 0xff
enum bio_op {
	BIO_OP_READ,
	BIO_OP_WRITE,
	BIO_OP_FLUSH,
	BIO_OP_DISCARD,
	BIO_OP_OTHER, /* write zeroes, secure erase, zone management, driver private */
	BIO_OPS
};

/* Upper bound of the max_devices option. */
#define BIO_MAX_DEVICES 256

/* Per-CPU counters. */
enum bio_counter {
	BIO_START_OVERFLOW, /* requests not timed: the in-flight table was full */
	BIO_NO_START_TIME,  /* requests not timed: the kernel did not stamp them */
	BIO_UNKNOWN_DEVICE, /* requests on a device not (yet) in the table */
	BIO_COUNTERS
};

/* In-flight value, keyed by the struct request pointer. */
struct bio_start {
	__u64 ts;
	__u32 bytes;
	__u32 hist; /* row * BIO_OPS + op */
};

/* Per-CPU memo of the last device looked up, and of the last device not
 * found (user space adds it to the table). */
struct bio_dev_memo {
	__u32 dev, row;
	__u32 unknown_dev, pad;
};

#endif
