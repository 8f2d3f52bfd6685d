/* SPDX-License-Identifier: MIT */
/* cgroup: what each control group of the cgroup v2 (unified) hierarchy uses
 * (the container view beside the node view, as cAdvisor gives it): CPU time and
 * throttling, memory use, limit and make-up, IO per device, and pressure
 * stall times, one series set per group, labelled so a person can tell which
 * systemd unit, Kubernetes pod or container the group is.
 *
 * Where: <sysfs>/fs/cgroup when it is the unified hierarchy (it has
 * cgroup.controllers); else <sysfs>/fs/cgroup/unified (systemd's hybrid mode:
 * the v2 tree holds only what v2 has without controllers, cpu.stat usage and
 * pressure); else (cgroup v1 only) the update fails, logged once.
 *
 * Which groups: a breadth-first walk, children in name order, down to
 * max_depth levels below the root; the first max_groups groups are read, so
 * when the limit bites it is the deepest groups (containers of the last
 * pods) that go, never a slice's totals. The rest are counted in
 * bpfpush_cgroup_groups_skipped, and the first time it happens it is logged.
 *
 * Labels of every series of a group:
 *   cgroup        the path below the root: "/", "/system.slice/ssh.service"
 *   unit          the last path element that is a systemd unit with a cgroup
 *                 (.slice .scope .service .socket .mount .swap)
 *   pod_uid       Kubernetes: kubepods*-pod<uid>.slice (systemd driver, '_'
 *                 back to '-') or kubepods[/<qos>]/pod<uid> (cgroupfs driver)
 *   container_id  cri-containerd-<id>.scope, docker-<id>.scope,
 *                 crio-<id>.scope, libpod-<id>.scope; with the cgroupfs
 *                 driver the element below pod<uid> (and /docker/<id>)
 * Empty ones are dropped by the registry.
 *
 * Names. The prefix is bpfpush_cgroup_, not node_ and not container_:
 * node_exporter has no per-cgroup metrics (its "cgroups" collector counts
 * hierarchies from /proc/cgroups as node_cgroups_*), so node_cgroup_ would
 * claim node_exporter's namespace for data it never served, one letter away
 * from a family it does serve; container_ is cAdvisor's, whose labels (id,
 * name, image) we do not reproduce, so dashboards made for it would half
 * work without saying so. The rest of each name follows cAdvisor and
 * node_exporter's pressure collector where they have one.
 *
 * Cost: every file is read into one reused buffer, paths are built in one
 * reused buffer, directories are listed with getdents64 into a reused
 * buffer (opendir would malloc per directory), and the walk's queue grows
 * only when the tree does: steady state allocates nothing but the scratch
 * glibc's qsort takes (and frees) to sort a group's children when they fill
 * more than 1 KiB of walk entries (64 or more). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collectors/all.h"
#include "collectors/cgroup.h"
#include "collectors/keptdir.h"
#include "collectors/kvlines.h"
#include "lib/buf.h"
#include "lib/cgroupfs.h"
#include "lib/devname.h"
#include "lib/log.h"
#include "lib/readfile.h"

#define PATH_SIZE (PATH_MAX + 64) /* root + relative path + "/" + file name */
#define LABEL_SIZE 256            /* one path element (NAME_MAX) and its NUL */
#define DENTS_SIZE 32768
#define DEV_NAME_SIZE 64
#define READ_CHUNK 4096             /* room asked for before each read() */
#define MAX_FILE_SIZE (1024 * 1024) /* io.stat of a huge box is a few KiB */
#define USEC 1e6 /* per second */

static const struct opt_desc cgroup_opt_descs[] = {
	{"max_depth", OPT_INT, CGROUP_DEFAULT_MAX_DEPTH, offsetof(struct cgroup_opts, max_depth), 0},
	{"max_groups", OPT_INT, CGROUP_DEFAULT_MAX_GROUPS, offsetof(struct cgroup_opts, max_groups), 0},
	{NULL, 0, NULL, 0, 0},
};

/* ---- the families -------------------------------------------------------- */

static const struct metric_desc cpu_usage = {
	"bpfpush_cgroup_cpu_usage_seconds_total",
	"CPU time consumed by the cgroup's tasks (cpu.stat usage_usec).", METRIC_COUNTER};
static const struct metric_desc cpu_user = {
	"bpfpush_cgroup_cpu_user_seconds_total",
	"CPU time the cgroup's tasks spent in user mode (cpu.stat user_usec).", METRIC_COUNTER};
static const struct metric_desc cpu_system = {
	"bpfpush_cgroup_cpu_system_seconds_total",
	"CPU time the cgroup's tasks spent in kernel mode (cpu.stat system_usec).",
	METRIC_COUNTER};
static const struct metric_desc cpu_periods = {
	"bpfpush_cgroup_cpu_periods_total",
	"Enforcement periods of the cgroup's CPU bandwidth limit that elapsed (cpu.stat nr_periods).",
	METRIC_COUNTER};
static const struct metric_desc cpu_throttled_periods = {
	"bpfpush_cgroup_cpu_throttled_periods_total",
	"Enforcement periods in which the cgroup was throttled (cpu.stat nr_throttled).",
	METRIC_COUNTER};
static const struct metric_desc cpu_throttled_seconds = {
	"bpfpush_cgroup_cpu_throttled_seconds_total",
	"Time the cgroup's tasks were throttled by its CPU limit (cpu.stat throttled_usec).",
	METRIC_COUNTER};
static const struct metric_desc memory_usage = {
	"bpfpush_cgroup_memory_usage_bytes",
	"Memory in use by the cgroup and its descendants (memory.current).", METRIC_GAUGE};
static const struct metric_desc memory_limit = {
	"bpfpush_cgroup_memory_limit_bytes",
	"The cgroup's hard memory limit (memory.max); absent when unlimited.", METRIC_GAUGE};
static const struct metric_desc memory_anon = {
	"bpfpush_cgroup_memory_anon_bytes",
	"Anonymous memory of the cgroup (memory.stat anon).", METRIC_GAUGE};
static const struct metric_desc memory_file = {
	"bpfpush_cgroup_memory_file_bytes",
	"Page cache of the cgroup (memory.stat file).", METRIC_GAUGE};
static const struct metric_desc memory_kernel = {
	"bpfpush_cgroup_memory_kernel_bytes",
	"Kernel memory charged to the cgroup (memory.stat kernel).", METRIC_GAUGE};
static const struct metric_desc memory_shmem = {
	"bpfpush_cgroup_memory_shmem_bytes",
	"Shared memory and tmpfs of the cgroup (memory.stat shmem).", METRIC_GAUGE};
static const struct metric_desc memory_file_dirty = {
	"bpfpush_cgroup_memory_file_dirty_bytes",
	"Page cache of the cgroup modified but not yet written back (memory.stat file_dirty).",
	METRIC_GAUGE};
static const struct metric_desc memory_file_writeback = {
	"bpfpush_cgroup_memory_file_writeback_bytes",
	"Page cache of the cgroup being written back (memory.stat file_writeback).", METRIC_GAUGE};
static const struct metric_desc io_read_bytes = {
	"bpfpush_cgroup_io_read_bytes_total",
	"Bytes the cgroup read from the device (io.stat rbytes).", METRIC_COUNTER};
static const struct metric_desc io_written_bytes = {
	"bpfpush_cgroup_io_written_bytes_total",
	"Bytes the cgroup wrote to the device (io.stat wbytes).", METRIC_COUNTER};
static const struct metric_desc io_reads = {
	"bpfpush_cgroup_io_reads_total",
	"Read operations the cgroup issued to the device (io.stat rios).", METRIC_COUNTER};
static const struct metric_desc io_writes = {
	"bpfpush_cgroup_io_writes_total",
	"Write operations the cgroup issued to the device (io.stat wios).", METRIC_COUNTER};
static const struct metric_desc groups_skipped = {
	"bpfpush_cgroup_groups_skipped",
	"Cgroups within max_depth not reported this round because of max_groups.", METRIC_GAUGE};

/* Pressure: "some" is time at least one task waited, "full" time all
 * non-idle tasks stalled at once, as node_exporter's pressure collector
 * names them for the whole host. */
static const struct metric_desc pressure_descs[3][2] = {
	{{"bpfpush_cgroup_pressure_cpu_waiting_seconds_total",
	  "Time some of the cgroup's tasks waited for CPU (cpu.pressure some total).",
	  METRIC_COUNTER},
	 {"bpfpush_cgroup_pressure_cpu_stalled_seconds_total",
	  "Time all non-idle tasks of the cgroup waited for CPU (cpu.pressure full total).",
	  METRIC_COUNTER}},
	{{"bpfpush_cgroup_pressure_memory_waiting_seconds_total",
	  "Time some of the cgroup's tasks waited for memory (memory.pressure some total).",
	  METRIC_COUNTER},
	 {"bpfpush_cgroup_pressure_memory_stalled_seconds_total",
	  "Time all non-idle tasks of the cgroup waited for memory (memory.pressure full total).",
	  METRIC_COUNTER}},
	{{"bpfpush_cgroup_pressure_io_waiting_seconds_total",
	  "Time some of the cgroup's tasks waited for IO (io.pressure some total).", METRIC_COUNTER},
	 {"bpfpush_cgroup_pressure_io_stalled_seconds_total",
	  "Time all non-idle tasks of the cgroup waited for IO (io.pressure full total).",
	  METRIC_COUNTER}},
};
static const char *const pressure_files[3] = {"cpu.pressure", "memory.pressure", "io.pressure"};

/* A field of a flat keyed file ("key value" lines: cpu.stat, memory.stat). */
struct flat_field {
	const char *key;
	const struct metric_desc *desc;
	double divisor; /* to base units: 1e6 for microseconds */
};

static const struct flat_field cpu_fields[] = {
	{"usage_usec", &cpu_usage, USEC},
	{"user_usec", &cpu_user, USEC},
	{"system_usec", &cpu_system, USEC},
	{"nr_periods", &cpu_periods, 1},
	{"nr_throttled", &cpu_throttled_periods, 1},
	{"throttled_usec", &cpu_throttled_seconds, USEC},
	{NULL, NULL, 0},
};

static const struct flat_field memory_fields[] = {
	{"anon", &memory_anon, 1},
	{"file", &memory_file, 1},
	{"kernel", &memory_kernel, 1},
	{"shmem", &memory_shmem, 1},
	{"file_dirty", &memory_file_dirty, 1},
	{"file_writeback", &memory_file_writeback, 1},
	{NULL, NULL, 0},
};

/* io.stat's keys, in the kernel's order. */
static const struct flat_field io_fields[] = {
	{"rbytes", &io_read_bytes, 1},
	{"wbytes", &io_written_bytes, 1},
	{"rios", &io_reads, 1},
	{"wios", &io_writes, 1},
	{NULL, NULL, 0},
};

/* ---- state ----------------------------------------------------------------- */

/* A group waiting in the walk: its path relative to the root in rels. */
struct walk_entry {
	size_t off;
	unsigned depth;
};

enum { L_CGROUP, L_UNIT, L_POD_UID, L_CONTAINER_ID, L_DEVICE, N_LABELS };

struct cgroup_state {
	char *base;       /* <sysfs>/fs/cgroup */
	char *sysfs;      /* for device names (devname.h) */
	char root[PATH_SIZE]; /* the unified hierarchy, once found */
	size_t root_len;
	bool logged_no_v2, logged_skipped;
	struct file_buf buf;    /* the group file being parsed */
	struct kept_dir groups; /* each group's files, kept open (keptdir.h) */
	char *rels;             /* NUL-terminated relative paths of the walk */
	size_t rels_len, rels_cap;
	struct walk_entry *queue;
	size_t queue_cap;
	char *dents;            /* DENTS_SIZE bytes for getdents64 */
	char device[DEV_NAME_SIZE]; /* the io.stat line's device name */
	/* The group being read. */
	char unit[LABEL_SIZE], pod_uid[LABEL_SIZE], container_id[LABEL_SIZE];
	struct label labels[N_LABELS];
};

/* ---- labels ---------------------------------------------------------------- */

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(s, prefix, n) == 0;
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static void copy_label(char *out, const char *s, size_t len)
{
	if (len >= LABEL_SIZE)
		len = LABEL_SIZE - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

/* The unit types systemd gives cgroups to (systemd.resource-control(5)). */
static bool is_unit(const char *e, size_t len)
{
	static const char *const types[] = {".slice", ".scope", ".service",
					    ".socket", ".mount", ".swap"};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (len > strlen(types[i]) && has_suffix(e, len, types[i]))
			return true;
	return false;
}

/* <prefix><id>.scope, the scopes container runtimes create with the
 * systemd cgroup driver; 1 and *id set if e is one. crio-conmon-<id> is
 * CRI-O's monitor process, not the container. */
static bool container_scope(const char *e, size_t len, const char **id, size_t *id_len)
{
	static const char *const prefixes[] = {"cri-containerd-", "docker-", "crio-", "libpod-"};

	if (!has_suffix(e, len, ".scope") || has_prefix(e, len, "crio-conmon-"))
		return false;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);
		if (len > n + 6 && has_prefix(e, len, prefixes[i])) {
			*id = e + n;
			*id_len = len - n - 6;
			return true;
		}
	}
	return false;
}

/* unit, pod_uid and container_id from a relative path ("" for the root). */
static void derive_labels(struct cgroup_state *st, const char *rel)
{
	bool cgroupfs_kube = false, next_is_container = false;
	size_t depth = 0;

	st->unit[0] = st->pod_uid[0] = st->container_id[0] = '\0';
	for (const char *p = rel; *p == '/'; depth++) {
		const char *e = p + 1, *end = strchrnul(e, '/'), *id, *pod;
		size_t len = (size_t)(end - e), id_len;

		if (is_unit(e, len))
			copy_label(st->unit, e, len);
		if (next_is_container) {
			copy_label(st->container_id, e, len);
			next_is_container = false;
		} else if (container_scope(e, len, &id, &id_len)) {
			copy_label(st->container_id, id, id_len);
		} else if (has_prefix(e, len, "kubepods") && has_suffix(e, len, ".slice") &&
			   (pod = memmem(e, len, "-pod", 4)) && pod + 4 < end - 6) {
			/* kubepods-burstable-pod1234_5678.slice: systemd escapes the
			 * uid's dashes, since a dash means nesting in a slice name. */
			copy_label(st->pod_uid, pod + 4, (size_t)(end - 6 - pod - 4));
			for (char *c = st->pod_uid; *c; c++)
				if (*c == '_')
					*c = '-';
		} else if (depth == 0) {
			cgroupfs_kube = len == 8 && memcmp(e, "kubepods", 8) == 0;
			next_is_container = len == 6 && memcmp(e, "docker", 6) == 0;
		} else if (cgroupfs_kube && len > 3 && has_prefix(e, len, "pod")) {
			copy_label(st->pod_uid, e + 3, len - 3);
			next_is_container = true;
		}
		p = end;
	}
	st->labels[L_CGROUP] = (struct label){"cgroup", cgroup_label(rel)};
	st->labels[L_UNIT] = (struct label){"unit", st->unit};
	st->labels[L_POD_UID] = (struct label){"pod_uid", st->pod_uid};
	st->labels[L_CONTAINER_ID] = (struct label){"container_id", st->container_id};
	st->labels[L_DEVICE] = (struct label){"device", NULL};
}

/* ---- reading a group ------------------------------------------------------- */

enum group_file { CPU_STAT, MEM_CURRENT, MEM_MAX, MEM_STAT, IO_STAT, PRESSURE, N_FILES = 8 };

/* Reads file number i of the group e into st->buf: kept open from one
 * round to the next and re-read by pread (keptdir.h), relative to the
 * group's descriptor (a full path would be walked from / 8 times per
 * group). O_NONBLOCK keeps a FIFO planted in a fixture harmless and a
 * directory fails at read(). A missing file is normal (a controller not
 * enabled for the group, the root's memory.current, a group gone since it
 * was listed): not logged. */
static bool read_group_file(struct cgroup_state *st, struct kept_entry *e, size_t i,
			    const char *file)
{
	return kept_dir_read_buf(&st->groups, e, i, file, &st->buf, MAX_FILE_SIZE) == 0;
}

static void emit(struct cgroup_state *st, struct registry *reg, const struct metric_desc *d,
		 double v)
{
	registry_emit(reg, d, NULL, st->labels, N_LABELS, v, 0);
}

/* The field of fields whose key is s[0..len), or NULL. */
static const struct flat_field *find_field(const struct flat_field *fields, const char *s,
					   size_t len)
{
	for (const struct flat_field *f = fields; f->key; f++)
		if (strlen(f->key) == len && memcmp(f->key, s, len) == 0)
			return f;
	return NULL;
}

/* "key value" lines (cpu.stat, memory.stat): the fields asked for. */
static void emit_flat(struct cgroup_state *st, struct registry *reg,
		      const struct flat_field *fields)
{
	for (const char *line = st->buf.data; *line;) {
		const char *sp = strpbrk(line, " \n"), *p;
		const struct flat_field *f;
		uint64_t v;

		if (!sp)
			break;
		p = sp + strspn(sp, " \t");
		if (*sp == ' ' && (f = find_field(fields, line, (size_t)(sp - line))) &&
		    kv_scan_u64(&p, &v))
			emit(st, reg, f->desc, (double)v / f->divisor);
		line = strchrnul(p, '\n');
		line += *line == '\n';
	}
}

/* memory.current, or memory.max unless it says "max". */
static void emit_single(struct cgroup_state *st, struct registry *reg, const struct metric_desc *d)
{
	const char *p = st->buf.data;
	uint64_t v;

	if (kv_scan_u64(&p, &v) && (*p == '\n' || *p == '\0'))
		emit(st, reg, d, (double)v);
}

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=12345" and "full ...". */
static void emit_pressure(struct cgroup_state *st, struct registry *reg,
			  const struct metric_desc descs[2])
{
	for (const char *line = st->buf.data; *line;) {
		const char *eol = strchrnul(line, '\n'), *total = NULL;
		int kind = !strncmp(line, "some ", 5) ? 0 : !strncmp(line, "full ", 5) ? 1 : -1;
		uint64_t v;

		if (kind >= 0)
			total = memmem(line, (size_t)(eol - line), " total=", 7);
		if (total && (total += 7, kv_scan_u64(&total, &v)))
			emit(st, reg, &descs[kind], (double)v / USEC);
		line = eol + (*eol == '\n');
	}
}

/* The name of block device major:minor (devname.h: DEVNAME from the
 * device's uevent, cached; "MAJ:MIN" when it has none). */
static const char *device_name(struct cgroup_state *st, uint64_t major, uint64_t minor)
{
	if (major < (1u << (32 - DEVNAME_MINORBITS)) && minor < (1u << DEVNAME_MINORBITS))
		devname_lookup(st->sysfs, DEVNAME_MKDEV(major, minor), st->device, sizeof(st->device));
	else
		snprintf(st->device, sizeof(st->device), "%llu:%llu", (unsigned long long)major,
			 (unsigned long long)minor);
	return st->device;
}

/* "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0", a line per device. */
static void emit_io(struct cgroup_state *st, struct registry *reg)
{
	for (const char *line = st->buf.data; *line;) {
		const char *eol = strchrnul(line, '\n'), *p = line;
		uint64_t major, minor, v;

		if (kv_scan_u64(&p, &major) && *p == ':' && (p++, kv_scan_u64(&p, &minor)) &&
		    major <= UINT32_MAX && minor <= UINT32_MAX) {
			st->labels[L_DEVICE].value = device_name(st, major, minor);
			while (p < eol) { /* key=value tokens */
				const char *tok = p + strspn(p, " "), *end = tok + strcspn(tok, " \n");
				const char *eq = memchr(tok, '=', (size_t)(end - tok)), *num;
				const struct flat_field *f;

				p = end;
				if (!eq || !(f = find_field(io_fields, tok, (size_t)(eq - tok))))
					continue;
				num = eq + 1;
				if (kv_scan_u64(&num, &v) && num == end)
					emit(st, reg, f->desc, (double)v);
			}
			st->labels[L_DEVICE].value = NULL;
		}
		line = eol + (*eol == '\n');
	}
}

static void read_group(struct cgroup_state *st, struct registry *reg, struct kept_entry *e,
		       const char *rel)
{
	derive_labels(st, rel);
	if (read_group_file(st, e, CPU_STAT, "cpu.stat"))
		emit_flat(st, reg, cpu_fields);
	if (read_group_file(st, e, MEM_CURRENT, "memory.current"))
		emit_single(st, reg, &memory_usage);
	if (read_group_file(st, e, MEM_MAX, "memory.max"))
		emit_single(st, reg, &memory_limit); /* "max\n" parses as no number */
	if (read_group_file(st, e, MEM_STAT, "memory.stat"))
		emit_flat(st, reg, memory_fields);
	if (read_group_file(st, e, IO_STAT, "io.stat"))
		emit_io(st, reg);
	for (size_t i = 0; i < 3; i++)
		if (read_group_file(st, e, PRESSURE + i, pressure_files[i]))
			emit_pressure(st, reg, pressure_descs[i]);
}

/* ---- the walk -------------------------------------------------------------- */

/* Name order of two walk entries; rels holds their relative paths. */
static int entry_cmp(const void *a, const void *b, void *rels)
{
	const struct walk_entry *x = a, *y = b;

	return strcmp((const char *)rels + x->off, (const char *)rels + y->off);
}

/* Appends parent/name at depth to the walk (name NULL: the root, whose
 * relative path is ""); -1 on ENOMEM. */
static int push_group(struct cgroup_state *st, size_t *n, size_t parent_off, size_t parent_len,
		      const char *name, unsigned depth)
{
	size_t name_len = name ? strlen(name) : 0;
	size_t need = st->rels_len + (name ? parent_len + 1 + name_len : 0) + 1;
	char *out;

	if (grow_array((void **)&st->rels, &st->rels_cap, need, 1) < 0 ||
	    grow_array((void **)&st->queue, &st->queue_cap, *n + 1, sizeof(*st->queue)) < 0)
		return -1;
	out = st->rels + st->rels_len;
	if (name) {
		memcpy(out, st->rels + parent_off, parent_len);
		out[parent_len] = '/';
		out += parent_len + 1;
		memcpy(out, name, name_len);
	}
	out[name_len] = '\0';
	st->queue[(*n)++] = (struct walk_entry){st->rels_len, depth};
	st->rels_len = need;
	return 0;
}

/* Where a listed child goes: after its parent, queue[parent]. */
struct child_dest {
	struct cgroup_state *st;
	struct walk_entry parent;
	size_t parent_len, *n;
};

static int push_child(void *arg, const char *name, uint64_t ino)
{
	struct child_dest *c = arg;

	(void)ino;
	if (push_group(c->st, c->n, c->parent.off, c->parent_len, name, c->parent.depth + 1) < 0) {
		log_msg(LOG_ERROR, "cgroup: out of memory", NULL);
		return -1;
	}
	return 0;
}

/* Adds the child groups of queue[i], open as fd, to the walk, in name order. */
static void list_children(struct cgroup_state *st, size_t i, int fd, size_t *n)
{
	struct child_dest c = {st, st->queue[i], strlen(st->rels + st->queue[i].off), n};
	size_t first = *n;

	cgroup_each_child(fd, st->dents, DENTS_SIZE, push_child, &c);
	qsort_r(st->queue + first, *n - first, sizeof(*st->queue), entry_cmp, st->rels);
}

/* The unified hierarchy: <sysfs>/fs/cgroup, or its unified/ in hybrid mode. */
static bool find_root(struct cgroup_state *st)
{
	st->root_len = cgroup_v2_root(st->base, st->root, sizeof(st->root));
	if (st->root_len > strlen(st->base))
		log_msg(LOG_INFO, "cgroup: hybrid hierarchy, reading what cgroup v2 has",
			"path=%s", st->root);
	if (st->root_len)
		return true;
	if (!st->logged_no_v2)
		log_msg(LOG_WARN, "cgroup: no cgroup v2 hierarchy (v1 only?), collector fails",
			"path=%s", st->base);
	st->logged_no_v2 = true;
	return false;
}

/* The breadth-first walk of one round: reads up to max_groups groups, lists
 * those above max_depth. -1 when the root itself is gone. */
static int walk(struct cgroup_state *st, struct registry *reg, const struct cgroup_opts *opts,
		size_t *skipped)
{
	size_t n = 0, n_read = 0;

	st->rels_len = 0;
	if (push_group(st, &n, 0, 0, NULL, 0) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		bool to_read = (int64_t)n_read < opts->max_groups;
		bool to_list = (int64_t)st->queue[i].depth < opts->max_depth;
		const char *rel = st->rels + st->queue[i].off;
		/* Entries of the kept root: "." for the root, else rel without its '/'. */
		struct kept_entry *e = to_read || to_list ? kept_dir_entry(&st->groups,
									   *rel ? rel + 1 : ".")
							  : NULL;
		int fd = e ? e->dir : -1;

		if (fd < 0 && i == 0)
			return -1; /* the root itself is gone */
		if (to_read)
			n_read++;
		else
			(*skipped)++;
		if (fd < 0)
			continue; /* gone since it was listed, or a path too long */
		if (to_read)
			read_group(st, reg, e, rel);
		/* A kept directory is listed again from its start. */
		if (to_list && lseek(fd, 0, SEEK_SET) == 0)
			list_children(st, i, fd, &n);
		kept_dir_release(&st->groups, e);
	}
	return 0;
}

static int cgroup_update(struct collector_ctx *ctx, struct registry *reg)
{
	static const struct cgroup_opts defaults = {3, 500};
	const struct cgroup_opts *opts = ctx->opts ? ctx->opts : &defaults;
	struct cgroup_state *st = ctx->state;
	size_t skipped = 0;
	int rc;

	if (!st->root_len && !find_root(st))
		return -1;
	if (!st->groups.path && kept_dir_init(&st->groups, st->root, N_FILES) < 0)
		return -1;
	kept_dir_begin(&st->groups);
	rc = walk(st, reg, opts, &skipped);
	/* The groups gone since the last round are closed here. */
	kept_dir_end(&st->groups);
	if (rc < 0)
		return -1;
	if (skipped && !st->logged_skipped) {
		log_msg(LOG_WARN, "cgroup: more groups than max_groups, the deepest are skipped",
			"max_groups=%lld skipped=%zu", (long long)opts->max_groups, skipped);
		st->logged_skipped = true;
	}
	registry_emit(reg, &groups_skipped, NULL, NULL, 0, (double)skipped, 0);
	return 0;
}

static void cgroup_exit(struct collector_ctx *ctx)
{
	struct cgroup_state *st = ctx->state;

	if (!st)
		return;
	file_buf_free(&st->buf);
	kept_dir_free(&st->groups);
	free(st->base);
	free(st->sysfs);
	free(st->rels);
	free(st->queue);
	free(st->dents);
	devname_free();
	free(st);
	ctx->state = NULL;
}

static int cgroup_init(struct collector_ctx *ctx)
{
	const char *sysfs = ctx->global ? ctx->global->sysfs : NULL;
	struct cgroup_state *st = calloc(1, sizeof(*st));

	ctx->state = st;
	if (!st || !(st->base = collector_path(sysfs, "/sys", "fs/cgroup")) ||
	    !(st->sysfs = strdup(sysfs ? sysfs : "/sys")) ||
	    !(st->dents = malloc(DENTS_SIZE))) {
		log_msg(LOG_ERROR, "cgroup: out of memory", NULL);
		cgroup_exit(ctx);
		return -1;
	}
	return 0;
}

const struct collector collector_cgroup = {
	.name = "cgroup",
	.default_enabled = true,
	.opts_size = sizeof(struct cgroup_opts),
	.opts = cgroup_opt_descs,
	.init = cgroup_init,
	.update = cgroup_update,
	.exit = cgroup_exit,
};
