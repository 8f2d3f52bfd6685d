/* SPDX-License-Identifier: MIT */
/* Every sysfs parser fed arbitrary bytes: the input is a collector's index
 * (one byte, the table below), the path of one of the tree's existing
 * files under that collector's directories (NUL-terminated, relative to
 * sysfs), then that file's content. The rest of the tree is the fixtures'
 * (test/fixtures/{linux-6.1,hw,cgroup}/sys merged); the collector runs as
 * the scheduler runs it (init, two rounds, exit) with its default options.
 * A path that names no regular file of the tree is not run: the tree's
 * shape stays the fixtures' from one input to the next. */
#include "collectors/all.h"

#include "fuzz_tree.h"
#include "fuzz_collect.h"
#include "fuzz_fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	const struct collector *collector;
	const char *dirs[3]; /* under sysfs: the files it may be given */
} targets[] = {
	{&collector_netclass, {"class/net/"}},
	{&collector_netdev, {"class/net/"}},
	{&collector_cpufreq, {"devices/system/cpu/"}},
	{&collector_hwmon, {"class/hwmon/", "devices/"}},
	{&collector_thermal_zone, {"class/thermal/"}},
	{&collector_cgroup, {"fs/cgroup/", "dev/block/"}},
	{&collector_cpu, {"devices/system/cpu/"}},
	{&collector_diskstats, {"dev/block/", "block/"}},
};

#define N_TARGETS (sizeof(targets) / sizeof(targets[0]))

/* rel is under one of the target's dirs, has no "..", and names a regular
 * file of the tree. */
static bool allowed(size_t t, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;
	bool under = false;

	for (size_t i = 0; i < 3 && targets[t].dirs[i]; i++)
		under |= strncmp(rel, targets[t].dirs[i], strlen(targets[t].dirs[i])) == 0;
	if (!under || strstr(rel, ".."))
		return false;
	snprintf(path, sizeof(path), "%s/sys/%s", fuzz_fs_get()->root, rel);
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	char rel[PATH_MAX] = "sys/";
	const uint8_t *nul;
	size_t t, rel_len;

	if (!ready) {
		fuzz_logs_on();
		ready = true;
	}
	if (size < 2 || !(nul = memchr(data + 1, '\0', size - 1)))
		return 0;
	t = data[0] % N_TARGETS;
	rel_len = (size_t)(nul - (data + 1));
	if (rel_len == 0 || rel_len >= sizeof(rel) - 5)
		return 0;
	memcpy(rel + 4, data + 1, rel_len);
	rel[4 + rel_len] = '\0';
	if (!allowed(t, rel + 4))
		return 0;
	fuzz_fs_run(targets[t].collector, rel, NULL, nul + 1, size - (size_t)(nul + 1 - data));
	return 0;
}
