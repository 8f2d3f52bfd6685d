/* SPDX-License-Identifier: MIT */
/* devname: block device numbers -> the kernel's names for them ("vda",
 * "nvme0n1", "loop3", "dm-0"), read from
 * <sysfs>/dev/block/MAJ:MIN/uevent (DEVNAME) and cached. Label values are
 * names, never raw numbers, unless the device is gone before its name
 * could be read: then "MAJ:MIN".
 *
 * Devices are numbered dev_t-style as the kernel numbers them internally
 * (MKDEV: major << 20 | minor), the form BPF programs compute from a
 * struct gendisk. Only the collection thread calls in. The cache is one
 * per process, as the sysfs a process reads is: biolatency and the cgroup
 * collector share it. */
#ifndef BPFPUSH_DEVNAME_H
#define BPFPUSH_DEVNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEVNAME_MINORBITS 20
#define DEVNAME_MKDEV(ma, mi) (((uint32_t)(ma) << DEVNAME_MINORBITS) | (uint32_t)(mi))
#define DEVNAME_MAJOR(dev) ((uint32_t)(dev) >> DEVNAME_MINORBITS)
#define DEVNAME_MINOR(dev) ((uint32_t)(dev) & ((1u << DEVNAME_MINORBITS) - 1))

/* Writes block device dev's name (looked up under sysfs: "/sys", or the
 * host's sysfs in a container; NULL means "/sys") into out, or "MAJ:MIN"
 * when it has none. Returns true when it is a name. Names found are
 * cached; numbers without a name are looked up again on the next call. */
bool devname_lookup(const char *sysfs, uint32_t dev, char *out, size_t outsz);

/* Whole disks (not partitions: block IO requests carry the disk) under
 * <sysfs>/block: calls fn with each one's dev_t. Returns how many, or -1. */
int devname_each_disk(const char *sysfs, void (*fn)(uint32_t dev, void *arg), void *arg);

/* Frees the cache (it regrows on the next lookup). */
void devname_free(void);

#endif
