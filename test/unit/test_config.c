/* config: every key, defaults, ${VAR} expansion, collector schemas, and
 * every class of error with its exact line:col. Error cases are tables,
 * each row its own cmocka test, and so are the fixture files under
 * test/configs/ (run from the repository root). */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"

/* ---- schemas: what the fixtures may use ------------------------------ */

struct textfile_opts {
	char *directory;
};

static const struct opt_desc textfile_opts[] = {
	{"directory", OPT_STRING, "/var/lib/bpfpush/textfile",
	 offsetof(struct textfile_opts, directory), 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

/* One option of each type, with and without defaults. */
struct fake_opts {
	bool flag, flag_off;
	int64_t count, count_zero;
	int64_t every_ms, every_zero;
	char *path, *path_null;
	char *pattern, *pattern_unset;
	char *mode;
};

static const struct opt_desc fake_opts[] = {
	{"flag", OPT_BOOL, "true", offsetof(struct fake_opts, flag), 0},
	{"flag_off", OPT_BOOL, NULL, offsetof(struct fake_opts, flag_off), 0},
	{"count", OPT_INT, "42", offsetof(struct fake_opts, count), 1000},
	{"count_zero", OPT_INT, NULL, offsetof(struct fake_opts, count_zero), 0},
	{"every", OPT_DURATION, "1m30s", offsetof(struct fake_opts, every_ms), 0},
	{"every_zero", OPT_DURATION, NULL, offsetof(struct fake_opts, every_zero), 0},
	{"path", OPT_STRING, "/default/path", offsetof(struct fake_opts, path), 0},
	{"path_null", OPT_STRING, NULL, offsetof(struct fake_opts, path_null), 0},
	{"pattern", OPT_REGEX, "^(ram|loop)\\d+$", offsetof(struct fake_opts, pattern), 0},
	{"pattern_unset", OPT_REGEX, "", offsetof(struct fake_opts, pattern_unset), 0},
	{"mode", OPT_ENUM, "fast|exact|auto", offsetof(struct fake_opts, mode), 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

static const struct section_schema collectors[] = {
	{"cpu", true, 0, NULL},
	{"meminfo", true, 0, NULL},
	{"loadavg", true, 0, NULL},
	{"textfile", false, sizeof(struct textfile_opts), textfile_opts},
	{"fake", false, sizeof(struct fake_opts), fake_opts},
};

static const struct section_schema bpf[] = {
	{"runqlat", false, 0, NULL},
	{"biolatency", true, 0, NULL},
};

static const struct config_schemas schemas = {collectors, 5, bpf, 2};

/* ---- helpers --------------------------------------------------------- */

static const struct config zero_config;

static void load_ok(const char *yaml, struct config *cfg)
{
	struct config_error err;

	if (config_load_string("test.yml", yaml, strlen(yaml), &schemas, cfg, &err) != 0)
		fail_msg("unexpected error: %s", err.text);
}

static const char *label(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->global.n_external_labels; i++)
		if (!strcmp(cfg->global.external_labels[i].key, name))
			return cfg->global.external_labels[i].value;
	return NULL;
}

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
	assert_true(rw->follow_redirects);
	assert_int_equal(rw->connection.max_requests, 0);
	assert_int_equal(rw->connection.max_age_ms, 0);
}

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

static void test_quoted_and_null_values(void **state)
{
	struct config cfg;
	const struct remote_write_config *rw;

	/* Typed values read the same quoted or plain; null means default;
	 * an empty optional string means unset. */
	(void)state;
	load_ok("global: {interval: \"20s\", rootfs: '/r'}\n"
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

/* ---- anchors and aliases: what works, what is bounded ---------------- */

/* Anchors used the way people use them: a block shared by a few
 * endpoints, nested anchors, an anchor on a scalar. */
static void test_anchors_reused(void **state)
{
	struct config cfg;

	(void)state;
	load_ok("global:\n"
		"  external_labels: {a: &v shared, b: *v, c: *v}\n"
		"remote_write:\n"
		"  - &ep\n"
		"    url: http://a\n"
		"    headers: &h {X-Scope-OrgID: team-a, X-Other: &o x}\n"
		"    queue_config: &q {capacity: 5}\n"
		"  - {url: http://b, headers: *h, queue_config: *q}\n"
		"  - {url: http://c, headers: *h, queue_config: *q}\n"
		"  - {url: http://d, headers: {X-Other: *o}, queue_config: *q}\n",
		&cfg);
	assert_int_equal(cfg.n_remote_write, 4);
	assert_string_equal(label(&cfg, "c"), "shared");
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(cfg.remote_write[i].queue.capacity, 5);
	assert_int_equal(cfg.remote_write[2].n_headers, 2);
	assert_string_equal(cfg.remote_write[2].headers[0].value, "team-a");
	assert_string_equal(cfg.remote_write[3].headers[0].value, "x");
	config_free(&cfg);
}

static char *text_printf(char *buf, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static char *text_printf(char *buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *len, 64, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && n < 64);
	*len += (size_t)n;
	return buf;
}

static void expect_error(const char *yaml, int line, int col, const char *msg)
{
	struct config cfg;
	struct config_error err;
	char prefix[64];

	assert_int_equal(config_load_string("t.yml", yaml, strlen(yaml), &schemas, &cfg, &err), -1);
	snprintf(prefix, sizeof(prefix), "t.yml:%d:%d: ", line, col);
	if (strncmp(err.text, prefix, strlen(prefix)) || !strstr(err.text, msg))
		fail_msg("want %s...%s\n  got  %s", prefix, msg, err.text);
	assert_memory_equal(&cfg, &zero_config, sizeof(cfg));
}

/* The issue's file: one mapping of 2,000 headers, an endpoint holding it,
 * and 998 aliases of that endpoint (40 KB), which walked as 1,000
 * endpoints of 2,000 headers. Refused at the alias that passes 100,000
 * nodes: each endpoint is 4,005 nodes, the first two and the top 8,013,
 * so it is the 23rd alias, on line 2,004 + 23. */
static void test_alias_bomb(void **state)
{
	size_t cap = 64 * 1024, len = 0;
	char *y = malloc(cap);

	(void)state;
	assert_non_null(y);
	text_printf(y, &len, "remote_write:\n  - url: http://a\n    headers: &h\n");
	for (int i = 0; i < 2000; i++)
		text_printf(y, &len, "      X-H%d: v\n", i);
	text_printf(y, &len, "  - &e {url: http://b, headers: *h}\n");
	for (int i = 0; i < 998; i++)
		text_printf(y, &len, "  - *e\n");
	expect_error(y, 2027, 5, "alias *e expands the document past 100000 YAML nodes "
		     "(limit 100000; an alias counts every node it repeats)");
	free(y);
}

static void test_alias_count_limit(void **state)
{
	size_t cap = 32 * 1024, len = 0;
	char *y = malloc(cap);

	(void)state;
	assert_non_null(y);
	text_printf(y, &len, "global:\n  external_labels:\n    a: &v x\n");
	for (int i = 0; i < 1000; i++)
		text_printf(y, &len, "    l%d: *v\n", i);
	{
		struct config cfg;
		load_ok(y, &cfg); /* 1,000 aliases: the limit itself loads */
		assert_int_equal(cfg.global.n_external_labels, 1001);
		config_free(&cfg);
	}
	text_printf(y, &len, "    l1000: *v\n");
	expect_error(y, 1004, 12, "too many YAML aliases: alias *v is number 1001 (limit 1000)");
	free(y);
}

/* No aliases at all, only very many nodes: the same bound. */
static void test_node_limit_without_aliases(void **state)
{
	size_t cap = 1024 * 1024, len = 0;
	char *y = malloc(cap);

	(void)state;
	assert_non_null(y);
	text_printf(y, &len, "remote_write:\n  - url: http://a\n    headers:\n");
	for (int i = 0; i < 50000; i++)
		text_printf(y, &len, "      X-H%d: v\n", i);
	/* 8 nodes before the headers, 2 per header: the key of the 49,997th */
	expect_error(y, 50000, 7, "the document has more than 100000 YAML nodes (limit 100000)");
	free(y);
}

static void test_alias_cycles(void **state)
{
	(void)state;
	expect_error("remote_write: &a\n  - *a\n", 2, 5,
		     "alias *a is inside the node it refers to (a cycle)");
	expect_error("global: &g\n  external_labels: *g\n", 2, 20,
		     "alias *g is inside the node it refers to (a cycle)");
	expect_error("remote_write:\n  - &e {url: http://a, queue_config: [*e]}\n", 2, 39,
		     "alias *e is inside the node it refers to (a cycle)");
}

/* Duplicates found through an index of the mapping, not by comparing each
 * key with every earlier one: the same answers, first copy named. */
static void test_duplicate_keys_in_large_mappings(void **state)
{
	size_t cap = 128 * 1024, len = 0;
	char *y = malloc(cap);
	struct config cfg;

	(void)state;
	assert_non_null(y);
	text_printf(y, &len, "remote_write:\n  - url: http://a\n    headers:\n");
	for (int i = 0; i < 3000; i++)
		text_printf(y, &len, "      X-H%d: v\n", i);
	load_ok(y, &cfg);
	assert_int_equal(cfg.remote_write[0].n_headers, 3000);
	config_free(&cfg);
	text_printf(y, &len, "      x-h17: again\n      X-H17: and again\n");
	expect_error(y, 3004, 7, "duplicate key \"x-h17\" (first set at line 21)");
	/* One mapping read as labels (case matters) and as headers (it does not). */
	load_ok("global:\n  external_labels: &m {a: x, A: y}\n", &cfg);
	config_free(&cfg);
	expect_error("global:\n  external_labels: &m {a: x, A: y}\n"
		     "remote_write:\n  - {url: http://a, headers: *m}\n", 2, 30,
		     "duplicate key \"A\" (first set at line 2)");
	/* Two endpoints sharing one header mapping, and each its own. */
	load_ok("remote_write:\n  - {url: http://a, headers: &h {X-A: a, X-B: b}}\n"
		"  - {url: http://b, headers: {X-A: c}}\n  - {url: http://c, headers: *h}\n",
		&cfg);
	assert_string_equal(cfg.remote_write[2].headers[1].value, "b");
	assert_string_equal(cfg.remote_write[1].headers[0].value, "c");
	config_free(&cfg);
	free(y);
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

struct error_case {
	const char *name;
	const char *yaml;
	int line, col;
	const char *msg; /* substring of the message */
};

#define RW "remote_write:\n  - url: http://127.0.0.1:8428/api/v1/write\n"

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
	{"follow_redirects not bool", RW "    follow_redirects: yes\n", 3, 23,
	 "\"follow_redirects\": expected true or false, got \"yes\""},

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

	/* duplicates, at the second key */
	{"duplicate top key", "global: {}\nhttp: {}\nglobal: {}\n", 3, 1,
	 "duplicate key \"global\" (first set at line 1)"},
	{"duplicate url", RW "    url: http://b\n", 3, 5, "duplicate key \"url\" (first set at line 2)"},
	{"duplicate collector", "collectors:\n  cpu: {}\n  cpu: false\n", 3, 3,
	 "duplicate key \"cpu\" (first set at line 2)"},
	{"duplicate option", "collectors:\n  fake: {count: 1, count: 2}\n", 2, 20,
	 "duplicate key \"count\""},
	{"duplicate label", "global:\n  external_labels: {a: 1, a: 2}\n", 2, 27, "duplicate key \"a\""},
	{"duplicate remote_write name",
	 "remote_write:\n  - {url: http://a, name: x}\n  - {url: http://b, name: y}\n"
	 "  - {url: http://c, name: x}\n",
	 4, 27, "duplicate remote_write name \"x\": names must be unique (also used by "
		"remote_write[0])"},

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

	/* global strings */
	{"empty procfs", "global: {procfs: \"\"}\n", 1, 18, "\"procfs\": must not be empty"},

	/* YAML itself: libyaml's words, libyaml's mark */
	{"yaml bad indent", "global:\n    interval: 15s\n  procfs: /proc\n", 3, 3,
	 "YAML syntax error: did not find expected key (while parsing a block mapping at line 1, "
	 "column 1)"},
	{"yaml unclosed flow", "global: {interval: 15s\n", 2, 1, "YAML syntax error: did not find expected ',' or '}'"},
	{"yaml tab", "global:\n\tinterval: 15s\n", 2, 1,
	 "found character that cannot start any token"},
	{"yaml mapping in scalar", "global: a: b\n", 1, 10,
	 "YAML syntax error: mapping values are not allowed in this context"},
	{"yaml undefined alias", "global: *nope\n", 1, 9, "YAML syntax error: found undefined alias"},
	{"yaml unclosed quote", "http:\n  listen_address: \"abc\n", 3, 1,
	 "YAML syntax error: found unexpected end of stream"},
	{"yaml bad utf8", "global: {}\nhttp: \xff\n", 2, 7, "YAML encoding error: invalid leading UTF-8 octet"},
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
	{"yaml two documents", "global: {}\n---\nhttp: {}\n", 2, 1,
	 "a second YAML document starts here; the file must hold only one"},
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

static void run_error_case(void **state)
{
	const struct error_case *c = *state;
	struct config cfg;
	struct config_error err;
	char prefix[64];

	memset(&cfg, 0xa5, sizeof(cfg)); /* must come back zeroed */
	if (config_load_string("test.yml", c->yaml, strlen(c->yaml), &schemas, &cfg, &err) != -1) {
		config_free(&cfg);
		fail_msg("[%s] loaded, expected %d:%d: %s", c->name, c->line, c->col, c->msg);
	}
	snprintf(prefix, sizeof(prefix), "test.yml:%d:%d: ", c->line, c->col);
	if (err.line != c->line || err.col != c->col || strncmp(err.text, prefix, strlen(prefix)) ||
	    !strstr(err.text, c->msg))
		fail_msg("[%s]\n  want %s...%s\n  got  %s (line %d col %d)", c->name, prefix, c->msg,
			 err.text, err.line, err.col);
	assert_memory_equal(&cfg, &zero_config, sizeof(cfg));
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

static void add(struct CMUnitTest *t, size_t *n, const char *name, CMUnitTestFunction f,
		void *state)
{
	t[*n] = (struct CMUnitTest){name, f, NULL, NULL, state};
	(*n)++;
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_defaults_empty),
		cmocka_unit_test(test_full),
		cmocka_unit_test(defaults_false_keeps_only_listed_collectors),
		cmocka_unit_test(test_remote_write_defaults),
		cmocka_unit_test(test_env_expansion),
		cmocka_unit_test(test_env_only_in_labels),
		cmocka_unit_test(test_collector_forms),
		cmocka_unit_test(test_disabled_keeps_options),
		cmocka_unit_test(test_option_at_its_max),
		cmocka_unit_test(test_no_schemas),
		cmocka_unit_test(test_quoted_and_null_values),
		cmocka_unit_test(test_valid_values),
		cmocka_unit_test(test_shards_and_backoff_edges),
		cmocka_unit_test(test_anchors),
		cmocka_unit_test(test_retry_after_bound_and_redirects),
		cmocka_unit_test(test_secret_files),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_good_full_fixture),
		cmocka_unit_test(test_anchors_reused),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_alias_count_limit),
		cmocka_unit_test(test_node_limit_without_aliases),
		cmocka_unit_test(test_alias_cycles),
		cmocka_unit_test(test_duplicate_keys_in_large_mappings),
		cmocka_unit_test(test_mask_url),
		cmocka_unit_test(test_url_errors_mask_userinfo),
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
