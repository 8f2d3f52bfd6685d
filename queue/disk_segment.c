/* SPDX-License-Identifier: MIT */
/* The disk tier's formats and its look at what a previous run left: the
 * record header and the cursor, packed little-endian by hand; segment
 * names; the scan of a segment's headers at open, which steps over damage
 * by looking for the next header whose own checksum holds. */
#include "queue/disk_internal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "lib/buf.h"
#include "lib/log.h"

#define CURSOR_MAGIC 0x31434B44u /* "DKC1" in the file */
#define RESYNC_CHUNK 65536

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t crc_of(const void *p, size_t len)
{
	return (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), p, len);
}

uint32_t dk_payload_crc(const void *p, size_t len)
{
	return crc_of(p, len);
}

void dk_rec_encode(uint8_t out[REC_HDR], const struct rec_hdr *h)
{
	put32(out, REC_MAGIC);
	put32(out + 4, h->len);
	put32(out + 8, h->samples);
	put32(out + 12, h->flags);
	put64(out + 16, (uint64_t)h->oldest_ms);
	put64(out + 24, (uint64_t)h->newest_ms);
	put32(out + 32, h->crc);
	put32(out + 36, crc_of(out, 36));
}

bool dk_rec_decode(const uint8_t in[REC_HDR], struct rec_hdr *h)
{
	if (get32(in) != REC_MAGIC || get32(in + 36) != crc_of(in, 36))
		return false;
	h->len = get32(in + 4);
	h->samples = get32(in + 8);
	h->flags = get32(in + 12);
	h->oldest_ms = (int64_t)get64(in + 16);
	h->newest_ms = (int64_t)get64(in + 24);
	h->crc = get32(in + 32);
	return true;
}

void dk_seg_name(char out[SEG_NAME_MAX], uint64_t seq)
{
	snprintf(out, SEG_NAME_MAX, "%016" PRIx64 ".seg", seq);
}

static bool parse_seg_name(const char *name, uint64_t *seq)
{
	uint64_t v = 0;

	if (strlen(name) != 20 || strcmp(name + 16, ".seg") != 0)
		return false;
	for (int i = 0; i < 16; i++) {
		char c = name[i];
		unsigned digit;

		if (c >= '0' && c <= '9')
			digit = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			digit = (unsigned)(c - 'a' + 10);
		else
			return false;
		v = v << 4 | digit;
	}
	*seq = v;
	return true;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int add_seg(struct disk *d, int dfd, const char *name)
{
	struct stat st;
	uint64_t seq;

	if (!parse_seg_name(name, &seq) || fstatat(dfd, name, &st, 0) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	if (grow_array((void **)&d->segs, &d->segs_cap, d->n_segs + 1, sizeof(*d->segs)) < 0)
		return -1;
	d->segs[d->n_segs++] = (struct seg){.seq = seq, .size = (uint64_t)st.st_size,
					    .oldest_ms = INT64_MAX};
	return 0;
}

/* The segment files in the directory, oldest first, with their sizes. */
int dk_list_segments(struct disk *d)
{
	int fd = dup(d->dir_fd), rc = 0;
	struct dirent *e;
	DIR *dir;

	if (fd < 0)
		return -1;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -1;
	}
	while (rc == 0 && (e = readdir(dir)))
		rc = add_seg(d, fd, e->d_name);
	closedir(dir);
	if (rc == 0 && d->n_segs)
		qsort(d->segs, d->n_segs, sizeof(*d->segs), cmp_seg);
	return rc;
}

int dk_cursor_load(struct disk *d, struct pos *p)
{
	uint8_t b[CURSOR_LEN];

	if (pread(d->cursor_fd, b, sizeof(b), 0) != (ssize_t)sizeof(b) ||
	    get32(b) != CURSOR_MAGIC || get32(b + 20) != crc_of(b, 20))
		return -1;
	p->seq = get64(b + 4);
	p->off = get64(b + 12);
	return 0;
}

/* One pwrite over the same bytes each time: a killed process leaves either
 * the old or the new cursor, and a torn one (power loss) fails its
 * checksum, which only means records delivered again. */
int dk_cursor_store(struct disk *d, const struct pos *p)
{
	uint8_t b[CURSOR_LEN];

	put32(b, CURSOR_MAGIC);
	put64(b + 4, p->seq);
	put64(b + 12, p->off);
	put32(b + 20, crc_of(b, 20));
	if (pwrite(d->cursor_fd, b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		if (errno == 0)
			errno = ENOSPC;
		return -1;
	}
	return 0;
}

void dk_log_corrupt(struct disk *d, const char *msg, uint64_t seq, uint64_t off,
		 const char *extra)
{
	char name[SEG_NAME_MAX], path[4096], quoted[4200];

	dk_seg_name(name, seq);
	snprintf(path, sizeof(path), "%s/%s", d->dir, name);
	log_msg(LOG_WARN, msg, "remote_name=%s file=%s offset=%llu%s", d->log_name,
		log_quote(path, strlen(path), quoted, sizeof(quoted)),
		(unsigned long long)off, extra ? extra : "");
}

void dk_note_bad(struct disk *d, uint64_t seq, uint64_t from, uint64_t to)
{
	/* Without room to remember it, the reader finds the damage again and
	 * logs it twice: no worse than that. */
	if (grow_array((void **)&d->bad, &d->bad_cap, d->n_bad + 1, sizeof(*d->bad)) == 0)
		d->bad[d->n_bad++] = (struct bad_range){seq, from, to};
}

static uint64_t find_header(const uint8_t *buf, size_t n, uint64_t base, uint64_t size)
{
	struct rec_hdr h;

	for (size_t i = 0; i + REC_HDR <= n; i++)
		if (get32(buf + i) == REC_MAGIC && dk_rec_decode(buf + i, &h) &&
		    base + i + REC_HDR + h.len <= size)
			return base + i;
	return size;
}

/* The offset of the first whole record at or after from whose header
 * checks out; size if there is none (or the file cannot be read). */
uint64_t dk_resync(int fd, uint64_t from, uint64_t size)
{
	uint8_t *buf = malloc(RESYNC_CHUNK);
	uint64_t at = from, found = size;
	ssize_t n;

	if (!buf)
		return size;
	while (found == size && at + REC_HDR <= size) {
		n = pread(fd, buf, RESYNC_CHUNK, (off_t)at);
		if (n < REC_HDR)
			break;
		found = find_header(buf, (size_t)n, at, size);
		at += (uint64_t)n - REC_HDR + 1;
	}
	free(buf);
	return found;
}

static void count_live(struct disk *d, struct seg *s, const struct rec_hdr *h)
{
	s->live_bytes += REC_HDR + (uint64_t)h->len;
	s->live_samples += h->samples;
	d->st.bytes += REC_HDR + (uint64_t)h->len;
	d->st.samples += h->samples;
	if (h->oldest_ms < s->oldest_ms)
		s->oldest_ms = h->oldest_ms;
}

/* Damage at off with nothing valid after it: at the tail of the segment
 * being written it is a record the last run did not finish (cut off, so
 * that appends follow the last whole record); elsewhere it is skipped. */
static bool cut_tail(struct disk *d, struct seg *s, int fd, uint64_t off, bool last)
{
	if (!last || ftruncate(fd, (off_t)off) < 0)
		return false;
	dk_log_corrupt(d, "remote_write disk: torn record at the tail cut off", s->seq, off, NULL);
	d->st.corrupt_records++;
	s->size = off;
	return true;
}

/* Counts the records from offset `from` on, reading headers only. */
void dk_scan_segment(struct disk *d, struct seg *s, int fd, uint64_t from, bool last)
{
	uint64_t off = from, next;
	uint8_t b[REC_HDR];
	struct rec_hdr h;
	char extra[64];

	while (off < s->size) {
		if (off + REC_HDR <= s->size) {
			ssize_t n = pread(fd, b, REC_HDR, (off_t)off);

			if (n < 0) {
				snprintf(extra, sizeof(extra), " err=\"%s\"", strerror(errno));
				dk_log_corrupt(d, "remote_write disk: cannot read segment, rest skipped",
					    s->seq, off, extra);
				d->st.read_errors++;
				dk_note_bad(d, s->seq, off, s->size);
				return;
			}
			if (n == REC_HDR && dk_rec_decode(b, &h) &&
			    off + REC_HDR + h.len <= s->size) {
				count_live(d, s, &h);
				off += REC_HDR + (uint64_t)h.len;
				continue;
			}
		}
		next = dk_resync(fd, off + 1, s->size);
		if (next == s->size && cut_tail(d, s, fd, off, last))
			return;
		snprintf(extra, sizeof(extra), " skipped_bytes=%llu",
			 (unsigned long long)(next - off));
		dk_log_corrupt(d, "remote_write disk: corrupt record skipped", s->seq, off, extra);
		d->st.corrupt_records++;
		dk_note_bad(d, s->seq, off, next);
		off = next;
	}
}
