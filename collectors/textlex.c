/* Scalars of the Prometheus text format; see textlex.h. */
#include "collectors/textlex.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Prometheus requires label values to be valid UTF-8 (no overlong forms,
 * no surrogates). */
bool text_valid_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char b = s[i];
		uint32_t cp, min;
		size_t n;

		if (b < 0x80) {
			i++;
			continue;
		}
		if ((b & 0xe0) == 0xc0) {
			n = 1, cp = b & 0x1f, min = 0x80;
		} else if ((b & 0xf0) == 0xe0) {
			n = 2, cp = b & 0x0f, min = 0x800;
		} else if ((b & 0xf8) == 0xf0) {
			n = 3, cp = b & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

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
