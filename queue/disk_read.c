/* SPDX-License-Identifier: MIT */
/* The disk tier's readers: claims hand records out in file order (records
 * given back first, they are the oldest), acknowledgements move the cursor
 * to the oldest record still out, and segments behind it go.
 *
 * The claims are kept in file order: a new claim is always past every
 * earlier one (the read position only moves forward), and a record given
 * back keeps its place, flagged, until it is handed out again. */
#include "queue/disk_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/log.h"

enum rd_result { RD_OK, RD_BAD_HDR, RD_BAD_CRC, RD_EIO, RD_NOMEM };

static struct seg *seg_of(struct disk *d, uint64_t seq)
{
	ptrdiff_t i = dk_find_seg(d, seq);

	return i < 0 ? NULL : &d->segs[i];
}

/* Moves the read position past the end of finished segments and over
 * damage the scan at open already reported. False: nothing left to read. */
static bool next_unread(struct disk *d)
{
	ptrdiff_t i = dk_find_seg(d, d->rd.seq);

	if (i < 0) /* cannot happen: deleting a segment moves rd on */
		return false;
	for (;;) {
		bool moved = false;

		while ((size_t)i + 1 < d->n_segs && d->rd.off >= d->segs[i].size)
			d->rd = (struct pos){d->segs[++i].seq, 0};
		for (size_t b = 0; b < d->n_bad; b++)
			if (d->bad[b].seq == d->rd.seq && d->bad[b].from == d->rd.off) {
				d->rd.off = d->bad[b].to;
				moved = true;
			}
		if (!moved)
			return d->rd.off < d->segs[i].size;
	}
}

static enum rd_result read_header(struct disk *d, struct pos at, struct rec_hdr *h, int *fd)
{
	struct seg *s = seg_of(d, at.seq);
	uint8_t b[REC_HDR];
	ssize_t n;

	*fd = dk_seg_fd(d, at.seq);
	if (!s || *fd < 0)
		return RD_EIO;
	n = pread(*fd, b, REC_HDR, (off_t)at.off);
	if (n < 0)
		return RD_EIO;
	if (n != REC_HDR || !dk_rec_decode(b, h) || at.off + REC_HDR + h->len > s->size)
		return RD_BAD_HDR;
	return RD_OK;
}

static enum rd_result read_payload(int fd, struct pos at, const struct rec_hdr *h,
				   struct buf *payload)
{
	ssize_t n;

	buf_reset(payload);
	if (buf_reserve(payload, h->len) < 0)
		return RD_NOMEM;
	n = pread(fd, payload->data, h->len, (off_t)(at.off + REC_HDR));
	if (n < 0)
		return RD_EIO;
	if ((size_t)n != h->len) {
		errno = EIO; /* the file shrank under us */
		return RD_EIO;
	}
	payload->len = h->len;
	return dk_payload_crc(payload->data, h->len) == h->crc ? RD_OK : RD_BAD_CRC;
}

/* A header at the read position that does not check out (or cannot be
 * read): on to the next one that does, or past the segment. */
static void skip_damage(struct disk *d, enum rd_result r, int fd)
{
	struct seg *s = seg_of(d, d->rd.seq);
	uint64_t next = s->size;
	char extra[96];

	if (r == RD_EIO) {
		snprintf(extra, sizeof(extra), " err=\"%s\"", strerror(errno));
		dk_log_corrupt(d, "remote_write disk: cannot read segment, rest skipped", s->seq,
			    d->rd.off, extra);
		d->st.read_errors++;
	} else {
		next = dk_resync(fd, d->rd.off + 1, s->size);
		snprintf(extra, sizeof(extra), " skipped_bytes=%llu",
			 (unsigned long long)(next - d->rd.off));
		dk_log_corrupt(d, "remote_write disk: corrupt record skipped", s->seq, d->rd.off,
			    extra);
		d->st.corrupt_records++;
	}
	d->rd.off = next;
}

/* A record whose header is sound but whose payload is not: skipped, and
 * no longer counted as on the disk. */
static void skip_record(struct disk *d, struct pos at, const struct rec_hdr *h,
			enum rd_result r)
{
	struct seg *s = seg_of(d, at.seq);
	char extra[96];

	if (r == RD_EIO) {
		snprintf(extra, sizeof(extra), " err=\"%s\"", strerror(errno));
		dk_log_corrupt(d, "remote_write disk: cannot read record, skipped", at.seq, at.off,
			    extra);
		d->st.read_errors++;
	} else {
		dk_log_corrupt(d, "remote_write disk: record failed its checksum, skipped", at.seq,
			    at.off, " reason=dk_payload_crc");
		d->st.corrupt_records++;
	}
	if (s)
		dk_seg_forget(d, s, REC_HDR + (uint64_t)h->len, h->samples);
}

static void hand_out(struct disk *d, const struct claim *c, const struct rec_hdr *h,
		     struct disk_record_info *info, struct disk_ticket *ticket)
{
	*info = (struct disk_record_info){h->samples, h->oldest_ms, h->newest_ms,
					  (h->flags & REC_BARRIER) != 0, (h->flags & REC_V2) != 0};
	*ticket = (struct disk_ticket){c->at.seq, c->at.off, c->end};
	d->n_claimed++;
	d->st.records_read++;
	d->st.samples_read += h->samples;
}

static void remove_claim(struct disk *d, size_t i)
{
	memmove(&d->claims[i], &d->claims[i + 1], (d->n_claims - i - 1) * sizeof(*d->claims));
	d->n_claims--;
}

/* The oldest record given back, handed out again. 1, 0 (a barrier waits),
 * -1 (no memory), 2: none given back. */
static int claim_given_back(struct disk *d, struct buf *payload,
			    struct disk_record_info *info, struct disk_ticket *ticket)
{
	for (size_t i = 0; i < d->n_claims; i++) {
		struct claim *c = &d->claims[i];
		enum rd_result r;
		struct rec_hdr h;
		int fd;

		if (!c->given_back)
			continue;
		if (c->barrier && d->n_claimed)
			return 0;
		r = read_header(d, c->at, &h, &fd);
		if (r == RD_OK)
			r = read_payload(fd, c->at, &h, payload);
		if (r == RD_NOMEM)
			return -1;
		if (r != RD_OK) {
			if (r == RD_BAD_HDR) /* it was sound when first read */
				h = (struct rec_hdr){.len = (uint32_t)(c->end - c->at.off - REC_HDR),
						     .samples = c->samples};
			skip_record(d, c->at, &h, r == RD_BAD_HDR ? RD_BAD_CRC : r);
			remove_claim(d, i--);
			continue;
		}
		c->given_back = false;
		hand_out(d, c, &h, info, ticket);
		return 1;
	}
	return 2;
}

static int claim_next(struct disk *d, struct buf *payload, struct disk_record_info *info,
		      struct disk_ticket *ticket)
{
	enum rd_result r;
	struct rec_hdr h;
	struct pos at;
	int fd;

	while (next_unread(d)) {
		at = d->rd;
		r = read_header(d, at, &h, &fd);
		if (r != RD_OK) {
			skip_damage(d, r, fd);
			continue;
		}
		if ((h.flags & REC_BARRIER) && d->n_claimed)
			return 0;
		if (grow_array((void **)&d->claims, &d->claims_cap, d->n_claims + 1,
			       sizeof(*d->claims)) < 0)
			return -1;
		r = read_payload(fd, at, &h, payload);
		if (r == RD_NOMEM)
			return -1;
		d->rd.off = at.off + REC_HDR + h.len;
		if (r != RD_OK) {
			skip_record(d, at, &h, r);
			continue;
		}
		d->claims[d->n_claims] = (struct claim){.at = at, .end = d->rd.off,
							.samples = h.samples,
							.barrier = h.flags & REC_BARRIER};
		hand_out(d, &d->claims[d->n_claims++], &h, info, ticket);
		return 1;
	}
	return 0;
}

int disk_claim(struct disk *d, struct buf *payload, struct disk_record_info *info,
	       struct disk_ticket *ticket)
{
	int rc;

	pthread_mutex_lock(&d->mu);
	rc = claim_given_back(d, payload, info, ticket);
	if (rc == 2)
		rc = claim_next(d, payload, info, ticket);
	dk_advance_cursor(d); /* also past damage skipped on the way */
	pthread_mutex_unlock(&d->mu);
	if (rc < 0)
		errno = ENOMEM;
	return rc;
}

static bool pos_eq(struct pos a, struct pos b)
{
	return a.seq == b.seq && a.off == b.off;
}

/* The cursor: the oldest record out (claimed or given back), else the
 * read position. Written when it moved; segments wholly behind it go. */
void dk_advance_cursor(struct disk *d)
{
	struct pos c;

	next_unread(d);
	c = d->rd;
	for (size_t i = 0; i < d->n_claims; i++)
		if (!d->claims[i].dropped) {
			c = d->claims[i].at;
			break;
		}
	if (pos_eq(c, d->cursor))
		return;
	d->cursor = c;
	if (dk_cursor_store(d, &c) < 0) {
		if (!d->cursor_failing)
			log_msg(LOG_WARN, "remote_write disk: cannot write the cursor",
				"remote_name=%s dir=%s err=\"%s\"", d->log_name, d->dir,
				strerror(errno));
		d->cursor_failing = true;
		d->st.write_errors++;
	} else {
		d->cursor_failing = false;
	}
	while (d->segs[0].seq < c.seq)
		dk_delete_segment(d, 0, NULL);
}

static ptrdiff_t find_claim(struct disk *d, const struct disk_ticket *t)
{
	for (size_t i = 0; i < d->n_claims; i++)
		if (d->claims[i].at.seq == t->seq && d->claims[i].at.off == t->offset &&
		    !d->claims[i].given_back)
			return (ptrdiff_t)i;
	return -1;
}

void disk_ack(struct disk *d, const struct disk_ticket *ticket)
{
	ptrdiff_t i;

	pthread_mutex_lock(&d->mu);
	i = find_claim(d, ticket);
	if (i >= 0) {
		struct claim *c = &d->claims[i];
		struct seg *s = c->dropped ? NULL : seg_of(d, c->at.seq);

		if (s)
			dk_seg_forget(d, s, c->end - c->at.off, c->samples);
		d->n_claimed--;
		remove_claim(d, (size_t)i);
		dk_advance_cursor(d);
	}
	pthread_mutex_unlock(&d->mu);
}

void disk_unclaim(struct disk *d, const struct disk_ticket *ticket)
{
	ptrdiff_t i;

	pthread_mutex_lock(&d->mu);
	i = find_claim(d, ticket);
	if (i >= 0) {
		d->n_claimed--;
		if (d->claims[i].dropped) {
			/* Its segment went while it was out: given back, it is lost. */
			d->st.samples_dropped_full += d->claims[i].samples;
			remove_claim(d, (size_t)i);
			dk_advance_cursor(d);
		} else {
			d->claims[i].given_back = true;
		}
	}
	pthread_mutex_unlock(&d->mu);
}

bool disk_empty(struct disk *d)
{
	bool empty;

	pthread_mutex_lock(&d->mu);
	empty = d->n_claims == 0 && !next_unread(d);
	pthread_mutex_unlock(&d->mu);
	return empty;
}

unsigned disk_claimed(struct disk *d)
{
	unsigned n;

	pthread_mutex_lock(&d->mu);
	n = d->n_claimed;
	pthread_mutex_unlock(&d->mu);
	return n;
}
