/* SPDX-License-Identifier: MIT */
/* token_response: what an OAuth2 token endpoint answered, read as
 * golang.org/x/oauth2 reads it: a form (application/x-www-form-urlencoded
 * or text/plain) or else JSON; access_token, token_type, expires_in
 * (seconds: a JSON integer or a string of one; in a form, an integer),
 * and for an error answer the RFC 6749 "error" code. */
#ifndef BPFPUSH_TOKEN_RESPONSE_H
#define BPFPUSH_TOKEN_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

struct token_response {
	char *access_token;   /* malloc'd, NULL when absent; wiped when freed */
	char *token_type;     /* malloc'd, NULL when absent */
	int64_t expires_in;   /* seconds; 0: not given */
	char error[64];       /* "error" when it is a plain code, else "" */
};

/* 0 with out filled (free with token_response_free), or -1 with why set
 * (never a value from the body but the error code). content_type may be
 * NULL. out is filled as far as it could be read either way. */
int token_response_parse(const char *body, size_t len, const char *content_type,
			 struct token_response *out, char *why, size_t why_size);
void token_response_free(struct token_response *t);

#endif
