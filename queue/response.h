/* SPDX-License-Identifier: MIT */
/* response: libcurl's header and body callbacks for a remote-write
 * request; their userdata is the request's struct send_outcome. The body
 * is always read to the end (a body left unread would make curl close
 * the connection); its first SENDER_BODY_KEEP bytes are kept for the log.
 * Retry-After (delay-seconds or an HTTP date) and Remote Write 2.0's
 * X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written (a
 * count each; -1 when absent or not a count) are read from the headers of
 * the final response. */
#ifndef BPFPUSH_RESPONSE_H
#define BPFPUSH_RESPONSE_H

#include <stddef.h>

#include "queue/sender.h"

size_t response_on_header(char *data, size_t size, size_t nitems, void *outcome);
size_t response_on_body(char *data, size_t size, size_t nmemb, void *outcome);

#endif
