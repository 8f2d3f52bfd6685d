/* SPDX-License-Identifier: MIT */
/* textfile: the options of the textfile collector (node_exporter's
 * --collector.textfile.directory), filled by config from its opt_desc. */
#ifndef BPFPUSH_TEXTFILE_H
#define BPFPUSH_TEXTFILE_H

#include <stddef.h>
#include <stdint.h>

#define TEXTFILE_DEFAULT_DIRECTORY "/var/lib/bpfpush/textfile"
/* A file over any of these is skipped whole, as a malformed one is (0: no
 * bound). 64 MiB holds the series limit at ~330 bytes a line; a textfile
 * larger than that is a mistake, and reading one that size already costs a
 * sizeable part of a second every interval. */
#define TEXTFILE_DEFAULT_MAX_FILE_BYTES "67108864"
/* Twice the largest round a healthy agent is tested with (100,000 series
 * from one file). */
#define TEXTFILE_DEFAULT_MAX_SERIES_PER_FILE "200000"
/* Well past what receivers take by default (Mimir 30 label names per
 * series, VictoriaMetrics 30 or 40 by version): a series with more would
 * be refused there anyway. */
#define TEXTFILE_DEFAULT_MAX_LABELS_PER_SERIES "64"

/* A file is read in pieces of this many bytes (a line longer than that
 * grows the buffer to what it needs). */
#define TEXTFILE_PIECE_BYTES (128 * 1024)

/* For tests: the piece size from now on (0: TEXTFILE_PIECE_BYTES). */
void textfile_set_piece_bytes(size_t bytes);

struct textfile_opts {
	char *directory;               /* every *.prom in it is read each interval */
	int64_t max_file_bytes;        /* a larger file is not read */
	int64_t max_series_per_file;   /* sample lines */
	int64_t max_labels_per_series; /* labels in one sample's braces */
};

#endif
