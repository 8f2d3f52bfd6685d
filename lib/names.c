/* SPDX-License-Identifier: MIT */
/* Names and UTF-8; see names.h. */
#include "lib/names.h"

#include <stdint.h>

static bool is_name_start(char c, bool colon_ok)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (colon_ok && c == ':');
}

static size_t name_span(const char *s, size_t len, bool colon_ok)
{
	size_t i = 0;

	if (len == 0 || !is_name_start(s[0], colon_ok))
		return 0;
	for (i = 1; i < len; i++)
		if (!is_name_start(s[i], colon_ok) && !(s[i] >= '0' && s[i] <= '9'))
			break;
	return i;
}

size_t metric_name_span(const char *s, size_t len)
{
	return name_span(s, len, true);
}

size_t label_name_span(const char *s, size_t len)
{
	return name_span(s, len, false);
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
bool valid_utf8(const void *data, size_t len)
{
	const unsigned char *s = data;
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
