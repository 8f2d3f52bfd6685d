/* SPDX-License-Identifier: MIT */
/* What a remote-write request's response says: its Retry-After and the
 * start of its body (see response.h). */
#include "queue/response.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

static int64_t parse_retry_after(const char *v)
{
	char *end;
	long long secs;
	time_t t;

	if (*v >= '0' && *v <= '9') {
		errno = 0;
		secs = strtoll(v, &end, 10);
		if (errno || *end != '\0')
			return -1;
		if (secs > 86400LL * 365)
			secs = 86400LL * 365;
		return (int64_t)secs * 1000;
	}
	t = curl_getdate(v, NULL);
	if (t == (time_t)-1)
		return -1;
	t -= time(NULL);
	return t > 0 ? (int64_t)t * 1000 : 0;
}

size_t response_on_header(char *data, size_t size, size_t nitems, void *outcome)
{
	static const char name[] = "retry-after:";
	struct send_outcome *o = outcome;
	size_t len = size * nitems, vlen;
	char value[128];
	const char *v;

	if (len >= 5 && strncasecmp(data, "HTTP/", 5) == 0) {
		o->retry_after_ms = -1; /* a new response (after a 1xx) */
		return len;
	}
	if (len < sizeof(name) - 1 || strncasecmp(data, name, sizeof(name) - 1) != 0)
		return len;
	v = data + sizeof(name) - 1;
	vlen = len - (sizeof(name) - 1);
	while (vlen && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
			v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (vlen == 0 || vlen >= sizeof(value))
		return len;
	memcpy(value, v, vlen);
	value[vlen] = '\0';
	o->retry_after_ms = parse_retry_after(value);
	return len;
}

/* Keeps the start of the body for the log and swallows the rest: a body
 * left unread would make curl close the connection. */
size_t response_on_body(char *data, size_t size, size_t nmemb, void *outcome)
{
	struct send_outcome *o = outcome;
	size_t len = size * nmemb, room = SENDER_BODY_KEEP - o->body_len;
	size_t take = len < room ? len : room;

	memcpy(o->body + o->body_len, data, take);
	o->body_len += take;
	o->body[o->body_len] = '\0';
	return len;
}
