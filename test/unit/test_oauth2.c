/* SPDX-License-Identifier: MIT */
/* The answer of an OAuth2 token endpoint, read as golang.org/x/oauth2
 * reads it: JSON unless the Content-Type says form, access_token
 * required, expires_in a JSON integer or a string of one, an error code
 * kept only when it is a plain word. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "queue/token_response.h"

struct parse_case {
	const char *name, *body, *content_type;
	int rc;
	const char *token, *type; /* NULL: absent */
	int64_t expires_in;
	const char *error;
};

static const struct parse_case cases[] = {
	{"json", "{\"access_token\":\"abc\",\"token_type\":\"bearer\",\"expires_in\":3600}",
	 "application/json", 0, "abc", "bearer", 3600, ""},
	{"json, no content type", " {\n \"expires_in\" : \"60\", \"access_token\" : \"t\" }\n", NULL,
	 0, "t", NULL, 60, ""},
	{"json with charset", "{\"access_token\":\"t\"}", "application/json; charset=utf-8", 0,
	 "t", NULL, 0, ""},
	{"json escapes", "{\"access_token\":\"a\\/b\\u0041\\\"\\\\\"}", "application/json", 0,
	 "a/bA\"\\", NULL, 0, ""},
	{"json surrogate pair", "{\"access_token\":\"\\ud83d\\ude00\"}", NULL, 0,
	 "\xf0\x9f\x98\x80", NULL, 0, ""},
	{"json nested values skipped", "{\"x\":{\"access_token\":\"no\",\"y\":[1,{\"z\":null}]},"
	 "\"b\":true,\"n\":-1.5e3,\"access_token\":\"yes\",\"refresh_token\":\"r\"}", NULL, 0,
	 "yes", NULL, 0, ""},
	{"json null expires_in", "{\"access_token\":\"t\",\"expires_in\":null}", NULL, 0, "t",
	 NULL, 0, ""},
	{"json huge expires_in capped", "{\"access_token\":\"t\",\"expires_in\":99999999999}",
	 NULL, 0, "t", NULL, 0x7fffffff, ""},
	{"json float expires_in", "{\"access_token\":\"t\",\"expires_in\":1.5}", NULL, -1, "t",
	 NULL, 0, ""},
	{"json no token", "{\"token_type\":\"bearer\"}", NULL, -1, NULL, "bearer", 0, ""},
	{"json empty token", "{\"access_token\":\"\"}", NULL, -1, "", NULL, 0, ""},
	{"json token not a string", "{\"access_token\":12}", NULL, -1, NULL, NULL, 0, ""},
	{"json error answer", "{\"error\":\"invalid_client\",\"error_description\":\"bad\"}",
	 "application/json", -1, NULL, NULL, 0, "invalid_client"},
	{"json error not a plain word", "{\"error\":\"a b <script>\"}", NULL, -1, NULL, NULL, 0,
	 ""},
	{"json truncated", "{\"access_token\":\"abc", NULL, -1, NULL, NULL, 0, ""},
	{"json trailing comma", "{\"access_token\":\"abc\",}", NULL, -1, "abc", NULL, 0, ""},
	{"json raw control char", "{\"access_token\":\"a\nb\"}", NULL, -1, NULL, NULL, 0, ""},
	{"json deep nesting", "{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]"
	 "]]]]]]]]]]]]]]}", NULL, -1, NULL, NULL, 0, ""},
	{"not json", "access_token=abc", "application/json", -1, NULL, NULL, 0, ""},
	{"form", "access_token=a%2Bb+c&token_type=bearer&expires_in=30",
	 "application/x-www-form-urlencoded", 0, "a+b c", "bearer", 30, ""},
	{"form as text/plain", "expires_in=&access_token=x", "text/plain; charset=utf-8", 0, "x",
	 NULL, 0, ""},
	{"form first value counts", "access_token=1&access_token=2", "text/plain", 0, "1", NULL, 0,
	 ""},
	{"form bad expires_in", "access_token=1&expires_in=soon", "text/plain", -1, "1", NULL, 0,
	 ""},
	{"form bad escape", "access_token=%zz", "text/plain", -1, NULL, NULL, 0, ""},
	{"form semicolon", "access_token=1;x=2", "text/plain", -1, NULL, NULL, 0, ""},
	{"form error", "error=invalid_scope", "application/x-www-form-urlencoded", -1, NULL, NULL,
	 0, "invalid_scope"},
};

static void check_case(const struct parse_case *c)
{
	struct token_response t;
	char why[128] = "";
	int rc = token_response_parse(c->body, strlen(c->body), c->content_type, &t, why,
				      sizeof(why));

	if (rc != c->rc)
		fail_msg("%s: rc %d (%s)", c->name, rc, why);
	if (rc < 0 && !why[0])
		fail_msg("%s: no reason", c->name);
	if (rc == 0 || (c->token && t.access_token)) {
		assert_non_null(t.access_token);
		assert_string_equal(t.access_token, c->token);
	}
	if (c->type) {
		assert_non_null(t.token_type);
		assert_string_equal(t.token_type, c->type);
	} else if (rc == 0) {
		assert_null(t.token_type);
	}
	if (rc == 0)
		assert_int_equal(t.expires_in, c->expires_in);
	assert_string_equal(t.error, c->error);
	token_response_free(&t);
}

static void test_parse_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
}

/* The reason never repeats the body (a token or a secret may be in it). */
static void test_reasons_hold_no_body(void **state)
{
	static const char *const bodies[] = {"{\"access_token\":\"hunter2\",", "hunter2",
					     "{\"hunter2\":1"};
	struct token_response t;
	char why[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(token_response_parse(bodies[i], strlen(bodies[i]), NULL, &t, why,
						      sizeof(why)), -1);
		assert_null(strstr(why, "hunter2"));
		token_response_free(&t);
	}
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_cases),
		cmocka_unit_test(test_reasons_hold_no_body),
	};

	return cmocka_run_group_tests_name("oauth2", tests, NULL, NULL);
}
