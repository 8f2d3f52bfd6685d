/* SPDX-License-Identifier: MIT */
/* A remote-write response as libcurl hands it to queue/response.c: the
 * status line and each header line in a call of its own (CRLF kept), then
 * the body in chunks. The input is the raw response; a blank line ends
 * the headers, as on the wire (several header blocks: a 1xx or a redirect
 * before the final response). The first byte sets the body's chunk size.
 * Checked after every call: the outcome's fields stay in their ranges and
 * the kept body start stays NUL-terminated within its buffer.
 *
 * A first byte with its high bit set picks the other response the queue
 * reads from a server instead: an OAuth2 token endpoint's body
 * (token_response.c: JSON or a form), its Content-Type chosen by the low
 * two bits. */
#include <stdlib.h>

#include "queue/response.h"
#include "queue/token_response.h"

#include "fuzz_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct send_outcome *o)
{
	if (o->retry_after_ms < -1 || o->samples_written < -1 || o->histograms_written < -1 ||
	    o->exemplars_written < -1 || o->body_len > SENDER_BODY_KEEP ||
	    o->body[o->body_len] != '\0')
		abort();
}

/* One call of the header callback with line[0..len), from a copy of its
 * own so that a read past it is seen. */
static void header(struct send_outcome *o, const uint8_t *line, size_t len)
{
	char *copy = malloc(len ? len : 1);

	memcpy(copy, line, len);
	if (response_on_header(copy, 1, len, o) != len)
		abort();
	free(copy);
	check(o);
}

static void body(struct send_outcome *o, const uint8_t *data, size_t size, size_t chunk)
{
	for (size_t off = 0; off < size; off += chunk) {
		size_t len = size - off < chunk ? size - off : chunk;
		char *copy = malloc(len);

		memcpy(copy, data + off, len);
		if (response_on_body(copy, 1, len, o) != len)
			abort();
		free(copy);
		check(o);
	}
}

static void token(uint8_t mode, const uint8_t *data, size_t size)
{
	static const char *const types[] = {NULL, "application/json",
					    "application/x-www-form-urlencoded",
					    "text/plain; charset=utf-8"};
	struct token_response t = {0};
	char why[256] = "", *body = malloc(size ? size : 1);

	memcpy(body, data, size);
	(void)token_response_parse(body, size, types[mode & 3], &t, why, sizeof(why));
	if (memchr(t.error, '\0', sizeof(t.error)) == NULL || memchr(why, '\0', sizeof(why)) == NULL)
		abort();
	token_response_free(&t);
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct send_outcome o = {.retry_after_ms = -1, .samples_written = -1,
				 .histograms_written = -1, .exemplars_written = -1};
	size_t chunk, off = 0;

	if (size < 1)
		return 0;
	if (data[0] & 0x80) {
		token(data[0], data + 1, size - 1);
		return 0;
	}
	chunk = (size_t)data[0] * 16 + 1;
	data++;
	size--;
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) + 1 : size - off;

		header(&o, data + off, len);
		off += len;
		/* A blank line ends a block; the body follows the last one. */
		if ((len == 1 || (len == 2 && data[off - 2] == '\r')) &&
		    !(size - off >= 5 && memcmp(data + off, "HTTP/", 5) == 0))
			break;
	}
	body(&o, data + off, size - off, chunk);
	return 0;
}
