/* SPDX-License-Identifier: MIT */
/* One libcurl easy handle (driven through a private multi handle, which
 * holds the connection cache) per shard, so consecutive POSTs reuse one
 * HTTP/1.1 keep-alive connection (docs/design.md, "One connection per shard": a connection per
 * batch caused a TIME_WAIT storm). Recycling after N requests or an age is
 * optional ("When keep-alive pins load to one backend"). */
#include "queue/sender.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "lib/log.h"
#include "queue/oauth2.h"
#include "queue/response.h"
#include "queue/sender_priv.h"
#include "queue/tls_files.h"
#include "lib/clock.h"


static int append_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *l = curl_slist_append(*list, line);

	if (!l)
		return -1;
	*list = l;
	return 0;
}

/* "Name: value"; curl sends an empty value only when written "Name;". */
static int append_user_header(struct curl_slist **list, const struct kv *h)
{
	char *line;
	int rc;

	if (h->value[0] == '\0')
		rc = asprintf(&line, "%s;", h->key);
	else
		rc = asprintf(&line, "%s: %s", h->key, h->value);
	if (rc < 0)
		return -1;
	rc = append_header(list, line);
	free(line);
	return rc;
}

/* (Re)builds the header list; called at create and when a rotated
 * credentials file changes the Authorization line. */
int sender_build_headers(struct sender *s)
{
	/* No 100-continue round trip before each body. Not with sigv4: libcurl
	 * (7.88) signs this header although it removes it from the request, so
	 * no receiver could check the signature; a body over 1 MiB then waits
	 * for a 100 Continue. */
	static const char no_expect[] = "Expect:";
	static const char *const fixed[] = {
		"Content-Encoding: snappy",
		"User-Agent: bpfpush/" BPFPUSH_VERSION,
		no_expect,
	};
	static const char *const v1[] = {"Content-Type: application/x-protobuf",
					 "X-Prometheus-Remote-Write-Version: 0.1.0"};
	static const char *const v2[] = {
		"Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request",
		"X-Prometheus-Remote-Write-Version: 2.0.0"};
	const struct remote_write_config *cfg = s->cfg;
	const char *const *proto = s->v2 ? v2 : v1;
	struct curl_slist *list = NULL;
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!(cfg->has_sigv4 && fixed[i] == no_expect) &&
		    append_header(&list, fixed[i]) < 0)
			goto fail;
	if (append_header(&list, proto[0]) < 0 || append_header(&list, proto[1]) < 0)
		goto fail;
	for (i = 0; i < cfg->n_headers; i++)
		if (append_user_header(&list, &cfg->headers[i]) < 0)
			goto fail;
	if (s->host_header && append_header(&list, s->host_header) < 0)
		goto fail;
	if (s->auth_header && append_header(&list, s->auth_header) < 0)
		goto fail;
	if (s->amz_token_header && append_header(&list, s->amz_token_header) < 0)
		goto fail;
	curl_slist_free_all(s->headers);
	s->headers = list;
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->headers);
	return 0;
fail:
	curl_slist_free_all(list);
	return -1;
}

/* tls.server_name: libcurl has no SNI override, so the URL's host becomes
 * server_name (used for SNI and certificate checks), CONNECT_TO sends the
 * connection to the real host, and a Host header keeps what the URL said,
 * as Prometheus does. */
static int apply_server_name(struct sender *s)
{
	const char *sni = s->cfg->tls.server_name;
	char *scheme = NULL, *host = NULL, *port = NULL, *url = NULL, *line = NULL;
	CURLU *u;
	int rc = -1, explicit_port;

	if (!sni || !*sni)
		return 0;
	u = curl_url();
	if (!u || curl_url_set(u, CURLUPART_URL, s->cfg->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		goto out;
	if (strcasecmp(scheme, "https") != 0) {
		rc = 0; /* no TLS, nothing to name */
		goto out;
	}
	explicit_port = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK;
	curl_free(port);
	port = NULL;
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_HOST, sni, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		goto out;
	if (asprintf(&line, "%s:%s:%s:%s", sni, port, host, port) < 0) {
		line = NULL;
		goto out;
	}
	if (append_header(&s->connect_to, line) < 0 || !(s->url = strdup(url)))
		goto out;
	if (asprintf(&s->host_header, "Host: %s%s%s", host, explicit_port ? ":" : "",
		     explicit_port ? port : "") < 0) {
		s->host_header = NULL;
		goto out;
	}
	curl_easy_setopt(s->curl, CURLOPT_CONNECT_TO, s->connect_to);
	rc = 0;
out:
	free(line);
	curl_free(url);
	curl_free(port);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

static void set_tls(struct sender *s)
{
	const struct tls_config *t = &s->cfg->tls;

	/* libcurl may keep a parsed ca_file for a day (CURLOPT_CA_CACHE_TIMEOUT;
	 * not when built with a CA directory too, as Debian's is); a new
	 * connection after the file changed (tls_files.h) must read it again. */
	if (t->ca_file) {
		curl_easy_setopt(s->curl, CURLOPT_CAINFO, t->ca_file);
		curl_easy_setopt(s->curl, CURLOPT_CA_CACHE_TIMEOUT, 0L);
	}
	/* A resumed TLS session would carry the client certificate it began
	 * with past a rotation: a new connection is a full handshake. */
	if (t->cert_file) {
		curl_easy_setopt(s->curl, CURLOPT_SSLCERT, t->cert_file);
		curl_easy_setopt(s->curl, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	}
	if (t->key_file)
		curl_easy_setopt(s->curl, CURLOPT_SSLKEY, t->key_file);
	if (t->insecure_skip_verify) {
		curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

/* follow_redirects (Prometheus' default: on): 301, 302 and 303 too keep
 * POST and the body (libcurl would turn them into a GET), at most
 * MAX_REDIRECTS hops, only to http(s). Credentials (Authorization, basic
 * auth) go to the URL's own scheme, host and port only: libcurl leaves them
 * out of a request redirected elsewhere (Prometheus would send them). */
static void set_redirects(struct sender *s)
{
	CURL *c = s->curl;

	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, s->cfg->follow_redirects ? 1L : 0L);
	if (!s->cfg->follow_redirects)
		return;
	curl_easy_setopt(c, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, MAX_REDIRECTS);
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
}

/* proxy_url/no_proxy, or the environment when proxy_from_environment.
 * libcurl reads http_proxy & co by itself unless CURLOPT_PROXY is set, so
 * the default (no proxy key) sets it to "": the environment is ignored,
 * as in Prometheus. */
static void set_proxy(struct sender *s)
{
	const struct proxy_config *p = &s->cfg->proxy;

	if (p->from_environment)
		return;
	curl_easy_setopt(s->curl, CURLOPT_PROXY, p->url ? p->url : "");
	if (p->no_proxy)
		curl_easy_setopt(s->curl, CURLOPT_NOPROXY, p->no_proxy);
}

/* libcurl signs each request itself (CURLOPT_AWS_SIGV4, service "aps",
 * as Prometheus does); the key pair is set per request (load_sigv4). */
static void set_sigv4(struct sender *s)
{
	char provider[128];

	if (!s->cfg->has_sigv4)
		return;
	snprintf(provider, sizeof(provider), "aws:amz:%s:aps", s->cfg->sigv4.region);
	curl_easy_setopt(s->curl, CURLOPT_AWS_SIGV4, provider);
}

static void set_options(struct sender *s)
{
	CURL *c = s->curl;

	curl_easy_setopt(c, CURLOPT_URL, s->url ? s->url : s->cfg->url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* sender threads */
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	set_proxy(s);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, response_on_body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, response_on_header);
	set_redirects(s);
	if (s->cfg->has_basic_auth) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME,
				 s->cfg->basic_auth.username ? s->cfg->basic_auth.username : "");
	}
	set_tls(s);
	set_sigv4(s);
}

struct sender *sender_create(const struct remote_write_config *cfg,
			     const struct sender_shared *shared)
{
	struct sender *s = calloc(1, sizeof(*s));

	if (!s || !(s->curl = curl_easy_init()) || !(s->multi = curl_multi_init())) {
		log_msg(LOG_ERROR, "remote_write: cannot create HTTP client", NULL);
		if (s)
			curl_easy_cleanup(s->curl);
		free(s);
		return NULL;
	}
	s->cfg = cfg;
	s->oauth2 = shared ? shared->oauth2 : NULL;
	s->sts = shared ? shared->sts : NULL;
	/* One cached connection: a recycled one is closed, not kept idle. */
	curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, 1L);
	atomic_init(&s->abort_at_ms, INT64_MAX);
	if (cfg->has_authorization && cfg->authorization.credentials &&
	    !(s->auth_header = sender_auth_line(&cfg->authorization, cfg->authorization.credentials)))
		goto fail;
	if (apply_server_name(s) < 0 || sender_build_headers(s) < 0)
		goto fail;
	set_options(s);
	tls_files_init(&s->tls_files, &cfg->tls);
	return s;
fail:
	log_msg(LOG_ERROR, "remote_write: cannot set up HTTP client", NULL);
	sender_destroy(s);
	return NULL;
}

void sender_destroy(struct sender *s)
{
	if (!s)
		return;
	curl_multi_cleanup(s->multi);
	curl_easy_cleanup(s->curl);
	curl_slist_free_all(s->headers);
	curl_slist_free_all(s->connect_to);
	free(s->url);
	free(s->host_header);
	config_free_secret(s->auth_header);
	config_free_secret(s->amz_token_header);
	config_free_secret(s->password);
	free(s);
}

int sender_set_v2(struct sender *s, bool v2)
{
	if (s->v2 == v2)
		return 0;
	s->v2 = v2;
	if (sender_build_headers(s) == 0)
		return 0;
	s->v2 = !v2;
	return -1;
}

void sender_abort_at(struct sender *s, int64_t deadline_ms)
{
	atomic_store_explicit(&s->abort_at_ms, deadline_ms, memory_order_relaxed);
	curl_multi_wakeup(s->multi); /* the poll in perform() re-reads it */
}

uint64_t sender_connections_opened(const struct sender *s)
{
	return s->connections;
}

/* Decides, before a request, whether its connection must be a new one
 * (too old, per connection_config, or the TLS files changed on disk) or
 * the last one (enough requests). */
static long plan_recycling(struct sender *s, int64_t now)
{
	const struct connection_config *c = &s->cfg->connection;
	long fresh = 0, forbid = 0;

	if (s->conn_requests > 0 && c->max_age_ms > 0 &&
	    now - s->conn_opened_ms >= c->max_age_ms)
		fresh = 1;
	if (tls_files_changed(&s->tls_files, &s->cfg->tls))
		fresh = 1;
	if (c->max_requests > 0 && (fresh ? 1 : s->conn_requests + 1) >= c->max_requests)
		forbid = 1;
	curl_easy_setopt(s->curl, CURLOPT_FRESH_CONNECT, fresh);
	curl_easy_setopt(s->curl, CURLOPT_FORBID_REUSE, forbid);
	s->fresh = fresh;
	return forbid;
}

static void count_connection(struct sender *s, int64_t started)
{
	long n = 0;

	if (curl_easy_getinfo(s->curl, CURLINFO_NUM_CONNECTS, &n) != CURLE_OK)
		n = 0;
	if (n > 0) {
		s->connections += (uint64_t)n;
		s->conn_requests = 0;
		s->conn_opened_ms = started;
	}
	s->conn_requests++;
}

static enum send_result classify(const struct sender *s, long status)
{
	if (status >= 200 && status < 300)
		return SEND_OK;
	if (status >= 500 && status < 600)
		return SEND_RETRY;
	if (status == 429)
		return s->cfg->queue.retry_on_http_429 ? SEND_RETRY : SEND_DROP;
	/* The proxy refused our credentials, not the receiver the batch:
	 * retried, as a refused CONNECT (https) is, by Prometheus too. */
	if (status == 407 && (s->cfg->proxy.url || s->cfg->proxy.from_environment))
		return SEND_RETRY;
	return SEND_DROP;
}

/* remote_timeout (0: none), shortened to the stop deadline when one is
 * set; the caller has checked that the deadline is still ahead. */
static long request_timeout_ms(int64_t remote_timeout, int64_t abort_at, int64_t now)
{
	int64_t t = remote_timeout > 0 ? remote_timeout : 0;

	if (abort_at != INT64_MAX && (t == 0 || abort_at - now < t))
		t = abort_at - now;
	return t > 0x7fffffff ? 0x7fffffffL : (long)t;
}

/* curl_easy_perform, but on our own multi handle so that a request in
 * flight ends exactly at the stop deadline: the poll never outlasts it, and
 * sender_abort_at wakes it when the deadline moves. The multi handle keeps
 * the connection between requests. */
static CURLcode perform(struct sender *s)
{
	CURLcode rc = CURLE_OK;
	CURLMcode mc;
	CURLMsg *msg;
	int running = 1, left;

	if (curl_multi_add_handle(s->multi, s->curl) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	for (;;) {
		int64_t abort_at, now, wait;

		mc = curl_multi_perform(s->multi, &running);
		if (mc != CURLM_OK || !running)
			break;
		abort_at = atomic_load_explicit(&s->abort_at_ms, memory_order_relaxed);
		now = mono_ms();
		if (now >= abort_at) {
			snprintf(s->errbuf, sizeof(s->errbuf), "aborted at the stop deadline");
			rc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		wait = abort_at - now < 1000 ? abort_at - now : 1000;
		mc = curl_multi_poll(s->multi, NULL, 0, (int)wait, NULL);
		if (mc != CURLM_OK)
			break;
	}
	if (mc != CURLM_OK) {
		snprintf(s->errbuf, sizeof(s->errbuf), "%s", curl_multi_strerror(mc));
		rc = CURLE_FAILED_INIT;
	}
	while (rc == CURLE_OK && !running && (msg = curl_multi_info_read(s->multi, &left)))
		if (msg->msg == CURLMSG_DONE)
			rc = msg->data.result;
	curl_multi_remove_handle(s->multi, s->curl);
	return rc;
}

static void outcome_reset(struct send_outcome *out)
{
	out->http_status = 0;
	out->retry_after_ms = -1;
	out->samples_written = out->histograms_written = out->exemplars_written = -1;
	out->error[0] = '\0';
	out->curl_code = 0;
	out->reused_connection = false;
	out->body[0] = '\0';
	out->body_len = 0;
	out->body_seen = 0;
	out->headers_done = false;
	out->duration_s = 0;
}

/* A 2xx whose headers all arrived is the receiver's answer, whatever
 * became of its body (cut short, too long: curl closed the connection):
 * the batch is in, and sending it again would only duplicate it. So does
 * Prometheus, which reads the status and discards the body. */
static bool accepted_before_error(long status, const struct send_outcome *out)
{
	if (!out->headers_done || status < 200 || status >= 300)
		return false;
	log_msg(LOG_DEBUG, "remote_write response body not read to its end, the 2xx stands",
		"status=%ld body_bytes=%zu", status, out->body_seen);
	return true;
}

static enum send_result post_once(struct sender *s, const uint8_t *body, size_t len,
				  struct send_outcome *out)
{
	int64_t now = mono_ms(), abort_at;
	double t0 = mono_seconds();
	long timeout, status = 0, last;
	CURLcode rc;

	outcome_reset(out);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, out);
	s->errbuf[0] = '\0';
	if (sender_load_credentials(s, out) < 0)
		return SEND_RETRY;
	abort_at = atomic_load_explicit(&s->abort_at_ms, memory_order_relaxed);
	if (now >= abort_at) {
		snprintf(out->error, sizeof(out->error), "stop deadline passed");
		return SEND_RETRY;
	}
	timeout = request_timeout_ms(s->cfg->remote_timeout_ms, abort_at, now);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, (const char *)body);
	last = plan_recycling(s, now);
	/* Not libcurl's count: when a kept connection turns out dead, libcurl
	 * retries on a new one, and its error text stays the first failure's. */
	out->reused_connection = s->kept && !s->fresh;
	rc = perform(s);
	s->kept = rc == CURLE_OK && !last;
	out->duration_s = mono_seconds() - t0;
	count_connection(s, now);
	if (last)
		s->conn_requests = 0; /* curl closed it: the next one starts afresh */
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK && !accepted_before_error(status, out)) {
		snprintf(out->error, sizeof(out->error), "%s",
			 s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
		out->curl_code = (int)rc;
		return SEND_RETRY;
	}
	out->http_status = status;
	return classify(s, status);
}

/* A 401 with an OAuth2 token: the token is fetched again and the batch
 * sent once more with it (the token may have been revoked or expired
 * early); a second 401 is a refusal like any other 4xx. */
enum send_result sender_post(struct sender *s, const uint8_t *body, size_t len,
			     struct send_outcome *out)
{
	enum send_result r = post_once(s, body, len, out);

	if (r != SEND_DROP || out->http_status != 401 || !s->oauth2)
		return r;
	oauth2_expire(s->oauth2, s->token_gen);
	return post_once(s, body, len, out);
}
