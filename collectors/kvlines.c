/* SPDX-License-Identifier: MIT */
/* In-place tokenizing of procfs text. */
#include "collectors/kvlines.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

char *kv_line(char **cur)
{
	char *line = *cur, *eol;

	if (!line || !*line)
		return NULL;
	eol = strchr(line, '\n');
	if (eol) {
		*eol = '\0';
		*cur = eol + 1;
	} else {
		*cur = line + strlen(line);
	}
	return line;
}

char *kv_field(char **cur)
{
	char *p = *cur, *start;

	while (blank(*p))
		p++;
	if (!*p) {
		*cur = p;
		return NULL;
	}
	start = p;
	while (*p && !blank(*p))
		p++;
	if (*p)
		*p++ = '\0';
	*cur = p;
	return start;
}

bool kv_scan_u64(const char **s, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*s = p;
	*v = x;
	return true;
}

bool kv_u64(const char *s, uint64_t *v)
{
	uint64_t x;

	if (!kv_scan_u64(&s, &x) || *s)
		return false;
	*v = x;
	return true;
}

size_t kv_join(char *out, size_t cap, const char *const *parts, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		size_t part = strlen(parts[i]);

		if (part >= cap - len) {
			memcpy(out + len, parts[i], cap - 1 - len);
			out[cap - 1] = '\0';
			return cap;
		}
		memcpy(out + len, parts[i], part);
		len += part;
	}
	out[len] = '\0';
	return len;
}

bool kv_double(const char *s, double *v)
{
	char *end;
	uint64_t u;

	/* Nearly every procfs value is a plain unsigned integer: the
	 * conversion of the integer rounds to nearest as strtod does, at a
	 * tenth of its cost. Anything else (a sign, a point, more than 64
	 * bits) goes to strtod. */
	if (kv_u64(s, &u)) {
		*v = (double)u;
		return true;
	}
	if (!*s || isspace((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtod(s, &end);
	/* ERANGE for huge values still gives +-HUGE_VAL, as ParseFloat's Inf. */
	return *end == '\0';
}

static bool parse_i64(const char *s, int64_t *v, int base)
{
	char *end;
	long long x;

	if (!*s || blank(*s))
		return false;
	errno = 0;
	x = strtoll(s, &end, base);
	if (*end || errno == ERANGE)
		return false;
	*v = (int64_t)x;
	return true;
}

bool kv_i64(const char *s, int64_t *v)
{
	return parse_i64(s, v, 10);
}

bool kv_i64_base0(const char *s, int64_t *v)
{
	return parse_i64(s, v, 0);
}

int kv_pairs(char *text, kv_pair_fn fn, void *arg)
{
	char *cur = text, *names;

	while ((names = kv_line(&cur))) {
		char *values, *proto, *name, *value, *n, *v;
		size_t len;
		int rc;

		if (!(proto = kv_field(&names)))
			continue; /* an empty line */
		if (!(values = kv_line(&cur)) || !kv_field(&values))
			return -1;
		/* Count first: a short line passes nothing. */
		for (n = names, v = values;;) {
			bool more_n, more_v;
			while (blank(*n))
				n++;
			while (blank(*v))
				v++;
			more_n = *n != '\0';
			more_v = *v != '\0';
			if (more_n != more_v)
				return -1;
			if (!more_n)
				break;
			while (*n && !blank(*n))
				n++;
			while (*v && !blank(*v))
				v++;
		}
		len = strlen(proto);
		if (len > 0 && proto[len - 1] == ':')
			proto[len - 1] = '\0';
		while ((name = kv_field(&names)) && (value = kv_field(&values)))
			if ((rc = fn(arg, proto, name, value)) != 0)
				return rc;
	}
	return 0;
}
