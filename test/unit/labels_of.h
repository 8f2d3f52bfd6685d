/* SPDX-License-Identifier: MIT */
/* A series' labels as strings, for assertions (include after cmocka.h). */
#ifndef BPFPUSH_TEST_LABELS_OF_H
#define BPFPUSH_TEST_LABELS_OF_H

#include "series/registry.h"

/* s's labels decoded (series_decode_labels); valid until the fourth call
 * after this one, so a test may hold two or three at a time. */
static inline const struct label_set *labels_of(const struct series *s)
{
	static struct label_set sets[4];
	static unsigned next;
	struct label_set *set = &sets[next++ % 4];

	assert_int_equal(series_decode_labels(s, set), 0);
	return set;
}

#endif
