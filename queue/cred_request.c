/* SPDX-License-Identifier: MIT */
/* cred_request: see cred_request.h. */
#include "queue/cred_request.h"

#include <stdio.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/log.h"

static size_t on_answer(char *data, size_t size, size_t nmemb, void *ud)
{
	struct cred_request *r = ud;
	size_t len = size * nmemb, room = CRED_ANSWER_MAX - r->answer_len;

	if (len > room) {
		r->answer_cut = true;
		len = room;
	}
	memcpy(r->answer + r->answer_len, data, len);
	r->answer_len += len;
	r->answer[r->answer_len] = '\0';
	return size * nmemb;
}

/* Ends the request once the caller's stop deadline has passed. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	const struct cred_request *r = ud;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return r->abort_at_ms && mono_ms() >= atomic_load(r->abort_at_ms);
}

int cred_request_init(struct cred_request *r, const char *log_name, const char *failed_msg,
		      const char *again_msg)
{
	CURL *c = curl_easy_init();

	r->log_name = log_name;
	r->failed_msg = failed_msg;
	r->again_msg = again_msg;
	if (!(r->curl = c))
		return -1;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	return 0;
}

void cred_request_cleanup(struct cred_request *r)
{
	curl_easy_cleanup(r->curl);
	r->curl = NULL;
	explicit_bzero(r->answer, sizeof(r->answer));
}

void cred_request_begin(struct cred_request *r, const _Atomic int64_t *abort_at_ms)
{
	r->abort_at_ms = abort_at_ms;
	r->stopped_by_deadline = false;
}

/* timeout_ms cut to the stop deadline (*cut then true); -1 once that has
 * passed. */
static long cut_timeout(const struct cred_request *r, int64_t timeout_ms, bool *cut)
{
	int64_t t = timeout_ms > 0 ? timeout_ms : 0;
	int64_t abort_at = r->abort_at_ms ? atomic_load(r->abort_at_ms) : INT64_MAX, now = mono_ms();

	*cut = abort_at != INT64_MAX && (now >= abort_at || t == 0 || abort_at - now < t);
	if (abort_at != INT64_MAX && now >= abort_at)
		return -1;
	if (*cut)
		t = abort_at - now;
	return t > 0x7fffffff ? 0x7fffffffL : (long)t;
}

int cred_request_post(struct cred_request *r, int64_t timeout_ms, const char *form, size_t len,
		      long *status, const char **what)
{
	bool cut;
	long timeout = cut_timeout(r, timeout_ms, &cut);
	CURLcode rc;

	if ((r->stopped_by_deadline = timeout < 0)) {
		*what = "stop deadline passed";
		return -1;
	}
	r->answer_len = 0;
	r->answer[0] = '\0';
	r->answer_cut = false;
	r->errbuf[0] = '\0';
	curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, form);
	rc = curl_easy_perform(r->curl);
	curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, NULL);
	if (rc != CURLE_OK) {
		r->stopped_by_deadline = rc == CURLE_ABORTED_BY_CALLBACK ||
					 (cut && rc == CURLE_OPERATION_TIMEDOUT);
		*what = r->stopped_by_deadline ? "aborted at the stop deadline"
			: r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
		return -1;
	}
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

void cred_request_end(struct cred_request *r, int rc, const char *why)
{
	r->abort_at_ms = NULL;
	if (rc < 0 && r->stopped_by_deadline)
		return; /* cut short by the agent's stop, not refused */
	if (rc == 0 && r->last_failed)
		log_msg(LOG_INFO, r->again_msg, "remote_name=%s", r->log_name);
	if (rc == 0) {
		r->last_failed = false;
		r->last_error[0] = '\0';
		return;
	}
	if (!r->last_failed || strcmp(r->last_error, why) != 0)
		log_msg(LOG_WARN, r->failed_msg, "remote_name=%s err=\"%s\"", r->log_name, why);
	r->last_failed = true;
	snprintf(r->last_error, sizeof(r->last_error), "%s", why);
}
