/* SPDX-License-Identifier: MIT */
/* The filesystem collector against fixture mount tables and a real
 * registry (the exact series, values, HELP and types node_exporter 1.5
 * gives), against this machine's real statfs(2), a statfs that blocks
 * (injected through filesystem_test.h), and, as root with /dev/fuse, a real
 * FUSE mount whose daemon never answers. Run from the repository root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/clock.h"
#include "collectors/all.h"
#include "collectors/filesystem.h"
#include "collectors/filesystem_test.h"
#include "series/registry.h"

#define ROUND_TS 1700000000000LL
#define SERIES_TEXT_MAX 1024
#define FIX "test/fixtures/"

#define VALUE_REL_TOL 1e-12
#define MUST_FIND_LISTS

#include "collector_harness.h"
#include "sys_harness.h"

/* ---- filesystem ------------------------------------------------------- */

struct fs_want {
	const char *labels; /* device="...",fstype="...",mountpoint="..." */
	const char *stat_path;
	double readonly;
};

static void assert_fs_series(const struct run *r, const struct fs_want *w)
{
	struct statfs sb;
	char name[SERIES_TEXT_MAX];
	double bs;

	assert_int_equal(statfs(w->stat_path, &sb), 0);
	bs = (double)sb.f_bsize;
#define FS_SERIES(metric) (snprintf(name, sizeof(name), "node_filesystem_" metric "{%s}", w->labels), name)
	assert_value(r, FS_SERIES("device_error"), 0);
	assert_value(r, FS_SERIES("size_bytes"), (double)sb.f_blocks * bs);
	assert_value(r, FS_SERIES("files"), (double)sb.f_files);
	/* free space and inodes move while tests run beside this one */
	assert_near(r, FS_SERIES("free_bytes"), (double)sb.f_bfree * bs, 1e9);
	assert_near(r, FS_SERIES("avail_bytes"), (double)sb.f_bavail * bs, 1e9);
	assert_near(r, FS_SERIES("files_free"), (double)sb.f_ffree, 1e5);
	assert_value(r, FS_SERIES("readonly"), w->readonly);
#undef FS_SERIES
}

static void assert_fs_error(const struct run *r, const char *labels)
{
	char name[SERIES_TEXT_MAX];
	const char *sizes[] = {"size_bytes", "free_bytes", "avail_bytes", "files", "files_free",
			       "readonly"};

	snprintf(name, sizeof(name), "node_filesystem_device_error{%s}", labels);
	assert_value(r, name, 1);
	for (size_t i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "node_filesystem_%s{%s}", sizes[i], labels);
		if (find(r, name))
			fail_msg("%s emitted for a mount in error", name);
	}
}

/* The fixture's mounts with the default excludes, against this machine's
 * real statfs of / and /tmp. */
static void test_filesystem_fixture(void **state)
{
	const struct fs_want root = {"device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"", "/", 0};
	const struct fs_want tmp = {"device=\"/dev/vdb\",fstype=\"ext4\",mountpoint=\"/tmp\"", "/tmp",
				    1};
	struct run r;
	(void)state;

	run_start_fs(&r, &collector_filesystem, NULL, FIX "linux-6.1/proc", NULL, "/");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	/* /sys /proc /dev /dev/pts /dev/shm, cgroup2, autofs, /run/credentials,
	 * docker's overlay: excluded; the second / line: a duplicate */
	assert_int_equal(r.n, 7 + 7 + 1);
	assert_fs_series(&r, &root);
	assert_fs_series(&r, &tmp); /* "ro" in its options */
	/* \040 and \134 decoded; it does not exist here: device_error */
	assert_fs_error(&r,
			"device=\"/dev/vdc\",fstype=\"xfs\",mountpoint=\"/srv/bpfpush fixture\\dir\"");
	assert_family(&r, "node_filesystem_size_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}",
		      "node_filesystem_size_bytes", "Filesystem size in bytes.", METRIC_GAUGE);
	assert_family(&r, "node_filesystem_free_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}",
		      "node_filesystem_free_bytes", "Filesystem free space in bytes.", METRIC_GAUGE);
	assert_family(&r, "node_filesystem_avail_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}",
		      "node_filesystem_avail_bytes",
		      "Filesystem space available to non-root users in bytes.", METRIC_GAUGE);
	assert_family(&r, "node_filesystem_files{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}",
		      "node_filesystem_files", "Filesystem total file nodes.", METRIC_GAUGE);
	assert_family(&r, "node_filesystem_files_free{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}",
		      "node_filesystem_files_free", "Filesystem total free file nodes.",
		      METRIC_GAUGE);
	assert_family(&r, "node_filesystem_readonly{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}",
		      "node_filesystem_readonly", "Filesystem read-only status.", METRIC_GAUGE);
	assert_family(&r, "node_filesystem_device_error{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}",
		      "node_filesystem_device_error",
		      "Whether an error occurred while getting statistics for the given device.",
		      METRIC_GAUGE);
	/* a second round: the same series */
	run_round(&r, ROUND_TS + 15000);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 15);
	assert_fs_series(&r, &root);
	run_stop(&r);
}

/* No <procfs>/1/mounts (hidepid, or an old fixture): <procfs>/mounts. */
static void test_filesystem_fallback(void **state)
{
	const struct fs_want root = {"device=\"/dev/sda1\",fstype=\"ext4\",mountpoint=\"/\"", "/", 0};
	struct run r;
	(void)state;

	run_start_fs(&r, &collector_filesystem, NULL, FIX "linux-5.4/proc", NULL, NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 7);
	assert_fs_series(&r, &root);
	run_stop(&r);
}

/* A rootfs other than /: mount points under it lose the prefix (at a path
 * boundary) and are stat'd under it. */
static void test_filesystem_rootfs(void **state)
{
	const struct fs_want usr = {"device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"", "/usr", 0};
	const struct fs_want lib = {"device=\"/dev/vdb\",fstype=\"ext4\",mountpoint=\"/lib\"",
				    "/usr/lib", 1};
	struct tmpdir t;
	char path[256];
	struct run r;
	(void)state;

	tmp_dir(&t);
	tmp_file(&t, "1/mounts",
		 "/dev/vda /usr ext4 rw 0 0\n/dev/vdb /usr/lib ext4 ro,noatime 0 0\n"
		 "/dev/vdc /usrx ext4 rw 0 0\n",
		 path, sizeof(path));
	run_start_fs(&r, &collector_filesystem, NULL, t.dir, NULL, "/usr/");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 7 + 7 + 1);
	assert_fs_series(&r, &usr);
	assert_fs_series(&r, &lib);
	assert_fs_error(&r, "device=\"/dev/vdc\",fstype=\"ext4\",mountpoint=\"/usrx\"");
	run_stop(&r);
	tmp_cleanup(&t);
}

/* Options: the patterns replace the defaults ("" turns one off). */
static void test_filesystem_options(void **state)
{
	struct filesystem_opts opts = {"", "^ext4$", 5000, 2};
	const struct fs_want tmp = {"device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/tmp\"", "/tmp", 0};
	struct tmpdir t;
	char path[256];
	struct run r;
	(void)state;

	tmp_dir(&t);
	tmp_file(&t, "1/mounts",
		 "/dev/vda / ext4 rw 0 0\ntmpfs /tmp tmpfs rw,nosuid 0 0\n\n"
		 "proc /proc proc rw 0 0\n",
		 path, sizeof(path));
	run_start_fs(&r, &collector_filesystem, &opts, t.dir, NULL, "/");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 14);
	assert_fs_series(&r, &tmp);
	assert_int_equal(count_named(&r, "node_filesystem_size_bytes"), 2); /* /tmp and /proc */
	assert_null(find(&r, "node_filesystem_device_error{device=\"/dev/vda\",fstype=\"ext4\","
			     "mountpoint=\"/\"}"));
	run_stop(&r);

	/* a line with fewer than 4 fields: nothing, -1 (node_exporter) */
	tmp_file(&t, "1/mounts", "/dev/vda / ext4 rw 0 0\nbroken /x ext4\n", path, sizeof(path));
	run_start_fs(&r, &collector_filesystem, &opts, t.dir, NULL, "/");
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	run_stop(&r);
	tmp_cleanup(&t);
}

/* A statfs that blocks, injected: it blocks until released. */
static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cv = PTHREAD_COND_INITIALIZER;
static bool fake_released[2];
static int fake_calls[2];

static int fake_statfs(const char *path, struct statfs *out)
{
	int which = !strcmp(path, "/dead1") ? 0 : !strcmp(path, "/dead2") ? 1 : -1;
	struct timespec until;

	if (which < 0)
		return statfs(path, out);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60; /* a test that forgets to release still ends */
	pthread_mutex_lock(&fake_mu);
	fake_calls[which]++;
	while (!fake_released[which])
		if (pthread_cond_timedwait(&fake_cv, &fake_mu, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&fake_mu);
	return statfs("/", out);
}

static void fake_release(int which)
{
	pthread_mutex_lock(&fake_mu);
	fake_released[which] = true;
	pthread_cond_broadcast(&fake_cv);
	pthread_mutex_unlock(&fake_mu);
}

static int fake_count(int which)
{
	int n;

	pthread_mutex_lock(&fake_mu);
	n = fake_calls[which];
	pthread_mutex_unlock(&fake_mu);
	return n;
}

static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int64_t timed_round(struct run *r, int64_t ts)
{
	int64_t start = mono_ms();

	run_round(r, ts);
	return mono_ms() - start;
}

#define TIMEOUT_MS 300
#define SLACK_MS 1500 /* valgrind is slow */

static const char *const dead1 = "device=\"nfs:/export\",fstype=\"nfs\",mountpoint=\"/dead1\"";
static const char *const dead2 = "device=\"fuse\",fstype=\"fuse.sshfs\",mountpoint=\"/dead2\"";

/* Two mounts whose statfs hangs: the update returns after stat_timeout
 * with device_error 1 for them and real values for the others; later
 * rounds skip them without a new call or thread until their call returns;
 * at exit a still-blocked thread is left detached and frees itself. */
static void test_filesystem_stuck(void **state)
{
	struct filesystem_opts opts = {"", "", TIMEOUT_MS, 4};
	const struct fs_want root = {"device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"", "/", 0};
	struct tmpdir t;
	char path[256], name[SERIES_TEXT_MAX];
	int64_t took;
	int threads_before = thread_count(), threads;
	struct run r;
	(void)state;

	tmp_dir(&t);
	tmp_file(&t, "1/mounts",
		 "/dev/vda / ext4 rw 0 0\nnfs:/export /dead1 nfs rw,hard 0 0\n"
		 "fuse /dead2 fuse.sshfs rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n",
		 path, sizeof(path));
	run_start_fs(&r, &collector_filesystem, &opts, t.dir, NULL, "/");
	filesystem_set_stat_fn(&r.ctx, fake_statfs);

	took = timed_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	if (took < TIMEOUT_MS - 10 || took > TIMEOUT_MS + SLACK_MS)
		fail_msg("round 1 took %lld ms, stat_timeout %d ms", (long long)took, TIMEOUT_MS);
	assert_fs_series(&r, &root);
	assert_fs_error(&r, dead1);
	assert_fs_error(&r, dead2);
	assert_int_equal(r.n, 7 + 1 + 1 + 7);
	assert_int_equal(fake_count(0), 1);
	assert_int_equal(fake_count(1), 1);

	/* stuck: skipped at once, no new call, no pile of threads */
	for (int i = 1; i <= 3; i++) {
		took = timed_round(&r, ROUND_TS + i * 15000);
		if (took >= TIMEOUT_MS)
			fail_msg("round %d took %lld ms with the stuck mounts skipped", i + 1,
				 (long long)took);
		assert_fs_error(&r, dead1);
		assert_fs_error(&r, dead2);
		assert_fs_series(&r, &root);
	}
	assert_int_equal(fake_count(0), 1);
	assert_int_equal(fake_count(1), 1);
	threads = thread_count();
	if (threads > threads_before + 4 + 2)
		fail_msg("%d threads, %d before: more than 4 workers + 2 stuck", threads,
			 threads_before);

	/* dead1 answers: it is stat'd again and reported normally */
	fake_release(0);
	snprintf(name, sizeof(name), "node_filesystem_device_error{%s}", dead1);
	for (int i = 0; i < 100; i++) {
		run_round(&r, ROUND_TS + (10 + i) * 15000);
		if (must_find(&r, name)->value == 0)
			break;
		usleep(20000);
	}
	assert_value(&r, name, 0);
	assert_int_equal(fake_count(0), 2);
	assert_fs_error(&r, dead2);

	/* exit with dead2 still blocked: its thread is orphaned, not joined */
	took = mono_ms();
	run_stop(&r);
	assert_true(mono_ms() - took < 1000);
	assert_int_equal(filesystem_orphaned_threads(), 1);
	fake_release(1);
	for (int i = 0; i < 500 && filesystem_orphaned_threads() > 0; i++)
		usleep(10000);
	assert_int_equal(filesystem_orphaned_threads(), 0);
	for (int i = 0; i < 200 && thread_count() > threads_before; i++)
		usleep(10000); /* let the detached thread finish ending */
	assert_int_equal(thread_count(), threads_before);
	tmp_cleanup(&t);
}

/* The same with a real filesystem whose statfs blocks: a FUSE mount whose
 * daemon (this test, holding /dev/fuse) never answers. Done in a private
 * mount namespace, so no other process on the machine sees the dead mount
 * (a df or node_exporter would hang on it). Needs root and /dev/fuse. */
static void test_filesystem_fuse_dead(void **state)
{
	struct filesystem_opts opts = {NULL, NULL, 500, 4};
	const struct fs_want root = {"device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"", "/", 0};
	char mnt[] = "/tmp/bpfpush-fuse-XXXXXX", text[512], labels[256], name[SERIES_TEXT_MAX],
	     path[256];
	struct tmpdir t;
	int fd;
	int64_t took;
	struct run r;
	(void)state;

	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0)
		skip();
	/* valgrind holds its one big lock across statfs (it does not know
	 * the call can block), so the whole process would hang with the
	 * worker: the injected-statfs test above covers valgrind. */
	if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) {
		print_message("under valgrind: skipped\n");
		skip();
	}
	if (unshare(CLONE_NEWNS) != 0 ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0) {
		print_message("no private mount namespace (%s): skipped\n", strerror(errno));
		skip();
	}
	assert_non_null(mkdtemp(mnt));
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	snprintf(text, sizeof(text), "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	if (mount("bpfpush-dead", mnt, "fuse.bpfpush-dead", MS_NOSUID | MS_NODEV, text) != 0) {
		print_message("cannot mount fuse (%s): skipped\n", strerror(errno));
		close(fd);
		rmdir(mnt);
		skip();
	}

	tmp_dir(&t);
	snprintf(text, sizeof(text),
		 "/dev/vda / ext4 rw 0 0\nbpfpush-dead %s fuse.bpfpush-dead rw,nosuid,nodev 0 0\n",
		 mnt);
	tmp_file(&t, "1/mounts", text, path, sizeof(path));
	snprintf(labels, sizeof(labels),
		 "device=\"bpfpush-dead\",fstype=\"fuse.bpfpush-dead\",mountpoint=\"%s\"", mnt);
	snprintf(name, sizeof(name), "node_filesystem_device_error{%s}", labels);

	run_start_fs(&r, &collector_filesystem, &opts, t.dir, NULL, "/");
	took = timed_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	if (took < 490 || took > 500 + SLACK_MS)
		fail_msg("round with a dead FUSE mount took %lld ms, stat_timeout 500 ms",
			 (long long)took);
	assert_fs_error(&r, labels);
	assert_fs_series(&r, &root);
	took = timed_round(&r, ROUND_TS + 15000);
	assert_true(took < 500);
	assert_fs_error(&r, labels);

	/* the daemon goes away: the blocked statfs fails (ENOTCONN) and
	 * returns; the mount is stat'd again, quickly, and still in error */
	close(fd);
	usleep(200000); /* the abort wakes the blocked call at once */
	for (int i = 0; i < 2; i++) {
		took = timed_round(&r, ROUND_TS + (2 + i) * 15000);
		assert_true(took < 400);
		assert_value(&r, name, 1);
	}
	run_stop(&r);
	assert_int_equal(filesystem_orphaned_threads(), 0);
	assert_int_equal(umount2(mnt, MNT_DETACH), 0);
	rmdir(mnt);
	tmp_cleanup(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filesystem_fixture),
		cmocka_unit_test(test_filesystem_fallback),
		cmocka_unit_test(test_filesystem_rootfs),
		cmocka_unit_test(test_filesystem_options),
		cmocka_unit_test(test_filesystem_stuck),
		/* last: it leaves the process in a private mount namespace */
		cmocka_unit_test(test_filesystem_fuse_dead),
	};

	return cmocka_run_group_tests_name("collectors_filesystem", tests, NULL, NULL);
}
