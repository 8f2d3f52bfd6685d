/* SPDX-License-Identifier: MIT */
/* cgroupfs: what every reader of the cgroup v2 (unified) hierarchy needs,
 * the cgroup collector and the BPF collectors that label by cgroup
 * (bpf/cgroupid.c, for runqlat's and writeback's labels) alike: where the
 * hierarchy is, how a group is labelled, and its child groups. */
#ifndef BPFPUSH_CGROUPFS_H
#define BPFPUSH_CGROUPFS_H

#include <stddef.h>
#include <stdint.h>

/* The cgroup v2 (unified) hierarchy of a host whose cgroup mounts are under
 * base (<sysfs>/fs/cgroup): base itself when it has cgroup.controllers, else
 * base/unified (systemd's hybrid mode). Written to root (size bytes); its
 * length, or 0 when there is none (cgroup v1 only) or it does not fit. */
size_t cgroup_v2_root(const char *base, char *root, size_t size);

/* The label of the group at rel, its path below the root ("" for the root
 * itself, else "/a/b"): "/", "/system.slice/ssh.service". */
static inline const char *cgroup_label(const char *rel)
{
	return *rel ? rel : "/";
}

/* Calls fn(arg, name, ino) for each child group (subdirectory) of the group
 * open as fd, listing it through buf (size bytes, kept by the caller:
 * opendir would malloc per directory). On cgroup2, ino is the child's
 * cgroup id. Stops at the first nonzero return of fn and returns it; else 0
 * once the directory is listed, or -1 when it cannot be read. */
int cgroup_each_child(int fd, char *buf, size_t size,
		      int (*fn)(void *arg, const char *name, uint64_t ino), void *arg);

#endif
