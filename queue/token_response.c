/* SPDX-License-Identifier: MIT */
/* An OAuth2 token endpoint's answer (see token_response.h). The JSON
 * reader knows one object of members whose values it needs as strings or
 * integers and skips the rest, nested or not; it never copies a value it
 * does not keep. */
#include "queue/token_response.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"

#define MAX_DEPTH 32

struct cursor {
	const char *p, *end;
};

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int hex_value(const char *p, const char *end, unsigned digits, unsigned *out)
{
	unsigned v = 0;

	if (end - p < (long)digits)
		return -1;
	for (unsigned i = 0; i < digits; i++) {
		int d = p[i];

		if (!isxdigit(d))
			return -1;
		v = v * 16 + (unsigned)(isdigit(d) ? d - '0' : (tolower(d) - 'a' + 10));
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* \uXXXX (a surrogate pair as one code point; a lone one is U+FFFD, as
 * Go decodes it); c->p is after the 'u'. */
static int unicode_escape(struct cursor *c, char *o, size_t *n)
{
	unsigned cp, lo;

	if (hex_value(c->p, c->end, 4, &cp) < 0)
		return -1;
	c->p += 4;
	if (cp >= 0xd800 && cp < 0xdc00 && c->end - c->p >= 6 && c->p[0] == '\\' &&
	    c->p[1] == 'u' && hex_value(c->p + 2, c->end, 4, &lo) == 0 && lo >= 0xdc00 &&
	    lo < 0xe000) {
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		c->p += 6;
	} else if (cp >= 0xd800 && cp < 0xe000) {
		cp = 0xfffd;
	}
	*n += put_utf8(o ? o + *n : (char[4]){0}, cp);
	return 0;
}

/* A JSON string at c->p ('"'), decoded into *out (malloc'd) unless out
 * is NULL (skipped). The decoded text is never longer than the raw. */
static int json_string(struct cursor *c, char **out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *start = ++c->p;
	char *o = NULL;
	size_t n = 0;

	while (c->p < c->end && *c->p != '"')
		c->p += *c->p == '\\' && c->p + 1 < c->end ? 2 : 1;
	if (c->p >= c->end)
		return -1;
	if (out && !(o = malloc((size_t)(c->p - start) + 1)))
		return -1;
	for (c->p = start; *c->p != '"';) {
		const char *hit;

		if ((unsigned char)*c->p < 0x20)
			goto bad;
		if (*c->p != '\\') {
			if (o)
				o[n] = *c->p;
			n++, c->p++;
			continue;
		}
		c->p++;
		if (*c->p == 'u') {
			c->p++;
			if (unicode_escape(c, o, &n) < 0)
				goto bad;
		} else if ((hit = strchr(from, *c->p)) && *c->p) {
			if (o)
				o[n] = to[hit - from];
			n++, c->p++;
		} else {
			goto bad;
		}
	}
	c->p++;
	if (o) {
		o[n] = '\0';
		*out = o;
	}
	return 0;
bad:
	if (o)
		explicit_bzero(o, n); /* not terminated yet */
	free(o);
	return -1;
}

static int skip_value(struct cursor *c, int depth);

/* Members or elements up to the closing bracket; c->p is after '{' / '['. */
static int skip_container(struct cursor *c, char close, int depth)
{
	skip_ws(c);
	if (c->p < c->end && *c->p == close) {
		c->p++;
		return 0;
	}
	for (;;) {
		skip_ws(c);
		if (close == '}') {
			if (c->p >= c->end || *c->p != '"' || json_string(c, NULL) < 0)
				return -1;
			skip_ws(c);
			if (c->p >= c->end || *c->p++ != ':')
				return -1;
		}
		if (skip_value(c, depth + 1) < 0)
			return -1;
		skip_ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == close) {
			c->p++;
			return 0;
		}
		return -1;
	}
}

static int skip_value(struct cursor *c, int depth)
{
	skip_ws(c);
	if (c->p >= c->end || depth > MAX_DEPTH)
		return -1;
	if (*c->p == '"')
		return json_string(c, NULL);
	if (*c->p == '{' || *c->p == '[') {
		char close = *c->p == '{' ? '}' : ']';

		c->p++;
		return skip_container(c, close, depth);
	}
	/* A number, true, false or null: the characters they are made of. */
	const char *start = c->p;

	while (c->p < c->end && strchr("0123456789+-.eEtrufalsn", *c->p) && *c->p)
		c->p++;
	return c->p > start ? 0 : -1;
}

/* An integer of seconds; as Go's, larger than 2^31-1 is 2^31-1. */
static int parse_seconds(const char *text, size_t len, int64_t *out)
{
	char buf[32], *end;
	long long v;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (*end || (errno && errno != ERANGE) || !(isdigit((unsigned char)buf[0]) || buf[0] == '-'))
		return -1;
	*out = v > 0x7fffffff ? 0x7fffffff : v;
	return 0;
}

/* expires_in: a number, or a string holding one (json.Number's rule). */
static int json_seconds(struct cursor *c, int64_t *out)
{
	const char *start = c->p;
	char *text = NULL;
	int rc;

	if (*c->p == '"') {
		if (json_string(c, &text) < 0)
			return -1;
		rc = parse_seconds(text, strlen(text), out);
		free(text);
		return rc;
	}
	if (skip_value(c, 0) < 0)
		return -1;
	return parse_seconds(start, (size_t)(c->p - start), out);
}

/* RFC 6749's error codes are plain words: anything else is not repeated. */
static void keep_error(struct token_response *t, const char *code)
{
	size_t n = strlen(code);

	if (n == 0 || n >= sizeof(t->error) || strspn(code, "abcdefghijklmnopqrstuvwxyz"
						      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
		return;
	memcpy(t->error, code, n + 1);
}

static int json_member(struct cursor *c, struct token_response *t)
{
	char *name = NULL, *text = NULL;
	int rc = -1;

	if (c->p >= c->end || *c->p != '"' || json_string(c, &name) < 0)
		return -1;
	skip_ws(c);
	if (c->p >= c->end || *c->p++ != ':')
		goto out;
	skip_ws(c);
	if (c->p >= c->end)
		goto out;
	if (!strcmp(name, "expires_in")) {
		rc = *c->p == 'n' ? skip_value(c, 0) : json_seconds(c, &t->expires_in);
		goto out;
	}
	if (strcmp(name, "access_token") && strcmp(name, "token_type") && strcmp(name, "error")) {
		rc = skip_value(c, 0);
		goto out;
	}
	if (*c->p == 'n') /* null: as absent */
		rc = skip_value(c, 0);
	else if (*c->p == '"' && (rc = json_string(c, &text)) == 0 && !strcmp(name, "error"))
		keep_error(t, text);
	if (rc == 0 && text && !strcmp(name, "access_token")) {
		config_free_secret(t->access_token);
		t->access_token = text, text = NULL;
	} else if (rc == 0 && text && !strcmp(name, "token_type")) {
		free(t->token_type);
		t->token_type = text, text = NULL;
	}
out:
	config_free_secret(text);
	free(name);
	return rc;
}

static int parse_json(struct cursor *c, struct token_response *t)
{
	skip_ws(c);
	if (c->p >= c->end || *c->p++ != '{')
		return -1;
	skip_ws(c);
	if (c->p < c->end && *c->p == '}')
		return 0;
	for (;;) {
		skip_ws(c);
		if (json_member(c, t) < 0)
			return -1;
		skip_ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		return c->p < c->end && *c->p == '}' ? 0 : -1;
	}
}

/* Form decoding: '+' is a space, %XX a byte. NULL when malformed. */
static char *form_decode(const char *p, size_t len)
{
	char *o = malloc(len + 1);
	size_t n = 0;
	unsigned v;

	if (!o)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '%') {
			if (hex_value(p + i + 1, p + len, 2, &v) < 0) {
				explicit_bzero(o, n); /* not terminated yet */
				free(o);
				return NULL;
			}
			o[n++] = (char)v;
			i += 2;
		} else {
			o[n++] = p[i] == '+' ? ' ' : p[i];
		}
	}
	o[n] = '\0';
	return o;
}

/* One key=value of a form; the first of each name counts (url.Values.Get). */
static int form_pair(const char *p, size_t len, struct token_response *t)
{
	const char *eq = memchr(p, '=', len);
	size_t klen = eq ? (size_t)(eq - p) : len;
	char *key = form_decode(p, klen), *value = form_decode(eq ? eq + 1 : p + len,
							       eq ? len - klen - 1 : 0);
	int rc = key && value ? 0 : -1;

	if (rc == 0 && !strcmp(key, "access_token") && !t->access_token)
		t->access_token = value, value = NULL;
	else if (rc == 0 && !strcmp(key, "token_type") && !t->token_type)
		t->token_type = value, value = NULL;
	else if (rc == 0 && !strcmp(key, "expires_in") && *value &&
		 parse_seconds(value, strlen(value), &t->expires_in) < 0)
		rc = -1;
	else if (rc == 0 && !strcmp(key, "error") && !t->error[0])
		keep_error(t, value);
	free(key);
	config_free_secret(value);
	return rc;
}

static int parse_form(const char *body, size_t len, struct token_response *t)
{
	const char *p = body, *end = body + len;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		size_t n = amp ? (size_t)(amp - p) : (size_t)(end - p);

		if (memchr(p, ';', n) || (n && form_pair(p, n, t) < 0))
			return -1;
		p += n + 1;
	}
	return 0;
}

/* The media type, as ParseMediaType sees it: before ';', trimmed. */
static bool is_form_type(const char *content_type)
{
	static const char *const forms[] = {"application/x-www-form-urlencoded", "text/plain"};
	size_t n;

	if (!content_type)
		return false;
	while (*content_type == ' ' || *content_type == '\t')
		content_type++;
	n = strcspn(content_type, "; \t\r\n");
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (n == strlen(forms[i]) && !strncasecmp(content_type, forms[i], n))
			return true;
	return false;
}

int token_response_parse(const char *body, size_t len, const char *content_type,
			 struct token_response *out, char *why, size_t why_size)
{
	struct cursor c = {body, body + len};
	bool form = is_form_type(content_type);

	memset(out, 0, sizeof(*out));
	if (form ? parse_form(body, len, out) < 0 : parse_json(&c, out) < 0) {
		snprintf(why, why_size, "the token endpoint's answer is not valid %s",
			 form ? "form data" : "JSON");
		return -1;
	}
	if (!out->access_token || !*out->access_token) {
		snprintf(why, why_size, "the token endpoint's answer has no access_token");
		return -1;
	}
	return 0;
}

void token_response_free(struct token_response *t)
{
	config_free_secret(t->access_token);
	free(t->token_type);
	t->access_token = t->token_type = NULL;
}
