/* SPDX-License-Identifier: MIT */
/* config: the top level, global:, http:, collector schemas, and every class
 * of error outside remote_write: with its exact line:col. Error cases are
 * tables, each row its own cmocka test, and so are the fixture files under
 * test/configs/ (run from the repository root). remote_write: is in
 * test_config_remote_write.c, anchors, aliases and duplicate keys in
 * test_config_yaml.c. */
#include <glob.h>
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

/* ---- helpers --------------------------------------------------------- */

static void assert_defaults(const struct config *cfg)
{
	const struct textfile_opts *tf;
	const struct fake_opts *fk;

	assert_string_equal(cfg->file, "test.yml");
	assert_int_equal(cfg->global.interval_ms, 15000);
	assert_int_equal(cfg->global.n_external_labels, 0);
	assert_string_equal(cfg->global.procfs, "/proc");
	assert_string_equal(cfg->global.sysfs, "/sys");
	assert_string_equal(cfg->global.rootfs, "/");
	assert_int_equal(cfg->global.histograms, HISTOGRAMS_CLASSIC);
	assert_int_equal(cfg->n_remote_write, 0);
	assert_string_equal(cfg->http.listen_address, "127.0.0.1:9477");
	assert_int_equal(cfg->n_collectors, 5);
	assert_int_equal(cfg->n_bpf, 2);
	for (size_t i = 0; i < cfg->n_collectors; i++) {
		assert_ptr_equal(cfg->collectors[i].schema, &collectors[i]);
		assert_int_equal(cfg->collectors[i].enabled, collectors[i].default_enabled);
	}
	assert_null(config_collector(cfg, "cpu")->opts);
	tf = config_collector(cfg, "textfile")->opts;
	assert_string_equal(tf->directory, "/var/lib/bpfpush/textfile");
	fk = config_collector(cfg, "fake")->opts;
	assert_true(fk->flag);
	assert_false(fk->flag_off);
	assert_int_equal(fk->count, 42);
	assert_int_equal(fk->count_zero, 0);
	assert_int_equal(fk->every_ms, 90000);
	assert_int_equal(fk->every_zero, 0);
	assert_string_equal(fk->path, "/default/path");
	assert_null(fk->path_null);
	assert_string_equal(fk->mode, "fast");
	assert_false(config_bpf(cfg, "runqlat")->enabled);
	assert_true(config_bpf(cfg, "biolatency")->enabled);
}

/* ---- valid configurations -------------------------------------------- */

static void test_defaults_empty(void **state)
{
	/* Nothing at all, only comments, an empty document, a null document,
	 * and empty sections: all mean "every default". */
	static const char *const empty[] = {
		"",
		"# just a comment\n\n   # and another\n",
		"---\n",
		"~\n",
		"global:\nremote_write:\ncollectors:\nbpf:\nhttp:\n",
		"global: {}\nremote_write: []\ncollectors: {}\nbpf: {}\nhttp: {}\n",
		"global: {interval: ~, procfs: null, external_labels: ~}\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		struct config cfg;
		load_ok(empty[i], &cfg);
		assert_defaults(&cfg);
		config_free(&cfg);
		assert_memory_equal(&cfg, &zero_config, sizeof(cfg));
	}
}

static const char full_yaml[] =
	"global:\n"
	"  interval: 30s\n"
	"  external_labels:\n"
	"    cluster: prod\n"
	"    node: \"${BPFPUSH_TEST_NODE}\"\n"
	"  procfs: /host/proc\n"
	"  sysfs: /host/sys\n"
	"  rootfs: /host\n"
	"remote_write:\n"
	"  - url: https://mimir.example.com:9009/api/v1/push\n"
	"    name: mimir\n"
	"    remote_timeout: 1m\n"
	"    headers:\n"
	"      X-Scope-OrgID: team-a\n"
	"      X-Extra: \"a b\"\n"
	"    basic_auth:\n"
	"      username: agent\n"
	"      password_file: /run/secrets/pw\n"
	"    tls_config:\n"
	"      ca_file: /etc/ca.pem\n"
	"      cert_file: /etc/client.pem\n"
	"      key_file: /etc/client.key\n"
	"      server_name: mimir.internal\n"
	"      insecure_skip_verify: true\n"
	"    queue_config:\n"
	"      capacity: 20000\n"
	"      max_shards: 10\n"
	"      min_shards: 2\n"
	"      max_samples_per_send: 500\n"
	"      batch_send_deadline: 1s\n"
	"      min_backoff: 100ms\n"
	"      max_backoff: 10s\n"
	"      retry_on_http_429: false\n"
	"      sample_age_limit: 5m\n"
	"    connection:\n"
	"      max_requests: 1000\n"
	"      max_age: 2m\n"
	"  - url: http://127.0.0.1:8428/api/v1/write\n"
	"    name: vm\n"
	"    authorization:\n"
	"      type: Token\n"
	"      credentials_file: /var/run/secrets/token\n"
	"  - url: http://[::1]:9090/api/v1/write\n"
	"    basic_auth: {username: u, password: p}\n"
	"  - url: https://thanos.example.com/api/v1/receive\n"
	"    authorization: {credentials: secret-token}\n"
	"collectors:\n"
	"  cpu: false\n"
	"  meminfo: true\n"
	"  loadavg:\n"
	"  textfile: {directory: /tmp/tf}\n"
	"  fake: {flag: false, flag_off: true, count: 7, count_zero: 3, every: 2s,\n"
	"         every_zero: 500ms, path: /p, path_null: /q, mode: exact}\n"
	"bpf:\n"
	"  runqlat: {}\n"
	"  biolatency: false\n"
	"http:\n"
	"  listen_address: \"[::1]:9100\"\n";

static void assert_full_rw0(const struct remote_write_config *rw)
{
	assert_string_equal(rw->url, "https://mimir.example.com:9009/api/v1/push");
	assert_string_equal(rw->name, "mimir");
	assert_int_equal(rw->remote_timeout_ms, 60000);
	assert_int_equal(rw->n_headers, 2);
	assert_string_equal(rw->headers[0].key, "X-Scope-OrgID");
	assert_string_equal(rw->headers[0].value, "team-a");
	assert_string_equal(rw->headers[1].key, "X-Extra");
	assert_string_equal(rw->headers[1].value, "a b");
	assert_true(rw->has_basic_auth);
	assert_string_equal(rw->basic_auth.username, "agent");
	assert_null(rw->basic_auth.password);
	assert_string_equal(rw->basic_auth.password_file, "/run/secrets/pw");
	assert_false(rw->has_authorization);
	assert_string_equal(rw->tls.ca_file, "/etc/ca.pem");
	assert_string_equal(rw->tls.cert_file, "/etc/client.pem");
	assert_string_equal(rw->tls.key_file, "/etc/client.key");
	assert_string_equal(rw->tls.server_name, "mimir.internal");
	assert_true(rw->tls.insecure_skip_verify);
	assert_int_equal(rw->queue.capacity, 20000);
	assert_int_equal(rw->queue.max_shards, 10);
	assert_int_equal(rw->queue.min_shards, 2);
	assert_int_equal(rw->queue.max_samples_per_send, 500);
	assert_int_equal(rw->queue.batch_send_deadline_ms, 1000);
	assert_int_equal(rw->queue.min_backoff_ms, 100);
	assert_int_equal(rw->queue.max_backoff_ms, 10000);
	assert_false(rw->queue.retry_on_http_429);
	assert_int_equal(rw->queue.sample_age_limit_ms, 300000);
	assert_int_equal(rw->connection.max_requests, 1000);
	assert_int_equal(rw->connection.max_age_ms, 120000);
}

static void assert_full_rw_rest(const struct config *cfg)
{
	const struct remote_write_config *rw = cfg->remote_write;

	assert_string_equal(rw[1].url, "http://127.0.0.1:8428/api/v1/write");
	assert_string_equal(rw[1].name, "vm");
	assert_true(rw[1].has_authorization);
	assert_string_equal(rw[1].authorization.type, "Token");
	assert_null(rw[1].authorization.credentials);
	assert_string_equal(rw[1].authorization.credentials_file, "/var/run/secrets/token");
	assert_int_equal(rw[1].queue.capacity, 10000); /* defaults per entry */

	assert_string_equal(rw[2].url, "http://[::1]:9090/api/v1/write");
	assert_string_equal(rw[2].name, "");
	assert_true(rw[2].has_basic_auth);
	assert_string_equal(rw[2].basic_auth.username, "u");
	assert_string_equal(rw[2].basic_auth.password, "p");
	assert_null(rw[2].basic_auth.password_file);

	assert_true(rw[3].has_authorization);
	assert_string_equal(rw[3].authorization.type, "Bearer");
	assert_string_equal(rw[3].authorization.credentials, "secret-token");
}

static void assert_full_sections(const struct config *cfg)
{
	const struct textfile_opts *tf = config_collector(cfg, "textfile")->opts;
	const struct fake_opts *fk = config_collector(cfg, "fake")->opts;

	assert_false(config_collector(cfg, "cpu")->enabled);
	assert_true(config_collector(cfg, "meminfo")->enabled);
	assert_true(config_collector(cfg, "loadavg")->enabled);
	assert_true(config_collector(cfg, "textfile")->enabled);
	assert_string_equal(tf->directory, "/tmp/tf");
	assert_true(config_collector(cfg, "fake")->enabled);
	assert_false(fk->flag);
	assert_true(fk->flag_off);
	assert_int_equal(fk->count, 7);
	assert_int_equal(fk->count_zero, 3);
	assert_int_equal(fk->every_ms, 2000);
	assert_int_equal(fk->every_zero, 500);
	assert_string_equal(fk->path, "/p");
	assert_string_equal(fk->path_null, "/q");
	assert_string_equal(fk->pattern, "^(ram|loop)\\d+$");
	assert_null(fk->pattern_unset);
	assert_string_equal(fk->mode, "exact");
	assert_true(config_bpf(cfg, "runqlat")->enabled);
	assert_false(config_bpf(cfg, "biolatency")->enabled);
	assert_null(config_collector(cfg, "runqlat"));
	assert_null(config_bpf(cfg, "cpu"));
}

static void test_full(void **state)
{
	struct config cfg;

	(void)state;
	setenv("BPFPUSH_TEST_NODE", "node-7", 1);
	load_ok(full_yaml, &cfg);
	unsetenv("BPFPUSH_TEST_NODE");

	assert_int_equal(cfg.global.interval_ms, 30000);
	assert_int_equal(cfg.global.n_external_labels, 2);
	assert_string_equal(cfg.global.external_labels[0].key, "cluster");
	assert_string_equal(cfg.global.external_labels[0].value, "prod");
	assert_string_equal(cfg.global.external_labels[1].key, "node");
	assert_string_equal(cfg.global.external_labels[1].value, "node-7");
	assert_string_equal(cfg.global.procfs, "/host/proc");
	assert_string_equal(cfg.global.sysfs, "/host/sys");
	assert_string_equal(cfg.global.rootfs, "/host");
	assert_int_equal(cfg.n_remote_write, 4);
	assert_full_rw0(&cfg.remote_write[0]);
	assert_full_rw_rest(&cfg);
	assert_full_sections(&cfg);
	assert_string_equal(cfg.http.listen_address, "[::1]:9100");
	config_free(&cfg);
}

static void test_env_expansion(void **state)
{
	struct config cfg;

	(void)state;
	setenv("BPFPUSH_T_A", "alpha", 1);
	setenv("BPFPUSH_T_EMPTY", "", 1);
	unsetenv("BPFPUSH_T_UNSET");
	load_ok("global:\n"
		"  external_labels:\n"
		"    a: ${BPFPUSH_T_A}\n"
		"    b: \"pre-${BPFPUSH_T_A}-${BPFPUSH_T_A}-post\"\n"
		"    unset: ${BPFPUSH_T_UNSET}\n"
		"    empty: ${BPFPUSH_T_EMPTY}\n"
		"    dollar: \"$$${BPFPUSH_T_A}$$\"\n"
		"    plain: $BPFPUSH_T_A\n"
		"    lone: \"5$ and $\"\n"
		"    braces: \"{x}$$\"\n"
		"    nul: ~\n"
		"    num: 42\n",
		&cfg);
	assert_int_equal(cfg.global.n_external_labels, 10);
	assert_string_equal(label(&cfg, "a"), "alpha");
	assert_string_equal(label(&cfg, "b"), "pre-alpha-alpha-post");
	assert_string_equal(label(&cfg, "unset"), "");
	assert_string_equal(label(&cfg, "empty"), "");
	assert_string_equal(label(&cfg, "dollar"), "$alpha$");
	/* Only ${VAR} expands: $VAR is left as written. */
	assert_string_equal(label(&cfg, "plain"), "$BPFPUSH_T_A");
	assert_string_equal(label(&cfg, "lone"), "5$ and $");
	assert_string_equal(label(&cfg, "braces"), "{x}$");
	assert_string_equal(label(&cfg, "nul"), "");
	assert_string_equal(label(&cfg, "num"), "42");
	/* In file order. */
	assert_string_equal(cfg.global.external_labels[0].key, "a");
	assert_string_equal(cfg.global.external_labels[9].key, "num");
	config_free(&cfg);
	unsetenv("BPFPUSH_T_A");
	unsetenv("BPFPUSH_T_EMPTY");
}

static void test_collector_forms(void **state)
{
	struct config cfg;

	(void)state;
	load_ok("collectors:\n"
		"  cpu: false\n"    /* default on, turned off */
		"  meminfo: {}\n"   /* on */
		"  loadavg: ~\n"    /* null: the key alone enables */
		"  textfile:\n"     /* default off, empty value enables */
		"  fake: true\n"
		"bpf:\n"
		"  runqlat: \"true\"\n" /* quoted alike */
		"  biolatency: {}\n",
		&cfg);
	assert_false(config_collector(&cfg, "cpu")->enabled);
	assert_true(config_collector(&cfg, "meminfo")->enabled);
	assert_true(config_collector(&cfg, "loadavg")->enabled);
	assert_true(config_collector(&cfg, "textfile")->enabled);
	assert_true(config_collector(&cfg, "fake")->enabled);
	/* Disabled or not, the options are there with their defaults. */
	assert_string_equal(((struct textfile_opts *)config_collector(&cfg, "textfile")->opts)
				    ->directory, "/var/lib/bpfpush/textfile");
	assert_true(config_bpf(&cfg, "runqlat")->enabled);
	assert_true(config_bpf(&cfg, "biolatency")->enabled);
	/* Schema order, whatever the file order. */
	assert_string_equal(cfg.collectors[0].schema->name, "cpu");
	assert_string_equal(cfg.collectors[4].schema->name, "fake");
	config_free(&cfg);
}

static void test_option_at_its_max(void **state)
{
	struct config cfg;

	(void)state;
	load_ok("collectors:\n  fake: {count: 1000}\n", &cfg);
	assert_int_equal(((const struct fake_opts *)config_collector(&cfg, "fake")->opts)->count,
			 1000);
	config_free(&cfg);
}

static void test_disabled_keeps_options(void **state)
{
	struct config cfg;
	const struct fake_opts *fk;

	(void)state;
	load_ok("collectors:\n  fake: {count: 0, every: 0, path: \"\"}\n  cpu: false\n", &cfg);
	fk = config_collector(&cfg, "fake")->opts;
	assert_int_equal(fk->count, 0);
	assert_int_equal(fk->every_ms, 0);
	assert_string_equal(fk->path, "");
	assert_true(fk->flag); /* untouched default */
	config_free(&cfg);
}

static void test_no_schemas(void **state)
{
	struct config cfg;
	struct config_error err;
	const char *ok = "global: {interval: 1s}\n";
	const char *bad = "collectors:\n  cpu: {}\n";

	(void)state;
	assert_int_equal(config_load_string("x", ok, strlen(ok), NULL, &cfg, &err), 0);
	assert_int_equal(cfg.n_collectors, 0);
	assert_null(cfg.collectors);
	assert_null(config_collector(&cfg, "cpu"));
	config_free(&cfg);
	assert_int_equal(config_load_string("x", bad, strlen(bad), NULL, &cfg, &err), -1);
	assert_string_equal(err.text, "x:2:3: unknown collector \"cpu\"");
}

static void test_load_file(void **state)
{
	struct config cfg;
	struct config_error err;

	(void)state;
	assert_int_equal(config_load("test/configs/does-not-exist.yml", &schemas, &cfg, &err), -1);
	assert_int_equal(err.line, 0);
	assert_int_equal(err.col, 0);
	assert_non_null(strstr(err.text, "test/configs/does-not-exist.yml: "));
	assert_non_null(strstr(err.text, "No such file or directory"));
	assert_memory_equal(&cfg, &zero_config, sizeof(cfg));

	assert_int_equal(config_load("test/configs", &schemas, &cfg, &err), -1);
	assert_non_null(strstr(err.text, "Is a directory"));
}

static void test_good_full_fixture(void **state)
{
	struct config cfg;
	struct config_error err;

	(void)state;
	if (config_load("test/configs/good/full.yml", &schemas, &cfg, &err) != 0)
		fail_msg("%s", err.text);
	assert_string_equal(cfg.file, "test/configs/good/full.yml");
	assert_int_equal(cfg.global.interval_ms, 30000);
	assert_int_equal(cfg.global.histograms, HISTOGRAMS_BOTH);
	assert_string_equal(label(&cfg, "price"), "$5");
	assert_int_equal(cfg.n_remote_write, 4);
	assert_string_equal(cfg.remote_write[0].name, "mimir");
	assert_int_equal(cfg.remote_write[0].queue.sample_age_limit_ms, 300000);
	assert_int_equal(cfg.remote_write[0].connection.max_age_ms, 120000);
	assert_string_equal(cfg.remote_write[1].authorization.type, "Token");
	assert_string_equal(((struct textfile_opts *)config_collector(&cfg, "textfile")->opts)
				    ->directory, "/var/lib/node_exporter/textfile");
	assert_false(config_collector(&cfg, "cpu")->enabled);
	assert_false(config_bpf(&cfg, "runqlat")->enabled); /* the default */
	assert_string_equal(cfg.http.listen_address, "[::1]:9100");
	config_free(&cfg);
}

/* ---- errors ---------------------------------------------------------- */

static const struct error_case error_cases[] = {
	/* unknown keys, at the key */
	{"unknown top key", "global: {}\nfoo: 1\n", 2, 1, "unknown key \"foo\" at top level"},
	{"unknown global key", "global:\n  intervall: 1s\n", 2, 3,
	 "unknown key \"intervall\" in global (did you mean \"interval\"?)"},
	{"unknown remote_write key", RW "    urls: x\n", 3, 5,
	 "unknown key \"urls\" in remote_write[0] (did you mean \"url\"?)"},
	{"unknown queue_config key", RW "    queue_config:\n      capcity: 5\n", 4, 7,
	 "unknown key \"capcity\" in queue_config (did you mean \"capacity\"?)"},
	{"unknown tls_config key", RW "    tls_config: {min_version: TLS12}\n", 3, 18,
	 "unknown key \"min_version\" in tls_config"},
	{"unknown basic_auth key", RW "    basic_auth: {username_file: /f}\n", 3, 18,
	 "unknown key \"username_file\" in basic_auth"},
	{"unknown authorization key", RW "    authorization: {token: t}\n", 3, 21,
	 "unknown key \"token\" in authorization"},
	{"unknown connection key", RW "    connection: {max_reqs: 1}\n", 3, 18,
	 "unknown key \"max_reqs\" in connection"},
	{"unknown http key", "http:\n  listen: x\n", 2, 3, "unknown key \"listen\" in http"},
	{"unknown collector", "collectors:\n  cpu: {}\n  nosuch: {}\n", 3, 3,
	 "unknown collector \"nosuch\""},
	{"unknown collector typo", "collectors:\n  memnfo: {}\n", 2, 3,
	 "unknown collector \"memnfo\" (did you mean \"meminfo\"?)"},
	{"unknown bpf collector", "bpf:\n  runqlen: {}\n", 2, 3,
	 "unknown BPF collector \"runqlen\" (did you mean \"runqlat\"?)"},
	{"collector in bpf", "bpf:\n  cpu: {}\n", 2, 3, "unknown BPF collector \"cpu\""},
	{"unknown collector option", "collectors:\n  textfile: {directory: /x, dir: /y}\n", 2, 29,
	 "unknown option \"dir\" for collector \"textfile\""},
	{"option of optionless collector", "collectors:\n  cpu: {x: 1}\n", 2, 9,
	 "unknown option \"x\" for collector \"cpu\""},

	/* wrong types, at the value */
	{"top level sequence", "- a\n- b\n", 1, 1, "top level: expected a mapping, got a sequence"},
	{"top level scalar", "hello\n", 1, 1, "top level: expected a mapping, got \"hello\""},
	{"global sequence", "global: [1]\n", 1, 9, "\"global\": expected a mapping, got a sequence"},
	{"global scalar", "global: 15s\n", 1, 9, "\"global\": expected a mapping, got \"15s\""},
	{"queue_config sequence", RW "    queue_config: []\n", 3, 19,
	 "\"queue_config\": expected a mapping, got a sequence"},
	{"remote_write mapping", "remote_write:\n  url: http://a\n", 2, 3,
	 "\"remote_write\": expected a sequence, got a mapping"},
	{"remote_write scalar", "remote_write: http://a\n", 1, 15,
	 "\"remote_write\": expected a sequence, got \"http://a\""},
	{"remote_write item scalar", "remote_write:\n  - http://a\n", 2, 5,
	 "remote_write[0]: expected a mapping, got \"http://a\""},
	{"remote_write item null", "remote_write:\n  - url: http://a\n  -\n", 3, 4,
	 "remote_write[1]: expected a mapping, got"},
	{"duration mapping", "global:\n  interval: {a: 1}\n", 2, 13,
	 "\"interval\": expected a duration, got a mapping"},
	{"int sequence", RW "    queue_config: {capacity: [1]}\n", 3, 30,
	 "\"capacity\": expected an integer, got a sequence"},
	{"string mapping", RW "    name: {a: b}\n", 3, 11, "\"name\": expected a string, got a mapping"},
	{"url sequence", "remote_write:\n  - url: [a]\n", 2, 10,
	 "\"url\": expected a string, got a sequence"},
	{"headers sequence", RW "    headers: [a]\n", 3, 14,
	 "\"headers\": expected a mapping, got a sequence"},
	{"header value mapping", RW "    headers: {X-A: {b: c}}\n", 3, 20,
	 "\"X-A\": expected a string, got a mapping"},
	{"external_labels scalar", "global:\n  external_labels: x\n", 2, 20,
	 "\"external_labels\": expected a mapping, got \"x\""},
	{"label value sequence", "global:\n  external_labels: {a: [1]}\n", 2, 24,
	 "\"a\": expected a string, got a sequence"},
	{"collectors sequence", "collectors:\n  - cpu\n", 2, 3,
	 "\"collectors\": expected a mapping, got a sequence"},
	{"bpf scalar", "bpf: runqlat\n", 1, 6, "\"bpf\": expected a mapping, got \"runqlat\""},
	{"collector sequence", "collectors:\n  cpu: [a]\n", 2, 8,
	 "\"cpu\": expected true, false or a mapping of options, got a sequence"},
	{"collector yes", "collectors:\n  cpu: yes\n", 2, 8,
	 "\"cpu\": expected true, false or a mapping of options, got \"yes\""},
	{"option type", "collectors:\n  fake: {count: abc}\n", 2, 17,
	 "\"count\": expected an integer, got \"abc\""},
	{"option above its max", "collectors:\n  fake: {count: 1001}\n", 2, 17,
	 "\"count\": must be <= 1000, got 1001"},
	{"option negative int", "collectors:\n  fake: {count: -1}\n", 2, 17,
	 "\"count\": must be >= 0, got -1"},
	{"option duration", "collectors:\n  fake: {every: 5}\n", 2, 17,
	 "\"every\": expected a duration like 15s, 1m30s or 500ms, got \"5\""},
	{"option bool", "collectors:\n  fake: {flag: 1}\n", 2, 16,
	 "\"flag\": expected true or false, got \"1\""},
	{"option string mapping", "collectors:\n  textfile: {directory: {a: b}}\n", 2, 25,
	 "\"directory\": expected a string, got a mapping"},
	{"complex key", "? [a, b]\n: c\n", 1, 3, "a key must be a plain string, got a sequence"},
	{"merge key", RW "    queue_config: &q {capacity: 5}\n  - url: http://b\n    queue_config:\n"
	 "      <<: *q\n", 6, 7, "YAML merge keys (<<) are not supported"},
	{"nul in string", RW "    name: \"a\\0b\"\n", 3, 11, "\"name\": must not contain a NUL"},

	/* durations */
	{"duration words", "global:\n  interval: 15 seconds\n", 2, 13,
	 "\"interval\": expected a duration like 15s, 1m30s or 500ms, got \"15 seconds\""},
	{"duration no unit", "global:\n  interval: 15\n", 2, 13,
	 "got \"15\" (a unit is required, e.g. \"15s\")"},
	{"duration float", "global:\n  interval: 1.5s\n", 2, 13, "got \"1.5s\""},
	{"duration negative", "global:\n  interval: -1s\n", 2, 13,
	 "got \"-1s\" (durations cannot be negative)"},
	{"duration order", "global:\n  interval: 1s1m\n", 2, 13, "got \"1s1m\""},
	{"duration overflow", "global:\n  interval: 300000000y\n", 2, 13, "got \"300000000y\""},
	{"duration quoted empty", "global:\n  interval: \"\"\n", 2, 13, "got \"\""},
	{"duration zero interval", "global:\n  interval: 0s\n", 2, 13,
	 "\"interval\": must be greater than 0, got \"0s\""},
	{"duration zero timeout", RW "    remote_timeout: 0\n", 3, 21,
	 "\"remote_timeout\": must be greater than 0"},
	{"duration zero deadline", RW "    queue_config: {batch_send_deadline: 0ms}\n", 3, 41,
	 "\"batch_send_deadline\": must be greater than 0"},
	{"duration zero backoff", RW "    queue_config: {min_backoff: 0s}\n", 3, 33,
	 "\"min_backoff\": must be greater than 0"},
	{"duration age limit", RW "    queue_config: {sample_age_limit: 1h-1m}\n", 3, 38,
	 "\"sample_age_limit\": expected a duration"},
	{"duration max_age", RW "    connection: {max_age: 1d 2h}\n", 3, 27,
	 "\"max_age\": expected a duration"},

	/* listen_address */
	{"listen no port", "http: {listen_address: localhost}\n", 1, 24,
	 "\"listen_address\": expected HOST:PORT like 127.0.0.1:9477 or [::1]:9477, or \"\" to "
	 "disable, got \"localhost\": missing \":PORT\""},
	{"listen port 0", "http: {listen_address: \"127.0.0.1:0\"}\n", 1, 24,
	 "the port must be a number from 1 to 65535"},
	{"listen port big", "http: {listen_address: \"127.0.0.1:65536\"}\n", 1, 24,
	 "from 1 to 65535"},
	{"listen port name", "http: {listen_address: \"127.0.0.1:http\"}\n", 1, 24,
	 "from 1 to 65535"},
	{"listen empty port", "http: {listen_address: \"127.0.0.1:\"}\n", 1, 24, "from 1 to 65535"},
	{"listen bare ipv6", "http: {listen_address: \"::1:9477\"}\n", 1, 24,
	 "an IPv6 address needs brackets"},
	{"listen bracket no port", "http: {listen_address: \"[::1]9477\"}\n", 1, 24,
	 "missing \":PORT\""},
	{"listen bad ipv6", "http: {listen_address: \"[zz]:9477\"}\n", 1, 24, "bad IPv6 address"},
	{"listen unclosed", "http: {listen_address: \"[::1:9477\"}\n", 1, 24, "missing \"]\""},
	{"listen bad host", "http: {listen_address: \"a b:9477\"}\n", 1, 24, "bad host name"},
	{"listen bare port", "http: {listen_address: 9477}\n", 1, 24, "got \"9477\""},

	/* external labels */
	{"label dash", "global:\n  external_labels:\n    k8s-node: a\n", 3, 5,
	 "invalid label name \"k8s-node\": must match [a-zA-Z_][a-zA-Z0-9_]*"},
	{"label digit", "global:\n  external_labels: {1a: b}\n", 2, 21, "invalid label name \"1a\""},
	{"label empty", "global:\n  external_labels: {\"\": b}\n", 2, 21, "invalid label name \"\""},
	{"label reserved", "global:\n  external_labels: {__name__: b}\n", 2, 21,
	 "invalid label name \"__name__\": names starting with \"__\" are reserved"},
	{"env unterminated", "global:\n  external_labels: {a: \"${X\"}\n", 2, 24,
	 "\"a\": unterminated \"${\""},
	{"env bad name", "global:\n  external_labels: {a: \"${1X}\"}\n", 2, 24,
	 "\"a\": bad variable name in \"${1X}\""},
	{"env empty name", "global:\n  external_labels: {a: \"x${}\"}\n", 2, 24,
	 "bad variable name in \"${}\""},

	/* global strings */
	{"empty procfs", "global: {procfs: \"\"}\n", 1, 18, "\"procfs\": must not be empty"},
	{"defaults not a bool", "collectors:\n  defaults: maybe\n", 2, 13,
	 "\"defaults\": expected true or false, got \"maybe\""},
	/* collector option patterns */
	{"bad regex", "collectors:\n  fake: {pattern: \"^(sd[a-z\"}\n", 2, 19,
	 "\"pattern\": invalid regular expression at offset 8: missing terminating ]"},
	/* collector option choices */
	{"not a choice", "collectors:\n  fake:\n    mode: quick\n", 3, 11,
	 "\"mode\": expected \"fast\", \"exact\" or \"auto\", got \"quick\""},
	{"choice in the wrong case", "collectors:\n  fake: {count: 1, mode: Fast}\n", 2, 26,
	 "\"mode\": expected \"fast\", \"exact\" or \"auto\", got \"Fast\""},
	{"choice not a scalar", "collectors:\n  fake: {mode: [fast]}\n", 2, 16,
	 "\"mode\": expected a string, got a sequence"},
};

static void defaults_false_keeps_only_listed_collectors(void **state)
{
	static const char yaml[] = "collectors:\n  meminfo: {}\n  defaults: false\n"
				   "bpf:\n  defaults: false\n";
	struct config cfg;
	struct config_error err;
	(void)state;

	assert_int_equal(config_load_string("t.yml", yaml, strlen(yaml), &schemas, &cfg, &err), 0);
	assert_false(config_collector(&cfg, "cpu")->enabled);
	assert_true(config_collector(&cfg, "meminfo")->enabled);
	assert_false(config_collector(&cfg, "loadavg")->enabled);
	assert_false(config_bpf(&cfg, "biolatency")->enabled);
	config_free(&cfg);
}

/* ---- fixture files --------------------------------------------------- */

/* Every .yml file in test/configs/bad/ starts with "# expect: LINE:COL: text". */
static void run_bad_fixture(void **state)
{
	const char *path = *state;
	struct config cfg;
	struct config_error err;
	char first[512], want_prefix[600];
	int line, col, n = 0;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	if (!fgets(first, sizeof(first), f))
		first[0] = '\0';
	fclose(f);
	first[strcspn(first, "\n")] = '\0';
	if (sscanf(first, "# expect: %d:%d: %n", &line, &col, &n) != 2 || n == 0 || !first[n])
		fail_msg("%s: first line must be \"# expect: LINE:COL: message\", is \"%s\"", path,
			 first);
	if (config_load(path, &schemas, &cfg, &err) != -1) {
		config_free(&cfg);
		fail_msg("%s: loaded without error, expected %s", path, first + 10);
	}
	snprintf(want_prefix, sizeof(want_prefix), "%s:%d:%d: ", path, line, col);
	if (err.line != line || err.col != col ||
	    strncmp(err.text, want_prefix, strlen(want_prefix)) || !strstr(err.text, first + n))
		fail_msg("%s\n  want %s...%s\n  got  %s", path, want_prefix, first + n, err.text);
}

static void run_good_fixture(void **state)
{
	const char *path = *state;
	struct config cfg;
	struct config_error err;

	if (config_load(path, &schemas, &cfg, &err) != 0)
		fail_msg("%s", err.text);
	config_free(&cfg);
}

/* ---- main ------------------------------------------------------------ */

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_defaults_empty),
		cmocka_unit_test(test_full),
		cmocka_unit_test(defaults_false_keeps_only_listed_collectors),
		cmocka_unit_test(test_env_expansion),
		cmocka_unit_test(test_collector_forms),
		cmocka_unit_test(test_disabled_keeps_options),
		cmocka_unit_test(test_option_at_its_max),
		cmocka_unit_test(test_no_schemas),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_good_full_fixture),
	};
	size_t n_errors = sizeof(error_cases) / sizeof(error_cases[0]);
	glob_t bad = {0}, good = {0};
	struct CMUnitTest *tests;
	size_t n = 0, cap;
	int rc;

	if (glob("test/configs/bad/*.yml", 0, NULL, &bad) != 0 || bad.gl_pathc < 15 ||
	    glob("test/configs/good/*.yml", 0, NULL, &good) != 0) {
		fprintf(stderr, "test_config: run from the repository root (test/configs/ missing)\n");
		return 1;
	}
	cap = sizeof(fixed) / sizeof(fixed[0]) + n_errors + bad.gl_pathc + good.gl_pathc;
	tests = calloc(cap, sizeof(*tests));
	if (!tests)
		return 1;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < n_errors; i++)
		add(tests, &n, error_cases[i].name, run_error_case, (void *)&error_cases[i]);
	for (size_t i = 0; i < bad.gl_pathc; i++)
		add(tests, &n, bad.gl_pathv[i], run_bad_fixture, bad.gl_pathv[i]);
	for (size_t i = 0; i < good.gl_pathc; i++)
		add(tests, &n, good.gl_pathv[i], run_good_fixture, good.gl_pathv[i]);
	rc = _cmocka_run_group_tests("config", tests, n, NULL, NULL);
	free(tests);
	globfree(&bad);
	globfree(&good);
	return rc;
}
