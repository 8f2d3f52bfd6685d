/* numfmt: a double as the shortest text that reads back as the same value
 * (like Go's strconv 'g', -1), with Prometheus' spellings of the special
 * values. For sample values and for `le` bounds, which must be exact. */
#ifndef BPFPUSH_NUMFMT_H
#define BPFPUSH_NUMFMT_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static inline void format_double(double v, char *out, size_t outsz)
{
	if (isnan(v)) {
		snprintf(out, outsz, "NaN");
	} else if (isinf(v)) {
		snprintf(out, outsz, v > 0 ? "+Inf" : "-Inf");
	} else {
		for (int precision = 1; precision <= 17; precision++) {
			snprintf(out, outsz, "%.*g", precision, v);
			if (strtod(out, NULL) == v)
				break;
		}
	}
}

#endif
