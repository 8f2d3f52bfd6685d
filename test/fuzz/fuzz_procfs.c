/* SPDX-License-Identifier: MIT */
/* Every procfs parser fed arbitrary bytes: the first byte picks a collector
 * and one of the files it reads (the table below), the rest is that file's
 * content, in a copy of the fixture tree where the collector's other files
 * are real. The collector runs as the scheduler runs it (init, two rounds,
 * exit) with its default options. The rootfs files the same collectors
 * read (os-release, udev's database) are here too, and /proc/kallsyms as
 * the BPF collectors' symbol table reads it (bpf/ksyms.c is compiled into
 * this target to reach its loader, which takes a path). */
#include "collectors/all.h"

#include "bpf/ksyms.c"

#include "fuzz_tree.h"
#include "fuzz_collect.h"
#include "fuzz_fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void kallsyms(const char *path);

static const struct {
	const struct collector *collector; /* NULL: run instead */
	const char *file; /* under the rootfs */
	void (*run)(const char *path);
} targets[] = {
	{&collector_cpu, "proc/stat"},
	{&collector_stat, "proc/stat"},
	{&collector_meminfo, "proc/meminfo"},
	{&collector_loadavg, "proc/loadavg"},
	{&collector_diskstats, "proc/diskstats"},
	{&collector_diskstats, "run/udev/data/b8:0"},
	{&collector_netdev, "proc/net/dev"},
	{&collector_netstat, "proc/net/netstat"},
	{&collector_netstat, "proc/net/snmp"},
	{&collector_netstat, "proc/net/snmp6"},
	{&collector_sockstat, "proc/net/sockstat"},
	{&collector_sockstat, "proc/net/sockstat6"},
	{&collector_softnet, "proc/net/softnet_stat"},
	{&collector_vmstat, "proc/vmstat"},
	{&collector_filesystem, "proc/1/mounts"},
	{&collector_pressure, "proc/pressure/cpu"},
	{&collector_pressure, "proc/pressure/io"},
	{&collector_pressure, "proc/pressure/memory"},
	{&collector_filefd, "proc/sys/fs/file-nr"},
	{&collector_conntrack, "proc/sys/net/netfilter/nf_conntrack_count"},
	{&collector_conntrack, "proc/sys/net/netfilter/nf_conntrack_max"},
	{&collector_conntrack, "proc/net/stat/nf_conntrack"},
	{&collector_schedstat, "proc/schedstat"},
	{&collector_os, "etc/os-release"},
	{NULL, "proc/kallsyms", kallsyms},
};

#define N_TARGETS (sizeof(targets) / sizeof(targets[0]))

static volatile size_t sink;

/* The table loaded from path, and looked up around every address that
 * could matter: before the first symbol, each symbol's, past the last. */
static void kallsyms(const char *path)
{
	struct ksyms *k = ksyms_load(path);
	uint64_t offset;

	if (!k)
		return;
	sink += ksyms_lookup(k, 0, &offset) != NULL;
	for (size_t i = 0; i < k->n; i++) {
		const char *name = ksyms_lookup(k, k->syms[i].addr, &offset);
		sink += name ? strlen(name) : 0;
		sink += ksyms_lookup(k, k->syms[i].addr + 1, NULL) != NULL;
	}
	sink += ksyms_lookup(k, UINT64_MAX, &offset) != NULL;
	ksyms_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (!ready) {
		fuzz_logs_on();
		ready = true;
	}
	if (size < 1)
		return 0;
	fuzz_fs_run(targets[data[0] % N_TARGETS].collector, targets[data[0] % N_TARGETS].file,
		    targets[data[0] % N_TARGETS].run, data + 1, size - 1);
	return 0;
}
