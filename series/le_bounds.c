/* SPDX-License-Identifier: MIT */
/* Bucket bound texts of log2 histograms, per unit, per thread. */
#include "series/le_bounds.h"

#include <math.h>
#include <string.h>

#include "lib/numfmt.h"

#define UNITS 6   /* distinct units a thread keeps: the collectors use a few */
#define LE_LEN 32 /* the longest shortest-exact double is 24 characters */

struct unit_bounds {
	double unit; /* 0: slot unused (a unit is > 0) */
	unsigned n;  /* texts[0..n) are filled */
	char texts[LE_BOUNDS_MAX][LE_LEN];
};

/* Static, not malloc'd: nothing to free when a thread ends (about 6 KiB of
 * each thread's TLS). */
static __thread struct unit_bounds units[UNITS];

static struct unit_bounds *find_unit(double unit)
{
	for (size_t u = 0; u < UNITS; u++) {
		if (units[u].unit == unit)
			return &units[u];
		if (units[u].unit == 0) {
			units[u].unit = unit;
			units[u].n = 0;
			return &units[u];
		}
	}
	return NULL;
}

const char *le_bound(double unit, unsigned i, char *buf, size_t size)
{
	struct unit_bounds *b = i < LE_BOUNDS_MAX && unit > 0 ? find_unit(unit) : NULL;

	if (!b) {
		format_double(ldexp(unit, (int)i + 1), buf, size);
		return buf;
	}
	for (; b->n <= i; b->n++)
		format_double(ldexp(unit, (int)b->n + 1), b->texts[b->n], LE_LEN);
	return b->texts[i];
}
