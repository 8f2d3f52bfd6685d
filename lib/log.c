/* SPDX-License-Identifier: MIT */
/* logfmt logging to stderr; one write(2) per line so lines from sender
 * threads never interleave. */
#include "lib/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_INFO;
static log_tap_fn tap;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_set_level_name(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			current_level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_set_level(enum log_level level)
{
	current_level = level;
}

int log_enabled(enum log_level level)
{
	return level >= current_level;
}

static int needs_quoting(const char *s, size_t len)
{
	if (len == 0)
		return 1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
			return 1;
	}
	return 0;
}

const char *log_quote(const char *value, size_t len, char *out, size_t outsz)
{
	size_t o = 0;

	if (outsz == 0)
		return out;
	if (!needs_quoting(value, len)) {
		o = len < outsz - 1 ? len : outsz - 1;
		memcpy(out, value, o);
		out[o] = '\0';
		return out;
	}
	/* Leave room for the closing quote and the NUL. */
	out[o++] = '"';
	for (size_t i = 0; i < len && o + 6 < outsz; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c < ' ' || c == 0x7f) {
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

void log_set_tap(log_tap_fn fn)
{
	tap = fn;
}

void log_msg(enum log_level level, const char *msg, const char *fmt, ...)
{
	char line[4096], quoted[1024], stamp[32];
	struct timeval tv;
	struct tm tm;
	int n, tail = 0;
	bool tapped = tap && level >= LOG_WARN;

	if (!log_enabled(level) && !tapped)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "ts=%s.%03dZ level=%s msg=%s", stamp,
		     (int)(tv.tv_usec / 1000), level_names[level],
		     log_quote(msg, strlen(msg), quoted, sizeof(quoted)));
	if (fmt && n > 0 && (size_t)n < sizeof(line) - 2) {
		va_list ap;
		line[n++] = ' ';
		tail = n;
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += m;
	}
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n] = '\0';
	if (tapped)
		tap(level, msg, tail ? line + tail : "");
	if (!log_enabled(level))
		return;
	line[n++] = '\n';
	/* stderr is unbuffered: a single write keeps the line whole. */
	(void)!write(STDERR_FILENO, line, (size_t)n);
}
