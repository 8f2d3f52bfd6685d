/* SPDX-License-Identifier: MIT */
/* Prometheus durations: ^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$
 * with y = 365d and w = 7d, as model.ParseDuration reads them, so a value
 * copied from a Prometheus config means the same here. */
#include "config/internal.h"

#include <stdio.h>
#include <string.h>

struct unit {
	const char *name;
	int64_t ms;
};

#define DAY_MS (24LL * 3600 * 1000)

/* In the only order the syntax allows. */
static const struct unit units[] = {
	{"y", 365 * DAY_MS}, {"w", 7 * DAY_MS}, {"d", DAY_MS},
	{"h", 3600 * 1000},  {"m", 60 * 1000},  {"s", 1000},
	{"ms", 1},
};

#define N_UNITS (sizeof(units) / sizeof(units[0]))

/* The unit at p, longest match first so "ms" is not read as "m" + "s". */
static int unit_at(const char *p, size_t *len)
{
	int best = -1;
	size_t best_len = 0;

	for (size_t i = 0; i < N_UNITS; i++) {
		size_t n = strlen(units[i].name);
		if (n > best_len && strncmp(p, units[i].name, n) == 0) {
			best = (int)i;
			best_len = n;
		}
	}
	*len = best_len;
	return best;
}

/* Digits at *p into *v; -1 when there are none or they overflow. */
static int read_number(const char **p, int64_t *v)
{
	const char *s = *p;

	*v = 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (__builtin_mul_overflow(*v, 10, v) ||
		    __builtin_add_overflow(*v, *s - '0', v))
			return -1;
	}
	*p = s;
	return 0;
}

int parse_duration_ms(const char *text, int64_t *ms)
{
	const char *p = text;
	int64_t total = 0;
	size_t next = 0; /* units must strictly decrease: no repeats, no "1s1m" */

	if (!text || !*text)
		return -1;
	if (strcmp(text, "0") == 0) {
		*ms = 0;
		return 0;
	}
	while (*p) {
		int64_t n, part;
		size_t len;
		int u;

		if (read_number(&p, &n) < 0)
			return -1;
		u = unit_at(p, &len);
		if (u < 0 || (size_t)u < next)
			return -1;
		if (__builtin_mul_overflow(n, units[u].ms, &part) ||
		    __builtin_add_overflow(total, part, &total))
			return -1;
		next = (size_t)u + 1;
		p += len;
	}
	*ms = total;
	return 0;
}

const char *cfg_format_duration_ms(int64_t ms, char *buf, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (ms == 0) {
		snprintf(buf, size, "0s");
		return buf;
	}
	if (ms < 0) {
		snprintf(buf, size, "%lldms", (long long)ms);
		return buf;
	}
	for (size_t i = 0; i < N_UNITS && ms > 0 && o < size; i++) {
		int64_t n = ms / units[i].ms;
		int w;

		if (n == 0)
			continue;
		ms -= n * units[i].ms;
		w = snprintf(buf + o, size - o, "%lld%s", (long long)n, units[i].name);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	return buf;
}

/* ---- byte sizes ------------------------------------------------------ */

/* As Prometheus reads a byte size (units.Base2Bytes): KB, MB, GB, TB are
 * powers of 1024, like KiB, MiB, GiB, TiB; a bare number is bytes. */
static const struct unit byte_units[] = {
	{"B", 1},
	{"KB", 1LL << 10}, {"MB", 1LL << 20}, {"GB", 1LL << 30}, {"TB", 1LL << 40},
	{"KiB", 1LL << 10}, {"MiB", 1LL << 20}, {"GiB", 1LL << 30}, {"TiB", 1LL << 40},
};

int parse_byte_size(const char *text, int64_t *bytes)
{
	const char *p = text;
	int64_t n;

	if (!text || read_number(&p, &n) < 0)
		return -1;
	if (*p == '\0') {
		*bytes = n;
		return 0;
	}
	for (size_t i = 0; i < sizeof(byte_units) / sizeof(byte_units[0]); i++)
		if (strcmp(p, byte_units[i].name) == 0)
			return __builtin_mul_overflow(n, byte_units[i].ms, bytes) ? -1 : 0;
	return -1;
}
