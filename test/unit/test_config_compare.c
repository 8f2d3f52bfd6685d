/* SPDX-License-Identifier: MIT */
/* config_remote_write_equal and config_section_equal: a reload keeps what
 * is equal running untouched, so every setting must count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_harness.h"

#define BASE_RW                                                                                    \
	"remote_write:\n  - url: http://a/w\n    name: a\n    headers: {X-A: b}\n"                 \
	"    authorization: {credentials_file: /t}\n"                                             \
	"    tls_config: {ca_file: /ca}\n"

/* Each one setting away from BASE_RW. */
static const char *const rw_variants[] = {
	"remote_write:\n  - url: http://a/w2\n    name: a\n    headers: {X-A: b}\n"
	"    authorization: {credentials_file: /t}\n    tls_config: {ca_file: /ca}\n",
	"remote_write:\n  - url: http://a/w\n    name: b\n    headers: {X-A: b}\n"
	"    authorization: {credentials_file: /t}\n    tls_config: {ca_file: /ca}\n",
	"remote_write:\n  - url: http://a/w\n    name: a\n    headers: {X-A: c}\n"
	"    authorization: {credentials_file: /t}\n    tls_config: {ca_file: /ca}\n",
	"remote_write:\n  - url: http://a/w\n    name: a\n    headers: {X-A: b}\n"
	"    authorization: {credentials_file: /t2}\n    tls_config: {ca_file: /ca}\n",
	"remote_write:\n  - url: http://a/w\n    name: a\n    headers: {X-A: b}\n"
	"    authorization: {credentials_file: /t}\n    tls_config: {ca_file: /ca2}\n",
	BASE_RW "    remote_timeout: 5s\n",
	BASE_RW "    queue_config: {max_samples_per_send: 7}\n",
	BASE_RW "    queue_config: {max_disk_bytes: 1MiB}\n",
	BASE_RW "    queue_config: {catchup_jitter: 0s}\n",
	BASE_RW "    connection: {max_requests: 3}\n",
	BASE_RW "    follow_redirects: false\n",
	BASE_RW "    protobuf_message: io.prometheus.write.v2.Request\n",
	BASE_RW "    metadata_config: {send: false}\n",
	BASE_RW "    metadata_config: {send_interval: 2m}\n",
	BASE_RW "    metadata_config: {max_samples_per_send: 10}\n",
};

#define OA_RW(block) "remote_write:\n  - url: http://a/w\n    oauth2: {" block "}\n"
#define OA_BASE "client_id: c, client_secret: s, token_url: http://t/t, scopes: [a, b], " \
		"endpoint_params: {x: y}"

/* Each one oauth2 setting away from OA_RW(OA_BASE): the endpoint restarts. */
static const char *const oauth2_variants[] = {
	"remote_write:\n  - url: http://a/w\n",
	OA_RW("client_id: d, client_secret: s, token_url: http://t/t, scopes: [a, b], "
	      "endpoint_params: {x: y}"),
	OA_RW("client_id: c, client_secret: s2, token_url: http://t/t, scopes: [a, b], "
	      "endpoint_params: {x: y}"),
	OA_RW("client_id: c, client_secret_file: /etc/hostname, token_url: http://t/t, scopes: [a, b], "
	      "endpoint_params: {x: y}"),
	OA_RW("client_id: c, client_secret: s, token_url: http://t/u, scopes: [a, b], "
	      "endpoint_params: {x: y}"),
	OA_RW("client_id: c, client_secret: s, token_url: http://t/t, scopes: [a], "
	      "endpoint_params: {x: y}"),
	OA_RW("client_id: c, client_secret: s, token_url: http://t/t, scopes: [a, c], "
	      "endpoint_params: {x: y}"),
	OA_RW("client_id: c, client_secret: s, token_url: http://t/t, scopes: [a, b], "
	      "endpoint_params: {x: z}"),
	OA_RW(OA_BASE ", tls_config: {ca_file: /ca}"),
	OA_RW(OA_BASE ", proxy_url: http://p:1"),
	OA_RW(OA_BASE ", proxy_from_environment: true"),
};

static void test_oauth2_equal(void **state)
{
	struct config a, b;

	(void)state;
	load_ok(OA_RW(OA_BASE), &a);
	load_ok(OA_RW(OA_BASE), &b);
	assert_true(config_remote_write_equal(&a.remote_write[0], &b.remote_write[0]));
	config_free(&b);
	for (size_t i = 0; i < sizeof(oauth2_variants) / sizeof(oauth2_variants[0]); i++) {
		load_ok(oauth2_variants[i], &b);
		if (config_remote_write_equal(&a.remote_write[0], &b.remote_write[0]))
			fail_msg("oauth2 variant %zu compares equal", i);
		config_free(&b);
	}
	config_free(&a);
}

static void test_remote_write_equal(void **state)
{
	struct config a, b;

	(void)state;
	load_ok(BASE_RW, &a);
	load_ok(BASE_RW, &b);
	assert_true(config_remote_write_equal(&a.remote_write[0], &b.remote_write[0]));
	config_free(&b);
	for (size_t i = 0; i < sizeof(rw_variants) / sizeof(rw_variants[0]); i++) {
		load_ok(rw_variants[i], &b);
		if (config_remote_write_equal(&a.remote_write[0], &b.remote_write[0]))
			fail_msg("variant %zu compares equal", i);
		config_free(&b);
	}
	config_free(&a);
}

static const char *const section_variants[] = {
	"collectors:\n  fake: {flag: false}\n",
	"collectors:\n  fake: {count: 43}\n",
	"collectors:\n  fake: {every: 1s}\n",
	"collectors:\n  fake: {path: /other}\n",
	"collectors:\n  fake: {path_null: /set}\n",
	"collectors:\n  fake: {pattern: \"^x$\"}\n",
	"collectors:\n  fake: {mode: exact}\n",
	"collectors:\n  fake: false\n",
};

static void test_section_equal(void **state)
{
	struct config a, b;

	(void)state;
	load_ok("collectors:\n  fake: {}\n", &a);
	load_ok("collectors:\n  fake: {count: 42}\n", &b); /* the default, said */
	assert_true(config_section_equal(config_collector(&a, "fake"), config_collector(&b, "fake")));
	assert_true(config_section_equal(config_collector(&a, "cpu"), config_collector(&b, "cpu")));
	config_free(&b);
	for (size_t i = 0; i < sizeof(section_variants) / sizeof(section_variants[0]); i++) {
		load_ok(section_variants[i], &b);
		if (config_section_equal(config_collector(&a, "fake"), config_collector(&b, "fake")))
			fail_msg("variant %zu compares equal", i);
		config_free(&b);
	}
	config_free(&a);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote_write_equal),
		cmocka_unit_test(test_oauth2_equal),
		cmocka_unit_test(test_section_equal),
	};

	return cmocka_run_group_tests_name("config_compare", tests, NULL, NULL);
}
