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
#include "lib/mkdirs.h"

#define LOCK_NAME "lock"

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

static void log_refused(int fd, const char *data_dir, const char *path)
{
	char pid[24] = "unknown";
	long holder = holder_pid(fd);

	if (holder > 0)
		snprintf(pid, sizeof(pid), "%ld", holder);
	log_msg(LOG_ERROR, "data_dir is in use by another bpfpush: one agent per data_dir",
		"data_dir=%s pid=%s lock=%s", data_dir, pid, path);
}

/* A read-only data_dir (a mount, or a directory the agent may not write)
 * cannot hold the lock file, and the disk tier cannot use it either: the
 * directory itself is locked instead (flock works on any open file), so a
 * second agent is still refused, and the queues run memory-only. */
static int open_lock(const char *data_dir, const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);

	if (fd >= 0 || (errno != EROFS && errno != EACCES))
		return fd;
	fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		log_msg(LOG_WARN, "data_dir is read-only: no disk tier, memory only",
			"data_dir=%s", data_dir);
	return fd;
}

int instance_lock(const char *data_dir)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	if (mkdirs(data_dir, 0750) < 0 ||
	    snprintf(path, sizeof(path), "%s/%s", data_dir, LOCK_NAME) >= (int)sizeof(path) ||
	    (fd = open_lock(data_dir, path)) < 0) {
		log_msg(LOG_ERROR, "data_dir: cannot open its lock", "data_dir=%s err=\"%s\"",
			data_dir, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			log_refused(fd, data_dir, path);
		else
			log_msg(LOG_ERROR, "data_dir: cannot lock", "data_dir=%s err=\"%s\"",
				data_dir, strerror(errno));
		close(fd);
		return -1;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && write_pid(fd) < 0) {
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
