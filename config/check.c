/* SPDX-License-Identifier: MIT */
/* Validators of values that reach the network or the series: URLs, the
 * listen address, label and header names, and ${VAR} expansion. Pure text,
 * no YAML, so each can be reasoned about (and tested) alone. */
#include "config/internal.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/names.h"

/* ---- URL ------------------------------------------------------------- */

/* Parsed by libcurl itself, the library that will use it, so "valid here"
 * means "curl will connect to it". */
int cfg_check_url(const char *url, char *why, size_t why_size)
{
	char *scheme = NULL, *host = NULL;
	const char *sep = strstr(url, "://");
	CURLUcode rc;
	CURLU *h;
	int ret = -1;

	why[0] = '\0';
	if (!sep) {
		snprintf(why, why_size, "no scheme");
		return -1;
	}
	h = curl_url();
	if (!h) {
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	/* No CURLU_DEFAULT_SCHEME: "host:port/path" must not become http. */
	rc = curl_url_set(h, CURLUPART_URL, url, 0);
	if (rc != CURLUE_OK) {
		snprintf(why, why_size, "%s", curl_url_strerror(rc));
		goto out;
	}
	if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") && strcmp(scheme, "https")))
		goto out;
	/* curl reads "http:///x" as host "x"; nobody means that. */
	if (sep[3] == '/' || curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
		snprintf(why, why_size, "no host");
		goto out;
	}
	ret = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(h);
	return ret;
}

/* Where a URL's authority starts: past "scheme:" and its slashes, or at
 * the start when there is no scheme. A URL with one slash too few
 * ("http:/u:p@h") is still a URL with a password in an error message. */
static const char *authority_start(const char *url)
{
	size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			       "0123456789+.-");

	if (n == 0 || url[n] != ':' || url[n + 1] != '/')
		return url + strspn(url, "/");
	return url + n + 1 + strspn(url + n + 1, "/");
}

void config_mask_url(const char *url, char *out, size_t outsz)
{
	const char *auth = authority_start(url), *end, *at = NULL;

	if (outsz == 0)
		return;
	end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p; /* the last '@': a password may hold one */
	if (!at) {
		snprintf(out, outsz, "%s", url);
		return;
	}
	snprintf(out, outsz, "%.*s<secret>%s", (int)(auth - url), url, at);
}

/* ---- listen address ------------------------------------------------- */

static int check_port(const char *p, char *why, size_t why_size)
{
	long v = 0;

	if (!*p || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p))
		goto bad;
	v = strtol(p, NULL, 10);
	if (v >= 1 && v <= 65535)
		return 0;
bad:
	snprintf(why, why_size, "the port must be a number from 1 to 65535");
	return -1;
}

static int check_ipv6(const char *host, size_t len, char *why, size_t why_size)
{
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned char addr[sizeof(struct in6_addr)];
	const char *zone = memchr(host, '%', len);

	/* A zone ("fe80::1%eth0") is for the resolver, not inet_pton. */
	if (zone && zone + 1 == host + len)
		goto bad;
	if (zone)
		len = (size_t)(zone - host);
	if (len == 0 || len >= sizeof(buf))
		goto bad;
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, addr) == 1)
		return 0;
bad:
	snprintf(why, why_size, "bad IPv6 address in brackets");
	return -1;
}

static int check_hostname(const char *host, size_t len, char *why, size_t why_size)
{
	for (size_t i = 0; i < len; i++) {
		char c = host[i];
		if (c == ':') {
			snprintf(why, why_size, "an IPv6 address needs brackets, e.g. [::1]:9477");
			return -1;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')) {
			snprintf(why, why_size, "bad host name");
			return -1;
		}
	}
	return 0;
}

/* HOST:PORT, [IPV6]:PORT, or :PORT for every interface, as Go's
 * net.Listen reads it (node_exporter users write ":9100"). */
int cfg_check_listen_address(const char *addr, char *why, size_t why_size)
{
	const char *colon;

	if (!*addr)
		return 0;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close) {
			snprintf(why, why_size, "missing \"]\"");
			return -1;
		}
		if (check_ipv6(addr + 1, (size_t)(close - addr - 1), why, why_size) < 0)
			return -1;
		if (close[1] != ':') {
			snprintf(why, why_size, "missing \":PORT\"");
			return -1;
		}
		return check_port(close + 2, why, why_size);
	}
	colon = strrchr(addr, ':');
	if (!colon) {
		snprintf(why, why_size, "missing \":PORT\"");
		return -1;
	}
	if (check_hostname(addr, (size_t)(colon - addr), why, why_size) < 0)
		return -1;
	return check_port(colon + 1, why, why_size);
}

/* ---- names ----------------------------------------------------------- */

/* Prometheus' label name syntax. */
bool cfg_valid_label_name(const char *name)
{
	return valid_label_name(name, strlen(name));
}

/* RFC 9110 token. */
bool cfg_valid_header_name(const char *name)
{
	if (!*name)
		return false;
	for (const char *p = name; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c)))
			return false;
	}
	return true;
}

/* No control characters but tab: a CR or LF would let a value inject
 * headers or split the request. */
bool cfg_valid_header_value(const char *value)
{
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

/* The remote-write protocol's own headers (the sender sets them; the spec
 * says users may not override them), and the ones that frame the request
 * or run the persistent connection, which one header could break
 * (Connection: close would bring back the TIME_WAIT storm of
 * docs/design.md, "One connection per shard"). */
static const char *const protocol_headers[] = {
	"Content-Encoding", "Content-Type", "X-Prometheus-Remote-Write-Version",
	"User-Agent", "Host", "Content-Length", "Transfer-Encoding", "Connection",
	"Keep-Alive",
};

const char *cfg_reserved_header(const char *name)
{
	if (!strcasecmp(name, "Authorization"))
		return "authorization";
	for (size_t i = 0; i < sizeof(protocol_headers) / sizeof(protocol_headers[0]); i++)
		if (!strcasecmp(name, protocol_headers[i]))
			return "protocol";
	return NULL;
}

/* ---- UTF-8 ------------------------------------------------------------ */

/* Receivers reject label values that are not UTF-8. */
bool cfg_valid_utf8(const char *s)
{
	return valid_utf8(s, strlen(s));
}

/* ---- ${VAR} ---------------------------------------------------------- */

/* At p (just past "${"), the variable's value; *end is past the "}". */
static const char *env_ref(const char *p, const char **end, char *why, size_t why_size)
{
	const char *close = strchr(p, '}');
	char name[256];
	size_t len;
	const char *v;

	if (!close) {
		snprintf(why, why_size, "unterminated \"${\"");
		return NULL;
	}
	len = (size_t)(close - p);
	/* Environment variable names as the shell has them. */
	if (len == 0 || len >= sizeof(name) || (*p >= '0' && *p <= '9') ||
	    strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != len) {
		snprintf(why, why_size, "bad variable name in \"${%.*s}\"",
			 (int)(len > 64 ? 64 : len), p);
		return NULL;
	}
	memcpy(name, p, len);
	name[len] = '\0';
	*end = close + 1;
	/* Unset is "", as Prometheus expands external labels. */
	v = getenv(name);
	return v ? v : "";
}

/* The expansion grows in a struct buf, NUL-terminated at the end: the
 * caller gets its data as a malloc'd string. */
char *cfg_expand_env(const char *text, char *why, size_t why_size)
{
	struct buf b = {0};
	const char *p = text;

	while (*p) {
		const char *dollar = strchr(p, '$'), *v, *end;

		if (!dollar)
			dollar = p + strlen(p);
		if (buf_append(&b, p, (size_t)(dollar - p)) < 0)
			goto oom;
		p = dollar;
		if (!*p)
			break;
		if (p[1] == '$' || p[1] != '{') {
			/* "$$" is one "$"; "$X" is left alone: only ${X} expands. */
			if (buf_append(&b, "$", 1) < 0)
				goto oom;
			p += p[1] == '$' ? 2 : 1;
			continue;
		}
		v = env_ref(p + 2, &end, why, why_size);
		if (!v) {
			buf_free(&b);
			return NULL;
		}
		if (buf_append(&b, v, strlen(v)) < 0)
			goto oom;
		p = end;
	}
	if (buf_append(&b, "", 1) < 0)
		goto oom;
	return (char *)b.data;
oom:
	buf_free(&b);
	snprintf(why, why_size, "out of memory");
	return NULL;
}
