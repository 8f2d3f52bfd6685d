/* SPDX-License-Identifier: MIT */
/* Scalars of the Prometheus text format; see textlex.h. */
#include "collectors/textlex.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Exactly representable powers of ten (10^22 is the largest). */
static const double pow10_exact[] = {
	1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

#define MANTISSA_DIGITS_MAX 19 /* still fits a uint64_t */
#define EXACT_MANTISSA_MAX (1ull << 53)
#define EXACT_POW10_MAX 22

/* Digits of s into *m (at most MANTISSA_DIGITS_MAX in all): the count. */
static int take_digits(const char **s, uint64_t *m, int *total)
{
	int n = 0;

	for (; (unsigned)(**s - '0') <= 9; (*s)++, n++) {
		if (++*total > MANTISSA_DIGITS_MAX)
			return -1;
		*m = *m * 10 + (unsigned)(**s - '0');
	}
	return n;
}

/* An exponent, e or E already passed: [+-]digits, at most three of them. */
static bool take_exponent(const char **s, int *exp10)
{
	uint64_t e = 0;
	int digits = 0;
	bool negative = **s == '-';

	*s += **s == '-' || **s == '+';
	if (take_digits(s, &e, &digits) <= 0 || digits > 3)
		return false;
	*exp10 = negative ? -(int)e : (int)e;
	return true;
}

/* The common case without strtod: [+-]digits[.digits][e[+-]digits] whose
 * digits fit 2^53 and whose power of ten is at most 22, where one IEEE
 * multiplication or division of two exact doubles is correctly rounded
 * (Clinger's fast path), so the result is strtod's. false: not such a
 * number, strtod decides. */
static bool parse_float_fast(const char *s, double *out)
{
	uint64_t m = 0;
	int total = 0, whole, frac = 0, exp10 = 0;
	bool negative = *s == '-';
	double v;

	s += *s == '-' || *s == '+';
	if ((whole = take_digits(&s, &m, &total)) < 0)
		return false;
	if (*s == '.') {
		s++;
		if ((frac = take_digits(&s, &m, &total)) < 0)
			return false;
	}
	if (whole + frac == 0)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (!take_exponent(&s, &exp10))
			return false;
	}
	exp10 -= frac;
	if (*s != '\0' || m > EXACT_MANTISSA_MAX || exp10 > EXACT_POW10_MAX ||
	    exp10 < -EXACT_POW10_MAX)
		return false;
	v = exp10 >= 0 ? (double)m * pow10_exact[exp10] : (double)m / pow10_exact[-exp10];
	*out = negative ? -v : v;
	return true;
}

/* Digits from d, not past end, into *m: where they stop. */
static const char *take_digits_upto(const char *d, const char *end, uint64_t *m)
{
	uint64_t v = *m;

	for (; d < end && (unsigned)(*d - '0') <= 9; d++)
		v = v * 10 + (unsigned)(*d - '0'); /* past 19 digits it wraps: refused after */
	*m = v;
	return d;
}

/* The sample values of most texts, read where they stand (no copy, no
 * NUL): [+-]digits[.digits] within the limits of Clinger's fast path, as
 * parse_float_fast reads them. */
const char *text_parse_decimal(const char *s, const char *end, double *out)
{
	const char *d = s, *whole, *frac = NULL;
	bool negative = d < end && *d == '-';
	uint64_t m = 0;
	ptrdiff_t digits, frac_digits = 0;
	double v;

	d += d < end && (*d == '-' || *d == '+');
	whole = d;
	d = take_digits_upto(d, end, &m);
	digits = d - whole;
	if (d < end && *d == '.') {
		frac = d + 1;
		d = take_digits_upto(frac, end, &m);
		frac_digits = d - frac;
		digits += frac_digits;
	}
	if (digits == 0 || digits > MANTISSA_DIGITS_MAX || m > EXACT_MANTISSA_MAX)
		return NULL;
	v = (double)m / pow10_exact[frac_digits]; /* frac_digits <= 19: exact */
	*out = negative ? -v : v;
	return d;
}

/* Go's strconv.ParseFloat as expfmt uses it: decimal or scientific, NaN,
 * [+-]Inf(inity) in any case; no hex floats, no '_' separators, no
 * overflow. s is NUL-terminated. */
bool text_parse_float(const char *s, double *out)
{
	char *end;
	double v;

	if (parse_float_fast(s, out))
		return true;
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
