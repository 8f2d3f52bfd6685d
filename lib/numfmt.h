/* SPDX-License-Identifier: MIT */
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
		int precision = 1, exp10 = v != 0 ? (int)floor(log10(fabs(v))) : 0;

		for (; precision < 17; precision++) {
			snprintf(out, outsz, "%.*g", precision, v);
			if (strtod(out, NULL) == v)
				break;
		}
		/* %g turns 50 into 5e+01 at precision 1; Go keeps plain digits
		 * below 1e21, and so do we. */
		if (exp10 >= precision && exp10 < 21)
			precision = exp10 + 1;
		snprintf(out, outsz, "%.*g", precision, v);
	}
}

#endif
