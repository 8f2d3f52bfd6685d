/* SPDX-License-Identifier: MIT */
/* Small sysfs attribute files, paths and sorted directory listings. */
#include "collectors/sysfs_attr.h"
#include "collectors/kvlines.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"

ssize_t attr_read(const char *path, char *buf, size_t size, bool trim)
{
	ssize_t n;
	size_t start = 0, end;
	int fd, saved;

	if (size == 0) {
		errno = EINVAL;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	saved = errno;
	close(fd);
	if (n < 0) {
		errno = saved;
		return -1;
	}
	end = (size_t)n;
	if (trim) {
		while (end > 0 && isspace((unsigned char)buf[end - 1]))
			end--;
		while (start < end && isspace((unsigned char)buf[start]))
			start++;
		if (start > 0)
			memmove(buf, buf + start, end - start);
		end -= start;
	}
	buf[end] = '\0';
	return (ssize_t)end;
}

int attr_read_u64(const char *path, uint64_t *v)
{
	char buf[64];

	if (attr_read(path, buf, sizeof(buf), true) < 0)
		return -1;
	if (!kv_u64(buf, v)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int attr_read_i64(const char *path, int64_t *v)
{
	char buf[64];

	if (attr_read(path, buf, sizeof(buf), true) < 0)
		return -1;
	if (!kv_i64(buf, v)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int path_set(struct path_buf *p, const char *a)
{
	size_t len = strlen(a);

	while (len > 1 && a[len - 1] == '/')
		len--;
	if (len >= sizeof(p->s))
		return -1;
	memcpy(p->s, a, len);
	p->s[len] = '\0';
	p->len = len;
	return 0;
}

ssize_t path_push(struct path_buf *p, const char *name)
{
	size_t before = p->len, n;
	bool slash;

	while (*name == '/')
		name++;
	n = strlen(name);
	slash = p->len == 0 || p->s[p->len - 1] != '/';
	if (before + slash + n >= sizeof(p->s))
		return -1;
	if (slash)
		p->s[p->len++] = '/';
	memcpy(p->s + p->len, name, n + 1);
	p->len += n;
	return (ssize_t)before;
}

void path_pop(struct path_buf *p, ssize_t len)
{
	if (len >= 0 && (size_t)len <= p->len) {
		p->len = (size_t)len;
		p->s[len] = '\0';
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The directory dir, rewound when it is the one read last time (one lseek
 * instead of openat, fstat and close; readdir after a rewind sees the
 * entries as they are now), else opened. NULL with errno set. */
static DIR *dir_open(struct dir_list *l, const char *dir)
{
	if (l->dir && l->dir_path && !strcmp(l->dir_path, dir)) {
		rewinddir(l->dir);
		return l->dir;
	}
	if (l->dir)
		closedir(l->dir);
	free(l->dir_path);
	l->dir_path = NULL;
	if (!(l->dir = opendir(dir)))
		return NULL;
	/* Without a copy of the name, the directory is not kept. */
	l->dir_path = strdup(dir);
	return l->dir;
}

static void dir_close(struct dir_list *l)
{
	if (l->dir)
		closedir(l->dir);
	free(l->dir_path);
	l->dir = NULL;
	l->dir_path = NULL;
}

/* The entries of d into l. 0, or -1 with errno set. */
static int dir_list_fill(struct dir_list *l, DIR *d, const char *prefix, bool digit)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	struct dirent *e;

	l->len = 0;
	l->n = 0;
	errno = 0;
	while ((e = readdir(d))) {
		const char *name = e->d_name;
		size_t n = strlen(name);

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (plen && strncmp(name, prefix, plen) != 0)
			continue;
		if (digit && (name[plen] < '0' || name[plen] > '9'))
			continue;
		if (grow_array((void **)&l->chars, &l->cap, l->len + n + 1, 1) < 0 ||
		    grow_array((void **)&l->offs, &l->cap_offs, l->n + 1, sizeof(*l->offs)) < 0) {
			errno = ENOMEM;
			return -1;
		}
		memcpy(l->chars + l->len, name, n + 1);
		l->offs[l->n++] = l->len;
		l->len += n + 1;
	}
	return errno ? -1 : 0;
}

int dir_list_read(struct dir_list *l, const char *dir, const char *prefix, bool digit)
{
	bool kept = l->dir && l->dir_path && !strcmp(l->dir_path, dir);
	DIR *d = dir_open(l, dir);
	int rc;

	if (!d) {
		l->len = l->n = 0;
		return -1;
	}
	rc = dir_list_fill(l, d, prefix, digit);
	/* A kept directory that fails (ENOENT, ENODEV...): look again
	 * through a fresh open. One that was removed reads as empty, which is
	 * what it holds: the directories listed here (sysfs classes, system
	 * devices) live as long as the kernel. */
	if (kept && rc < 0) {
		dir_close(l);
		if (!(d = dir_open(l, dir)))
			return -1;
		rc = dir_list_fill(l, d, prefix, digit);
	}
	if (rc < 0) {
		int saved = errno;
		dir_close(l);
		errno = saved;
		return -1;
	}
	if (grow_array((void **)&l->names, &l->cap_names, l->n, sizeof(*l->names)) < 0) {
		l->n = 0;
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < l->n; i++)
		l->names[i] = l->chars + l->offs[i];
	if (l->n > 1)
		qsort(l->names, l->n, sizeof(*l->names), cmp_names);
	return 0;
}

void dir_list_free(struct dir_list *l)
{
	dir_close(l);
	free(l->chars);
	free(l->offs);
	free(l->names);
	*l = (struct dir_list){0};
}
