/* SPDX-License-Identifier: MIT */
/* filesystem: the options of the filesystem collector (node_exporter's
 * --collector.filesystem.* flags), filled by config from its opt_desc. */
#ifndef BPFPUSH_FILESYSTEM_H
#define BPFPUSH_FILESYSTEM_H

#include <stdint.h>

/* node_exporter 1.5's defaults (Debian's package patches the mount point
 * one to also leave out /run, /mnt and /media; these are upstream's). */
#define FILESYSTEM_DEFAULT_MOUNT_POINTS_EXCLUDE \
	"^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
#define FILESYSTEM_DEFAULT_FS_TYPES_EXCLUDE                                                     \
	"^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|" \
	"iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|"       \
	"squashfs|sysfs|tracefs)$"

struct filesystem_opts {
	char *mount_points_exclude; /* PCRE2, matched against the mount point */
	char *fs_types_exclude;     /* PCRE2, matched against the fs type */
	int64_t stat_timeout_ms;    /* 5s: longer and a mount is "stuck" */
	int64_t stat_workers;       /* 4: statfs calls run at once */
};

#endif
