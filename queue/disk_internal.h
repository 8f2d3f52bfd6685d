/* SPDX-License-Identifier: MIT */
/* The disk tier's private face, shared by its three files and nothing else:
 *   disk.c          open, close, append (rotation, dropping to stay under
 *                   max_bytes), sync, stats, deleting segments
 *   disk_read.c     claims, acknowledgements, the cursor's moves
 *   disk_segment.c  the record and cursor formats, segment names, scanning
 *                   a segment's headers (and resyncing after damage)
 *
 * A record on disk: a REC_HDR-byte header, little-endian, packed by hand
 * so that the format does not depend on the compiler:
 *   0 magic u32, 4 payload length u32, 8 samples u32, 12 flags u32
 *   (REC_BARRIER, REC_V2),
 *   16 oldest_ms i64, 24 newest_ms i64, 32 payload crc32 u32,
 *   36 crc32 of bytes 0..35 u32
 * then the payload. The header's own checksum lets a reader tell a real
 * header from payload bytes that happen to hold the magic, when it looks
 * for the next record after damage.
 *
 * Everything in struct disk is guarded by mu. The functions shared by the
 * three files are prefixed dk_ so that they meet no other name in queue/. */
#ifndef BPFPUSH_DISK_INTERNAL_H
#define BPFPUSH_DISK_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue/disk.h"

#define REC_HDR 40
#define REC_MAGIC 0x31524B44u  /* "DKR1" in the file */
#define REC_BARRIER 1u
#define REC_V2 2u              /* the payload is a Remote Write 2.0 Request */
#define CURSOR_LEN 24
#define SEG_NAME_MAX 24        /* 16 hex digits, ".seg", NUL */

struct rec_hdr {
	uint32_t len, samples, flags;
	int64_t oldest_ms, newest_ms;
	uint32_t crc;                /* of the payload */
};

/* A position: a segment and an offset in it. */
struct pos {
	uint64_t seq, off;
};

struct seg {
	uint64_t seq;
	uint64_t size;               /* bytes in the file */
	uint64_t live_bytes, live_samples; /* records not acknowledged */
	int64_t oldest_ms;           /* the oldest of the records counted live
				      * (not raised by acks: a segment's
				      * precision), INT64_MAX: none */
};

/* A record handed out and not acknowledged, in file order. */
struct claim {
	struct pos at;
	uint64_t end;
	uint32_t samples;
	bool barrier;
	bool given_back;             /* disk_unclaim: hand it out again */
	bool dropped;                /* its segment was dropped (max_bytes) */
};

/* Bytes found bad by the scan at open, so that the reader steps over them
 * without logging and counting them a second time. */
struct bad_range {
	uint64_t seq, from, to;
};

struct disk {
	pthread_mutex_t mu;
	char *dir, *log_name;
	uint64_t max_bytes, seg_bytes;
	int dir_fd, cursor_fd, tail_fd;
	int rfd;                     /* a segment other than the tail, open
				      * for reading: rfd_seq */
	uint64_t rfd_seq;
	struct seg *segs;            /* oldest first; the last is the tail */
	size_t n_segs, segs_cap;
	uint64_t total_bytes;        /* of all segment files */
	struct pos rd;               /* the next record never handed out */
	struct pos cursor;           /* as in the cursor file */
	struct claim *claims;
	size_t n_claims, claims_cap;
	unsigned n_claimed;          /* claims neither given back nor acked */
	struct bad_range *bad;
	size_t n_bad, bad_cap;
	bool dir_dirty;              /* a segment created since the last sync */
	uint64_t sync_from;          /* the oldest segment appended to since
				      * the last sync; 0: none */
	bool cursor_failing;         /* the last cursor write failed (logged) */
	struct disk_stats st;        /* bytes, samples and the counters */
};

/* disk_segment.c */
void dk_rec_encode(uint8_t out[REC_HDR], const struct rec_hdr *h);
bool dk_rec_decode(const uint8_t in[REC_HDR], struct rec_hdr *h);
uint32_t dk_payload_crc(const void *p, size_t len);
void dk_seg_name(char out[SEG_NAME_MAX], uint64_t seq);
int dk_list_segments(struct disk *d);
int dk_cursor_load(struct disk *d, struct pos *p);
int dk_cursor_store(struct disk *d, const struct pos *p);
void dk_scan_segment(struct disk *d, struct seg *s, int fd, uint64_t from, bool last);
uint64_t dk_resync(int fd, uint64_t from, uint64_t size);
void dk_note_bad(struct disk *d, uint64_t seq, uint64_t from, uint64_t to);
void dk_log_corrupt(struct disk *d, const char *msg, uint64_t seq, uint64_t off,
		 const char *extra);

/* disk.c */
ptrdiff_t dk_find_seg(const struct disk *d, uint64_t seq);
int dk_seg_fd(struct disk *d, uint64_t seq);
void dk_delete_segment(struct disk *d, size_t idx, uint64_t *dropped);
void dk_seg_forget(struct disk *d, struct seg *s, uint64_t bytes, uint64_t samples);

/* disk_read.c: writes the cursor when it moved, deletes what is behind. */
void dk_advance_cursor(struct disk *d);

#endif
