/* SPDX-License-Identifier: MIT */
/* sender: one HTTP/1.1 keep-alive connection (one libcurl easy handle) that
 * POSTs remote-write bodies to one endpoint. One per shard; not thread-safe.
 *
 * Adds the four protocol headers (Content-Encoding: snappy, Content-Type:
 * application/x-protobuf, X-Prometheus-Remote-Write-Version: 0.1.0,
 * User-Agent: bpfpush/<version>; 2.0's Content-Type and version after
 * sender_set_v2), the user's headers (which can never
 * override those four), basic auth or an Authorization header (secrets read
 * from their files before each request, so rotated tokens are picked up; a
 * file that goes bad leaves the last good value in use) or AWS SigV4
 * signing (libcurl's, service "aps"; credentials resolved before each
 * request, see aws_creds.h; those of a role with aws_sts.h) or an OAuth2 token (see oauth2.h; a 401
 * fetches a new one and sends the batch once more with it), a proxy
 * (proxy_url/no_proxy, or the environment only when
 * proxy_from_environment) and TLS settings. Redirects are followed when
 * follow_redirects says so (POST and body kept, at most 10 hops,
 * credentials only to the URL's own origin). Response bodies are always
 * read to the end so the connection stays reusable; the first 1 KiB is
 * kept for the log (response.h). */
#ifndef BPFPUSH_SENDER_H
#define BPFPUSH_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

enum send_result {
	SEND_OK,    /* 2xx */
	SEND_RETRY, /* 5xx, 429 when retry_on_http_429, 407 from a proxy, timeout,
		     * network error */
	SEND_DROP,  /* any other status: the batch will never be accepted */
};

#define SENDER_BODY_KEEP 1024
/* A response body is read (and thrown away) up to this many bytes so the
 * connection can be kept; past it the connection is closed instead: a
 * receiver's endless or huge answer must not hold the shard until
 * remote_timeout and then have an accepted batch sent again. */
#define SENDER_BODY_DRAIN_MAX (1024 * 1024)

struct send_outcome {
	long http_status;            /* 0 when no response arrived */
	int64_t retry_after_ms;      /* from Retry-After (seconds or HTTP date); -1 if absent */
	/* Remote Write 2.0: X-Prometheus-Remote-Write-*-Written; -1 if absent. */
	int64_t samples_written, histograms_written, exemplars_written;
	char error[256];             /* curl's error text for network errors */
	int curl_code;               /* the CURLcode that failed the request, or 0 */
	bool reused_connection;      /* the request went on a kept-alive connection */
	char body[SENDER_BODY_KEEP + 1]; /* first 1 KiB of the response, NUL-terminated */
	size_t body_len;
	size_t body_seen;            /* bytes of the final response's body read */
	bool headers_done;           /* the final response's header block ended */
	double duration_s;           /* wall time of the request */
};

struct sender;

/* What the senders of one endpoint share: its OAuth2 token (oauth2.h),
 * the credentials of its sigv4.role_arn (aws_sts.h); NULL when unused. */
struct sender_shared {
	struct oauth2 *oauth2;
	struct aws_sts *sts;
};

/* NULL on failure (logged). cfg and what shared points to (NULL: nothing
 * shared) must outlive the sender. */
struct sender *sender_create(const struct remote_write_config *cfg,
			     const struct sender_shared *shared);
void sender_destroy(struct sender *s);

enum send_result sender_post(struct sender *s, const uint8_t *body, size_t len,
			     struct send_outcome *out);

/* The protocol headers of the bodies posted from now on: Remote Write 2.0
 * (Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request,
 * X-Prometheus-Remote-Write-Version: 2.0.0) or 1.0 (the default). 0, or -1
 * (out of memory: the headers stay as they were). */
int sender_set_v2(struct sender *s, bool v2);

/* Makes requests end by deadline_ms (CLOCK_MONOTONIC): a request in flight
 * is aborted (within about a second) and later ones fail at once with
 * SEND_RETRY. The one call that may come from any thread (queue_stop). */
void sender_abort_at(struct sender *s, int64_t deadline_ms);

/* Connections this sender has opened so far (libcurl's count). */
uint64_t sender_connections_opened(const struct sender *s);

#endif
