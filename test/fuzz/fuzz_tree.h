/* SPDX-License-Identifier: MIT */
/* What the fuzz targets share: a private scratch directory and writing an
 * input into a file under it, for the parsers that read files (config,
 * procfs, sysfs, the disk tier). Header-only, all static inline. */
#ifndef BPFPUSH_FUZZ_TREE_H
#define BPFPUSH_FUZZ_TREE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mkdirs.h"

/* Every log line formatted (the log paths see the parsers' bytes too); the
 * run's -close_fd_mask=2 keeps them out of its output. */
static inline void fuzz_logs_on(void)
{
	log_set_level(LOG_DEBUG);
}

/* A new directory under TMPDIR (or /tmp) for this process: its path. The
 * process never removes it (a fuzz run is one process); the run script
 * removes its TMPDIR. */
static inline const char *fuzz_scratch(void)
{
	static char dir[PATH_MAX];
	const char *tmp = getenv("TMPDIR");

	if (dir[0])
		return dir;
	snprintf(dir, sizeof(dir), "%s/bpfpush-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		abort();
	}
	return dir;
}

/* Writes data to dir/rel (its parents made), replacing what was there. */
static inline void fuzz_write(const char *dir, const char *rel, const uint8_t *data, size_t len)
{
	char path[PATH_MAX];
	char *slash;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	slash = strrchr(path, '/');
	*slash = '\0';
	if (mkdirs(path, 0700) < 0 && errno != EEXIST) {
		perror(path);
		abort();
	}
	*slash = '/';
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		abort();
	}
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n <= 0) {
			perror(path);
			abort();
		}
		data += n;
		len -= (size_t)n;
	}
	close(fd);
}

/* Removes the files directly in dir (what a previous input left). */
static inline void fuzz_empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			(void)unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

#endif
