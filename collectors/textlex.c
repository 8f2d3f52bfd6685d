/* SPDX-License-Identifier: MIT */
/* Scalars of the Prometheus text format; see textlex.h. */
#include "collectors/textlex.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Go's strconv.ParseFloat as expfmt uses it: decimal or scientific, NaN,
 * [+-]Inf(inity) in any case; no hex floats, no '_' separators, no
 * overflow. s is NUL-terminated. */
bool text_parse_float(const char *s, double *out)
{
	char *end;
	double v;

	if (*s == '\0' || strpbrk(s, "xXpP_("))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || (errno == ERANGE && isinf(v)))
		return false;
	*out = v;
	return true;
}

/* Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits. */
bool text_parse_int64(const char *s, size_t len, int64_t *out)
{
	bool negative = false;
	uint64_t v = 0, limit;
	size_t i = 0;

	if (len > 0 && (s[0] == '+' || s[0] == '-'))
		negative = s[i++] == '-';
	if (i == len)
		return false;
	limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (d > 9 || v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = negative ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}
