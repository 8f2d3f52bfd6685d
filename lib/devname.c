/* SPDX-License-Identifier: MIT */
#include "lib/devname.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

struct entry {
	uint32_t dev;
	char name[64];
};

static struct entry *cache;
static size_t n_cache, cap_cache;

static const char *root(const char *sysfs)
{
	return sysfs && *sysfs ? sysfs : "/sys";
}

static bool read_devname(const char *sysfs, uint32_t dev, char *out, size_t outsz)
{
	char path[512], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/dev/block/%u:%u/uevent", root(sysfs),
		 DEVNAME_MAJOR(dev), DEVNAME_MINOR(dev));
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "DEVNAME=", 8) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (line[8] && strlen(line + 8) < outsz) {
			memcpy(out, line + 8, strlen(line + 8) + 1);
			found = true;
		}
	}
	fclose(f);
	return found;
}

bool devname_lookup(const char *sysfs, uint32_t dev, char *out, size_t outsz)
{
	char name[sizeof(cache->name)];

	for (size_t i = 0; i < n_cache; i++)
		if (cache[i].dev == dev) {
			snprintf(out, outsz, "%s", cache[i].name);
			return true;
		}
	if (!read_devname(sysfs, dev, name, sizeof(name))) {
		snprintf(out, outsz, "%u:%u", DEVNAME_MAJOR(dev), DEVNAME_MINOR(dev));
		return false;
	}
	if (grow_array((void **)&cache, &cap_cache, n_cache + 1, sizeof(*cache)) == 0) {
		cache[n_cache].dev = dev;
		memcpy(cache[n_cache].name, name, sizeof(name));
		n_cache++;
	}
	snprintf(out, outsz, "%s", name);
	return true;
}

int devname_each_disk(const char *sysfs, void (*fn)(uint32_t dev, void *arg), void *arg)
{
	char path[512], line[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "%s/block", root(sysfs));
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		unsigned ma, mi;
		FILE *f;
		bool ok;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/block/%s/dev", root(sysfs), d->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		ok = fgets(line, sizeof(line), f) && sscanf(line, "%u:%u", &ma, &mi) == 2;
		fclose(f);
		if (!ok)
			continue;
		fn(DEVNAME_MKDEV(ma, mi), arg);
		n++;
	}
	closedir(dir);
	return n;
}

void devname_free(void)
{
	free(cache);
	cache = NULL;
	n_cache = cap_cache = 0;
}
