/* SPDX-License-Identifier: MIT */
/* What a remote-write request's response says: its Retry-After, the
 * Remote Write 2.0 counts of what was written, and the start of its body
 * (see response.h). */
#include "queue/response.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

/* A wait longer than a year is taken as a year, in either form: a date
 * far in the future must not overflow the milliseconds. */
#define RETRY_AFTER_MAX_S (86400LL * 365)

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
		if (secs > RETRY_AFTER_MAX_S)
			secs = RETRY_AFTER_MAX_S;
		return (int64_t)secs * 1000;
	}
	t = curl_getdate(v, NULL);
	if (t == (time_t)-1)
		return -1;
	t -= time(NULL);
	if (t > RETRY_AFTER_MAX_S)
		t = RETRY_AFTER_MAX_S;
	return t > 0 ? (int64_t)t * 1000 : 0;
}

/* A non-negative decimal count, or -1. */
static int64_t parse_count(const char *v)
{
	char *end;
	long long n;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	return errno || *end != '\0' ? -1 : (int64_t)n;
}

/* The value of "Name: value" when data is that header (trimmed, into
 * value), else NULL. */
static const char *header_value(const char *data, size_t len, const char *name,
				char *value, size_t size)
{
	size_t nlen = strlen(name), vlen;
	const char *v;

	if (len < nlen + 1 || strncasecmp(data, name, nlen) != 0 || data[nlen] != ':')
		return NULL;
	v = data + nlen + 1;
	vlen = len - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
			v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (vlen == 0 || vlen >= size)
		return NULL;
	memcpy(value, v, vlen);
	value[vlen] = '\0';
	return value;
}

#define RW_WRITTEN "X-Prometheus-Remote-Write-"

size_t response_on_header(char *data, size_t size, size_t nitems, void *outcome)
{
	struct send_outcome *o = outcome;
	size_t len = size * nitems;
	char value[128];

	if (len >= 5 && strncasecmp(data, "HTTP/", 5) == 0) {
		/* A new response (after a 1xx or a redirect): its own headers. */
		o->retry_after_ms = -1;
		o->samples_written = o->histograms_written = o->exemplars_written = -1;
		o->headers_done = false;
		o->body_seen = 0;
		return len;
	}
	if (len <= 2 && (data[0] == '\r' || data[0] == '\n')) {
		o->headers_done = true;
		return len;
	}
	if (header_value(data, len, "Retry-After", value, sizeof(value)))
		o->retry_after_ms = parse_retry_after(value);
	else if (header_value(data, len, RW_WRITTEN "Samples-Written", value, sizeof(value)))
		o->samples_written = parse_count(value);
	else if (header_value(data, len, RW_WRITTEN "Histograms-Written", value, sizeof(value)))
		o->histograms_written = parse_count(value);
	else if (header_value(data, len, RW_WRITTEN "Exemplars-Written", value, sizeof(value)))
		o->exemplars_written = parse_count(value);
	return len;
}

/* Keeps the start of the body for the log and swallows the rest, up to
 * SENDER_BODY_DRAIN_MAX: a body left unread would make curl close the
 * connection, which is what a longer one gets (returning less than len
 * stops the transfer). */
size_t response_on_body(char *data, size_t size, size_t nmemb, void *outcome)
{
	struct send_outcome *o = outcome;
	size_t len = size * nmemb, room = SENDER_BODY_KEEP - o->body_len;
	size_t take = len < room ? len : room;

	o->body_seen += len;
	if (o->body_seen > SENDER_BODY_DRAIN_MAX)
		return 0;
	memcpy(o->body + o->body_len, data, take);
	o->body_len += take;
	o->body[o->body_len] = '\0';
	return len;
}

static enum request_failure status_failure(long status)
{
	if (status >= 500 && status < 600)
		return FAIL_STATUS_5XX;
	return status == 429 ? FAIL_STATUS_429 : FAIL_STATUS_OTHER;
}

enum request_failure response_failure(const struct send_outcome *o)
{
	if (o->http_status)
		return status_failure(o->http_status);
	switch ((CURLcode)o->curl_code) {
	case CURLE_OPERATION_TIMEDOUT:
		return FAIL_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
		return FAIL_CONNECT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return FAIL_RESOLVE;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return FAIL_TLS;
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		return FAIL_CONNECTION;
	case CURLE_UNSUPPORTED_PROTOCOL: /* HTTP/0.9: no status line */
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_BAD_CONTENT_ENCODING:
		return FAIL_PROTOCOL;
	default:
		return FAIL_OTHER;
	}
}
