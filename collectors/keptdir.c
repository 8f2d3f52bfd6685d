/* SPDX-License-Identifier: MIT */
/* Attribute files of a sysfs directory's entries, kept open between rounds. */
#include "collectors/keptdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/readfile.h"

/* Descriptors kept by all keptdirs: a quarter of the soft RLIMIT_NOFILE
 * (256 under the usual 1024), leaving the rest to sockets, BPF maps and
 * the textfile directory. */
static size_t kept_open, kept_max;

static bool budget_take(void)
{
	if (!kept_max) {
		struct rlimit rl;
		kept_max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
				   ? (size_t)rl.rlim_cur / 4
				   : 256;
		if (kept_max == 0)
			kept_max = 1;
	}
	if (kept_open >= kept_max)
		return false;
	kept_open++;
	return true;
}

static void kept_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		kept_open--;
	}
	*fd = -1;
}

static void entry_close(struct kept_dir *k, struct kept_entry *e)
{
	for (size_t i = 0; i < k->n_files; i++)
		kept_close(&e->fds[i]);
	if (e->dir_kept)
		kept_close(&e->dir);
	else if (e->dir >= 0)
		close(e->dir);
	e->dir = -1;
}

int kept_dir_init(struct kept_dir *k, const char *path, size_t n_files)
{
	*k = (struct kept_dir){.fd = -1, .n_files = n_files};
	if (!(k->path = strdup(path)))
		return -1;
	return 0;
}

void kept_dir_begin(struct kept_dir *k)
{
	for (size_t i = 0; i < k->n; i++)
		k->e[i].seen = false;
	k->cursor = 0;
}

/* Opens e's directory: kept when the budget allows, else closed again at
 * the end of the round. -1 when it cannot be opened. */
static int entry_open(struct kept_dir *k, struct kept_entry *e)
{
	bool keep;

	if (k->fd < 0) {
		k->fd = open(k->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (k->fd < 0)
			return -1;
		/* A copied tree (a test's fixture) may be rewritten by
		 * rename: a kept descriptor would read the old file. */
		k->keep = fd_kernel_generated(k->fd);
	}
	keep = k->keep && budget_take();
	e->dir = openat(k->fd, e->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->dir < 0) {
		int err = errno;
		if (keep)
			kept_open--;
		errno = err;
		return -1;
	}
	e->dir_kept = keep;
	return 0;
}

static struct kept_entry *entry_add(struct kept_dir *k, const char *name)
{
	struct kept_entry *e;

	if (grow_array((void **)&k->e, &k->cap, k->n + 1, sizeof(*k->e)) < 0)
		return NULL;
	e = &k->e[k->n];
	*e = (struct kept_entry){.dir = -1};
	if (!(e->name = strdup(name)) || !(e->fds = malloc(k->n_files * sizeof(int)))) {
		free(e->name);
		return NULL;
	}
	for (size_t i = 0; i < k->n_files; i++)
		e->fds[i] = -1;
	k->n++;
	return e;
}

struct kept_entry *kept_dir_entry(struct kept_dir *k, const char *name)
{
	struct kept_entry *e = NULL;

	/* Entries come in the same order round after round: start at the
	 * one after the last found. */
	for (size_t j = 0; j < k->n && !e; j++) {
		size_t i = (k->cursor + j) % k->n;
		if (!strcmp(k->e[i].name, name)) {
			e = &k->e[i];
			k->cursor = i + 1;
		}
	}
	if (!e && !(e = entry_add(k, name)))
		return NULL;
	if (e->dir < 0 && entry_open(k, e) < 0)
		return NULL;
	e->seen = true;
	return e;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static ssize_t trimmed(char *buf, ssize_t n)
{
	char *s;

	while (n > 0 && blank(buf[n - 1]))
		n--;
	buf[n] = '\0';
	for (s = buf; blank(*s); s++)
		;
	if (s != buf)
		memmove(buf, s, (size_t)(n - (s - buf)) + 1);
	return n - (s - buf);
}

/* The descriptor of e's file i, opened when needed (kept when the budget
 * allows: *keep). -1 with errno set. */
static int file_fd(struct kept_dir *k, struct kept_entry *e, size_t i, const char *fname,
		   bool *keep)
{
	int fd;

	*keep = e->fds[i] >= 0 || (k->keep && e->dir_kept && budget_take());
	if (e->fds[i] >= 0)
		return e->fds[i];
	fd = openat(e->dir, fname, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int err = errno;
		if (*keep)
			kept_open--;
		errno = err;
		return -1;
	}
	if (*keep)
		e->fds[i] = fd;
	return fd;
}

/* pread from 0 to EOF into b; 0, or -1 with errno set. */
static int pread_all(int fd, struct file_buf *b, size_t max)
{
	for (b->len = 0;;) {
		ssize_t got;

		if (b->len >= max) {
			errno = EFBIG;
			return -1;
		}
		if (grow_array((void **)&b->data, &b->cap, b->len + 4096, 1) < 0)
			return -1;
		got = pread(fd, b->data + b->len, b->cap - b->len - 1, (off_t)b->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		b->len += (size_t)got;
	}
	b->data[b->len] = '\0';
	return 0;
}

/* One pread at 0 of e's file i, of at most size - 1 bytes. */
static ssize_t read_once(struct kept_dir *k, struct kept_entry *e, size_t i, const char *fname,
			 char *buf, size_t size)
{
	bool keep;
	int fd = file_fd(k, e, i, fname, &keep), err;
	ssize_t n;

	if (fd < 0)
		return -1;
	do
		n = pread(fd, buf, size - 1, 0);
	while (n < 0 && errno == EINTR);
	err = errno;
	if (!keep)
		close(fd);
	errno = err;
	return n;
}

ssize_t kept_dir_read(struct kept_dir *k, struct kept_entry *e, size_t i, const char *fname,
		      char *buf, size_t size)
{
	ssize_t n;

	if (size == 0 || i >= k->n_files) {
		errno = EINVAL;
		return -1;
	}
	n = read_once(k, e, i, fname, buf, size);
	/* ENODEV: the object behind a kept descriptor was removed (and
	 * perhaps added again under the same name): reopen the entry. */
	if (n < 0 && errno == ENODEV) {
		entry_close(k, e);
		if (entry_open(k, e) < 0)
			return -1;
		n = read_once(k, e, i, fname, buf, size);
	}
	return n < 0 ? -1 : trimmed(buf, n);
}

int kept_dir_read_buf(struct kept_dir *k, struct kept_entry *e, size_t i, const char *fname,
		      struct file_buf *b, size_t max)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		bool keep;
		int fd = i < k->n_files ? file_fd(k, e, i, fname, &keep) : -1, rc, err;

		if (fd < 0)
			return -1;
		rc = pread_all(fd, b, max);
		err = errno;
		if (!keep)
			close(fd);
		if (rc == 0)
			return 0;
		/* As in kept_dir_read: a removed object, reopen once. */
		if (err != ENODEV || attempt) {
			errno = err;
			return -1;
		}
		entry_close(k, e);
		if (entry_open(k, e) < 0)
			return -1;
	}
	return -1;
}

void kept_dir_release(struct kept_dir *k, struct kept_entry *e)
{
	if (!e->dir_kept)
		entry_close(k, e);
}

void kept_dir_end(struct kept_dir *k)
{
	size_t kept = 0;

	for (size_t i = 0; i < k->n; i++) {
		if (k->e[i].seen) {
			if (!k->e[i].dir_kept)
				entry_close(k, &k->e[i]);
			k->e[kept++] = k->e[i];
			continue;
		}
		entry_close(k, &k->e[i]);
		free(k->e[i].name);
		free(k->e[i].fds);
	}
	k->n = kept;
	/* Off sysfs (a fixture), not even the directory is kept: it may be
	 * replaced as a whole. */
	if (!k->keep && k->fd >= 0) {
		close(k->fd);
		k->fd = -1;
	}
}

void kept_dir_free(struct kept_dir *k)
{
	if (!k->path) /* zeroed, never initialised */
		return;
	kept_dir_begin(k);
	kept_dir_end(k);
	free(k->e);
	if (k->fd >= 0)
		close(k->fd);
	free(k->path);
	*k = (struct kept_dir){.fd = -1};
}
