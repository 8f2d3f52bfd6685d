/* SPDX-License-Identifier: MIT */
/* disk: one endpoint's on-disk FIFO of records, the tier under the
 * in-memory rings (docs/design.md, "The disk tier"). A record is one
 * request body, ready to POST as it is (a snappy-compressed WriteRequest,
 * 1.0 or 2.0: the record says which),
 * with the number of samples it holds and their time range; the disk knows
 * nothing of what is inside.
 *
 * Layout of the directory: append-only segment files named by a sequence
 * number (16 hex digits, ".seg"), written at the highest and read from the
 * lowest, and a small "cursor" file, the position of the oldest record not
 * yet acknowledged. A record: a header with its own checksum (so that a
 * reader can find the next record after damage), then the payload with its
 * checksum. Segments wholly before the cursor are deleted.
 *
 * Nothing is written to the disk unless disk_append is called: an endpoint
 * that keeps up costs no I/O.
 *
 * Readers claim records (several may be in flight at once, one per sender
 * thread) and acknowledge each when its send ended (sent, or refused: the
 * record is done either way). A record marked `barrier` is not handed out
 * while an earlier one is still claimed: records between two barriers hold
 * disjoint series and may be sent in any order, a barrier orders what
 * follows after everything before it (per-series timestamps stay in order).
 *
 * Every function is thread-safe (one mutex per disk). */
#ifndef BPFPUSH_DISK_H
#define BPFPUSH_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct disk;

struct disk_record_info {
	uint32_t samples;             /* samples in the payload */
	int64_t oldest_ms, newest_ms; /* their timestamps' range */
	bool barrier;                 /* see above */
	bool v2;                      /* a Remote Write 2.0 Request (else 1.0): a
				       * replay after a fallback or a config
				       * change sends it right */
};

/* Which record a claim handed out, for disk_ack. */
struct disk_ticket {
	uint64_t seq;                 /* segment */
	uint64_t offset;              /* of the record's header in it */
	uint64_t end;                 /* offset just past the record */
};

struct disk_stats {
	uint64_t bytes;               /* gauge: bytes of unacknowledged records */
	uint64_t samples;             /* gauge: samples in them */
	uint64_t segments;            /* gauge: segment files */
	int64_t oldest_ms;            /* gauge: oldest timestamp on disk; 0: none */
	uint64_t records_written, samples_written, bytes_written;
	uint64_t records_read, samples_read;  /* claimed (a re-claim after a
					       * restart counts again) */
	uint64_t samples_dropped_full; /* unread samples of segments dropped to
					* stay under max_bytes */
	uint64_t write_errors, read_errors;
	uint64_t corrupt_records;     /* skipped: bad checksum or torn */
};

/* Opens (creating it and its parents if missing) the directory `dir` and
 * finds what a previous run left: segments, the cursor, a torn record at
 * the tail (cut off, logged). log_name is the logfmt-quoted remote_name
 * for log lines. max_bytes bounds the segments' total size (the oldest
 * segments go first, their unread samples counted in
 * samples_dropped_full). NULL with errno set (and nothing logged) when the
 * directory cannot be created, opened or written (EROFS, EACCES, ...): the
 * caller decides, logs, and runs memory-only. */
struct disk *disk_open(const char *dir, const char *log_name, uint64_t max_bytes);

/* Closes files and frees; what is on disk stays for the next disk_open.
 * Claimed records not acknowledged are read again by the next run. */
void disk_close(struct disk *d);

/* Appends one record (payload: len bytes). May first drop the oldest
 * segments to stay under max_bytes: their unread samples are added to
 * *dropped (and to the stats). 0, or -1 with errno (ENOSPC, EIO, EFBIG
 * for a record larger than max_bytes itself, ...): then the files are as
 * they were before the call (a partial write is cut off), nothing was
 * appended, and the caller keeps the samples. Written to the page cache:
 * a killed process loses nothing appended; see disk_sync for power loss. */
int disk_append(struct disk *d, const void *payload, size_t len,
		const struct disk_record_info *info, uint64_t *dropped);

/* fdatasync of the segment being written. 0 or -1 with errno. */
int disk_sync(struct disk *d);

/* Hands out the oldest record not yet claimed: its payload (replacing
 * payload's content), info and ticket. 1: a record; 0: none now (nothing
 * unread, or the next is a barrier and another claim is in flight); -1:
 * out of memory. Records that fail their checksum, or cannot be read
 * (EIO), are skipped with one log line naming the file and offset and
 * counted (corrupt_records / read_errors): everything after them is still
 * delivered. */
int disk_claim(struct disk *d, struct buf *payload, struct disk_record_info *info,
	       struct disk_ticket *ticket);

/* The claimed record's send is over (sent or refused). The cursor moves
 * past every record acknowledged so far without a gap and is written to
 * the cursor file; segments wholly behind it are deleted. A ticket of a
 * segment that was dropped meanwhile is ignored. */
void disk_ack(struct disk *d, const struct disk_ticket *ticket);

/* Gives a claimed record back, unsent (stopping): the next claim in this
 * run hands it out again; the cursor does not move past it. */
void disk_unclaim(struct disk *d, const struct disk_ticket *ticket);

/* Nothing unread and nothing claimed. */
bool disk_empty(struct disk *d);

/* Claims in flight (claimed, neither acknowledged nor given back). */
unsigned disk_claimed(struct disk *d);

void disk_get_stats(struct disk *d, struct disk_stats *out);

#endif
