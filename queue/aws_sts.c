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
#include "queue/cred_request.h"

#define DURATION_S 900          /* the AWS SDK's stscreds.DefaultDuration */
#define EXPIRY_MARGIN_MS 60000

struct aws_sts {
	const struct remote_write_config *cfg;
	char *log_name;
	pthread_mutex_t mu;          /* everything below */
	struct cred_request req;
	struct curl_slist *headers;
	struct aws_creds role;       /* access_key NULL: none yet */
	int64_t refresh_at_ms;       /* mono */
};

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
	CURL *c = s->req.curl;

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
	if (!(s->log_name = strdup(log_name ? log_name : "")) ||
	    cred_request_init(&s->req, s->log_name, "remote_write: sts AssumeRole failed, "
			      "batches wait and are retried",
			      "remote_write: sts AssumeRole succeeded again") < 0 ||
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
	cred_request_cleanup(&s->req);
	curl_slist_free_all(s->headers);
	aws_creds_free(&s->role);
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
		code = element(s->req.answer, "Code");
		if (code && plain_word(code) && strlen(code) < 64)
			snprintf(what, sizeof(what), "(%s)", code);
		failed(why, why_size, status, what);
		goto out;
	}
	c.access_key = element(s->req.answer, "AccessKeyId");
	c.secret_key = element(s->req.answer, "SecretAccessKey");
	c.session_token = element(s->req.answer, "SessionToken");
	exp = element(s->req.answer, "Expiration");
	if (s->req.answer_cut || !c.access_key || !c.secret_key || !c.session_token || !exp ||
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
	explicit_bzero(s->req.answer, s->req.answer_len);
	s->req.answer_len = 0;
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
	curl_easy_setopt(s->req.curl, CURLOPT_HTTPHEADER, *extra ? *extra : s->headers);
	curl_easy_setopt(s->req.curl, CURLOPT_USERPWD, userpwd);
	rc = 0;
out:
	config_free_secret(token);
	config_free_secret(userpwd);
	return rc;
}

static int assume_role(struct aws_sts *s, char *why, size_t why_size)
{
	struct aws_creds base;
	struct curl_slist *extra = NULL;
	char *form = NULL;
	const char *what;
	long status = 0;
	int rc = -1;

	if (aws_creds_resolve(&s->cfg->sigv4, &base, why, why_size) < 0)
		return -1;
	if (!(form = assume_role_form(s->req.curl, s->cfg->sigv4.role_arn)) ||
	    sign_with(s, &base, &extra) < 0)
		failed(why, why_size, 0, "out of memory");
	else if (cred_request_post(&s->req, s->cfg->remote_timeout_ms, form, strlen(form), &status,
				   &what) < 0)
		failed(why, why_size, 0, what);
	else
		rc = read_answer(s, status, why, why_size);
	curl_easy_setopt(s->req.curl, CURLOPT_USERPWD, NULL);
	curl_easy_setopt(s->req.curl, CURLOPT_HTTPHEADER, s->headers);
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
		cred_request_begin(&s->req, abort_at_ms);
		rc = assume_role(s, why, why_size);
		cred_request_end(&s->req, rc, why);
	}
	if (rc == 0 && copy_creds(&s->role, out) < 0) {
		snprintf(why, why_size, "out of memory");
		rc = -1;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}
