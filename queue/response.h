/* SPDX-License-Identifier: MIT */
/* response: libcurl's header and body callbacks for a remote-write
 * request; their userdata is the request's struct send_outcome. The body
 * is read to its end (a body left unread would make curl close the
 * connection) unless it is longer than SENDER_BODY_DRAIN_MAX: then the
 * transfer stops there (CURLE_WRITE_ERROR, the connection is closed, the
 * status stands); its first SENDER_BODY_KEEP bytes are kept for the log.
 * headers_done says when a response's header block has ended.
 * Retry-After (delay-seconds or an HTTP date) and Remote Write 2.0's
 * X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written (a
 * count each; -1 when absent or not a count) are read from the headers of
 * the final response. */
#ifndef BPFPUSH_RESPONSE_H
#define BPFPUSH_RESPONSE_H

#include <stddef.h>

#include "queue/queue.h"
#include "queue/sender.h"

size_t response_on_header(char *data, size_t size, size_t nitems, void *outcome);
size_t response_on_body(char *data, size_t size, size_t nmemb, void *outcome);

/* The class of a request that did not end in a 2xx, from its outcome's
 * status (when an answer came) or curl_code. */
enum request_failure response_failure(const struct send_outcome *o);

#endif
