/* SPDX-License-Identifier: MIT */
/* cgroupfs: finding the cgroup v2 hierarchy and listing a group's children
 * (see cgroupfs.h). */
#include "lib/cgroupfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROBE_SIZE (PATH_MAX + 64) /* base + "/unified/cgroup.controllers" */

size_t cgroup_v2_root(const char *base, char *root, size_t size)
{
	static const char *const where[] = {"", "/unified"};
	char probe[PROBE_SIZE];

	for (size_t i = 0; i < 2; i++) {
		int n = snprintf(root, size, "%s%s", base, where[i]);
		int m = snprintf(probe, sizeof(probe), "%s%s/cgroup.controllers", base, where[i]);

		if (n <= 0 || (size_t)n >= size || m <= 0 || (size_t)m >= sizeof(probe))
			break;
		if (access(probe, F_OK) == 0)
			return (size_t)n;
	}
	if (size)
		root[0] = '\0';
	return 0;
}

int cgroup_each_child(int fd, char *buf, size_t size,
		      int (*fn)(void *arg, const char *name, uint64_t ino), void *arg)
{
	ssize_t got;

	while ((got = getdents64(fd, buf, size)) > 0) {
		for (ssize_t off = 0; off < got;) {
			struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);
			struct stat sb;
			int ret;

			off += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			if (d->d_type == DT_UNKNOWN &&
			    fstatat(fd, d->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode))
				d->d_type = DT_DIR;
			if (d->d_type != DT_DIR)
				continue;
			if ((ret = fn(arg, d->d_name, (uint64_t)d->d_ino)) != 0)
				return ret;
		}
	}
	return got < 0 ? -1 : 0;
}
