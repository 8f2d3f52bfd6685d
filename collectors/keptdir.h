/* SPDX-License-Identifier: MIT */
/* keptdir: the attribute files of the entries of one sysfs directory (the
 * interfaces of /sys/class/net and their operstate, mtu, ...), kept open
 * from one round to the next and re-read with pread at offset 0, which
 * makes sysfs call the attribute's show() again: one system call per
 * attribute and round instead of openat, read and close.
 *
 * An entry that is gone (a NIC removed) is closed at the end of the first
 * round that does not list it; one removed and added again under the same
 * name answers ENODEV on its old descriptors, and is reopened at once. The
 * descriptors kept by all keptdirs together are bounded by a share of
 * RLIMIT_NOFILE; past it, an attribute is opened, read and closed as
 * before. Collection-thread only. */
#ifndef BPFPUSH_KEPTDIR_H
#define BPFPUSH_KEPTDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct file_buf;

struct kept_entry {
	char *name;
	int dir;  /* -1: not open */
	int *fds; /* n_files, -1: not open */
	bool dir_kept; /* dir counts in the budget, else closed each round */
	bool seen;
};

struct kept_dir {
	char *path;     /* the directory, e.g. <sysfs>/class/net */
	int fd;         /* -1: not open */
	bool keep;      /* fd is on sysfs: descriptors may be kept */
	size_t n_files; /* attribute files per entry */
	struct kept_entry *e;
	size_t n, cap, cursor;
};

/* 0, or -1 on ENOMEM. path is copied. */
int kept_dir_init(struct kept_dir *k, const char *path, size_t n_files);
/* Starts a round: every entry is unseen until kept_dir_entry names it. */
void kept_dir_begin(struct kept_dir *k);
/* The entry name (found, or opened), marked seen; NULL when it cannot be
 * opened (gone since the directory was read, or not a directory). */
struct kept_entry *kept_dir_entry(struct kept_dir *k, const char *name);
/* Reads attribute i, file fname (relative to the entry, may contain '/'),
 * with one pread of at most size - 1 bytes, NUL-terminated and trimmed of
 * blanks at both ends as Go's strings.TrimSpace. The length, or -1 with
 * errno set (EINVAL, EOPNOTSUPP: the kernel refuses that attribute now). */
ssize_t kept_dir_read(struct kept_dir *k, struct kept_entry *e, size_t i, const char *fname,
		      char *buf, size_t size);
/* The whole file (a cgroup's memory.stat may exceed a page) into b, read
 * by pread from offset 0 until EOF, at most max bytes. 0, or -1 with errno
 * set (EFBIG past max). b->data is NUL-terminated. */
int kept_dir_read_buf(struct kept_dir *k, struct kept_entry *e, size_t i, const char *fname,
		      struct file_buf *b, size_t max);
/* Done with e for this round: its directory is closed now when it is not
 * kept (past the budget), so that those do not pile up until the round
 * ends. */
void kept_dir_release(struct kept_dir *k, struct kept_entry *e);
/* Ends a round: entries not seen in it are closed and forgotten. */
void kept_dir_end(struct kept_dir *k);
/* Also safe on a zeroed kept_dir that kept_dir_init never saw. */
void kept_dir_free(struct kept_dir *k);

#endif
