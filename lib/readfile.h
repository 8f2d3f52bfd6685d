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

/* Returned by file_buf_read_max for a file larger than its bound. */
#define FILE_BUF_TOO_LARGE (-2)

/* file_buf_read, but a file of more than max_bytes (0: no bound) is not
 * read: FILE_BUF_TOO_LARGE, with st filled and b->len 0, whether fstat
 * said so or the file grew past it while being read. */
int file_buf_read_max(struct file_buf *b, const char *path, struct stat *st, size_t max_bytes,
		      const char **why);
void file_buf_free(struct file_buf *b);
/* Frees the buffer when it holds more than keep_bytes: one huge file read
 * once must not pin its size for the rest of the run. Returns whether it
 * freed it. */
bool file_buf_shrink(struct file_buf *b, size_t keep_bytes);

/* root + "/" + rel, malloc'd; root is one of ctx->global's procfs, sysfs,
 * rootfs (fallback when NULL: "/proc", "/sys", "/"). NULL on ENOMEM. */
char *collector_path(const char *root, const char *fallback, const char *rel);

/* One file a collector reads every interval: its path, built once, and the
 * buffer it is read into. */
struct source_file {
	const char *collector; /* for log lines */
	char *path;
	struct file_buf buf;
};

/* root, fallback and rel as for collector_path(). NULL on ENOMEM (logged). */
struct source_file *source_file_open(const char *collector, const char *root,
				     const char *fallback, const char *rel);
/* Reads the file into f->buf. -1 when it cannot be read: logged at debug
 * only, since the scheduler's node_scrape_collector_success says it. */
int source_file_read(struct source_file *f);
void source_file_close(struct source_file *f);

#endif
