/* SPDX-License-Identifier: MIT */
/* The token of an endpoint's oauth2 block, fetched with its own libcurl
 * handle (its own connection to the token endpoint) under one mutex, so
 * that the shards wanting a token at once wait for one request rather
 * than each making its own (see oauth2.h). */
#include "queue/oauth2.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "queue/cred_request.h"
#include "queue/token_response.h"

#define EXPIRY_MARGIN_MS 10000 /* golang.org/x/oauth2's expiryDelta */

/* How the client id and secret go to the token endpoint; unknown until
 * one way worked (golang.org/x/oauth2's AuthStyleAutoDetect). */
enum auth_style { STYLE_UNKNOWN, STYLE_HEADER, STYLE_PARAMS };

struct oauth2 {
	const struct remote_write_config *cfg;
	char *log_name;
	pthread_mutex_t mu;           /* everything below */
	struct cred_request req;
	struct curl_slist *headers;
	enum auth_style style;
	char *line;                   /* "Authorization: <type> <token>" */
	uint64_t gen;                 /* of line; 0: none yet */
	int64_t refresh_at_ms;        /* mono: fetch again from then on */
	_Atomic uint64_t fetches;     /* token requests finished */
	char content_type[128];       /* of the answer */
};

static size_t on_header(char *data, size_t size, size_t nitems, void *ud)
{
	static const char name[] = "content-type:";
	struct oauth2 *o = ud;
	size_t len = size * nitems, n;
	const char *v = data + sizeof(name) - 1;

	if (len < sizeof(name) - 1 || strncasecmp(data, name, sizeof(name) - 1) != 0)
		return len;
	n = len - (sizeof(name) - 1);
	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= sizeof(o->content_type))
		n = sizeof(o->content_type) - 1;
	memcpy(o->content_type, v, n);
	o->content_type[n] = '\0';
	return len;
}

/* The oauth2 block's own tls_config and proxy keys (Prometheus'): none
 * set, the system's CAs and no proxy (not the environment's either). */
static void set_connection(struct oauth2 *o)
{
	const struct tls_config *t = &o->cfg->oauth2.tls;
	const struct proxy_config *p = &o->cfg->oauth2.proxy;
	CURL *c = o->req.curl;

	if (t->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, t->ca_file);
	if (t->cert_file)
		curl_easy_setopt(c, CURLOPT_SSLCERT, t->cert_file);
	if (t->key_file)
		curl_easy_setopt(c, CURLOPT_SSLKEY, t->key_file);
	if (t->insecure_skip_verify) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (p->from_environment)
		return;
	curl_easy_setopt(c, CURLOPT_PROXY, p->url ? p->url : "");
	if (p->no_proxy)
		curl_easy_setopt(c, CURLOPT_NOPROXY, p->no_proxy);
}

static int set_options(struct oauth2 *o)
{
	CURL *c = o->req.curl;

	if (!(o->headers = curl_slist_append(NULL, "Content-Type: "
					     "application/x-www-form-urlencoded")) ||
	    !curl_slist_append(o->headers, "User-Agent: bpfpush/" BPFPUSH_VERSION) ||
	    !curl_slist_append(o->headers, "Expect:"))
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, o->cfg->oauth2.token_url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, o->headers);
	set_connection(o);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, o);
	return 0;
}

struct oauth2 *oauth2_create(const struct remote_write_config *cfg, const char *log_name)
{
	struct oauth2 *o = calloc(1, sizeof(*o));

	if (!o || pthread_mutex_init(&o->mu, NULL)) {
		free(o);
		log_msg(LOG_ERROR, "remote_write: cannot set up the oauth2 client", NULL);
		return NULL;
	}
	o->cfg = cfg;
	atomic_init(&o->fetches, 0);
	if (!(o->log_name = strdup(log_name ? log_name : "")) ||
	    cred_request_init(&o->req, o->log_name, "remote_write: oauth2 token request failed, "
			      "batches wait and are retried",
			      "remote_write: oauth2 token obtained again") < 0 ||
	    set_options(o) < 0) {
		log_msg(LOG_ERROR, "remote_write: cannot set up the oauth2 client", NULL);
		oauth2_destroy(o);
		return NULL;
	}
	return o;
}

void oauth2_destroy(struct oauth2 *o)
{
	if (!o)
		return;
	cred_request_cleanup(&o->req);
	curl_slist_free_all(o->headers);
	config_free_secret(o->line);
	pthread_mutex_destroy(&o->mu);
	free(o->log_name);
	free(o);
}

/* ---- the request ------------------------------------------------------ */

struct param {
	const char *key, *value;
};

/* url.Values.Set: one value per key, the last set wins. */
static void set_param(struct param *p, size_t *n, const char *key, const char *value)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(p[i].key, key)) {
			p[i].value = value;
			return;
		}
	p[(*n)++] = (struct param){key, value};
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct param *)a)->key, ((const struct param *)b)->key);
}

/* url.QueryEscape: unreserved bytes as they are, ' ' as '+', the rest %XX. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-_.~", ch))
			fputc(ch, f);
		else if (ch == ' ')
			fputc('+', f);
		else
			fprintf(f, "%%%02X", ch);
	}
}

/* The scopes joined by spaces (RFC 6749 3.3); NULL when there are none. */
static char *join_scopes(const struct oauth2_config *oc)
{
	size_t len = 1;
	char *s;

	if (!oc->n_scopes)
		return NULL;
	for (size_t i = 0; i < oc->n_scopes; i++)
		len += strlen(oc->scopes[i]) + 1;
	if (!(s = calloc(1, len)))
		return NULL;
	for (size_t i = 0; i < oc->n_scopes; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, oc->scopes[i]);
	}
	return s;
}

/* The form, keys sorted as url.Values.Encode sorts them; in the params
 * style it holds the secret (the caller wipes it). */
static char *build_form(const struct oauth2_config *oc, const char *scope, const char *secret,
			enum auth_style style, size_t *len)
{
	struct param *p = calloc(oc->n_endpoint_params + 4, sizeof(*p));
	char *text = NULL;
	size_t n = 0;
	FILE *f;

	if (!p)
		return NULL;
	set_param(p, &n, "grant_type", "client_credentials");
	if (scope)
		set_param(p, &n, "scope", scope);
	for (size_t i = 0; i < oc->n_endpoint_params; i++)
		set_param(p, &n, oc->endpoint_params[i].key, oc->endpoint_params[i].value);
	if (style == STYLE_PARAMS) {
		set_param(p, &n, "client_id", oc->client_id);
		if (*secret)
			set_param(p, &n, "client_secret", secret);
	}
	qsort(p, n, sizeof(*p), by_key);
	if ((f = open_memstream(&text, len))) {
		for (size_t i = 0; i < n; i++) {
			fputs(i ? "&" : "", f);
			put_escaped(f, p[i].key);
			fputc('=', f);
			put_escaped(f, p[i].value);
		}
		if (fclose(f) != 0) {
			free(text);
			text = NULL;
		}
	}
	free(p);
	return text;
}

/* The client id and secret for the Basic header, each form-escaped
 * (golang.org/x/oauth2 does so; RFC 6749 2.3.1). */
static char *escaped(const char *s)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	put_escaped(f, s);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* The secret (inline, or read from client_secret_file now); "" when
 * neither is set. */
static char *client_secret(const struct oauth2_config *oc, char *why, size_t why_size)
{
	char *secret, reason[200];

	if (!oc->client_secret_file)
		return strdup(oc->client_secret ? oc->client_secret : "");
	if (config_read_secret(oc->client_secret_file, &secret, reason, sizeof(reason)) < 0) {
		snprintf(why, why_size, "oauth2 client_secret_file: %s", reason);
		return NULL;
	}
	return secret;
}

/* The client id and secret: in a Basic header, or (params) not at all. */
static int set_client_auth(struct oauth2 *o, const char *secret, enum auth_style style)
{
	char *id, *sec;

	curl_easy_setopt(o->req.curl, CURLOPT_USERNAME, NULL);
	curl_easy_setopt(o->req.curl, CURLOPT_PASSWORD, NULL);
	if (style != STYLE_HEADER)
		return 0;
	id = escaped(o->cfg->oauth2.client_id);
	sec = escaped(secret);
	if (id && sec) {
		curl_easy_setopt(o->req.curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(o->req.curl, CURLOPT_USERNAME, id);
		curl_easy_setopt(o->req.curl, CURLOPT_PASSWORD, sec); /* libcurl copies */
	}
	free(id);
	config_free_secret(sec);
	return id && sec ? 0 : -1;
}

/* "... to <token_url, userinfo masked>: <what>", for why. */
static void request_failed(const struct oauth2 *o, char *why, size_t why_size, const char *what)
{
	char url[256];

	config_mask_url(o->cfg->oauth2.token_url, url, sizeof(url));
	snprintf(why, why_size, "oauth2 token request to %s: %s", url, what);
}

/* What came back: 0 with t filled from a 2xx, else -1 with why (the
 * status and the RFC 6749 error code, never the body). */
static int read_answer(struct oauth2 *o, long status, struct token_response *t, char *why,
		       size_t why_size)
{
	char what[160], reason[128];
	int rc;

	rc = o->req.answer_cut ? -1
			       : token_response_parse(o->req.answer, o->req.answer_len, o->content_type,
						      t, reason, sizeof(reason));
	if (o->req.answer_cut)
		snprintf(reason, sizeof(reason), "the answer is over %d bytes", CRED_ANSWER_MAX);
	explicit_bzero(o->req.answer, o->req.answer_len);
	o->req.answer_len = 0;
	if (status >= 200 && status < 300 && rc == 0)
		return 0;
	if (status >= 200 && status < 300)
		snprintf(what, sizeof(what), "HTTP %ld: %s", status, reason);
	else
		snprintf(what, sizeof(what), "HTTP %ld%s%s%s", status, t->error[0] ? " (" : "",
			 t->error, t->error[0] ? ")" : "");
	request_failed(o, why, why_size, what);
	token_response_free(t);
	return -1;
}

/* One token request in one auth style; *status 0 when none came back. */
static int request_token(struct oauth2 *o, const char *secret, const char *scope,
			 enum auth_style style, struct token_response *t, long *status,
			 char *why, size_t why_size)
{
	size_t len = 0;
	char *form = build_form(&o->cfg->oauth2, scope, secret, style, &len);
	const char *what;
	int rc = -1;

	*status = 0;
	memset(t, 0, sizeof(*t));
	o->content_type[0] = '\0'; /* of this answer (on_header) */
	if (!form || set_client_auth(o, secret, style) < 0)
		request_failed(o, why, why_size, "out of memory");
	else if (cred_request_post(&o->req, o->cfg->remote_timeout_ms, form, len, status,
				   &what) < 0)
		request_failed(o, why, why_size, what);
	else
		rc = read_answer(o, *status, t, why, why_size);
	curl_easy_setopt(o->req.curl, CURLOPT_PASSWORD, NULL);
	if (form)
		explicit_bzero(form, len);
	free(form);
	return rc;
}

/* ---- the cache ---------------------------------------------------------- */

/* oauth2.Token.Type(): the usual ones in their usual case, "" Bearer. */
static const char *token_type(const char *type)
{
	static const char *const known[] = {"Bearer", "MAC", "Basic"};

	if (!type || !*type)
		return "Bearer";
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcasecmp(type, known[i]))
			return known[i];
	return type;
}

/* Visible ASCII only: what can go in a header line as one word. */
static bool header_word(const char *s)
{
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

static int install(struct oauth2 *o, const struct token_response *t, char *why, size_t why_size)
{
	const char *type = token_type(t->token_type);
	int64_t life_ms = t->expires_in * 1000, margin = EXPIRY_MARGIN_MS;
	char *line;

	if (!header_word(type) || !header_word(t->access_token)) {
		request_failed(o, why, why_size, "the token or its type cannot go in a header");
		return -1;
	}
	if (asprintf(&line, "Authorization: %s %s", type, t->access_token) < 0) {
		request_failed(o, why, why_size, "out of memory");
		return -1;
	}
	config_free_secret(o->line);
	o->line = line;
	o->gen++;
	if (margin > life_ms / 2)
		margin = life_ms / 2; /* a short-lived token is still used a while */
	o->refresh_at_ms = t->expires_in > 0 ? mono_ms() + life_ms - margin : INT64_MAX;
	log_msg(LOG_DEBUG, "remote_write: oauth2 token obtained", "remote_name=%s expires_in=%lld",
		o->log_name, (long long)t->expires_in);
	return 0;
}

/* Header style first; when the server answers that with a refusal, the
 * params style (golang.org/x/oauth2's auto-detection). No second try for
 * an unreachable server: it would only double the wait. */
static int fetch_token(struct oauth2 *o, char *why, size_t why_size)
{
	enum auth_style style = o->style == STYLE_UNKNOWN ? STYLE_HEADER : o->style;
	char *secret = client_secret(&o->cfg->oauth2, why, why_size), *scope = NULL;
	struct token_response t;
	long status = 0;
	int rc = -1;

	if (!secret)
		return -1;
	scope = join_scopes(&o->cfg->oauth2);
	if (o->cfg->oauth2.n_scopes && !scope) {
		request_failed(o, why, why_size, "out of memory");
		goto out;
	}
	rc = request_token(o, secret, scope, style, &t, &status, why, why_size);
	if (rc < 0 && status != 0 && o->style == STYLE_UNKNOWN) {
		style = STYLE_PARAMS;
		rc = request_token(o, secret, scope, style, &t, &status, why, why_size);
	}
	if (rc == 0 && o->style == STYLE_UNKNOWN)
		o->style = style;
	if (rc == 0)
		rc = install(o, &t, why, why_size);
	token_response_free(&t);
out:
	free(scope);
	config_free_secret(secret);
	return rc;
}

/* A fetch that failed while this caller waited for the lock is its
 * answer too: the shards do not queue up one request each. */
static int refresh(struct oauth2 *o, uint64_t seen, const _Atomic int64_t *abort_at_ms,
		   char *why, size_t why_size)
{
	int rc;

	if (o->req.last_failed && atomic_load(&o->fetches) != seen) {
		snprintf(why, why_size, "%s", o->req.last_error);
		return -1;
	}
	cred_request_begin(&o->req, abort_at_ms);
	rc = fetch_token(o, why, why_size);
	atomic_fetch_add(&o->fetches, 1);
	cred_request_end(&o->req, rc, why);
	return rc;
}

int oauth2_authorization(struct oauth2 *o, uint64_t *gen, char **line,
			 const _Atomic int64_t *abort_at_ms, char *why, size_t why_size)
{
	uint64_t seen = atomic_load(&o->fetches);
	int rc = 0;

	pthread_mutex_lock(&o->mu);
	if (!o->line || mono_ms() >= o->refresh_at_ms)
		rc = refresh(o, seen, abort_at_ms, why, why_size);
	if (rc == 0 && *gen != o->gen) {
		if ((*line = strdup(o->line))) {
			*gen = o->gen;
			rc = 1;
		} else {
			snprintf(why, why_size, "out of memory");
			rc = -1;
		}
	}
	pthread_mutex_unlock(&o->mu);
	return rc;
}

void oauth2_expire(struct oauth2 *o, uint64_t gen)
{
	pthread_mutex_lock(&o->mu);
	if (gen == o->gen)
		o->refresh_at_ms = INT64_MIN;
	pthread_mutex_unlock(&o->mu);
}
