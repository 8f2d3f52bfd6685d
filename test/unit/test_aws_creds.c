/* SPDX-License-Identifier: MIT */
/* aws_creds_resolve: the order of the three sources, the shared
 * credentials file's INI form and profiles, and errors that name no
 * secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "queue/aws_creds.h"

static char creds_path[] = "/tmp/test_aws_creds.XXXXXX";

static void clear_env(void)
{
	static const char *const vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
					   "AWS_SESSION_TOKEN", "AWS_PROFILE",
					   "AWS_SHARED_CREDENTIALS_FILE"};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("HOME", "/nonexistent-home", 1);
}

static void write_creds(const char *text)
{
	FILE *f = fopen(creds_path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	setenv("AWS_SHARED_CREDENTIALS_FILE", creds_path, 1);
}

static const char FILE_TEXT[] =
	"# comment\n[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key=sdefault\n"
	"\n; other comment\n[ push ]\n  aws_access_key_id=AKPUSH  \naws_secret_access_key = "
	"s/push+=\naws_session_token = tok:en\n[empty]\naws_access_key_id = AKEMPTY\n";

static void test_config_keys_win_over_everything(void **state)
{
	struct sigv4_config cfg = {.access_key = "AKCFG", .secret_key = "scfg"};
	struct aws_creds c;
	char why[256];

	(void)state;
	clear_env();
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "senv", 1);
	setenv("AWS_SESSION_TOKEN", "tenv", 1);
	assert_int_equal(aws_creds_resolve(&cfg, &c, why, sizeof(why)), 0);
	assert_string_equal(c.access_key, "AKCFG");
	assert_string_equal(c.secret_key, "scfg");
	assert_null(c.session_token);
	aws_creds_free(&c);
}

static void test_environment_before_the_file(void **state)
{
	struct sigv4_config cfg = {0};
	struct aws_creds c;
	char why[256];

	(void)state;
	clear_env();
	write_creds(FILE_TEXT);
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "senv", 1);
	setenv("AWS_SESSION_TOKEN", "tenv", 1);
	assert_int_equal(aws_creds_resolve(&cfg, &c, why, sizeof(why)), 0);
	assert_string_equal(c.access_key, "AKENV");
	assert_string_equal(c.session_token, "tenv");
	aws_creds_free(&c);
	unsetenv("AWS_SECRET_ACCESS_KEY"); /* half a pair: the file */
	assert_int_equal(aws_creds_resolve(&cfg, &c, why, sizeof(why)), 0);
	assert_string_equal(c.access_key, "AKDEFAULT");
	assert_string_equal(c.secret_key, "sdefault");
	assert_null(c.session_token);
	aws_creds_free(&c);
}

static void test_profiles(void **state)
{
	struct sigv4_config cfg = {.profile = "push"};
	struct aws_creds c;
	char why[256];

	(void)state;
	clear_env();
	write_creds(FILE_TEXT);
	setenv("AWS_PROFILE", "default", 1); /* the config's profile wins */
	assert_int_equal(aws_creds_resolve(&cfg, &c, why, sizeof(why)), 0);
	assert_string_equal(c.access_key, "AKPUSH");
	assert_string_equal(c.secret_key, "s/push+=");
	assert_string_equal(c.session_token, "tok:en");
	aws_creds_free(&c);
	cfg.profile = NULL;
	setenv("AWS_PROFILE", "push", 1);
	assert_int_equal(aws_creds_resolve(&cfg, &c, why, sizeof(why)), 0);
	assert_string_equal(c.access_key, "AKPUSH");
	aws_creds_free(&c);
}

static void test_errors_name_no_secret(void **state)
{
	struct sigv4_config cfg = {.profile = "empty"};
	struct aws_creds c;
	char why[256];

	(void)state;
	clear_env();
	write_creds(FILE_TEXT);
	assert_int_equal(aws_creds_resolve(&cfg, &c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "profile \"empty\""));
	cfg.profile = "nosuch";
	assert_int_equal(aws_creds_resolve(&cfg, &c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "nosuch"));
	assert_null(strstr(why, "sdefault"));
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	assert_int_equal(aws_creds_resolve(&cfg, &c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "/nonexistent-home/.aws/credentials cannot be read"));
	setenv("AWS_ACCESS_KEY_ID", "AK", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "bad\nsecret", 1);
	assert_int_equal(aws_creds_resolve(&cfg, &c, why, sizeof(why)), -1);
	assert_null(strstr(why, "secret\n"));
	assert_null(strstr(why, "bad"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_keys_win_over_everything),
		cmocka_unit_test(test_environment_before_the_file),
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_errors_name_no_secret),
	};
	int fd = mkstemp(creds_path), rc;

	if (fd < 0)
		return 1;
	close(fd);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(creds_path);
	return rc;
}
