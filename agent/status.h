/* status: the local HTTP endpoint (http.listen_address).
 *   GET /metrics  the last round in the text exposition format (what was
 *                 pushed, self-metrics included), for a person or a scraper
 *   GET /healthz  200 while the agent runs
 *   GET /ready    200 once a round has been collected, 503 before
 * One thread, one request per connection (Connection: close): this is a
 * debugging and probe endpoint, not a scrape target for a fleet. */
#ifndef BPFPUSH_STATUS_H
#define BPFPUSH_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "queue/sample.h"

struct status;

/* Listens on address ("HOST:PORT", "[::1]:PORT" or ":PORT"). NULL on
 * failure (logged). */
struct status *status_start(const char *address);

/* Hands over a copy of the round just collected. Series pointers stay
 * valid: the registry keeps every series until exit. */
void status_publish(struct status *s, const struct sample *samples, size_t n,
		    int64_t round_ts_ms);

void status_stop(struct status *s);

#endif
