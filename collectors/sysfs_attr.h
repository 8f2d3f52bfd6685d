/* SPDX-License-Identifier: MIT */
/* sysfs_attr: what the sysfs collectors (cpufreq, hwmon, thermal_zone, the
 * clocksources of time) share: reading one small attribute file ("45000\n",
 * "acpitz\n") into a caller's stack buffer, building paths in a fixed
 * buffer, and listing a directory's entries sorted by name (as Go's
 * filepath.Glob and os.ReadDir return them) into arrays that are reused from
 * one round to the next. Nothing here allocates in steady state. */
#ifndef BPFPUSH_SYSFS_ATTR_H
#define BPFPUSH_SYSFS_ATTR_H

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A sysfs attribute is at most a page; these are far smaller. */
#define ATTR_MAX 256

/* Reads path with ONE read(2) of at most size - 1 bytes, as node_exporter's
 * sysReadFile does: a sysfs attribute comes whole in the first read, and a
 * broken hwmon driver that answers EAGAIN fails at once instead of being
 * polled. The file is opened O_NONBLOCK. buf is NUL-terminated; with trim,
 * leading and trailing whitespace is removed (the content is moved to the
 * start of buf). Returns the length, or -1 with errno set. */
ssize_t attr_read(const char *path, char *buf, size_t size, bool trim);

/* The whole trimmed content as one decimal integer (Go's
 * strconv.ParseUint/ParseInt of strings.TrimSpace; kvlines' kv_u64 and
 * kv_i64). 0, or -1 with errno set (EINVAL for content that is not a
 * number). */
int attr_read_u64(const char *path, uint64_t *v);
int attr_read_i64(const char *path, int64_t *v);

/* A path built in place: root, then components pushed and popped. */
struct path_buf {
	char s[PATH_MAX];
	size_t len;
};

/* Sets the path to a (a trailing '/' is dropped unless a is "/"). -1 when
 * too long. */
int path_set(struct path_buf *p, const char *a);
/* Appends "/" + name (no doubled '/'); returns the length before, to give
 * to path_pop, or -1 when too long (the path is unchanged then). */
ssize_t path_push(struct path_buf *p, const char *name);
void path_pop(struct path_buf *p, ssize_t len);

/* A directory's entry names, sorted bytewise, "." and ".." left out. The
 * directory last read stays open and is rewound when read again. */
struct dir_list {
	DIR *dir;       /* the directory last read, kept open; NULL: none */
	char *dir_path; /* its path */
	char *chars;  /* the names, NUL-separated */
	size_t len, cap;
	size_t *offs; /* into chars */
	size_t n, cap_offs;
	const char **names; /* sorted; valid until the next dir_list_read */
	size_t cap_names;
};

/* Reads the entries of dir whose name starts with prefix (NULL or "": all);
 * with digit, the prefix must be followed by a digit, as in the glob
 * "cpu[0-9]*". 0, or -1 with errno set (ENOENT when dir does not exist). */
int dir_list_read(struct dir_list *l, const char *dir, const char *prefix, bool digit);
void dir_list_free(struct dir_list *l);

#endif
