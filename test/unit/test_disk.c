/* SPDX-License-Identifier: MIT */
/* The disk tier's FIFO: order, the cursor across a restart, barriers,
 * the max_bytes bound and its exact counts, damage of each kind (a payload
 * flipped, a header flipped, a record torn at the tail), a full and a
 * read-only file system (tmpfs mounts of the test's own; skipped without
 * the right to mount), and segments deleted once acknowledged. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "queue/disk.h"

#define HDR 40 /* a record's header on disk */
#define SAMPLES 10
#define SEG1 "0000000000000001.seg"

struct fx {
	char root[64];   /* mkdtemp'd, removed at teardown */
	char dir[128];   /* root/a/q: disk_open makes the parents */
	bool mounted;
	struct buf payload;
	uint8_t *scratch;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->root, sizeof(f->root), "/tmp/test_disk.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/a/q", f->root);
	f->scratch = malloc(1 << 20);
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->mounted)
		umount2(f->root, MNT_DETACH);
	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	buf_free(&f->payload);
	free(f->scratch);
	free(f);
	return 0;
}

/* Record id's payload: the id, then bytes that depend on it. */
static void fill(uint8_t *p, size_t len, uint32_t id)
{
	for (size_t j = 0; j < len; j++)
		p[j] = (uint8_t)(id * 7 + j);
	if (len >= 4)
		memcpy(p, &id, 4);
}

static int append_id(struct fx *f, struct disk *d, uint32_t id, size_t len, bool barrier,
		     uint64_t *dropped)
{
	struct disk_record_info info = {SAMPLES, 1000 + id, 2000 + id, barrier, false};

	fill(f->scratch, len, id);
	return disk_append(d, f->scratch, len, &info, dropped);
}

static void append_range(struct fx *f, struct disk *d, uint32_t first, uint32_t n, size_t len)
{
	for (uint32_t id = first; id < first + n; id++)
		assert_int_equal(append_id(f, d, id, len, false, NULL), 0);
}

/* Claims one record: its id, checking the payload is the one appended. */
static uint32_t claim_id(struct fx *f, struct disk *d, struct disk_ticket *t)
{
	struct disk_record_info info;
	uint32_t id;

	assert_int_equal(disk_claim(d, &f->payload, &info, t), 1);
	assert_true(f->payload.len >= 4);
	memcpy(&id, f->payload.data, 4);
	fill(f->scratch, f->payload.len, id);
	assert_memory_equal(f->payload.data, f->scratch, f->payload.len);
	assert_int_equal(info.samples, SAMPLES);
	assert_int_equal(info.oldest_ms, 1000 + id);
	assert_int_equal(info.newest_ms, 2000 + id);
	return id;
}

static uint32_t claim_ack(struct fx *f, struct disk *d)
{
	struct disk_ticket t;
	uint32_t id = claim_id(f, d, &t);

	disk_ack(d, &t);
	return id;
}

static void assert_none(struct fx *f, struct disk *d)
{
	struct disk_record_info info;
	struct disk_ticket t;

	assert_int_equal(disk_claim(d, &f->payload, &info, &t), 0);
}

static struct disk_stats stats(struct disk *d)
{
	struct disk_stats st;

	disk_get_stats(d, &st);
	return st;
}

static char *seg_path(struct fx *f, const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	return path;
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* The sizes of segments 1..n, -1 for a missing one. */
static void sizes(struct fx *f, off_t *out, int n)
{
	for (int s = 1; s <= n; s++) {
		char name[32];

		snprintf(name, sizeof(name), "%016x.seg", s);
		out[s - 1] = file_size(seg_path(f, name));
	}
}

static uint64_t seg_bytes(struct fx *f)
{
	off_t sz[64];
	uint64_t sum = 0;

	sizes(f, sz, 64);
	for (int i = 0; i < 64; i++)
		sum += sz[i] > 0 ? (uint64_t)sz[i] : 0;
	return sum;
}

static void flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x5a;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

/* ---- log capture ---------------------------------------------------------- */

struct capture {
	char path[64];
	int saved;
	char text[16384];
};

static void capture_start(struct capture *c)
{
	int fd;

	snprintf(c->path, sizeof(c->path), "/tmp/test_disk_log.XXXXXX");
	fd = mkstemp(c->path);
	assert_true(fd >= 0);
	fflush(stderr);
	c->saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* Ends the capture; what was logged is in c->text, and on stderr. */
static void capture_end(struct capture *c)
{
	FILE *fp;
	size_t n;

	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	fp = fopen(c->path, "r");
	assert_non_null(fp);
	n = fread(c->text, 1, sizeof(c->text) - 1, fp);
	c->text[n] = '\0';
	fclose(fp);
	unlink(c->path);
	fputs(c->text, stderr);
}

/* Lines of the capture holding a, and b unless NULL. */
static int count_lines(const struct capture *c, const char *a, const char *b)
{
	char copy[sizeof(c->text)], *save;
	int n = 0;

	memcpy(copy, c->text, sizeof(copy));
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		n += strstr(l, a) && (!b || strstr(l, b));
	return n;
}

static void test_round_trip_in_order(void **state)
{
	struct fx *f = *state;
	struct disk *d = disk_open(f->dir, "t", 64 << 20);

	assert_non_null(d);
	assert_true(disk_empty(d));
	append_range(f, d, 0, 100, 1000);
	assert_false(disk_empty(d));
	for (uint32_t id = 0; id < 100; id++)
		assert_int_equal(claim_ack(f, d), id);
	assert_none(f, d);
	assert_true(disk_empty(d));
	assert_int_equal(stats(d).records_written, 100);
	assert_int_equal(stats(d).samples_read, 100 * SAMPLES);
	/* Appends after the reader caught up are delivered as well. */
	append_range(f, d, 100, 3, 10);
	for (uint32_t id = 100; id < 103; id++)
		assert_int_equal(claim_ack(f, d), id);
	disk_close(d);
}

static void test_restart_resumes_at_the_cursor(void **state)
{
	struct fx *f = *state;
	struct disk_ticket t[6];
	struct disk *d = disk_open(f->dir, "t", 64 << 20);

	append_range(f, d, 0, 10, 500);
	for (int i = 0; i < 6; i++)
		assert_int_equal(claim_id(f, d, &t[i]), i);
	/* 0, 1 and 3 acknowledged; 2, 4 and 5 claimed and never acked. */
	disk_ack(d, &t[0]);
	disk_ack(d, &t[1]);
	disk_ack(d, &t[3]);
	disk_close(d);
	d = disk_open(f->dir, "t", 64 << 20);
	assert_int_equal(stats(d).samples, 8 * SAMPLES); /* from 2 on */
	assert_int_equal(stats(d).bytes, 8 * (HDR + 500));
	for (uint32_t id = 2; id < 10; id++)
		assert_int_equal(claim_ack(f, d), id);
	assert_true(disk_empty(d));
	disk_close(d);
	/* Everything acknowledged: nothing again. */
	d = disk_open(f->dir, "t", 64 << 20);
	assert_true(disk_empty(d));
	assert_none(f, d);
	assert_int_equal(stats(d).bytes, 0);
	disk_close(d);
}

static void test_barrier_waits_for_claims(void **state)
{
	struct fx *f = *state;
	struct disk *d = disk_open(f->dir, "t", 64 << 20);
	struct disk_ticket a, b, c, e;

	assert_int_equal(append_id(f, d, 0, 100, true, NULL), 0); /* nothing out: goes */
	assert_int_equal(append_id(f, d, 1, 100, false, NULL), 0);
	assert_int_equal(append_id(f, d, 2, 100, true, NULL), 0);
	assert_int_equal(append_id(f, d, 3, 100, false, NULL), 0);
	assert_int_equal(claim_id(f, d, &a), 0);
	assert_int_equal(claim_id(f, d, &b), 1); /* not a barrier: goes with 0 out */
	assert_int_equal(disk_claimed(d), 2);
	assert_none(f, d);                        /* 2 is a barrier */
	disk_ack(d, &b);
	assert_none(f, d);
	disk_ack(d, &a);
	assert_int_equal(claim_id(f, d, &c), 2);
	assert_int_equal(claim_id(f, d, &e), 3);  /* after the barrier, with it out */
	disk_ack(d, &c);
	disk_ack(d, &e);
	assert_true(disk_empty(d));
	disk_close(d);
}

static void test_unclaim_hands_out_again_in_order(void **state)
{
	struct fx *f = *state;
	struct disk *d = disk_open(f->dir, "t", 64 << 20);
	struct disk_ticket t[3], u;

	append_range(f, d, 0, 5, 100);
	for (int i = 0; i < 3; i++)
		claim_id(f, d, &t[i]);
	disk_unclaim(d, &t[1]);
	disk_unclaim(d, &t[0]);
	assert_int_equal(disk_claimed(d), 1);
	assert_int_equal(claim_ack(f, d), 0);
	assert_int_equal(claim_ack(f, d), 1);
	disk_ack(d, &t[2]);
	assert_int_equal(claim_id(f, d, &u), 3);
	disk_unclaim(d, &u);
	disk_close(d);
	/* Given back and not sent: the next run has it. */
	d = disk_open(f->dir, "t", 64 << 20);
	assert_int_equal(claim_ack(f, d), 3);
	assert_int_equal(claim_ack(f, d), 4);
	disk_close(d);
}

/* Dropping to stay under max_bytes: every sample appended is either read
 * or counted dropped, a record in flight in a dropped segment included. */
static void test_max_bytes_drops_oldest_exactly(void **state)
{
	struct fx *f = *state;
	const uint64_t max = 512 << 10; /* 64 KiB segments */
	struct disk *d = disk_open(f->dir, "t", max);
	uint64_t dropped = 0;
	struct disk_ticket early;
	uint32_t last = 0, id;
	struct disk_stats st;

	append_range(f, d, 0, 3, 10000);
	assert_int_equal(claim_id(f, d, &early), 0);
	for (id = 3; id < 300; id++) {
		assert_int_equal(append_id(f, d, id, 10000, false, &dropped), 0);
		assert_true(seg_bytes(f) <= max);
		if (id % 7 == 0)
			last = claim_ack(f, d);
	}
	disk_ack(d, &early); /* its segment is gone: ignored */
	while (!disk_empty(d)) {
		id = claim_ack(f, d);
		assert_true(id > last);
		last = id;
	}
	assert_int_equal(last, 299);
	st = stats(d);
	assert_true(dropped > 0);
	assert_int_equal(st.samples_dropped_full, dropped);
	assert_int_equal(st.samples_written, 300 * SAMPLES);
	assert_int_equal(st.samples_written, st.samples_read + st.samples_dropped_full);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.samples, 0);
	disk_close(d);
}

static void test_record_larger_than_max_bytes(void **state)
{
	struct fx *f = *state;
	struct disk *d = disk_open(f->dir, "t", 100000);

	errno = 0;
	assert_int_equal(append_id(f, d, 0, 100000, false, NULL), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(append_id(f, d, 1, 100000 - HDR, false, NULL), 0);
	assert_int_equal(claim_ack(f, d), 1);
	disk_close(d);
}

/* Payloads of 2 and of the last, 5, flipped: skipped when claimed, and
 * the cursor moves past the last though nothing was handed out. */
static void test_corrupt_payload_skipped(void **state)
{
	struct fx *f = *state;
	struct disk *d = disk_open(f->dir, "t", 64 << 20);
	struct capture c;
	char where[64];

	append_range(f, d, 0, 6, 300);
	disk_close(d);
	flip_byte(seg_path(f, SEG1), 2 * (HDR + 300) + HDR + 100);
	flip_byte(seg_path(f, SEG1), 5 * (HDR + 300) + HDR + 299);
	capture_start(&c);
	d = disk_open(f->dir, "t", 64 << 20); /* payloads are not read at open */
	for (uint32_t id = 0; id < 5; id += id == 1 ? 2 : 1)
		assert_int_equal(claim_ack(f, d), id);
	assert_none(f, d);
	assert_true(disk_empty(d));
	snprintf(where, sizeof(where), "offset=%d ", 2 * (HDR + 300));
	capture_end(&c);
	assert_int_equal(count_lines(&c, "remote_write disk", NULL), 2);
	assert_int_equal(count_lines(&c, "checksum", where), 1);
	assert_int_equal(stats(d).corrupt_records, 2);
	assert_int_equal(stats(d).samples, 0);
	disk_close(d);
	capture_start(&c);
	d = disk_open(f->dir, "t", 64 << 20);
	assert_none(f, d);
	capture_end(&c);
	assert_int_equal(count_lines(&c, "remote_write disk", NULL), 0);
	disk_close(d);
}

static void test_corrupt_header_resynced(void **state)
{
	struct fx *f = *state;
	struct disk *d = disk_open(f->dir, "t", 64 << 20);
	struct capture c;
	char where[64];

	append_range(f, d, 0, 5, 300);
	disk_close(d);
	flip_byte(seg_path(f, SEG1), 2 * (HDR + 300) + 9); /* record 2's samples */
	capture_start(&c);
	d = disk_open(f->dir, "t", 64 << 20);
	assert_int_equal(stats(d).samples, 4 * SAMPLES);
	assert_int_equal(claim_ack(f, d), 0);
	assert_int_equal(claim_ack(f, d), 1);
	assert_int_equal(claim_ack(f, d), 3);
	assert_int_equal(claim_ack(f, d), 4);
	assert_true(disk_empty(d));
	snprintf(where, sizeof(where), "offset=%d ", 2 * (HDR + 300));
	capture_end(&c);
	assert_int_equal(count_lines(&c, "corrupt record skipped", where), 1);
	assert_int_equal(stats(d).corrupt_records, 1);
	disk_close(d);
}

static void test_torn_tail_cut_off(void **state)
{
	struct fx *f = *state;
	struct disk *d = disk_open(f->dir, "t", 64 << 20);
	struct capture c;
	char where[64];

	append_range(f, d, 0, 5, 300);
	disk_close(d);
	assert_int_equal(truncate(seg_path(f, SEG1), 4 * (HDR + 300) + HDR + 120), 0);
	capture_start(&c);
	d = disk_open(f->dir, "t", 64 << 20);
	snprintf(where, sizeof(where), "offset=%d", 4 * (HDR + 300));
	capture_end(&c);
	assert_int_equal(count_lines(&c, "torn record", where), 1);
	assert_int_equal(file_size(seg_path(f, SEG1)), 4 * (HDR + 300));
	append_range(f, d, 5, 2, 300);
	for (uint32_t id = 0; id < 4; id++)
		assert_int_equal(claim_ack(f, d), id);
	assert_int_equal(claim_ack(f, d), 5);
	assert_int_equal(claim_ack(f, d), 6);
	assert_true(disk_empty(d));
	disk_close(d);
	/* A header cut short is torn as well. */
	d = disk_open(f->dir, "t", 64 << 20);
	append_range(f, d, 7, 1, 300);
	disk_close(d);
	assert_int_equal(truncate(seg_path(f, SEG1), 6 * (HDR + 300) + 20), 0);
	capture_start(&c);
	d = disk_open(f->dir, "t", 64 << 20);
	capture_end(&c);
	assert_int_equal(count_lines(&c, "torn record", NULL), 1);
	assert_true(disk_empty(d));
	disk_close(d);
}

static bool mount_tmpfs(struct fx *f, const char *opts)
{
	if (mount("tmpfs", f->root, "tmpfs", 0, opts) < 0) {
		print_message("cannot mount a tmpfs (%s): skipped\n", strerror(errno));
		return false;
	}
	f->mounted = true;
	return true;
}

static void test_enospc_leaves_the_files_as_they_were(void **state)
{
	struct fx *f = *state;
	off_t before[16], after[16];
	struct disk *d;
	uint32_t id = 0;
	int rc;

	if (!mount_tmpfs(f, "size=256k"))
		skip();
	d = disk_open(f->dir, "t", 1 << 20);
	for (;;) {
		sizes(f, before, 16);
		errno = 0;
		rc = append_id(f, d, id, 16000, false, NULL);
		if (rc < 0)
			break;
		id++;
		assert_true(id < 100);
	}
	assert_int_equal(errno, ENOSPC);
	sizes(f, after, 16);
	assert_memory_equal(before, after, sizeof(before));
	/* One that needs a new segment: that segment goes again. */
	assert_int_equal(append_id(f, d, id, 100000, false, NULL), -1);
	sizes(f, after, 16);
	assert_memory_equal(before, after, sizeof(before));
	assert_int_equal(stats(d).write_errors, 2);
	assert_int_equal(stats(d).records_written, id);
	for (uint32_t i = 0; i < id; i++)
		assert_int_equal(claim_ack(f, d), i);
	assert_int_equal(append_id(f, d, id, 16000, false, NULL), 0);
	assert_int_equal(claim_ack(f, d), id);
	disk_close(d);
}

static void test_read_only_directory_fails_at_open(void **state)
{
	struct fx *f = *state;
	struct disk *d;

	if (!mount_tmpfs(f, "size=1m"))
		skip();
	d = disk_open(f->dir, "t", 1 << 20);
	append_range(f, d, 0, 1, 100);
	disk_close(d);
	assert_int_equal(mount(NULL, f->root, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
	errno = 0;
	assert_null(disk_open(f->dir, "t", 1 << 20));
	assert_int_equal(errno, EROFS);
	/* And a directory still to be made there. */
	snprintf(f->dir, sizeof(f->dir), "%s/b/q", f->root);
	errno = 0;
	assert_null(disk_open(f->dir, "t", 1 << 20));
	assert_int_equal(errno, EROFS);
}

static void test_segments_deleted_once_acked(void **state)
{
	struct fx *f = *state;
	struct disk *d = disk_open(f->dir, "t", 512 << 10); /* 64 KiB segments */
	struct disk_ticket t;

	append_range(f, d, 0, 20, 16000);
	assert_int_equal(disk_sync(d), 0); /* every segment written to */
	assert_int_equal(stats(d).segments, 5);
	assert_true(file_size(seg_path(f, SEG1)) > 0);
	claim_id(f, d, &t);
	/* 4 records to a segment: 0-3 in the first, 4-7 in the second. */
	for (uint32_t id = 1; id < 7; id++)
		assert_int_equal(claim_ack(f, d), id);
	assert_int_equal(stats(d).segments, 5); /* 0 is out: the cursor holds */
	disk_ack(d, &t);
	assert_int_equal(stats(d).segments, 4); /* the cursor is at 7 */
	assert_int_equal(file_size(seg_path(f, SEG1)), -1);
	while (!disk_empty(d))
		claim_ack(f, d);
	assert_int_equal(stats(d).segments, 1);
	disk_close(d);
	d = disk_open(f->dir, "t", 512 << 10);
	assert_int_equal(stats(d).segments, 1);
	assert_true(disk_empty(d));
	disk_close(d);
}

static void test_stats_gauges(void **state)
{
	struct fx *f = *state;
	struct disk *d = disk_open(f->dir, "t", 64 << 20);
	struct disk_ticket t0, t1;
	struct disk_stats st;

	assert_int_equal(stats(d).oldest_ms, 0);
	append_range(f, d, 0, 3, 200);
	st = stats(d);
	assert_int_equal(st.bytes, 3 * (HDR + 200));
	assert_int_equal(st.samples, 3 * SAMPLES);
	assert_int_equal(st.bytes_written, 3 * (HDR + 200));
	assert_int_equal(st.oldest_ms, 1000);
	claim_id(f, d, &t0);
	claim_id(f, d, &t1);
	assert_int_equal(stats(d).samples, 3 * SAMPLES); /* claimed still count */
	assert_int_equal(stats(d).records_read, 2);
	disk_ack(d, &t1);
	assert_int_equal(stats(d).samples, 2 * SAMPLES);
	assert_int_equal(stats(d).bytes, 2 * (HDR + 200));
	disk_ack(d, &t0);
	claim_ack(f, d);
	st = stats(d);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.samples, 0);
	assert_int_equal(st.oldest_ms, 0);
	disk_close(d);
}

/* Senders on threads while the appender appends: each record delivered
 * once, and a barrier only after everything before it was acknowledged. */
#define MT_RECORDS 1500
#define MT_THREADS 4

struct mt {
	struct disk *d;
	atomic_bool appended;
	atomic_int errors;           /* cmocka's asserts are the main thread's */
	atomic_bool done[MT_RECORDS];
	atomic_int delivered[MT_RECORDS];
};

static void *mt_sender(void *arg)
{
	struct mt *m = arg;
	struct buf payload = {0};
	struct disk_record_info info;
	struct disk_ticket t;
	uint32_t id;
	int rc;

	while (!(atomic_load(&m->appended) && disk_empty(m->d))) {
		rc = disk_claim(m->d, &payload, &info, &t);
		if (rc < 0) {
			atomic_fetch_add(&m->errors, 1);
			break;
		}
		if (rc == 0) {
			usleep(50);
			continue;
		}
		memcpy(&id, payload.data, 4);
		id %= MT_RECORDS;
		if (info.barrier)
			for (uint32_t i = 0; i < id; i++)
				if (!atomic_load(&m->done[i]))
					atomic_fetch_add(&m->errors, 1);
		atomic_fetch_add(&m->delivered[id], 1);
		atomic_store(&m->done[id], true);
		disk_ack(m->d, &t);
	}
	buf_free(&payload);
	return NULL;
}

static void test_threads_claim_while_appending(void **state)
{
	struct fx *f = *state;
	struct mt *m = calloc(1, sizeof(*m));
	pthread_t th[MT_THREADS];

	m->d = disk_open(f->dir, "t", 4 << 20); /* 512 KiB segments, no drops */
	assert_non_null(m->d);
	for (int i = 0; i < MT_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, mt_sender, m), 0);
	for (uint32_t id = 0; id < MT_RECORDS; id++)
		assert_int_equal(append_id(f, m->d, id, 2000, id % 37 == 0, NULL), 0);
	atomic_store(&m->appended, true);
	for (int i = 0; i < MT_THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&m->errors), 0);
	for (uint32_t id = 0; id < MT_RECORDS; id++)
		assert_int_equal(atomic_load(&m->delivered[id]), 1);
	assert_int_equal(stats(m->d).segments, 1);
	assert_int_equal(stats(m->d).samples_dropped_full, 0);
	disk_close(m->d);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_round_trip_in_order),
		T(test_restart_resumes_at_the_cursor),
		T(test_barrier_waits_for_claims),
		T(test_unclaim_hands_out_again_in_order),
		T(test_max_bytes_drops_oldest_exactly),
		T(test_record_larger_than_max_bytes),
		T(test_corrupt_payload_skipped),
		T(test_corrupt_header_resynced),
		T(test_torn_tail_cut_off),
		T(test_enospc_leaves_the_files_as_they_were),
		T(test_read_only_directory_fails_at_open),
		T(test_segments_deleted_once_acked),
		T(test_stats_gauges),
		T(test_threads_claim_while_appending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
