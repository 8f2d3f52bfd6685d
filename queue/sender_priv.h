/* SPDX-License-Identifier: MIT */
/* sender's inside, shared by its two files: sender.c (the handle, the
 * request, the connection's life) and sender_auth.c (the credentials read
 * before each request: password and bearer files, OAuth2 tokens, SigV4
 * keys). Nothing outside queue/sender*.c includes it. */
#ifndef BPFPUSH_SENDER_PRIV_H
#define BPFPUSH_SENDER_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "config/config.h"
#include "queue/sender.h"
#include "queue/tls_files.h"

/* Go's http.Client stops after 10 redirects, and so does Prometheus. */
#define MAX_REDIRECTS 10L

struct sender {
	const struct remote_write_config *cfg;
	CURL *curl;
	CURLM *multi;                  /* owns the connection cache; see perform() */
	struct curl_slist *headers;    /* protocol + user (+ Host, Authorization) */
	struct curl_slist *connect_to; /* tls.server_name: where to really connect */
	char *url;                     /* cfg->url, or with its host = server_name */
	char *host_header;             /* "Host: ..." when the URL was rewritten */
	char *auth_header;             /* the Authorization line in headers */
	char *amz_token_header;        /* sigv4's X-Amz-Security-Token line, if any */
	char *password;                /* the last good one from password_file */
	struct oauth2 *oauth2;         /* the endpoint's token, shared; or NULL */
	struct aws_sts *sts;           /* sigv4.role_arn's credentials, or NULL */
	uint64_t token_gen;            /* of the token in auth_header */
	bool secret_bad_logged;        /* "holds a control character" said */
	bool v2;                       /* the headers say Remote Write 2.0 */
	char errbuf[CURL_ERROR_SIZE];
	uint64_t connections;
	int64_t conn_requests;         /* requests made on the current connection */
	int64_t conn_opened_ms;
	bool kept;                     /* the last request left its connection open */
	bool fresh;                    /* this request must open a new one */
	struct tls_files tls_files;    /* as the connection was opened with them */
	_Atomic int64_t abort_at_ms;
};

/* The protocol, user, Host and Authorization lines into s->headers. 0 or -1. */
int sender_build_headers(struct sender *s);
/* "Authorization: TYPE CREDENTIALS" (type Bearer when unset), malloc'd; NULL on ENOMEM. */
char *sender_auth_line(const struct authorization *a, const char *credentials);
/* Before each request: the secrets read again where they come from files
 * or token endpoints, the headers rebuilt when one changed. 0, or -1 with
 * out->error set (the request is not made). */
int sender_load_credentials(struct sender *s, struct send_outcome *out);

#endif
