/* SPDX-License-Identifier: MIT */
/* Relabel patterns are RE2 syntax, as in Prometheus, but run on PCRE2,
 * which accepts more: lookaround, backreferences, possessive and atomic
 * groups, recursion, verbs, \C. A configuration that works here must work
 * in Prometheus too, so what RE2 rejects is refused before PCRE2 sees it.
 * This is a scanner of the syntax, not a second regex engine: it walks
 * escapes, classes and groups and names the first construct RE2 lacks. */
#include "config/internal.h"

#include <stdio.h>
#include <string.h>

/* Escapes RE2 knows outside \Q..\E: Perl classes, assertions, control
 * characters, \x, \p, \0 (octal), and any punctuation. */
static bool re2_escape(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return strchr("afnrtvxpPdDsSwWbBAzQE0", c) != NULL;
	return true;
}

static int bad_escape(const char *p, char *why, size_t why_size)
{
	if (p[1] >= '1' && p[1] <= '9')
		snprintf(why, why_size, "backreference \\%c is not supported (RE2 syntax)", p[1]);
	else if (!p[1])
		snprintf(why, why_size, "trailing backslash");
	else
		snprintf(why, why_size, "escape \\%c is not supported (RE2 syntax)", p[1]);
	return -1;
}

/* Skips a [...] class starting at p; NULL (why set) on an RE2 error. */
static const char *skip_class(const char *p, char *why, size_t why_size)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++; /* a leading ] is literal */
	for (; *p && *p != ']'; p++) {
		if (*p == '[' && p[1] == ':') { /* [:alpha:] */
			const char *end = strstr(p + 2, ":]");
			if (end) {
				p = end + 1;
				continue;
			}
		}
		if (*p == '\\') {
			if (!p[1] || !re2_escape(p[1]) || p[1] == 'b' || p[1] == 'B') {
				bad_escape(p, why, why_size);
				return NULL;
			}
			p++;
		}
	}
	if (!*p) {
		snprintf(why, why_size, "missing closing ]");
		return NULL;
	}
	return p + 1;
}

/* After "(?": RE2 has (?:, (?P<name>, (?<name> and flags (?imsU-imsU) or
 * (?imsU:. Returns how far to skip, or -1 with why set. */
static int group_prefix(const char *p, char *why, size_t why_size)
{
	size_t i = 0;

	if (p[0] == 'P' && p[1] == '<')
		return 2;
	if (p[0] == '<' && p[1] != '=' && p[1] != '!')
		return 1;
	while (p[i] && strchr("imsU-", p[i]))
		i++;
	if (p[i] == ':' || (p[i] == ')' && i > 0))
		return (int)i;
	if (p[0] == '=' || p[0] == '!' || (p[0] == '<' && (p[1] == '=' || p[1] == '!')))
		snprintf(why, why_size, "lookaround (?%.*s is not supported (RE2 syntax)",
			 p[0] == '<' ? 2 : 1, p);
	else if (p[0] == '>')
		snprintf(why, why_size, "atomic group (?> is not supported (RE2 syntax)");
	else
		snprintf(why, why_size, "group (?%.2s is not supported (RE2 syntax)", p);
	return -1;
}

/* A {n}, {n,} or {n,m} repeat at p: its length, 0 when p is a literal {. */
static size_t repeat_len(const char *p, long *max)
{
	size_t i = 1;
	long n = 0, m;

	if (p[i] < '0' || p[i] > '9')
		return 0;
	for (; p[i] >= '0' && p[i] <= '9'; i++)
		n = n < 100000 ? n * 10 + (p[i] - '0') : n;
	m = n;
	if (p[i] == ',') {
		i++;
		for (m = 0; p[i] >= '0' && p[i] <= '9'; i++)
			m = m < 100000 ? m * 10 + (p[i] - '0') : m;
	}
	if (p[i] != '}')
		return 0;
	*max = n > m ? n : m;
	return i + 1;
}

/* The length of a quantifier at p (with a lazy ?), 0 when none; -1 when RE2
 * rejects it (why set). */
static int quantifier(const char *p, char *why, size_t why_size)
{
	size_t len = 0;
	long max = 0;

	if (*p == '*' || *p == '+' || *p == '?')
		len = 1;
	else if (*p == '{' && (len = repeat_len(p, &max)) && max > 1000) {
		snprintf(why, why_size, "repeat count above 1000 (RE2 syntax)");
		return -1;
	}
	if (!len)
		return 0;
	if (p[len] == '?')
		len++;
	if (p[len] == '*' || p[len] == '+' || p[len] == '?' ||
	    (p[len] == '{' && repeat_len(p + len, &max))) {
		snprintf(why, why_size, p[len] == '+' && len == 1 ?
			 "possessive quantifier %.2s is not supported (RE2 syntax)" :
			 "nested repetition %.3s is not supported (RE2 syntax)", p);
		return -1;
	}
	return (int)len;
}

/* One construct at p: how many bytes it takes, or -1 with why set. */
static int re2_step(const char *p, char *why, size_t why_size)
{
	const char *end;
	int n;

	if (*p == '\\' && p[1] == 'Q') {
		end = strstr(p + 2, "\\E");
		return end ? (int)(end - p) + 2 : (int)strlen(p);
	}
	if (*p == '\\')
		return p[1] && re2_escape(p[1]) ? 2 : bad_escape(p, why, why_size);
	if (*p == '[')
		return (end = skip_class(p, why, why_size)) ? (int)(end - p) : -1;
	if (*p == '(' && p[1] == '*') {
		snprintf(why, why_size, "(* is not supported (RE2 syntax)");
		return -1;
	}
	if (*p == '(' && p[1] == '?')
		return (n = group_prefix(p + 2, why, why_size)) < 0 ? -1 : n + 2;
	n = quantifier(p, why, why_size);
	return n ? n : 1;
}

int cfg_check_re2(const char *pattern, char *why, size_t why_size)
{
	for (const char *p = pattern; *p;) {
		int n = re2_step(p, why, why_size);

		if (n < 0)
			return -1;
		p += n;
	}
	return 0;
}
