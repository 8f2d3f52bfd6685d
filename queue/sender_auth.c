/* SPDX-License-Identifier: MIT */
/* The credentials a sender reads before each request: password_file and
 * credentials_file read again (a rotation is picked up without a restart,
 * a file caught mid-rotation keeps the last good value), the OAuth2 token
 * and the SigV4 keys from their shared sources. No secret reaches a log
 * line or an error: paths only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "queue/aws_creds.h"
#include "queue/aws_sts.h"
#include "queue/oauth2.h"
#include "queue/sender_priv.h"

char *sender_auth_line(const struct authorization *a, const char *credentials)
{
	char *line;

	if (asprintf(&line, "Authorization: %s %s", a->type ? a->type : "Bearer",
		     credentials) < 0)
		return NULL;
	return line;
}

enum secret_read { SECRET_OK, SECRET_BAD, SECRET_UNREADABLE };

/* SECRET_BAD: the file holds a control character, or cannot be read (gone
 * for a moment while a rotation replaces it, say) and the caller has a
 * last good value (have_last), which it keeps: said once, until the file
 * is good again, naming the path only. out->error says why, for when there
 * is no last good value and the request is not made. */
static enum secret_read read_secret_file(struct sender *s, const char *what,
					 const char *path, bool have_last, char **value,
					 struct send_outcome *out)
{
	char why[200];
	int err;

	if (config_read_secret(path, value, why, sizeof(why)) == 0) {
		s->secret_bad_logged = false;
		return SECRET_OK;
	}
	err = errno;
	snprintf(out->error, sizeof(out->error), "%s: %s", what, why);
	if (err != EINVAL && !have_last)
		return SECRET_UNREADABLE;
	if (!s->secret_bad_logged && err == EINVAL)
		log_msg(LOG_ERROR, "remote_write: secret file rejected, the last good value "
			"stays in use", "key=%s file=%s", what, path);
	else if (!s->secret_bad_logged)
		log_msg(LOG_WARN, "remote_write: secret file unreadable, the last good value "
			"stays in use", "key=%s file=%s err=\"%s\"", what, path, strerror(err));
	s->secret_bad_logged = true;
	return SECRET_BAD;
}

/* password_file: a good read replaces the password; a bad one keeps the
 * last good (if any; else the request is not made). */
static int load_password(struct sender *s, struct send_outcome *out)
{
	const struct basic_auth *ba = &s->cfg->basic_auth;
	char *secret;

	if (!ba->password_file) {
		curl_easy_setopt(s->curl, CURLOPT_PASSWORD, ba->password ? ba->password : "");
		return 0;
	}
	switch (read_secret_file(s, "password_file", ba->password_file, s->password != NULL,
				 &secret, out)) {
	case SECRET_OK:
		break;
	case SECRET_BAD:
		if (!s->password)
			return -1;
		out->error[0] = '\0';
		return 0;
	case SECRET_UNREADABLE:
		return -1;
	}
	config_free_secret(s->password);
	s->password = secret;
	curl_easy_setopt(s->curl, CURLOPT_PASSWORD, s->password);
	return 0;
}

static bool same_secret(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* The AWS key pair (and session token) before each request: a rotated
 * credentials file is picked up. libcurl copies CURLOPT_USERPWD. */
static int load_sigv4(struct sender *s, struct send_outcome *out)
{
	struct aws_creds c;
	char *userpwd = NULL, *token = NULL;
	int rc = -1;

	if (s->sts ? aws_sts_credentials(s->sts, &c, &s->abort_at_ms, out->error,
					 sizeof(out->error)) < 0
		   : aws_creds_resolve(&s->cfg->sigv4, &c, out->error, sizeof(out->error)) < 0)
		return -1;
	if (asprintf(&userpwd, "%s:%s", c.access_key, c.secret_key) < 0)
		userpwd = NULL;
	if (c.session_token &&
	    asprintf(&token, "X-Amz-Security-Token: %s", c.session_token) < 0)
		token = NULL;
	if (!userpwd || (c.session_token && !token)) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		goto out;
	}
	curl_easy_setopt(s->curl, CURLOPT_USERPWD, userpwd);
	rc = 0;
	if (same_secret(token, s->amz_token_header))
		goto out;
	config_free_secret(s->amz_token_header);
	s->amz_token_header = token;
	token = NULL;
	if (sender_build_headers(s) < 0) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		rc = -1;
	}
out:
	config_free_secret(token);
	config_free_secret(userpwd);
	aws_creds_free(&c);
	return rc;
}

/* The endpoint's current token; a new one changes the headers. */
static int load_oauth2(struct sender *s, struct send_outcome *out)
{
	char *line = NULL;
	int rc = oauth2_authorization(s->oauth2, &s->token_gen, &line, &s->abort_at_ms,
				      out->error, sizeof(out->error));

	if (rc <= 0)
		return rc;
	config_free_secret(s->auth_header);
	s->auth_header = line;
	if (sender_build_headers(s) == 0)
		return 0;
	snprintf(out->error, sizeof(out->error), "out of memory");
	return -1;
}

/* Secrets from files are read per request so rotated ones are picked up. */
int sender_load_credentials(struct sender *s, struct send_outcome *out)
{
	const struct remote_write_config *cfg = s->cfg;
	char *secret, *line;

	if (cfg->has_basic_auth && load_password(s, out) < 0)
		return -1;
	if (s->oauth2 && load_oauth2(s, out) < 0)
		return -1;
	if (cfg->has_sigv4 && load_sigv4(s, out) < 0)
		return -1;
	if (!cfg->has_authorization || !cfg->authorization.credentials_file)
		return 0;
	switch (read_secret_file(s, "credentials_file", cfg->authorization.credentials_file,
				 s->auth_header != NULL, &secret, out)) {
	case SECRET_OK:
		break;
	case SECRET_BAD:
		if (!s->auth_header)
			return -1;
		out->error[0] = '\0';
		return 0;
	case SECRET_UNREADABLE:
		return -1;
	}
	line = sender_auth_line(&cfg->authorization, secret);
	config_free_secret(secret);
	if (!line)
		goto oom;
	if (s->auth_header && strcmp(line, s->auth_header) == 0) {
		config_free_secret(line);
		return 0;
	}
	config_free_secret(s->auth_header);
	s->auth_header = line;
	if (sender_build_headers(s) == 0)
		return 0;
oom:
	snprintf(out->error, sizeof(out->error), "out of memory");
	return -1;
}
