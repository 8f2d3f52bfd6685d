/* SPDX-License-Identifier: MIT */
#include "bpf/cgroupid.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cgroupfs.h"
#include "lib/readfile.h"

#define DENTS_SIZE 8192 /* a cgroup directory is ~30 files and its children */

struct cgroupid {
	int root_fd; /* O_PATH: fstatat and openat only */
	char path[PATH_MAX]; /* the group being walked, below the root */
	/* One per level: the walk descends into a child while its parent's
	 * listing is still being read. */
	char *dents[CGROUPID_MAX_DEPTH];
};

struct walk {
	struct cgroupid *c;
	bool (*found)(uint64_t id, const char *label, void *arg);
	void *arg;
	int fd; /* the group being listed */
	unsigned depth;
	size_t len; /* of its path in c->path */
};

static int list(struct walk *w);

/* A child of w's group: named, then walked. 1 ends the walk. */
static int visit(void *arg, const char *name, uint64_t ino)
{
	struct walk *w = arg, child = *w;
	struct cgroupid *c = w->c;
	size_t n = strlen(name);
	int ret = 0;

	if (w->len + 1 + n >= sizeof(c->path))
		return 0; /* a path too long to be a label */
	c->path[w->len] = '/';
	memcpy(c->path + w->len + 1, name, n + 1);
	if (!w->found(ino, cgroup_label(c->path), w->arg)) {
		ret = 1;
	} else if (w->depth + 1 < CGROUPID_MAX_DEPTH &&
		   (child.fd = openat(w->fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		child.depth = w->depth + 1;
		child.len = w->len + 1 + n;
		ret = list(&child);
		close(child.fd);
	}
	c->path[w->len] = '\0';
	return ret;
}

/* 1 when the walk ended inside; a group that vanished meanwhile, or a
 * buffer that could not be had, only leaves its children unnamed. */
static int list(struct walk *w)
{
	char **buf = &w->c->dents[w->depth];

	if (!*buf && !(*buf = malloc(DENTS_SIZE)))
		return 0;
	return cgroup_each_child(w->fd, *buf, DENTS_SIZE, visit, w) > 0;
}

void cgroupid_walk(struct cgroupid *c, bool (*found)(uint64_t id, const char *label, void *arg),
		   void *arg)
{
	struct walk w = {c, found, arg, -1, 0, 0};
	struct stat sb;

	c->path[0] = '\0';
	if (fstat(c->root_fd, &sb) < 0 || !found((uint64_t)sb.st_ino, cgroup_label(c->path), arg))
		return;
	w.fd = openat(c->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w.fd < 0)
		return;
	list(&w);
	close(w.fd);
}

bool cgroupid_alive(const struct cgroupid *c, uint64_t id, const char *label)
{
	const char *rel = label[0] == '/' && label[1] ? label + 1 : ".";
	struct stat sb;

	return fstatat(c->root_fd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode) &&
	       (uint64_t)sb.st_ino == id;
}

struct cgroupid *cgroupid_open(const char *sysfs)
{
	char *base = collector_path(sysfs, "/sys", "fs/cgroup"), root[PATH_MAX];
	struct cgroupid *c;
	int fd;

	if (!base) {
		errno = ENOMEM;
		return NULL;
	}
	if (!cgroup_v2_root(base, root, sizeof(root))) {
		free(base);
		errno = ENOENT;
		return NULL;
	}
	free(base);
	fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (!(c = calloc(1, sizeof(*c)))) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	c->root_fd = fd;
	return c;
}

void cgroupid_close(struct cgroupid *c)
{
	if (!c)
		return;
	close(c->root_fd);
	for (size_t i = 0; i < CGROUPID_MAX_DEPTH; i++)
		free(c->dents[i]);
	free(c);
}
