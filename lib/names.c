/* SPDX-License-Identifier: MIT */
/* Names and UTF-8; see names.h. */
#include "lib/names.h"

#include <stdint.h>
#include <string.h>

/* Which bytes may start (NAME_START) or continue (NAME_REST) a name, and
 * where ':' is allowed (metric names only): one load per byte, where the
 * range tests cost a handful of branches on every byte of every line. */
enum { NAME_REST = 1, NAME_START = 2, NAME_COLON = 4 };

#define RANGE10(c) [c] = NAME_REST, [c + 1] = NAME_REST, [c + 2] = NAME_REST, \
	[c + 3] = NAME_REST, [c + 4] = NAME_REST, [c + 5] = NAME_REST, [c + 6] = NAME_REST, \
	[c + 7] = NAME_REST, [c + 8] = NAME_REST, [c + 9] = NAME_REST
#define L(c) [c] = NAME_REST | NAME_START

static const unsigned char name_class[256] = {
	RANGE10('0'), [':'] = NAME_COLON, L('_'),
	L('A'), L('B'), L('C'), L('D'), L('E'), L('F'), L('G'), L('H'), L('I'), L('J'),
	L('K'), L('L'), L('M'), L('N'), L('O'), L('P'), L('Q'), L('R'), L('S'), L('T'),
	L('U'), L('V'), L('W'), L('X'), L('Y'), L('Z'),
	L('a'), L('b'), L('c'), L('d'), L('e'), L('f'), L('g'), L('h'), L('i'), L('j'),
	L('k'), L('l'), L('m'), L('n'), L('o'), L('p'), L('q'), L('r'), L('s'), L('t'),
	L('u'), L('v'), L('w'), L('x'), L('y'), L('z'),
};

/* start: the classes that may start the name; rest: that may follow. */
static size_t name_span(const char *s, size_t len, unsigned start, unsigned rest)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	if (len == 0 || !(name_class[u[0]] & start))
		return 0;
	for (i = 1; i < len && (name_class[u[i]] & rest); i++)
		;
	return i;
}

size_t metric_name_span(const char *s, size_t len)
{
	return name_span(s, len, NAME_START | NAME_COLON, NAME_REST | NAME_COLON);
}

size_t label_name_span(const char *s, size_t len)
{
	return name_span(s, len, NAME_START, NAME_REST);
}

bool metric_name_continues(char ch)
{
	return name_class[(unsigned char)ch] & (NAME_REST | NAME_COLON);
}

bool valid_metric_name(const char *s, size_t len)
{
	return len > 0 && metric_name_span(s, len) == len;
}

bool valid_label_name(const char *s, size_t len)
{
	return len > 0 && label_name_span(s, len) == len;
}

/* Receivers reject label values that are not UTF-8 (Prometheus checks
 * them too). */
/* Whether s[0..len) is all ASCII: eight bytes at a time, then the tail,
 * without a branch per byte. */
static bool all_ascii(const unsigned char *s, size_t len)
{
	uint64_t word, high = 0;
	size_t i = 0;

	for (; len - i >= 8; i += 8) {
		memcpy(&word, s + i, 8);
		high |= word;
	}
	for (; i < len; i++)
		high |= s[i];
	return (high & 0x8080808080808080ull) == 0;
}

bool valid_utf8(const void *data, size_t len)
{
	const unsigned char *s = data;
	size_t i = 0;

	if (all_ascii(s, len)) /* label values mostly are */
		return true;

	while (i < len) {
		unsigned char b;
		uint32_t cp, min;
		size_t n;

		b = s[i];
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
