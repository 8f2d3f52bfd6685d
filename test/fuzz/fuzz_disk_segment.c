/* SPDX-License-Identifier: MIT */
/* The disk tier reading what a previous run left: segment files and the
 * cursor, arbitrary bytes, then every record claimed, acknowledged or
 * given back, one record appended, and the directory opened again.
 *
 * The input: a flags byte, then (flag CURSOR) 24 bytes of cursor file,
 * then (flag TWO) a 2-byte split point, then the segments' bytes. With
 * flag FIX the harness rewrites the checksums of the records it can walk
 * (and of the cursor), so that mutations reach the fields behind them
 * (lengths, counts, timestamps, flags, positions) and not only the
 * checksums' refusals. */
#include <zlib.h>

#include "queue/disk.h"
#include "queue/disk_internal.h"

#include "fuzz_tree.h"

#define F_CURSOR 1u
#define F_TWO 2u
#define F_UNCLAIM 4u
#define F_FIX 8u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc(const uint8_t *p, size_t len)
{
	return (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), p, len);
}

/* Rewrites the checksums of the records from the start of seg[0..len). */
static void fix_records(uint8_t *seg, size_t len)
{
	size_t off = 0;

	while (len - off >= REC_HDR) {
		uint8_t *h = seg + off;
		uint32_t plen = get32(h + 4);

		put32(h, REC_MAGIC);
		if (plen <= len - off - REC_HDR)
			put32(h + 32, crc(h + REC_HDR, plen));
		put32(h + 36, crc(h, 36));
		if (plen > len - off - REC_HDR)
			break;
		off += REC_HDR + plen;
	}
}

/* Claims every record (at most a few hundred), acknowledging or giving
 * back each, then appends one. */
static void drain(struct disk *d, bool unclaim)
{
	struct buf payload = {0};
	struct disk_record_info info;
	struct disk_ticket t;
	struct disk_stats st;
	uint64_t dropped = 0;
	int n = 0;

	while (n++ < 256 && disk_claim(d, &payload, &info, &t) == 1) {
		if (unclaim && n % 2) {
			disk_unclaim(d, &t);
			if (disk_claim(d, &payload, &info, &t) != 1)
				break;
		}
		disk_ack(d, &t);
	}
	info = (struct disk_record_info){.samples = 1, .oldest_ms = 1, .newest_ms = 2};
	(void)disk_append(d, "x", 1, &info, &dropped);
	(void)disk_empty(d);
	disk_get_stats(d, &st);
	buf_free(&payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[PATH_MAX];
	uint8_t flags, cursor[CURSOR_LEN], *seg;
	size_t split;
	struct disk *d;

	if (!dir[0]) {
		fuzz_logs_on();
		snprintf(dir, sizeof(dir), "%s/disk", fuzz_scratch());
	}
	if (size < 1)
		return 0;
	flags = *data++;
	size--;
	fuzz_empty_dir(dir);
	if (flags & F_CURSOR) {
		if (size < CURSOR_LEN)
			return 0;
		memcpy(cursor, data, CURSOR_LEN);
		if (flags & F_FIX) {
			put32(cursor, 0x31434B44u); /* "DKC1" */
			put32(cursor + 20, crc(cursor, 20));
		}
		fuzz_write(dir, "cursor", cursor, CURSOR_LEN);
		data += CURSOR_LEN;
		size -= CURSOR_LEN;
	}
	split = size;
	if (flags & F_TWO) {
		if (size < 2)
			return 0;
		split = ((size_t)data[0] | (size_t)data[1] << 8) % (size - 1);
		data += 2;
		size -= 2;
	}
	seg = malloc(size + 1);
	memcpy(seg, data, size);
	if (flags & F_FIX) {
		fix_records(seg, split);
		fix_records(seg + split, size - split);
	}
	fuzz_write(dir, "0000000000000001.seg", seg, split);
	if (flags & F_TWO)
		fuzz_write(dir, "0000000000000002.seg", seg + split, size - split);
	free(seg);

	for (int pass = 0; pass < 2; pass++) {
		if (!(d = disk_open(dir, "fuzz", 1 << 20)))
			break;
		drain(d, flags & F_UNCLAIM);
		disk_close(d);
	}
	return 0;
}
