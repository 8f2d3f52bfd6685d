/* SPDX-License-Identifier: MIT */
/* Whole-file reads into a reused buffer. */
#include "lib/readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/log.h"

/* Procfs files report size 0, so this is only a first guess. */
#define MIN_READ 4096

/* +1 for the NUL after the content. */
static int reserve(struct file_buf *b, size_t extra)
{
	return grow_array((void **)&b->data, &b->cap, b->len + extra + 1, 1);
}

/* Reads up to limit + 1 bytes: 0, -1 (errno), or FILE_BUF_TOO_LARGE when
 * there were more than limit. */
static int read_all(struct file_buf *b, int fd, size_t size_hint, size_t limit)
{
	b->len = 0;
	/* +1: room left after the whole file, so the read that sees EOF
	 * does not grow the buffer first. */
	if (reserve(b, size_hint >= MIN_READ ? size_hint + 1 : MIN_READ) < 0)
		return -1;
	for (;;) {
		size_t room = b->cap - b->len - 1;
		ssize_t n;

		if (room > limit - b->len + 1)
			room = limit - b->len + 1;
		n = read(fd, b->data + b->len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		b->len += (size_t)n;
		if (b->len > limit) {
			b->len = 0;
			return FILE_BUF_TOO_LARGE;
		}
		if (b->cap - b->len - 1 == 0 && reserve(b, b->cap) < 0)
			return -1;
	}
	b->data[b->len] = '\0';
	return 0;
}

int file_buf_read_max(struct file_buf *b, const char *path, struct stat *st, size_t max_bytes,
		      const char **why)
{
	size_t limit = max_bytes ? max_bytes : SIZE_MAX - 1;
	struct stat local;
	int fd, rc = -1;

	if (!st)
		st = &local;
	b->len = 0;
	/* O_NONBLOCK: opening a FIFO someone named x.prom must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	if (fstat(fd, st) < 0)
		*why = strerror(errno);
	else if (!S_ISREG(st->st_mode))
		*why = "not a regular file";
	else if ((uintmax_t)st->st_size > limit)
		rc = FILE_BUF_TOO_LARGE;
	else if ((rc = read_all(b, fd, (size_t)st->st_size, limit)) == -1)
		*why = strerror(errno);
	if (rc == FILE_BUF_TOO_LARGE)
		*why = "larger than its bound";
	close(fd);
	return rc;
}

int file_buf_read(struct file_buf *b, const char *path, struct stat *st, const char **why)
{
	return file_buf_read_max(b, path, st, 0, why);
}

bool file_buf_shrink(struct file_buf *b, size_t keep_bytes)
{
	if (b->cap <= keep_bytes)
		return false;
	file_buf_free(b);
	return true;
}

void file_buf_free(struct file_buf *b)
{
	free(b->data);
	*b = (struct file_buf){0};
}

char *collector_path(const char *root, const char *fallback, const char *rel)
{
	char *path;

	if (!root || !*root)
		root = fallback;
	/* "/" + "/proc/..." must not become "//proc". */
	size_t len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		len--;
	if (asprintf(&path, "%.*s%s%s", (int)len, root, root[len - 1] == '/' ? "" : "/", rel) < 0)
		return NULL;
	return path;
}

struct source_file *source_file_open(const char *collector, const char *root,
				     const char *fallback, const char *rel)
{
	struct source_file *f = calloc(1, sizeof(*f));

	if (!f || !(f->path = collector_path(root, fallback, rel))) {
		free(f);
		log_msg(LOG_ERROR, "collector: out of memory", "collector=%s", collector);
		return NULL;
	}
	f->collector = collector;
	return f;
}

int source_file_read(struct source_file *f)
{
	const char *why;

	if (file_buf_read(&f->buf, f->path, NULL, &why) == 0)
		return 0;
	log_msg(LOG_DEBUG, "collector cannot read its source", "collector=%s path=%s err=\"%s\"",
		f->collector, f->path, why);
	return -1;
}

void source_file_close(struct source_file *f)
{
	if (!f)
		return;
	file_buf_free(&f->buf);
	free(f->path);
	free(f);
}
