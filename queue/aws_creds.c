/* SPDX-License-Identifier: MIT */
/* The three sources of AWS credentials, in order; see aws_creds.h. The
 * shared credentials file is an INI file: "[profile]" sections of
 * "key = value" lines, '#' and ';' starting comments. */
#include "queue/aws_creds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Secrets end up in CURLOPT_USERPWD ("access:secret") and in a header. */
static bool usable(const char *v, bool colon_ok)
{
	if (!v || !*v)
		return false;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f || (!colon_ok && *p == ':'))
			return false;
	return true;
}

static int set_all(struct aws_creds *out, const char *access, const char *secret,
		   const char *token)
{
	out->access_key = strdup(access);
	out->secret_key = strdup(secret);
	out->session_token = token && *token ? strdup(token) : NULL;
	if (!out->access_key || !out->secret_key || (token && *token && !out->session_token)) {
		aws_creds_free(out);
		return -1;
	}
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
			   end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* Keeps the values of the three keys found in section `profile`. */
static void take_line(char *line, const char *profile, bool *in_profile, char **vals)
{
	static const char *const keys[] = {"aws_access_key_id", "aws_secret_access_key",
					   "aws_session_token"};
	char *s = trim(line), *eq;

	if (*s == '#' || *s == ';' || !*s)
		return;
	if (*s == '[') {
		char *close = strchr(s, ']');
		if (close) {
			*close = '\0';
			*in_profile = strcmp(trim(s + 1), profile) == 0;
		}
		return;
	}
	if (!*in_profile || !(eq = strchr(s, '=')))
		return;
	*eq = '\0';
	for (size_t i = 0; i < 3; i++)
		if (!strcmp(trim(s), keys[i]) && !vals[i])
			vals[i] = strdup(trim(eq + 1));
}

static int from_file(const char *path, const char *profile, struct aws_creds *out, char *why,
		     size_t why_size)
{
	char *vals[3] = {NULL, NULL, NULL}, *line = NULL;
	bool in_profile = false;
	size_t cap = 0;
	int rc = -1;
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(why, why_size, "sigv4: no credentials in the config or the environment, "
			 "and the credentials file %s cannot be read: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) >= 0)
		take_line(line, profile, &in_profile, vals);
	fclose(f);
	if (!usable(vals[0], false) || !usable(vals[1], true) ||
	    (vals[2] && *vals[2] && !usable(vals[2], true)))
		snprintf(why, why_size, "sigv4: profile \"%s\" of %s has no usable "
			 "aws_access_key_id and aws_secret_access_key", profile, path);
	else if (set_all(out, vals[0], vals[1], vals[2]) < 0)
		snprintf(why, why_size, "out of memory");
	else
		rc = 0;
	for (size_t i = 0; i < 3; i++)
		config_free_secret(vals[i]);
	config_free_secret(line);
	return rc;
}

static int from_shared_file(const struct sigv4_config *cfg, struct aws_creds *out, char *why,
			    size_t why_size)
{
	const char *path = getenv("AWS_SHARED_CREDENTIALS_FILE"), *home = getenv("HOME");
	const char *profile = cfg->profile;
	char buf[4096];

	if (!profile || !*profile)
		profile = getenv("AWS_PROFILE");
	if (!profile || !*profile)
		profile = "default";
	if (!path || !*path) {
		if (!home || !*home) {
			snprintf(why, why_size, "sigv4: no credentials in the config or the "
				 "environment, and no HOME for ~/.aws/credentials");
			return -1;
		}
		snprintf(buf, sizeof(buf), "%s/.aws/credentials", home);
		path = buf;
	}
	return from_file(path, profile, out, why, why_size);
}

int aws_creds_resolve(const struct sigv4_config *cfg, struct aws_creds *out, char *why,
		      size_t why_size)
{
	const char *access = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");

	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	if (cfg->access_key && cfg->secret_key) {
		if (set_all(out, cfg->access_key, cfg->secret_key, NULL) == 0)
			return 0;
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	if (access && *access && secret && *secret) {
		const char *token = getenv("AWS_SESSION_TOKEN");

		if (!usable(access, false) || !usable(secret, true) ||
		    (token && *token && !usable(token, true))) {
			snprintf(why, why_size, "sigv4: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY "
				 "or AWS_SESSION_TOKEN holds a control character (or the key "
				 "id a ':')");
			return -1;
		}
		if (set_all(out, access, secret, token) == 0)
			return 0;
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	return from_shared_file(cfg, out, why, why_size);
}

void aws_creds_free(struct aws_creds *c)
{
	config_free_secret(c->access_key);
	config_free_secret(c->secret_key);
	config_free_secret(c->session_token);
	memset(c, 0, sizeof(*c));
}
