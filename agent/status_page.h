/* SPDX-License-Identifier: MIT */
/* status_page: GET / of the status endpoint (agent/status.h), the page
 * agent/status_html.h writes. As for /metrics, the page is rendered on
 * the collecting thread when the round is published, and only while
 * someone has read it in the last 10 minutes (a first reader waits for
 * the next round, its connection suspended); the serving thread only
 * copies the last page out, so a request during a reload, or during a
 * slow round, is answered at once with the page it has. */
#ifndef BPFPUSH_STATUS_PAGE_H
#define BPFPUSH_STATUS_PAGE_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/sample.h"

struct status_page;

/* Also starts agent/offlog.h's tap. NULL on ENOMEM. */
struct status_page *status_page_create(void);

/* On the thread that owns the registry, every round. */
void status_page_publish(struct status_page *p, const struct sample *samples, size_t n,
			 int64_t round_ts_ms);

/* On MHD's thread: the answer to GET (or HEAD) /. */
enum MHD_Result status_page_serve(struct status_page *p, struct MHD_Connection *conn);

/* Before MHD stops: the waiting requests get a 503 (MHD must not be
 * stopped with a connection suspended). */
void status_page_stop(struct status_page *p);
void status_page_free(struct status_page *p);

#endif
