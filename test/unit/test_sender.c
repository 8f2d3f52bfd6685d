/* sender: the parts that need no receiver (the queue tests drive the rest
 * against a real HTTP server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "queue/sender.h"

static void check_mask(const char *url, const char *want)
{
	char out[256];

	config_mask_url(url, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_mask_url(void **state)
{
	(void)state;
	check_mask("http://127.0.0.1:8428/api/v1/write", "http://127.0.0.1:8428/api/v1/write");
	check_mask("https://user:pa55@lts.example:443/push",
		   "https://<secret>@lts.example:443/push");
	check_mask("https://user@lts.example/push", "https://<secret>@lts.example/push");
	/* an '@' in the password, and one in the path that is not userinfo */
	check_mask("http://u:p@ss@h/x@y", "http://<secret>@h/x@y");
	check_mask("http://h/path@x?q=a@b", "http://h/path@x?q=a@b");
	check_mask("not a url", "not a url");
}

static void test_mask_url_truncates(void **state)
{
	char out[12];

	(void)state;
	config_mask_url("https://user:pw@host/path", out, sizeof(out));
	assert_string_equal(out, "https://<se");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_url),
		cmocka_unit_test(test_mask_url_truncates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
