/* SPDX-License-Identifier: MIT */
/* The procfs and sysfs targets' world: a copy of the fixture trees in the
 * scratch directory (proc/, sys/, run/udev/data, etc/os-release: rootfs is
 * the scratch directory itself), every collector's options as config
 * fills them in from an empty file (the defaults), and one file of the tree
 * replaced by an input for one collector run, then put back.
 * Header-only; include after fuzz_tree.h and fuzz_collect.h. */
#ifndef BPFPUSH_FUZZ_FS_H
#define BPFPUSH_FUZZ_FS_H

#include "agent/scheduler.h"
#include "config/config.h"
#include "lib/readfile.h"

#ifndef FUZZ_SRCDIR
#define FUZZ_SRCDIR "."
#endif

struct fuzz_fs {
	const char *root;          /* the scratch directory: rootfs */
	struct config cfg;         /* the defaults, and global with the paths */
	char procfs[PATH_MAX], sysfs[PATH_MAX];
};

/* The fixtures merged into root (cp -a keeps sysfs' symlinks). */
static inline void fuzz_fs_copy(const char *root)
{
	static const char *const trees[] = {
		"linux-6.1/.", "rootfs/.", "hw/.", "cgroup/.",
	};
	char cmd[4 * PATH_MAX];

	for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
		snprintf(cmd, sizeof(cmd), "cp -a '%s/test/fixtures/%s' '%s/'", FUZZ_SRCDIR,
			 trees[i], root);
		if (system(cmd) != 0) {
			fprintf(stderr, "fuzz: %s failed\n", cmd);
			abort();
		}
	}
}

static inline struct fuzz_fs *fuzz_fs_get(void)
{
	static struct fuzz_fs fs;
	struct config_error err;

	if (fs.root)
		return &fs;
	fs.root = fuzz_scratch();
	fuzz_fs_copy(fs.root);
	if (config_load_string("defaults.yml", "", 0, scheduler_schemas(), &fs.cfg, &err) < 0) {
		fprintf(stderr, "fuzz: %s\n", err.text);
		abort();
	}
	snprintf(fs.procfs, sizeof(fs.procfs), "%s/proc", fs.root);
	snprintf(fs.sysfs, sizeof(fs.sysfs), "%s/sys", fs.root);
	/* config's own strings, replaced as a file naming them would. */
	free(fs.cfg.global.procfs);
	free(fs.cfg.global.sysfs);
	free(fs.cfg.global.rootfs);
	fs.cfg.global.procfs = fs.procfs;
	fs.cfg.global.sysfs = fs.sysfs;
	fs.cfg.global.rootfs = (char *)fs.root;
	return &fs;
}

/* Collector c (or, c NULL, run(the file's path)) run once with root/rel
 * holding data[0..size); rel's old content (or its absence) restored
 * after. */
static inline void fuzz_fs_run(const struct collector *c, const char *rel,
			       void (*run)(const char *path), const uint8_t *data, size_t size)
{
	struct fuzz_fs *fs = fuzz_fs_get();
	const struct section_config *sc = c ? config_collector(&fs->cfg, c->name) : NULL;
	struct file_buf old = {0};
	char path[PATH_MAX];
	const char *why;
	bool existed;

	snprintf(path, sizeof(path), "%s/%s", fs->root, rel);
	existed = file_buf_read(&old, path, NULL, &why) == 0;
	fuzz_write(fs->root, rel, data, size);
	if (c)
		fuzz_collect(c, sc ? sc->opts : NULL, &fs->cfg.global);
	else
		run(path);
	if (existed)
		fuzz_write(fs->root, rel, (const uint8_t *)old.data, old.len);
	else
		unlink(path);
	file_buf_free(&old);
}

#endif
