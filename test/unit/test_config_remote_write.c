/* SPDX-License-Identifier: MIT */
/* config: the remote_write: section, every key, its defaults, secrets in
 * files, URL userinfo kept out of messages, and every error of an entry
 * with its exact line:col, each row of the table its own cmocka test. */
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

/* ---- valid entries ---------------------------------------------------- */

static void assert_defaults_rw(const struct remote_write_config *rw)
{
	assert_string_equal(rw->name, "");
	assert_int_equal(rw->remote_timeout_ms, 30000);
	assert_int_equal(rw->n_headers, 0);
	assert_false(rw->has_basic_auth);
	assert_false(rw->has_authorization);
	assert_string_equal(rw->authorization.type, "Bearer");
	assert_null(rw->tls.ca_file);
	assert_null(rw->tls.cert_file);
	assert_null(rw->tls.key_file);
	assert_null(rw->tls.server_name);
	assert_false(rw->tls.insecure_skip_verify);
	assert_int_equal(rw->queue.capacity, 10000);
	assert_int_equal(rw->queue.max_shards, 50);
	assert_int_equal(rw->queue.min_shards, 1);
	assert_int_equal(rw->queue.max_samples_per_send, 2000);
	assert_int_equal(rw->queue.batch_send_deadline_ms, 5000);
	assert_int_equal(rw->queue.min_backoff_ms, 30);
	assert_int_equal(rw->queue.max_backoff_ms, 5000);
	assert_true(rw->queue.retry_on_http_429);
	assert_int_equal(rw->queue.sample_age_limit_ms, 0);
	assert_int_equal(rw->queue.max_retry_after_ms, 60000);
	assert_int_equal(rw->queue.max_disk_bytes, 1LL << 30);
	assert_int_equal(rw->queue.rate_limit, 0);
	assert_int_equal(rw->queue.catchup_jitter_ms, 5000);
	assert_true(rw->follow_redirects);
	assert_int_equal(rw->connection.max_requests, 0);
	assert_int_equal(rw->connection.max_age_ms, 0);
	assert_int_equal(rw->protobuf_message, RW_PROTO_V1);
	assert_true(rw->metadata.send);
	assert_int_equal(rw->metadata.send_interval_ms, 60000);
	assert_int_equal(rw->metadata.max_samples_per_send, 2000);
}

static void test_remote_write_defaults(void **state)
{
	struct config cfg;

	(void)state;
	load_ok("remote_write:\n  - url: http://a/w\n  - {url: \"https://b:1/w\"}\n", &cfg);
	assert_int_equal(cfg.n_remote_write, 2);
	assert_string_equal(cfg.remote_write[0].url, "http://a/w");
	assert_defaults_rw(&cfg.remote_write[0]);
	assert_string_equal(cfg.remote_write[1].url, "https://b:1/w");
	assert_defaults_rw(&cfg.remote_write[1]);
	config_free(&cfg);
}

static void test_env_only_in_labels(void **state)
{
	struct config cfg;

	/* Expansion is for external_labels only (as in Prometheus): a
	 * URL or header with ${...} is taken literally. */
	(void)state;
	setenv("BPFPUSH_T_A", "alpha", 1);
	load_ok("remote_write:\n  - url: http://a/${BPFPUSH_T_A}\n"
		"    headers: {X-A: \"${BPFPUSH_T_A}\"}\n",
		&cfg);
	assert_string_equal(cfg.remote_write[0].url, "http://a/${BPFPUSH_T_A}");
	assert_string_equal(cfg.remote_write[0].headers[0].value, "${BPFPUSH_T_A}");
	config_free(&cfg);
	unsetenv("BPFPUSH_T_A");
}

static void test_quoted_and_null_values(void **state)
{
	struct config cfg;
	const struct remote_write_config *rw;

	/* Typed values read the same quoted or plain; null means default;
	 * an empty optional string means unset. */
	(void)state;
	load_ok("global: {interval: \"20s\", rootfs: '/r', histograms: ~}\n"
		"remote_write:\n"
		"  - url: 'http://h/w'\n"
		"    name: ~\n"
		"    remote_timeout:\n"
		"    queue_config: {capacity: \"123\", retry_on_http_429: \"false\", max_shards: ~}\n"
		"    tls_config: {ca_file: \"\", server_name: ~, insecure_skip_verify: 'true'}\n"
		"    authorization: {type: \"\", credentials: \"\", credentials_file: /f}\n"
		"    connection: {max_requests: 0, max_age: 0}\n"
		"http: {listen_address: \"\"}\n",
		&cfg);
	assert_int_equal(cfg.global.interval_ms, 20000);
	assert_string_equal(cfg.global.rootfs, "/r");
	assert_int_equal(cfg.global.histograms, HISTOGRAMS_CLASSIC);
	rw = &cfg.remote_write[0];
	assert_string_equal(rw->url, "http://h/w");
	assert_string_equal(rw->name, "");
	assert_int_equal(rw->remote_timeout_ms, 30000);
	assert_int_equal(rw->queue.capacity, 123);
	assert_false(rw->queue.retry_on_http_429);
	assert_int_equal(rw->queue.max_shards, 50);
	assert_null(rw->tls.ca_file);
	assert_null(rw->tls.server_name);
	assert_true(rw->tls.insecure_skip_verify);
	assert_string_equal(rw->authorization.type, "Bearer");
	assert_null(rw->authorization.credentials);
	assert_string_equal(rw->authorization.credentials_file, "/f");
	assert_string_equal(cfg.http.listen_address, "");
	config_free(&cfg);
}

static void test_valid_values(void **state)
{
	static const char *const addrs[] = {
		"127.0.0.1:9477", "0.0.0.0:1", ":65535", "localhost:9100", "[::1]:9477",
		"[::]:80", "[fe80::1%eth0]:9477", "node-1.example.com:9100",
	};
	static const char *const urls[] = {
		"http://a", "https://a:1/x?y=z", "HTTP://Host/x", "http://user:pw@h:8428/api/v1/write",
		"http://[::1]:9090/api/v1/write", "https://10.0.0.1/",
	};
	char yaml[256];

	(void)state;
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		struct config cfg;
		snprintf(yaml, sizeof(yaml), "http: {listen_address: \"%s\"}\n", addrs[i]);
		load_ok(yaml, &cfg);
		assert_string_equal(cfg.http.listen_address, addrs[i]);
		config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct config cfg;
		snprintf(yaml, sizeof(yaml), "remote_write: [{url: \"%s\"}]\n", urls[i]);
		load_ok(yaml, &cfg);
		assert_string_equal(cfg.remote_write[0].url, urls[i]);
		config_free(&cfg);
	}
}

static void test_shards_and_backoff_edges(void **state)
{
	struct config cfg;

	(void)state;
	load_ok("remote_write:\n  - url: http://a\n    queue_config: {min_shards: 50, max_shards: 50,"
		" min_backoff: 5s, max_backoff: 5s, capacity: 1, max_samples_per_send: 1}\n"
		"  - url: http://b\n    queue_config: {max_shards: 1}\n",
		&cfg);
	assert_int_equal(cfg.remote_write[0].queue.min_shards, 50);
	assert_int_equal(cfg.remote_write[0].queue.max_backoff_ms, 5000);
	assert_int_equal(cfg.remote_write[1].queue.max_shards, 1);
	config_free(&cfg);
}

static void test_anchors(void **state)
{
	struct config cfg;

	(void)state;
	load_ok("remote_write:\n"
		"  - url: http://a\n"
		"    queue_config: &q {capacity: 777, max_shards: 3}\n"
		"  - url: http://b\n"
		"    queue_config: *q\n",
		&cfg);
	assert_int_equal(cfg.remote_write[1].queue.capacity, 777);
	assert_int_equal(cfg.remote_write[1].queue.max_shards, 3);
	config_free(&cfg);
}

/* Unset, max_retry_after follows a max_backoff above its 1m default;
 * set, it is taken as written. */
static void test_retry_after_bound_and_redirects(void **state)
{
	struct config cfg;

	(void)state;
	load_ok("remote_write:\n  - url: http://a\n    queue_config: {max_backoff: 2m}\n"
		"  - url: http://b\n    follow_redirects: false\n"
		"    queue_config: {max_backoff: 10s, max_retry_after: 10s}\n"
		"  - url: http://c\n    queue_config: {max_retry_after: 1h}\n",
		&cfg);
	assert_int_equal(cfg.remote_write[0].queue.max_retry_after_ms, 120000);
	assert_true(cfg.remote_write[0].follow_redirects);
	assert_int_equal(cfg.remote_write[1].queue.max_retry_after_ms, 10000);
	assert_false(cfg.remote_write[1].follow_redirects);
	assert_int_equal(cfg.remote_write[2].queue.max_retry_after_ms, 3600000);
	config_free(&cfg);
}

/* Prometheus' names for the two messages; metadata_config's keys. */
static void test_protocol_keys(void **state)
{
	struct config cfg;

	(void)state;
	load_ok("remote_write:\n  - url: http://a\n    protobuf_message: prometheus.WriteRequest\n"
		"  - url: http://b\n    protobuf_message: \"io.prometheus.write.v2.Request\"\n"
		"    metadata_config: {send: false, send_interval: 30s, max_samples_per_send: 5}\n"
		"  - url: http://c\n    protobuf_message: ~\n    metadata_config: ~\n",
		&cfg);
	assert_int_equal(cfg.remote_write[0].protobuf_message, RW_PROTO_V1);
	assert_int_equal(cfg.remote_write[1].protobuf_message, RW_PROTO_V2);
	assert_false(cfg.remote_write[1].metadata.send);
	assert_int_equal(cfg.remote_write[1].metadata.send_interval_ms, 30000);
	assert_int_equal(cfg.remote_write[1].metadata.max_samples_per_send, 5);
	assert_int_equal(cfg.remote_write[2].protobuf_message, RW_PROTO_V1);
	assert_true(cfg.remote_write[2].metadata.send);
	assert_int_equal(cfg.remote_write[2].metadata.send_interval_ms, 60000);
	config_free(&cfg);
}

static char *secret_file(const char *content)
{
	static char path[] = "/tmp/test_config_secret.XXXXXX";
	int fd;

	strcpy(path, "/tmp/test_config_secret.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	return path;
}

/* "tokA\r\nX-Injected: yes" from a file would add a header to every
 * request: the load fails at the key's value, without the secret. */
static void check_bad_secret_file(const char *block, int col)
{
	char yaml[512], prefix[64];
	struct config cfg;
	struct config_error err;
	char *path = secret_file("tokA\r\nX-Injected: yes\n");

	snprintf(yaml, sizeof(yaml), "remote_write:\n  - url: http://a\n    %s%s}\n", block, path);
	assert_int_equal(config_load_string("test.yml", yaml, strlen(yaml), &schemas, &cfg, &err),
			 -1);
	unlink(path);
	snprintf(prefix, sizeof(prefix), "test.yml:3:%d: ", col);
	if (strncmp(err.text, prefix, strlen(prefix)) || !strstr(err.text, path) ||
	    !strstr(err.text, "control character") || strstr(err.text, "tokA") ||
	    strstr(err.text, "Injected"))
		fail_msg("want %s...%s...control character, no secret; got %s", prefix, path,
			 err.text);
	assert_memory_equal(&cfg, &zero_config, sizeof(cfg));
}

static void test_secret_files(void **state)
{
	struct config cfg;
	char yaml[512], *path;

	(void)state;
	check_bad_secret_file("authorization: {credentials_file: ", 39);
	check_bad_secret_file("basic_auth: {username: u, password_file: ", 46);
	/* Surrounding whitespace is trimmed, as Prometheus does; a missing
	 * file is left to the sender (it may be mounted later). */
	path = secret_file("  tok\r\n\n");
	snprintf(yaml, sizeof(yaml), "remote_write:\n  - url: http://a\n"
		 "    authorization: {credentials_file: %s}\n"
		 "  - url: http://b\n    basic_auth: {username: u, password_file: /nonexistent/pw}\n",
		 path);
	load_ok(yaml, &cfg);
	unlink(path);
	config_free(&cfg);
}

/* ---- URL userinfo never leaves the config ---------------------------- */

static void check_mask(const char *url, const char *want)
{
	char out[256];

	config_mask_url(url, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_mask_url(void **state)
{
	char out[12];

	(void)state;
	check_mask("http://127.0.0.1:8428/api/v1/write", "http://127.0.0.1:8428/api/v1/write");
	check_mask("https://user:pa55@lts.example:443/push", "https://<secret>@lts.example:443/push");
	check_mask("https://user@lts.example/push", "https://<secret>@lts.example/push");
	/* an '@' in the password, and '@'s after the authority that are not userinfo */
	check_mask("http://u:p@ss@h/x@y", "http://<secret>@h/x@y");
	check_mask("http://h/path@x?q=a@b", "http://h/path@x?q=a@b");
	check_mask("http://u:p@h?q=a@b#c@d", "http://<secret>@h?q=a@b#c@d");
	/* the malformed URLs an error message quotes */
	check_mask("http:/user:secret@h/x", "http:/<secret>@h/x");
	check_mask("http:///user:secret@h/x", "http:///<secret>@h/x");
	check_mask("user:secret@h:8428/api/v1/write", "<secret>@h:8428/api/v1/write");
	check_mask("//user:secret@h/x", "//<secret>@h/x");
	check_mask("not a url", "not a url");
	check_mask("", "");
	config_mask_url("https://user:pw@host/path", out, sizeof(out));
	assert_string_equal(out, "https://<se");
}

/* Every URL check-config can reject names the URL without its password. */
static void test_url_errors_mask_userinfo(void **state)
{
	static const char *const urls[] = {
		"http://user:secret@h:99999/api/v1/write", "http://user:secret@/api/v1/write",
		"ftp://user:secret@h/x", "http:/user:secret@h/x", "user:secret@h:8428/x",
		"file://user:secret@h/etc/passwd", "http://user:secret@a b/",
	};
	char yaml[256];

	(void)state;
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct config cfg;
		struct config_error err;

		snprintf(yaml, sizeof(yaml), "remote_write:\n  - url: \"%s\"\n", urls[i]);
		assert_int_equal(config_load_string("t.yml", yaml, strlen(yaml), &schemas, &cfg,
						    &err), -1);
		if (strstr(err.text, "secret@") || !strstr(err.text, "<secret>@") ||
		    !strstr(err.text, "t.yml:2:10: \"url\": "))
			fail_msg("%s -> %s", urls[i], err.text);
	}
}

/* ---- errors ---------------------------------------------------------- */

static const struct error_case error_cases[] = {
	/* integers */
	{"negative capacity", RW "    queue_config:\n      capacity: -5\n", 4, 17,
	 "\"capacity\": must be >= 1, got -5"},
	{"zero capacity", RW "    queue_config: {capacity: 0}\n", 3, 30, "\"capacity\": must be >= 1, got 0"},
	{"zero max_shards", RW "    queue_config: {max_shards: 0}\n", 3, 32,
	 "\"max_shards\": must be >= 1, got 0"},
	{"zero min_shards", RW "    queue_config: {min_shards: 0}\n", 3, 32,
	 "\"min_shards\": must be >= 1, got 0"},
	{"zero max_samples_per_send", RW "    queue_config: {max_samples_per_send: 0}\n", 3, 42,
	 "\"max_samples_per_send\": must be >= 1, got 0"},
	{"negative max_requests", RW "    connection: {max_requests: -1}\n", 3, 32,
	 "\"max_requests\": must be >= 0, got -1"},
	{"float int", RW "    queue_config: {capacity: 1.5}\n", 3, 30,
	 "\"capacity\": expected an integer, got \"1.5\""},
	{"hex int", RW "    queue_config: {capacity: 0x10}\n", 3, 30, "expected an integer, got \"0x10\""},
	{"octal-looking int", RW "    queue_config: {capacity: 010}\n", 3, 30,
	 "expected a decimal integer without leading zeros, got \"010\""},
	{"int overflow", RW "    queue_config: {capacity: 9223372036854775808}\n", 3, 30,
	 "integer out of range, got \"9223372036854775808\""},
	{"int words", RW "    queue_config: {capacity: lots}\n", 3, 30, "expected an integer, got \"lots\""},
	{"int empty quoted", RW "    queue_config: {capacity: \"\"}\n", 3, 30,
	 "expected an integer, got \"\""},

	/* booleans */
	{"bool yes", RW "    queue_config: {retry_on_http_429: yes}\n", 3, 39,
	 "\"retry_on_http_429\": expected true or false, got \"yes\""},
	{"bool True", RW "    tls_config: {insecure_skip_verify: True}\n", 3, 40,
	 "\"insecure_skip_verify\": expected true or false, got \"True\""},
	{"bool 1", RW "    tls_config: {insecure_skip_verify: 1}\n", 3, 40,
	 "expected true or false, got \"1\""},

	/* min/max pairs: at the value the user wrote */
	{"min > max shards", RW "    queue_config:\n      min_shards: 5\n      max_shards: 2\n", 4, 19,
	 "\"min_shards\" (5) is greater than \"max_shards\" (2)"},
	{"min > default max shards", RW "    queue_config: {min_shards: 60}\n", 3, 32,
	 "\"min_shards\" (60) is greater than \"max_shards\" (50)"},
	{"max < min backoff", RW "    queue_config: {min_backoff: 2s, max_backoff: 1s}\n", 3, 50,
	 "\"max_backoff\" (1s) is less than \"min_backoff\" (2s)"},
	{"min > default max backoff", RW "    queue_config: {min_backoff: 1m}\n", 3, 33,
	 "\"max_backoff\" (5s) is less than \"min_backoff\" (1m)"},
	{"max < default min backoff", RW "    queue_config: {max_backoff: 10ms}\n", 3, 33,
	 "\"max_backoff\" (10ms) is less than \"min_backoff\" (30ms)"},
	{"max_retry_after < max_backoff",
	 RW "    queue_config: {max_backoff: 10s, max_retry_after: 5s}\n", 3, 55,
	 "\"max_retry_after\" (5s) is less than \"max_backoff\" (10s)"},
	{"max_retry_after < default max_backoff", RW "    queue_config: {max_retry_after: 1s}\n", 3,
	 37, "\"max_retry_after\" (1s) is less than \"max_backoff\" (5s)"},
	{"max_retry_after zero", RW "    queue_config: {max_retry_after: 0s}\n", 3, 37,
	 "\"max_retry_after\": must be greater than 0"},
	{"max_retry_after bad", RW "    queue_config: {max_retry_after: 1hour}\n", 3, 37,
	 "\"max_retry_after\": "},
	{"max_disk_bytes not a size", RW "    queue_config: {max_disk_bytes: lots}\n", 3, 36,
	 "\"max_disk_bytes\": expected a byte size like 1GiB, 512MiB or 65536, got \"lots\""},
	{"max_disk_bytes fraction", RW "    queue_config: {max_disk_bytes: 1.5GiB}\n", 3, 36,
	 "expected a byte size"},
	{"max_disk_bytes below a segment", RW "    queue_config: {max_disk_bytes: 1KiB}\n", 3, 36,
	 "\"max_disk_bytes\": must be at least 65536 bytes, got \"1KiB\""},
	{"rate_limit negative", RW "    queue_config: {rate_limit: -1}\n", 3, 32,
	 "\"rate_limit\": expected a byte size"},
	{"catchup_jitter no unit", RW "    queue_config: {catchup_jitter: 5}\n", 3, 36,
	 "\"catchup_jitter\": "},
	{"follow_redirects not bool", RW "    follow_redirects: yes\n", 3, 23,
	 "\"follow_redirects\": expected true or false, got \"yes\""},
	{"protobuf_message unknown", RW "    protobuf_message: v2\n", 3, 23,
	 "\"protobuf_message\": expected \"prometheus.WriteRequest\" or "
	 "\"io.prometheus.write.v2.Request\", got \"v2\""},
	{"protobuf_message mapping", RW "    protobuf_message: {a: b}\n", 3, 23,
	 "\"protobuf_message\""},
	{"metadata send_interval zero", RW "    metadata_config: {send_interval: 0s}\n", 3, 38,
	 "\"send_interval\": must be greater than 0"},
	{"metadata max_samples zero", RW "    metadata_config: {max_samples_per_send: 0}\n", 3,
	 45, "\"max_samples_per_send\": "},
	{"metadata unknown key", RW "    metadata_config: {sned: true}\n", 3, 23,
	 "unknown key \"sned\" in metadata_config"},

	/* URLs */
	{"url ftp", "remote_write:\n  - url: ftp://x\n", 2, 10,
	 "\"url\": must be an http:// or https:// URL with a host, got \"ftp://x\""},
	{"url no scheme", "remote_write:\n  - url: 127.0.0.1:8428/api/v1/write\n", 2, 10,
	 "got \"127.0.0.1:8428/api/v1/write\" (no scheme)"},
	{"url no host", "remote_write:\n  - url: \"http://\"\n", 2, 10,
	 "must be an http:// or https:// URL with a host, got \"http://\""},
	{"url triple slash", "remote_write:\n  - url: http:///api/v1/write\n", 2, 10, "(no host)"},
	{"url bad port", "remote_write:\n  - url: http://h:99999/\n", 2, 10, "got \"http://h:99999/\""},
	{"url space", "remote_write:\n  - url: http://a b/\n", 2, 10, "got \"http://a b/\""},
	{"url empty", "remote_write:\n  - url: \"\"\n", 2, 10, "got \"\""},
	{"url file", "remote_write:\n  - url: file:///etc/passwd\n", 2, 10,
	 "got \"file:///etc/passwd\""},
	{"url missing", "remote_write:\n  - name: a\n", 2, 5,
	 "remote_write[0]: missing required key \"url\""},
	{"url null", "remote_write:\n  - url: http://a\n  - url: ~\n    name: b\n", 3, 5,
	 "remote_write[1]: missing required key \"url\""},

	/* headers */
	{"header content-type", RW "    headers:\n      Content-Type: text/plain\n", 4, 7,
	 "header \"Content-Type\" is set by bpfpush itself"},
	{"header lower case", RW "    headers: {content-encoding: gzip}\n", 3, 15,
	 "header \"content-encoding\" is set by bpfpush itself"},
	{"header version", RW "    headers: {X-PROMETHEUS-REMOTE-WRITE-VERSION: 2.0.0}\n", 3, 15,
	 "header \"X-PROMETHEUS-REMOTE-WRITE-VERSION\" is set by bpfpush itself"},
	{"header user-agent", RW "    headers: {User-Agent: me}\n", 3, 15,
	 "header \"User-Agent\" is set by bpfpush itself"},
	{"header connection", RW "    headers: {Connection: close}\n", 3, 15,
	 "header \"Connection\" is set by bpfpush itself"},
	{"header authorization", RW "    headers: {authorization: Bearer x}\n", 3, 15,
	 "header \"authorization\" cannot be set in headers: use the authorization or basic_auth"},
	{"header bad name", RW "    headers: {\"X Y\": z}\n", 3, 15, "invalid header name \"X Y\""},
	{"header newline", RW "    headers: {X-A: \"a\\r\\nX-B: b\"}\n", 3, 20,
	 "\"X-A\": a header value must not contain control characters"},
	{"header duplicate", RW "    headers: {X-A: a, x-a: b}\n", 3, 23,
	 "duplicate key \"x-a\" (first set at line 3)"},

	/* auth and TLS */
	{"basic_auth and authorization",
	 RW "    authorization: {credentials: t}\n    basic_auth: {username: u}\n", 4, 5,
	 "remote_write[0]: \"basic_auth\" and \"authorization\" cannot both be set"},
	{"password and password_file",
	 RW "    basic_auth: {username: u, password: p, password_file: /f}\n", 3, 44,
	 "basic_auth: \"password\" and \"password_file\" cannot both be set"},
	{"credentials and credentials_file",
	 RW "    authorization:\n      credentials_file: /f\n      credentials: t\n", 5, 7,
	 "authorization: \"credentials\" and \"credentials_file\" cannot both be set"},
	{"authorization basic", RW "    authorization: {type: basic, credentials: t}\n", 3, 27,
	 "\"type\": \"basic\" is not allowed here: use basic_auth"},
	{"authorization type space", RW "    authorization: {type: \"Bearer x\"}\n", 3, 27,
	 "\"type\": must be one word such as Bearer"},
	{"credentials newline", RW "    authorization: {credentials: \"a\\nb\"}\n", 3, 34,
	 "\"credentials\": must not contain control characters"},
	{"password newline", RW "    basic_auth: {username: u, password: \"a\\r\\nX-B: b\"}\n", 3, 41,
	 "\"password\": must not contain control characters"},
	{"basic_auth scalar", RW "    basic_auth: user:pass\n", 3, 17,
	 "\"basic_auth\": expected a mapping, got \"user:pass\""},
	{"cert without key", RW "    tls_config:\n      cert_file: /c\n", 4, 7,
	 "tls_config: \"cert_file\" is set but \"key_file\" is not"},
	{"key without cert", RW "    tls_config: {ca_file: /ca, key_file: /k}\n", 3, 32,
	 "tls_config: \"key_file\" is set but \"cert_file\" is not"},
};

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_remote_write_defaults),
		cmocka_unit_test(test_env_only_in_labels),
		cmocka_unit_test(test_quoted_and_null_values),
		cmocka_unit_test(test_valid_values),
		cmocka_unit_test(test_shards_and_backoff_edges),
		cmocka_unit_test(test_anchors),
		cmocka_unit_test(test_retry_after_bound_and_redirects),
		cmocka_unit_test(test_protocol_keys),
		cmocka_unit_test(test_secret_files),
		cmocka_unit_test(test_mask_url),
		cmocka_unit_test(test_url_errors_mask_userinfo),
	};

	return run_config_tests("config_remote_write", fixed, sizeof(fixed) / sizeof(fixed[0]),
				error_cases, sizeof(error_cases) / sizeof(error_cases[0]));
}
