/* SPDX-License-Identifier: MIT */
/* STS AssumeRole for sigv4.role_arn (see aws_sts.h): one libcurl handle
 * and one set of role credentials per endpoint, under one mutex, so the
 * shards share one AssumeRole call per lifetime. The answer is STS's XML;
 * the four values needed are plain text elements, read by name. */
#include "queue/aws_sts.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "lib/clock.h"
#include "lib/log.h"

#define ANSWER_MAX (64 * 1024)
#define DURATION_S 900          /* the AWS SDK's stscreds.DefaultDuration */
#define EXPIRY_MARGIN_MS 60000

struct aws_sts {
	const struct remote_write_config *cfg;
	char *log_name;
	pthread_mutex_t mu;          /* everything below */
	CURL *curl;
	struct curl_slist *headers;
	struct aws_creds role;       /* access_key NULL: none yet */
	int64_t refresh_at_ms;       /* mono */
	bool last_failed;
	char last_error[256];
	const _Atomic int64_t *abort_at_ms;
	bool stopped_by_deadline;   /* the last request was cut by the stop */
	char answer[ANSWER_MAX + 1];
	size_t answer_len;
	bool answer_cut;
	char errbuf[CURL_ERROR_SIZE];
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct aws_sts *s = ud;
	size_t len = size * nmemb, room = ANSWER_MAX - s->answer_len;

	if (len > room) {
		s->answer_cut = true;
		len = room;
	}
	memcpy(s->answer + s->answer_len, data, len);
	s->answer_len += len;
	s->answer[s->answer_len] = '\0';
	return size * nmemb;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct aws_sts *s = ud;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return s->abort_at_ms && mono_ms() >= atomic_load(s->abort_at_ms);
}

/* AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, or the regional endpoint. */
static char *sts_url(const char *region)
{
	const char *v = getenv("AWS_ENDPOINT_URL_STS");
	char *url;

	if (!v || !*v)
		v = getenv("AWS_ENDPOINT_URL");
	if (v && *v)
		return strdup(v);
	if (asprintf(&url, "https://sts.%s.amazonaws.com/", region) < 0)
		return NULL;
	return url;
}

/* No "Expect:" header: libcurl (7.88) would sign it and then leave it
 * out (see sender.c); the form is far under the size that asks for
 * 100-continue. */
static int set_options(struct aws_sts *s)
{
	char provider[128], *url = sts_url(s->cfg->sigv4.region);
	CURL *c = s->curl;

	if (!url || !(s->headers = curl_slist_append(NULL, "Content-Type: "
					"application/x-www-form-urlencoded; charset=utf-8")) ||
	    !curl_slist_append(s->headers, "User-Agent: bpfpush/" BPFPUSH_VERSION)) {
		free(url);
		return -1;
	}
	snprintf(provider, sizeof(provider), "aws:amz:%s:sts", s->cfg->sigv4.region);
	curl_easy_setopt(c, CURLOPT_URL, url); /* libcurl copies */
	free(url);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, provider);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	return 0;
}

struct aws_sts *aws_sts_create(const struct remote_write_config *cfg, const char *log_name)
{
	struct aws_sts *s = calloc(1, sizeof(*s));

	if (!s || pthread_mutex_init(&s->mu, NULL)) {
		free(s);
		log_msg(LOG_ERROR, "remote_write: cannot set up the STS client", NULL);
		return NULL;
	}
	s->cfg = cfg;
	if (!(s->log_name = strdup(log_name ? log_name : "")) || !(s->curl = curl_easy_init()) ||
	    set_options(s) < 0) {
		log_msg(LOG_ERROR, "remote_write: cannot set up the STS client", NULL);
		aws_sts_destroy(s);
		return NULL;
	}
	return s;
}

void aws_sts_destroy(struct aws_sts *s)
{
	if (!s)
		return;
	curl_easy_cleanup(s->curl);
	curl_slist_free_all(s->headers);
	aws_creds_free(&s->role);
	explicit_bzero(s->answer, sizeof(s->answer));
	pthread_mutex_destroy(&s->mu);
	free(s->log_name);
	free(s);
}

/* ---- the answer -------------------------------------------------------- */

/* The text of the first <name>...</name> in xml, the five predefined
 * entities decoded; NULL when absent (or out of memory). */
static char *element(const char *xml, const char *name)
{
	static const char *const ents[][2] = {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"},
					      {"&quot;", "\""}, {"&apos;", "'"}};
	char open[64], close[64], *out;
	const char *p, *end;
	size_t n = 0;

	snprintf(open, sizeof(open), "<%s>", name);
	snprintf(close, sizeof(close), "</%s>", name);
	if (!(p = strstr(xml, open)) || !(end = strstr(p += strlen(open), close)) ||
	    !(out = malloc((size_t)(end - p) + 1)))
		return NULL;
	while (p < end) {
		size_t i, k = sizeof(ents) / sizeof(ents[0]);

		for (i = 0; *p == '&' && i < k; i++)
			if (!strncmp(p, ents[i][0], strlen(ents[i][0])))
				break;
		if (*p == '&' && i < k) {
			out[n++] = ents[i][1][0];
			p += strlen(ents[i][0]);
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	return out;
}

/* ISO 8601 in UTC ("2026-01-02T03:04:05Z", fractions allowed) -> the
 * CLOCK_MONOTONIC millisecond to assume the role again at. */
static int refresh_time(const char *expiration, int64_t *at_ms)
{
	struct tm tm = {0};
	const char *rest = strptime(expiration, "%Y-%m-%dT%H:%M:%S", &tm);
	int64_t life_ms, margin = EXPIRY_MARGIN_MS;

	if (!rest)
		return -1;
	life_ms = ((int64_t)timegm(&tm) - (int64_t)time(NULL)) * 1000;
	if (margin > life_ms / 2)
		margin = life_ms / 2;
	*at_ms = mono_ms() + life_ms - margin;
	return 0;
}

static bool plain_word(const char *s)
{
	return *s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
		     == strlen(s);
}

static void failed(char *why, size_t why_size, long status, const char *what)
{
	snprintf(why, why_size, "sts AssumeRole: %s%.0ld%s%s", status ? "HTTP " : "",
		 status, status && what[0] ? " " : "", what);
}

/* The role's credentials from a 2xx answer, or -1 with why (the status and
 * STS's error code). */
static int read_answer(struct aws_sts *s, long status, char *why, size_t why_size)
{
	char *code = NULL, *exp = NULL, what[96] = "";
	struct aws_creds c = {0};
	int rc = -1;

	if (status < 200 || status > 299) {
		code = element(s->answer, "Code");
		if (code && plain_word(code) && strlen(code) < 64)
			snprintf(what, sizeof(what), "(%s)", code);
		failed(why, why_size, status, what);
		goto out;
	}
	c.access_key = element(s->answer, "AccessKeyId");
	c.secret_key = element(s->answer, "SecretAccessKey");
	c.session_token = element(s->answer, "SessionToken");
	exp = element(s->answer, "Expiration");
	if (s->answer_cut || !c.access_key || !c.secret_key || !c.session_token || !exp ||
	    refresh_time(exp, &s->refresh_at_ms) < 0 || strchr(c.access_key, ':')) {
		failed(why, why_size, status, "(the answer holds no usable Credentials)");
		goto out;
	}
	aws_creds_free(&s->role);
	s->role = c;
	memset(&c, 0, sizeof(c));
	rc = 0;
out:
	aws_creds_free(&c);
	free(code);
	free(exp);
	explicit_bzero(s->answer, s->answer_len);
	s->answer_len = 0;
	return rc;
}

/* ---- the request ------------------------------------------------------- */

static char *assume_role_form(CURL *c, const char *role_arn)
{
	struct timespec ts;
	char *arn = curl_easy_escape(c, role_arn, 0), *form = NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (arn && asprintf(&form, "Action=AssumeRole&DurationSeconds=%d&RoleArn=%s&"
			    "RoleSessionName=%lld%09ld&Version=2011-06-15", DURATION_S, arn,
			    (long long)ts.tv_sec, (long)ts.tv_nsec) < 0)
		form = NULL;
	curl_free(arn);
	return form;
}

/* The base credentials sign the request (the session token is a header
 * libcurl signs with the rest). */
static int sign_with(struct aws_sts *s, const struct aws_creds *base, struct curl_slist **extra)
{
	char *userpwd = NULL, *token = NULL;
	int rc = -1;

	if (asprintf(&userpwd, "%s:%s", base->access_key, base->secret_key) < 0)
		return -1;
	*extra = NULL;
	if (base->session_token &&
	    (asprintf(&token, "X-Amz-Security-Token: %s", base->session_token) < 0 ||
	     !(*extra = curl_slist_append(NULL, token))))
		goto out;
	/* The list ends in the fixed headers (not freed with extra's head). */
	if (*extra)
		(*extra)->next = s->headers;
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, *extra ? *extra : s->headers);
	curl_easy_setopt(s->curl, CURLOPT_USERPWD, userpwd);
	rc = 0;
out:
	config_free_secret(token);
	config_free_secret(userpwd);
	return rc;
}

/* remote_timeout, cut to the stop deadline (*cut then true); -1 when that
 * has passed. */
static long timeout_ms(const struct aws_sts *s, bool *cut)
{
	int64_t t = s->cfg->remote_timeout_ms > 0 ? s->cfg->remote_timeout_ms : 0;
	int64_t abort_at = s->abort_at_ms ? atomic_load(s->abort_at_ms) : INT64_MAX, now = mono_ms();

	*cut = abort_at != INT64_MAX && (now >= abort_at || t == 0 || abort_at - now < t);
	if (abort_at != INT64_MAX && now >= abort_at)
		return -1;
	if (*cut)
		t = abort_at - now;
	return t > 0x7fffffff ? 0x7fffffffL : (long)t;
}

static int perform(struct aws_sts *s, const char *form, long *status, char *why,
		   size_t why_size)
{
	bool cut;
	long timeout = timeout_ms(s, &cut);
	CURLcode rc;

	s->stopped_by_deadline = timeout < 0;
	if (timeout < 0) {
		failed(why, why_size, 0, "stop deadline passed");
		return -1;
	}
	s->answer_len = 0;
	s->answer[0] = '\0';
	s->answer_cut = false;
	s->errbuf[0] = '\0';
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, form);
	rc = curl_easy_perform(s->curl);
	curl_easy_setopt(s->curl, CURLOPT_USERPWD, NULL);
	if (rc != CURLE_OK) {
		s->stopped_by_deadline = rc == CURLE_ABORTED_BY_CALLBACK ||
					 (cut && rc == CURLE_OPERATION_TIMEDOUT);
		failed(why, why_size, 0, s->stopped_by_deadline
		       ? "aborted at the stop deadline"
		       : s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

static int assume_role(struct aws_sts *s, char *why, size_t why_size)
{
	struct aws_creds base;
	struct curl_slist *extra = NULL;
	char *form = NULL;
	long status = 0;
	int rc = -1;

	if (aws_creds_resolve(&s->cfg->sigv4, &base, why, why_size) < 0)
		return -1;
	if (!(form = assume_role_form(s->curl, s->cfg->sigv4.role_arn)) ||
	    sign_with(s, &base, &extra) < 0)
		failed(why, why_size, 0, "out of memory");
	else if (perform(s, form, &status, why, why_size) == 0)
		rc = read_answer(s, status, why, why_size);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->headers);
	if (extra) {
		extra->next = NULL; /* the fixed headers stay */
		explicit_bzero(extra->data, strlen(extra->data));
		curl_slist_free_all(extra);
	}
	free(form);
	aws_creds_free(&base);
	return rc;
}

/* ---- the cache ---------------------------------------------------------- */

static void note_outcome(struct aws_sts *s, int rc, const char *why)
{
	if (rc == 0 && s->last_failed)
		log_msg(LOG_INFO, "remote_write: sts AssumeRole succeeded again", "remote_name=%s",
			s->log_name);
	if (rc == 0) {
		s->last_failed = false;
		s->last_error[0] = '\0';
		return;
	}
	if (!s->last_failed || strcmp(s->last_error, why) != 0)
		log_msg(LOG_WARN, "remote_write: sts AssumeRole failed, batches wait and are "
			"retried", "remote_name=%s err=\"%s\"", s->log_name, why);
	s->last_failed = true;
	snprintf(s->last_error, sizeof(s->last_error), "%s", why);
}

static int copy_creds(const struct aws_creds *from, struct aws_creds *to)
{
	to->access_key = strdup(from->access_key);
	to->secret_key = strdup(from->secret_key);
	to->session_token = strdup(from->session_token);
	if (to->access_key && to->secret_key && to->session_token)
		return 0;
	aws_creds_free(to);
	return -1;
}

int aws_sts_credentials(struct aws_sts *s, struct aws_creds *out,
			const _Atomic int64_t *abort_at_ms, char *why, size_t why_size)
{
	int rc = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	if (!s->role.access_key || mono_ms() >= s->refresh_at_ms) {
		s->abort_at_ms = abort_at_ms;
		s->stopped_by_deadline = false;
		rc = assume_role(s, why, why_size);
		s->abort_at_ms = NULL;
		/* cut short by the agent's stop, not refused: nothing to say */
		if (!(rc < 0 && s->stopped_by_deadline))
			note_outcome(s, rc, why);
	}
	if (rc == 0 && copy_creds(&s->role, out) < 0) {
		snprintf(why, why_size, "out of memory");
		rc = -1;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}
