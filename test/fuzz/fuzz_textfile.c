/* SPDX-License-Identifier: MIT */
/* The textfile collector fed one arbitrary *.prom file: the text format's
 * lexer and parser (textlex.c, textparse.c) and what the collector makes of
 * a parse (families, types, histograms, duplicates) into a registry. Read
 * in pieces of 64 bytes, so that most inputs cross a piece's end. */
#include "collectors/all.h"
#include "collectors/textfile.h"

#include "fuzz_tree.h"
#include "fuzz_collect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[PATH_MAX];
	static struct textfile_opts opts;
	static struct global_config global;

	if (!dir[0]) {
		fuzz_logs_on();
		textfile_set_piece_bytes(64);
		snprintf(dir, sizeof(dir), "%s/textfile", fuzz_scratch());
		/* The defaults config would fill in, from textfile.h. */
		opts = (struct textfile_opts){dir, strtoll(TEXTFILE_DEFAULT_MAX_FILE_BYTES, NULL, 10),
					      strtoll(TEXTFILE_DEFAULT_MAX_SERIES_PER_FILE, NULL, 10),
					      strtoll(TEXTFILE_DEFAULT_MAX_LABELS_PER_SERIES, NULL, 10)};
	}
	fuzz_write(dir, "fuzz.prom", data, size);
	fuzz_collect(&collector_textfile, &opts, &global);
	return 0;
}
