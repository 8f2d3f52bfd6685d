/* SPDX-License-Identifier: MIT */
/* The disk tier: opening what a previous run left, appending records
 * (rotating segments, dropping the oldest to stay under max_bytes), and
 * deleting segments. Claims and acknowledgements are in disk_read.c, the
 * formats and the scan in disk_segment.c. */
#include "queue/disk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mkdirs.h"

#define SEG_MIN (64ull << 10)
#define SEG_MAX (64ull << 20)

/* An eighth of the bound, so that dropping or deleting one segment frees
 * a small part of the disk, not half of it; not so small that a large
 * disk holds thousands of files, nor smaller than a few records. */
static uint64_t seg_bytes_for(uint64_t max_bytes)
{
	uint64_t s = max_bytes / 8;

	return s < SEG_MIN ? SEG_MIN : s > SEG_MAX ? SEG_MAX : s;
}

ptrdiff_t dk_find_seg(const struct disk *d, uint64_t seq)
{
	size_t lo = 0, hi = d->n_segs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->segs[mid].seq == seq)
			return (ptrdiff_t)mid;
		if (d->segs[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static struct seg *tail(struct disk *d)
{
	return &d->segs[d->n_segs - 1];
}

/* A descriptor to read segment seq: the tail's, or the one other segment
 * kept open (readers go through segments in order, so one is enough). */
int dk_seg_fd(struct disk *d, uint64_t seq)
{
	char name[SEG_NAME_MAX];

	if (d->n_segs && seq == tail(d)->seq)
		return d->tail_fd;
	if (d->rfd >= 0 && d->rfd_seq == seq)
		return d->rfd;
	if (d->rfd >= 0)
		close(d->rfd);
	dk_seg_name(name, seq);
	d->rfd = openat(d->dir_fd, name, O_RDONLY | O_CLOEXEC);
	d->rfd_seq = seq;
	return d->rfd;
}

/* Starts the next segment; *old_fd: the previous tail's descriptor, kept
 * open for the caller to close, or to go back to if the append fails. */
static int rotate(struct disk *d, int *old_fd)
{
	uint64_t seq = d->n_segs ? tail(d)->seq + 1 : 1;
	char name[SEG_NAME_MAX];
	int fd;

	if (grow_array((void **)&d->segs, &d->segs_cap, d->n_segs + 1, sizeof(*d->segs)) < 0)
		return -1;
	dk_seg_name(name, seq);
	fd = openat(d->dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	*old_fd = d->tail_fd;
	d->tail_fd = fd;
	d->segs[d->n_segs++] = (struct seg){.seq = seq, .oldest_ms = INT64_MAX};
	d->dir_dirty = true;
	return 0;
}

/* The append after a rotation failed: the new, empty segment goes, and
 * the previous tail is the tail again (unless it was dropped meanwhile). */
static void undo_rotation(struct disk *d, int old_fd)
{
	char name[SEG_NAME_MAX];

	if (d->n_segs < 2 || d->segs[d->n_segs - 2].seq + 1 != tail(d)->seq) {
		if (old_fd >= 0)
			close(old_fd);
		return;
	}
	dk_seg_name(name, tail(d)->seq);
	unlinkat(d->dir_fd, name, 0);
	close(d->tail_fd);
	d->tail_fd = old_fd;
	d->n_segs--;
}

void dk_seg_forget(struct disk *d, struct seg *s, uint64_t bytes, uint64_t samples)
{
	s->live_bytes -= bytes;
	s->live_samples -= samples;
	d->st.bytes -= bytes;
	d->st.samples -= samples;
	if (s->live_bytes == 0)
		s->oldest_ms = INT64_MAX;
}

/* A dropped segment's claims: the ones given back were unread and are
 * gone; the ones in flight stay (their senders still ack them), flagged. */
static uint64_t drop_claims(struct disk *d, uint64_t seq)
{
	uint64_t in_flight = 0;
	size_t kept = 0;

	for (size_t i = 0; i < d->n_claims; i++) {
		struct claim *c = &d->claims[i];

		if (c->at.seq == seq && !c->dropped) {
			if (c->given_back)
				continue;
			c->dropped = true;
			in_flight += c->samples;
		}
		d->claims[kept++] = *c;
	}
	d->n_claims = kept;
	return in_flight;
}

static void forget_bad(struct disk *d, uint64_t seq)
{
	size_t kept = 0;

	for (size_t i = 0; i < d->n_bad; i++)
		if (d->bad[i].seq != seq)
			d->bad[kept++] = d->bad[i];
	d->n_bad = kept;
}

/* Deletes segment idx (never the tail). dropped: NULL when the cursor
 * passed it; else it is dropped to make room, and its unread samples are
 * added to *dropped. */
void dk_delete_segment(struct disk *d, size_t idx, uint64_t *dropped)
{
	struct seg s = d->segs[idx];
	char name[SEG_NAME_MAX];

	if (dropped) {
		uint64_t unread = s.live_samples - drop_claims(d, s.seq);

		*dropped += unread;
		d->st.samples_dropped_full += unread;
	}
	dk_seg_forget(d, &d->segs[idx], s.live_bytes, s.live_samples);
	d->total_bytes -= s.size;
	dk_seg_name(name, s.seq);
	if (unlinkat(d->dir_fd, name, 0) < 0 && errno != ENOENT)
		dk_log_corrupt(d, "remote_write disk: cannot delete segment", s.seq, 0, NULL);
	if (d->rfd >= 0 && d->rfd_seq == s.seq) {
		close(d->rfd);
		d->rfd = -1;
	}
	forget_bad(d, s.seq);
	memmove(&d->segs[idx], &d->segs[idx + 1], (d->n_segs - idx - 1) * sizeof(s));
	d->n_segs--;
	if (d->rd.seq == s.seq)
		d->rd = (struct pos){d->segs[idx].seq, 0};
}

static int open_files(struct disk *d)
{
	char name[SEG_NAME_MAX];
	int old_fd = -1;

	if (mkdirs(d->dir, 0750) < 0)
		return -1;
	d->dir_fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dir_fd < 0)
		return -1;
	/* Opening the cursor for writing is the probe: a read-only file
	 * system or directory fails here, at open, not at the first append. */
	d->cursor_fd = openat(d->dir_fd, "cursor", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (d->cursor_fd < 0 || dk_list_segments(d) < 0)
		return -1;
	if (d->n_segs == 0)
		return rotate(d, &old_fd);
	dk_seg_name(name, tail(d)->seq);
	d->tail_fd = openat(d->dir_fd, name, O_RDWR | O_CLOEXEC);
	return d->tail_fd < 0 ? -1 : 0;
}

/* Where reading starts: the cursor if it names a segment and an offset in
 * it, else the first record of the oldest segment. */
static struct pos start_pos(struct disk *d, bool *stored)
{
	struct pos c, start = {d->segs[0].seq, 0};
	ptrdiff_t i;

	*stored = dk_cursor_load(d, &c) == 0;
	if (!*stored)
		return start;
	i = dk_find_seg(d, c.seq);
	if (i >= 0 && c.off <= d->segs[i].size)
		start = c;
	*stored = start.seq == c.seq && start.off == c.off;
	return start;
}

static void load(struct disk *d)
{
	bool stored;
	struct pos start = start_pos(d, &stored);

	for (size_t i = 0; i < d->n_segs; i++)
		d->total_bytes += d->segs[i].size;
	while (d->segs[0].seq < start.seq)
		dk_delete_segment(d, 0, NULL);
	for (size_t i = 0; i < d->n_segs; i++) {
		struct seg *s = &d->segs[i];
		uint64_t size = s->size;
		int fd = dk_seg_fd(d, s->seq);

		if (fd < 0) {
			dk_log_corrupt(d, "remote_write disk: cannot open segment, skipped", s->seq,
				    0, NULL);
			d->st.read_errors++;
			dk_note_bad(d, s->seq, 0, s->size);
			continue;
		}
		dk_scan_segment(d, s, fd, i == 0 ? start.off : 0, i + 1 == d->n_segs);
		d->total_bytes -= size - s->size; /* a torn tail cut off */
	}
	d->rd = d->cursor = start;
	if (!stored)
		dk_cursor_store(d, &start);
}

static void free_disk(struct disk *d)
{
	if (d->dir_fd >= 0)
		close(d->dir_fd);
	if (d->cursor_fd >= 0)
		close(d->cursor_fd);
	if (d->tail_fd >= 0)
		close(d->tail_fd);
	if (d->rfd >= 0)
		close(d->rfd);
	free(d->segs);
	free(d->claims);
	free(d->bad);
	free(d->dir);
	free(d->log_name);
	free(d);
}

struct disk *disk_open(const char *dir, const char *log_name, uint64_t max_bytes)
{
	struct disk *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return NULL;
	d->dir_fd = d->cursor_fd = d->tail_fd = d->rfd = -1;
	d->max_bytes = max_bytes;
	d->seg_bytes = seg_bytes_for(max_bytes);
	d->dir = strdup(dir);
	d->log_name = strdup(log_name);
	if (!d->dir || !d->log_name || open_files(d) < 0 ||
	    pthread_mutex_init(&d->mu, NULL) != 0) {
		err = errno ? errno : ENOMEM;
		free_disk(d);
		errno = err;
		return NULL;
	}
	load(d);
	return d;
}

void disk_close(struct disk *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->mu);
	free_disk(d);
}

/* Writes header and payload at the tail's end; a partial write is cut off
 * so that the file is as it was. */
static int write_record(struct disk *d, const uint8_t *hdr, const void *payload, size_t len)
{
	uint64_t at = tail(d)->size, done = 0, need = REC_HDR + (uint64_t)len;
	struct iovec iov[2];
	ssize_t n;
	int err;

	while (done < need) {
		int k = 0;

		if (done < REC_HDR)
			iov[k++] = (struct iovec){(void *)(hdr + done), REC_HDR - done};
		if (len) {
			size_t skip = done > REC_HDR ? done - REC_HDR : 0;

			iov[k++] = (struct iovec){(uint8_t *)payload + skip, len - skip};
		}
		n = pwritev(d->tail_fd, iov, k, (off_t)(at + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : ENOSPC;
			if (ftruncate(d->tail_fd, (off_t)at) < 0)
				err = errno;
			errno = err;
			return -1;
		}
		done += (uint64_t)n;
	}
	return 0;
}

static void count_append(struct disk *d, uint64_t need, const struct disk_record_info *info)
{
	struct seg *s = tail(d);

	s->size += need;
	s->live_bytes += need;
	s->live_samples += info->samples;
	if (info->oldest_ms < s->oldest_ms)
		s->oldest_ms = info->oldest_ms;
	d->total_bytes += need;
	d->st.bytes += need;
	d->st.samples += info->samples;
	d->st.records_written++;
	d->st.samples_written += info->samples;
	d->st.bytes_written += need;
}

static int append_locked(struct disk *d, const void *payload, size_t len,
			 const struct disk_record_info *info, uint64_t *dropped)
{
	uint64_t need = REC_HDR + (uint64_t)len, size = tail(d)->size;
	struct rec_hdr h = {(uint32_t)len, info->samples,
			    (info->barrier ? REC_BARRIER : 0) | (info->v2 ? REC_V2 : 0),
			    info->oldest_ms, info->newest_ms, dk_payload_crc(payload, len)};
	uint8_t hdr[REC_HDR];
	bool rotated = false;
	int old_fd = -1;

	if (len > UINT32_MAX || need > d->max_bytes) {
		errno = EFBIG;
		return -1;
	}
	/* A new segment first when this one would outgrow its size, or when
	 * only dropping it (the one being written) would make room. */
	if (size && (size + need > d->seg_bytes || size + need > d->max_bytes)) {
		if (rotate(d, &old_fd) < 0) {
			d->st.write_errors++;
			return -1;
		}
		rotated = true;
	}
	while (d->total_bytes + need > d->max_bytes && d->n_segs > 1)
		dk_delete_segment(d, 0, dropped);
	dk_rec_encode(hdr, &h);
	if (write_record(d, hdr, payload, len) < 0) {
		int err = errno;

		if (rotated)
			undo_rotation(d, old_fd);
		dk_advance_cursor(d);
		d->st.write_errors++;
		errno = err;
		return -1;
	}
	if (rotated && old_fd >= 0)
		close(old_fd);
	if (!d->sync_from)
		d->sync_from = tail(d)->seq;
	count_append(d, need, info);
	dk_advance_cursor(d);
	return 0;
}

int disk_append(struct disk *d, const void *payload, size_t len,
		const struct disk_record_info *info, uint64_t *dropped)
{
	uint64_t none = 0;
	int rc;

	pthread_mutex_lock(&d->mu);
	rc = append_locked(d, payload, len, info, dropped ? dropped : &none);
	pthread_mutex_unlock(&d->mu);
	return rc;
}

/* fdatasync of segments from..to (the older ones may be gone already:
 * acknowledged, or dropped). */
static int sync_segments(int dir_fd, uint64_t from, uint64_t to, int tail_fd)
{
	char name[SEG_NAME_MAX];

	for (uint64_t seq = from; seq && seq < to; seq++) {
		int fd, rc;

		dk_seg_name(name, seq);
		fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue;
		rc = fd < 0 ? -1 : fdatasync(fd);
		if (fd >= 0)
			close(fd);
		if (rc < 0)
			return -1;
	}
	return fdatasync(tail_fd);
}

/* The syncs run outside the lock (they can take long on a busy disk, and
 * senders claim and ack meanwhile), on a duplicate of the tail's
 * descriptor, which a rotation may close. */
int disk_sync(struct disk *d)
{
	uint64_t from, to;
	bool dir_dirty;
	int fd, rc, err;

	pthread_mutex_lock(&d->mu);
	from = d->sync_from;
	to = tail(d)->seq;
	dir_dirty = d->dir_dirty;
	fd = dup(d->tail_fd);
	if (fd >= 0) {
		d->sync_from = 0;
		d->dir_dirty = false;
	}
	pthread_mutex_unlock(&d->mu);
	if (fd < 0)
		return -1;
	rc = sync_segments(d->dir_fd, from, to, fd);
	/* A new segment's name is in the directory, not in the file. */
	if (rc == 0 && dir_dirty)
		rc = fsync(d->dir_fd);
	err = errno;
	close(fd);
	if (rc < 0) { /* the next sync tries again */
		pthread_mutex_lock(&d->mu);
		if (from && (!d->sync_from || from < d->sync_from))
			d->sync_from = from;
		d->dir_dirty |= dir_dirty;
		pthread_mutex_unlock(&d->mu);
		errno = err;
	}
	return rc;
}

void disk_get_stats(struct disk *d, struct disk_stats *out)
{
	int64_t oldest = INT64_MAX;

	pthread_mutex_lock(&d->mu);
	*out = d->st;
	out->segments = d->n_segs;
	for (size_t i = 0; i < d->n_segs; i++)
		if (d->segs[i].live_bytes && d->segs[i].oldest_ms < oldest)
			oldest = d->segs[i].oldest_ms;
	out->oldest_ms = oldest == INT64_MAX ? 0 : oldest;
	pthread_mutex_unlock(&d->mu);
}
