/* SPDX-License-Identifier: MIT */
/* config: a remote_write entry's proxy keys, its sigv4 block and its
 * oauth2 block: values, defaults, and every error with its exact
 * line:col. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_harness.h"

static void test_proxy_defaults_and_values(void **state)
{
	struct config cfg;

	(void)state;
	load_ok(RW, &cfg);
	assert_null(cfg.remote_write[0].proxy.url);
	assert_null(cfg.remote_write[0].proxy.no_proxy);
	assert_false(cfg.remote_write[0].proxy.from_environment);
	assert_false(cfg.remote_write[0].has_sigv4);
	config_free(&cfg);
	load_ok(RW "    proxy_url: http://u:p@proxy:3128\n    no_proxy: a,.b\n", &cfg);
	assert_string_equal(cfg.remote_write[0].proxy.url, "http://u:p@proxy:3128");
	assert_string_equal(cfg.remote_write[0].proxy.no_proxy, "a,.b");
	config_free(&cfg);
	load_ok(RW "    proxy_url: \"\"\n    proxy_from_environment: true\n", &cfg);
	assert_null(cfg.remote_write[0].proxy.url);
	assert_true(cfg.remote_write[0].proxy.from_environment);
	config_free(&cfg);
}

static void test_sigv4_values_and_region_from_env(void **state)
{
	struct config cfg;
	const struct sigv4_config *sv;

	(void)state;
	unsetenv("AWS_REGION");
	setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
	load_ok(RW "    sigv4: {access_key: AK, secret_key: sk, profile: p}\n", &cfg);
	sv = &cfg.remote_write[0].sigv4;
	assert_true(cfg.remote_write[0].has_sigv4);
	assert_string_equal(sv->region, "ap-south-1");
	assert_string_equal(sv->access_key, "AK");
	assert_string_equal(sv->secret_key, "sk");
	assert_string_equal(sv->profile, "p");
	config_free(&cfg);
	setenv("AWS_REGION", "eu-west-1", 1); /* before AWS_DEFAULT_REGION */
	load_ok(RW "    sigv4: {}\n", &cfg);
	assert_string_equal(cfg.remote_write[0].sigv4.region, "eu-west-1");
	config_free(&cfg);
	load_ok(RW "    sigv4: {region: us-east-2}\n", &cfg); /* the file wins */
	assert_string_equal(cfg.remote_write[0].sigv4.region, "us-east-2");
	config_free(&cfg);
	load_ok(RW "    sigv4: {region: r, role_arn: 'arn:aws:iam::1:role/x'}\n", &cfg);
	assert_string_equal(cfg.remote_write[0].sigv4.role_arn, "arn:aws:iam::1:role/x");
	config_free(&cfg);
	load_ok(RW "    sigv4:\n", &cfg); /* null: no sigv4, as in Prometheus */
	assert_false(cfg.remote_write[0].has_sigv4);
	config_free(&cfg);
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
}

#define OA RW "    oauth2:\n"

static void test_oauth2_values(void **state)
{
	struct config cfg;
	const struct oauth2_config *oc;

	(void)state;
	load_ok(OA "      client_id: c\n      client_secret: s\n"
		"      token_url: https://auth/token\n      scopes: [a, b]\n"
		"      endpoint_params: {audience: x, grant_type: y}\n", &cfg);
	oc = &cfg.remote_write[0].oauth2;
	assert_true(cfg.remote_write[0].has_oauth2);
	assert_string_equal(oc->client_id, "c");
	assert_string_equal(oc->client_secret, "s");
	assert_null(oc->client_secret_file);
	assert_string_equal(oc->token_url, "https://auth/token");
	assert_int_equal(oc->n_scopes, 2);
	assert_string_equal(oc->scopes[1], "b");
	assert_int_equal(oc->n_endpoint_params, 2);
	assert_string_equal(oc->endpoint_params[0].key, "audience");
	assert_string_equal(oc->endpoint_params[1].value, "y");
	assert_null(oc->tls.ca_file);
	assert_null(oc->proxy.url);
	assert_false(oc->proxy.from_environment);
	config_free(&cfg);
	load_ok(OA "      client_id: c\n      token_url: https://auth/token\n"
		"      tls_config: {ca_file: /ca, insecure_skip_verify: true}\n"
		"      proxy_url: http://u:p@proxy:3128\n      no_proxy: auth\n", &cfg);
	oc = &cfg.remote_write[0].oauth2;
	assert_string_equal(oc->tls.ca_file, "/ca");
	assert_true(oc->tls.insecure_skip_verify);
	assert_string_equal(oc->proxy.url, "http://u:p@proxy:3128");
	assert_string_equal(oc->proxy.no_proxy, "auth");
	assert_null(cfg.remote_write[0].proxy.url); /* the endpoint's own: unset */
	config_free(&cfg);
}

static void test_secrets_stay_out_of_errors(void **state)
{
	static const char *const yamls[] = {
		RW "    proxy_url: \"ftp://u:hunter2@h:1\"\n",
		RW "    proxy_url: \"http://u:hunter2@\"\n",
		RW "    sigv4: {region: x, access_key: a, secret_key: hunter2, role_arn: r}\n",
		RW "    sigv4: {region: 'bad region', secret_key: hunter2}\n",
		RW "    oauth2: {client_id: c, client_secret: hunter2, token_url: \"ftp://u:hunter2@h\"}\n",
		RW "    oauth2: {client_id: c, client_secret: hunter2, token_url: http://h/t}\n"
		   "    basic_auth: {username: u, password: hunter2}\n",
		RW "    oauth2: {client_id: c, client_secret: \"hunter2\\x01\", token_url: http://h/t}\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(yamls) / sizeof(yamls[0]); i++) {
		struct config cfg;
		struct config_error err;

		assert_int_equal(config_load_string("t.yml", yamls[i], strlen(yamls[i]), &schemas,
						    &cfg, &err), -1);
		if (strstr(err.text, "hunter2"))
			fail_msg("%s -> %s", yamls[i], err.text);
	}
}


static const struct error_case error_cases[] = {
	/* proxy */
	{"proxy_url scheme", RW "    proxy_url: socks5://h:1080\n", 3, 16,
	 "\"proxy_url\": must be an http:// or https:// URL with a host"},
	{"proxy_url no host", RW "    proxy_url: \"http:///x\"\n", 3, 16, "(no host)"},
	{"proxy_url and env", RW "    proxy_url: http://h:1\n    proxy_from_environment: true\n",
	 4, 5, "\"proxy_url\" and \"proxy_from_environment\" cannot both be set"},
	{"env and proxy_url", RW "    proxy_from_environment: true\n    proxy_url: http://h:1\n",
	 4, 5, "\"proxy_url\" and \"proxy_from_environment\" cannot both be set"},
	{"no_proxy and env", RW "    proxy_from_environment: true\n    no_proxy: x\n", 4, 5,
	 "\"no_proxy\" and \"proxy_from_environment\" cannot both be set"},
	{"no_proxy alone", RW "    no_proxy: x\n", 3, 5,
	 "\"no_proxy\" is set but \"proxy_url\" is not"},
	{"proxy_from_environment not bool", RW "    proxy_from_environment: yes\n", 3, 29,
	 "expected true or false"},
	/* sigv4 */
	{"sigv4 and basic_auth", RW "    basic_auth: {username: u}\n    sigv4: {region: r}\n", 4, 5,
	 "\"sigv4\" and \"basic_auth\" cannot both be set"},
	{"authorization and sigv4", RW "    sigv4: {region: r}\n    authorization: {credentials: c}\n",
	 4, 5, "\"sigv4\" and \"authorization\" cannot both be set"},
	{"sigv4 role_arn not an ARN", RW "    sigv4: {region: r, role_arn: nope}\n", 3, 34,
	 "\"role_arn\": expected an ARN"},
	{"sigv4 secret without access", RW "    sigv4: {region: r, secret_key: s}\n", 3, 24,
	 "\"access_key\" and \"secret_key\" go together"},
	{"sigv4 access without secret", RW "    sigv4: {region: r, access_key: a}\n", 3, 24,
	 "\"access_key\" and \"secret_key\" go together"},
	{"sigv4 access with colon", RW "    sigv4: {region: r, access_key: 'a:b', secret_key: s}\n",
	 3, 36, "\"access_key\": must not contain ':'"},
	{"sigv4 region chars", RW "    sigv4: {region: 'us-east-1:x'}\n", 3, 21,
	 "expected an AWS region such as us-east-1"},
	{"sigv4 no region", RW "    sigv4: {profile: p}\n", 3, 12,
	 "no \"region\", and neither AWS_REGION nor AWS_DEFAULT_REGION is set"},
	{"sigv4 unknown key", RW "    sigv4: {regoin: r}\n", 3, 13, "regoin"},
	{"sigv4 not a mapping", RW "    sigv4: us-east-1\n", 3, 12, "\"sigv4\": expected a mapping"},
	/* oauth2 */
	{"oauth2 no client_id", OA "      token_url: https://auth/token\n", 4, 7,
	 "oauth2: \"client_id\" must be set"},
	{"oauth2 no token_url", OA "      client_id: c\n", 4, 7,
	 "oauth2: \"token_url\" must be set"},
	{"oauth2 secret and file", OA "      client_id: c\n      client_secret_file: /f\n"
	 "      client_secret: s\n      token_url: https://a/t\n", 6, 7,
	 "\"client_secret\" and \"client_secret_file\" cannot both be set"},
	{"oauth2 token_url scheme", OA "      client_id: c\n      token_url: ftp://a/t\n", 5, 18,
	 "\"token_url\": must be an http:// or https:// URL"},
	{"oauth2 scopes not a list", OA "      client_id: c\n      token_url: https://a/t\n"
	 "      scopes: read\n", 6, 15, "\"scopes\": expected a sequence of strings"},
	{"oauth2 scope with space", OA "      client_id: c\n      token_url: https://a/t\n"
	 "      scopes: [ok, 'a b']\n", 6, 20, "is not a scope"},
	{"oauth2 duplicate param", OA "      client_id: c\n      token_url: https://a/t\n"
	 "      endpoint_params: {a: 1, a: 2}\n", 6, 31, "duplicate"},
	{"oauth2 scope param with scopes", OA "      client_id: c\n      token_url: https://a/t\n"
	 "      scopes: [x]\n      endpoint_params: {scope: y}\n", 7, 24,
	 "\"scope\" cannot be set together with \"scopes\""},
	{"oauth2 unknown key", OA "      client_id: c\n      token_url: https://a/t\n"
	 "      tls_confg: {}\n", 6, 7, "tls_confg"},
	{"oauth2 tls server_name", OA "      client_id: c\n      token_url: https://a/t\n"
	 "      tls_config: {server_name: x}\n", 6, 19,
	 "\"server_name\" is not supported for the token request"},
	{"oauth2 tls cert without key", OA "      client_id: c\n      token_url: https://a/t\n"
	 "      tls_config: {cert_file: /c}\n", 6, 20, "\"cert_file\" is set but \"key_file\""},
	{"oauth2 no_proxy alone", OA "      client_id: c\n      token_url: https://a/t\n"
	 "      no_proxy: x\n", 6, 7, "oauth2: \"no_proxy\" is set but \"proxy_url\" is not"},
	{"oauth2 proxy_url and env", OA "      client_id: c\n      token_url: https://a/t\n"
	 "      proxy_url: http://p:1\n      proxy_from_environment: true\n", 7, 7,
	 "oauth2: \"proxy_url\" and \"proxy_from_environment\" cannot both be set"},
	{"oauth2 proxy_url scheme", OA "      client_id: c\n      token_url: https://a/t\n"
	 "      proxy_url: socks5://p:1\n", 6, 18, "\"proxy_url\": must be an http"},
	{"oauth2 and basic_auth", RW "    basic_auth: {username: u}\n    oauth2: {client_id: c, "
	 "token_url: https://a/t}\n", 4, 5, "\"oauth2\" and \"basic_auth\" cannot both be set"},
	{"sigv4 and oauth2", RW "    oauth2: {client_id: c, token_url: https://a/t}\n"
	 "    sigv4: {region: r}\n", 4, 5, "\"oauth2\" and \"sigv4\" cannot both be set"},
};

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_proxy_defaults_and_values),
		cmocka_unit_test(test_sigv4_values_and_region_from_env),
		cmocka_unit_test(test_oauth2_values),
		cmocka_unit_test(test_secrets_stay_out_of_errors),
	};

	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	return run_config_tests("config_auth", fixed, sizeof(fixed) / sizeof(fixed[0]),
				error_cases, sizeof(error_cases) / sizeof(error_cases[0]));
}
