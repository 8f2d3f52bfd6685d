/* SPDX-License-Identifier: MIT */
/* Secrets kept in files (credentials_file, password_file). The file is read
 * when the config loads and again by the sender before each request (so a
 * rotated token is picked up), and both go through config_read_secret: a
 * value from a file obeys the rule an inline one does. It ends up in an
 * HTTP header, where a CR or LF would start headers of its own. */
#include "config/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Whole file into a malloc'd string; -1 with errno set. */
static int read_whole(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *s;
	size_t n;
	int err;

	if (!f)
		return -1;
	s = malloc(CONFIG_SECRET_MAX + 1);
	if (!s) {
		fclose(f);
		errno = ENOMEM;
		return -1;
	}
	n = fread(s, 1, CONFIG_SECRET_MAX + 1, f);
	err = ferror(f) ? EIO : n > CONFIG_SECRET_MAX ? EFBIG : 0;
	fclose(f);
	if (err) {
		free(s);
		errno = err;
		return -1;
	}
	s[n] = '\0';
	*out = s;
	*len = n;
	return 0;
}

int config_read_secret(const char *path, char **value, char *why, size_t why_size)
{
	char *s;
	size_t len, start = 0;

	*value = NULL;
	if (read_whole(path, &s, &len) < 0) {
		snprintf(why, why_size, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	/* Prometheus trims with strings.TrimSpace: editors end a file with a
	 * newline (CRLF on Windows), and so does `echo token > file`. */
	while (len > 0 && is_space(s[len - 1]))
		len--;
	while (start < len && is_space(s[start]))
		start++;
	memmove(s, s + start, len - start);
	s[len - start] = '\0';
	/* A NUL inside would cut the secret short without a word. */
	if (strlen(s) != len - start || !cfg_valid_header_value(s)) {
		explicit_bzero(s, CONFIG_SECRET_MAX + 1);
		free(s);
		snprintf(why, why_size, "%s holds a control character (such as CR or LF) "
			 "inside the secret; its contents are not shown", path);
		errno = EINVAL;
		return -1;
	}
	*value = s;
	return 0;
}

void config_free_secret(char *value)
{
	if (!value)
		return;
	explicit_bzero(value, strlen(value));
	free(value);
}

int cfg_check_secret_file(struct cfg_ctx *ctx, const yaml_node_t *at, const char *key,
			  const char *path)
{
	char why[CONFIG_ERR_MAX / 2], *value;

	if (config_read_secret(path, &value, why, sizeof(why)) == 0) {
		config_free_secret(value);
		return 0;
	}
	/* A secret may be mounted after the agent starts, or readable only by
	 * the user it runs as (not the one running --check-config): the
	 * sender reads it at each request and says what is wrong. */
	if (errno == ENOENT || errno == EACCES)
		return 0;
	return cfg_fail(ctx, at, "\"%s\": %s", key, why);
}
