/* SPDX-License-Identifier: MIT */
#include "agent/instance.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"

#define LOCK_NAME "lock"

/* mkdir -p: each missing component, 0750 (it will hold queued samples). */
static int make_dirs(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0750) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, 0750) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* The pid the holder wrote, or 0 if it has not written it yet. */
static long holder_pid(int fd)
{
	char text[32];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

	if (n <= 0)
		return 0;
	text[n] = '\0';
	return strtol(text, NULL, 10);
}

static int write_pid(int fd)
{
	char text[32];
	int len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)len, 0) != len)
		return -1;
	return 0;
}

int instance_lock(const char *data_dir)
{
	char path[PATH_MAX];
	int fd;

	if (make_dirs(data_dir) < 0 ||
	    snprintf(path, sizeof(path), "%s/%s", data_dir, LOCK_NAME) >= (int)sizeof(path) ||
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0) {
		log_msg(LOG_ERROR, "data_dir: cannot open its lock", "data_dir=%s err=\"%s\"",
			data_dir, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			char pid[24] = "unknown";
			long holder = holder_pid(fd);
			if (holder > 0)
				snprintf(pid, sizeof(pid), "%ld", holder);
			log_msg(LOG_ERROR, "data_dir is in use by another bpfpush: one agent per "
				"data_dir", "data_dir=%s pid=%s lock=%s", data_dir, pid, path);
		} else
			log_msg(LOG_ERROR, "data_dir: cannot lock", "data_dir=%s err=\"%s\"",
				data_dir, strerror(errno));
		close(fd);
		return -1;
	}
	if (write_pid(fd) < 0) {
		log_msg(LOG_ERROR, "data_dir: cannot write its lock", "lock=%s err=\"%s\"", path,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void instance_unlock(int fd)
{
	/* The file stays: removing it would let a third agent lock a new file
	 * while a second still waits on the old one. */
	if (fd >= 0)
		close(fd);
}
