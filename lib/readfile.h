/* SPDX-License-Identifier: MIT */
/* readfile: what every procfs/sysfs/textfile collector does each interval,
 * reading a whole small file into a buffer it keeps, so that steady state
 * allocates nothing. */
#ifndef BPFPUSH_READFILE_H
#define BPFPUSH_READFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>


struct file_buf {
	char *data; /* NUL-terminated after len, for strto*() parsers */
	size_t len, cap;
};

/* Replaces b's content with the file at path, a regular file (procfs and
 * sysfs files are; a FIFO or a directory is refused without blocking).
 * Returns 0, or -1 with *why set to a static text (strerror or "not a
 * regular file"). st, if not NULL, receives the file's fstat. */
int file_buf_read(struct file_buf *b, const char *path, struct stat *st, const char **why);

/* Returned by file_open_regular for a file larger than its bound. */
#define FILE_BUF_TOO_LARGE (-2)

/* Opens path for reading when it is a regular file of at most max_bytes
 * (0: no bound), without blocking on a FIFO: its descriptor, with st
 * filled; -1 with *why set to a static text; or FILE_BUF_TOO_LARGE, st
 * filled. For readers that take a file in pieces (textfile). */
int file_open_regular(const char *path, struct stat *st, size_t max_bytes, const char **why);
void file_buf_free(struct file_buf *b);
/* Frees the buffer when it holds more than keep_bytes: one huge file read
 * once must not pin its size for the rest of the run. Returns whether it
 * freed it. */
bool file_buf_shrink(struct file_buf *b, size_t keep_bytes);

/* root + "/" + rel, malloc'd; root is one of ctx->global's procfs, sysfs,
 * rootfs (fallback when NULL: "/proc", "/sys", "/"). NULL on ENOMEM. */
char *collector_path(const char *root, const char *fallback, const char *rel);

/* Whether fd is on procfs, sysfs or cgroupfs, whose files the kernel
 * generates at each read from offset 0 and whose objects, once gone, fail
 * a kept descriptor's read (ENODEV) instead of serving old bytes. */
bool fd_kernel_generated(int fd);

/* One file a collector reads every interval: its path, built once, and the
 * buffer it is read into. A file of procfs, sysfs or cgroupfs stays open
 * and is re-read with pread at offset 0: the kernel regenerates its content
 * on every read from offset 0, so a round costs one pread (and one more that
 * sees EOF) instead of open, fstat, read, read and close. A file of any other
 * filesystem (a test's fixture, a copied tree) is reopened every round, since
 * a kept descriptor would go on reading a replaced or deleted file. */
struct source_file {
	const char *collector; /* for log lines */
	char *path;
	struct file_buf buf;
	int fd;    /* -1: not open */
	bool keep; /* fd stays open between reads (a kernel filesystem) */
};

/* root, fallback and rel as for collector_path(). NULL on ENOMEM (logged). */
struct source_file *source_file_open(const char *collector, const char *root,
				     const char *fallback, const char *rel);
/* Reads the file into f->buf. -1 when it cannot be read: logged at debug
 * only, since the scheduler's node_scrape_collector_success says it. */
int source_file_read(struct source_file *f);
/* source_file_read without the log line: -1 with errno and *why set (a
 * static text), for files whose absence is normal (ENOENT: IPv6 off). A
 * kept descriptor whose object went away (ENODEV, ESTALE...) is closed and
 * the path opened again once, so a file that was replaced is read afresh
 * and one that is gone fails this round and is retried the next. */
int source_file_try(struct source_file *f, const char **why);
void source_file_close(struct source_file *f);

#endif
