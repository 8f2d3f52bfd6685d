/* SPDX-License-Identifier: MIT */
/* oauth2: the access token of one remote_write endpoint with an oauth2
 * block (OAuth2 client credentials, RFC 6749 section 4.4), shared by the
 * endpoint's shards so that one token request serves them all.
 *
 * The token request is what golang.org/x/oauth2's clientcredentials (and
 * so Prometheus) sends: a POST of grant_type=client_credentials, scope
 * (the scopes joined by spaces) and endpoint_params as
 * application/x-www-form-urlencoded, the client id and secret first in a
 * Basic Authorization header (both form-escaped), and when the server
 * refuses that, in the form (client_id, client_secret); the way that
 * worked is kept. The answer is JSON, or a form when the server says so;
 * access_token is required, token_type defaults to Bearer.
 *
 * The token is kept until shortly before expires_in runs out (10 s
 * before, or half its lifetime when that is shorter; a token without
 * expires_in is kept until a receiver answers 401), then fetched again by
 * the first request that needs it. client_secret_file is read before each
 * token request. The token request uses the oauth2 block's own tls_config
 * and proxy keys, as Prometheus does (unset: the system's CAs, no proxy),
 * never the endpoint's; it is not redirected. A failed token request is
 * said once per change of its reason (a WARN line with the token URL,
 * its userinfo masked, and the HTTP status and the RFC 6749 error code);
 * the secret and the token are never logged. */
#ifndef BPFPUSH_OAUTH2_H
#define BPFPUSH_OAUTH2_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct oauth2;

/* NULL on failure (logged). cfg (has_oauth2) must outlive it; log_name
 * names the endpoint in its log lines (copied). */
struct oauth2 *oauth2_create(const struct remote_write_config *cfg, const char *log_name);
void oauth2_destroy(struct oauth2 *o);

/* The Authorization header line ("Authorization: Bearer <token>") for a
 * request, fetching a token when none is valid. *gen is the caller's: the
 * generation of the line it holds (0: none). Returns 0 when that line is
 * still good, 1 with *line a new one (malloc'd, free with
 * config_free_secret) and *gen updated, or -1 with why set (never a
 * secret): no token, the request must not be made. A token request in
 * flight ends once CLOCK_MONOTONIC reaches *abort_at_ms (milliseconds).
 * Thread-safe. */
int oauth2_authorization(struct oauth2 *o, uint64_t *gen, char **line,
			 const _Atomic int64_t *abort_at_ms, char *why, size_t why_size);

/* A receiver refused the token of generation gen (401): the next
 * oauth2_authorization fetches a new one, unless it already did. */
void oauth2_expire(struct oauth2 *o, uint64_t gen);

#endif
