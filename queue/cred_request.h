/* SPDX-License-Identifier: MIT */
/* cred_request: the one HTTP exchange a credential provider (an OAuth2
 * token endpoint, STS AssumeRole) makes beside the batches. A POST whose
 * answer is kept in a bounded buffer; its timeout is remote_timeout cut to
 * the caller's stop deadline, and it is ended once that deadline passes;
 * its failures are logged once per change of their reason, and not at all
 * when the agent's stop cut the request short (that is the stop, not the
 * credential). The caller holds its own lock around begin ... end. */
#ifndef BPFPUSH_CRED_REQUEST_H
#define BPFPUSH_CRED_REQUEST_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRED_ANSWER_MAX (64 * 1024)

struct cred_request {
	CURL *curl;
	const char *log_name;       /* the endpoint's, not owned */
	const char *failed_msg;     /* logged once per change of reason */
	const char *again_msg;      /* logged once it works again */
	const _Atomic int64_t *abort_at_ms; /* of the request in progress */
	bool stopped_by_deadline;   /* the last request was cut by the stop */
	bool last_failed;
	char last_error[256];       /* of the last failure; said once */
	char answer[CRED_ANSWER_MAX + 1];
	size_t answer_len;
	bool answer_cut;            /* longer than CRED_ANSWER_MAX */
	char errbuf[CURL_ERROR_SIZE];
};

/* A curl handle with the options every credential request has (no
 * signals, no redirects, the answer kept, the stop deadline honoured);
 * the caller adds its URL, headers and TLS. 0, or -1 (ENOMEM). */
int cred_request_init(struct cred_request *r, const char *log_name, const char *failed_msg,
		      const char *again_msg);
void cred_request_cleanup(struct cred_request *r);

/* Starts a request (or several, one fetch) bounded by *abort_at_ms (NULL:
 * none). */
void cred_request_begin(struct cred_request *r, const _Atomic int64_t *abort_at_ms);
/* POSTs form (len bytes) with a timeout of timeout_ms (0: none) cut to the
 * stop deadline. 0 with the HTTP status; or -1 with *what, why there was
 * no answer (valid until the next request). */
int cred_request_post(struct cred_request *r, int64_t timeout_ms, const char *form, size_t len,
		      long *status, const char **what);
/* Ends what begin started: rc and why are the fetch's outcome, logged as
 * the header says. */
void cred_request_end(struct cred_request *r, int rc, const char *why);

#endif
