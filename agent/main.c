/* SPDX-License-Identifier: MIT */
/* bpfpush: collect host and kernel metrics, push them with remote_write.
 *
 * Lifecycle: load and validate the config (exit 2 on error), start one queue
 * per remote_write endpoint, then collect a round every interval until
 * SIGTERM/SIGINT, then let the queues flush until --flush-deadline. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "series/exposition.h"
#include "agent/caps.h"
#include "agent/endpoints.h"
#include "agent/instance.h"
#include "agent/reload.h"
#include "lib/log.h"
#include "series/registry.h"
#include "agent/scheduler.h"
#include "agent/selfmetrics.h"
#include "agent/show.h"
#include "agent/status.h"
#include "agent/views.h"
#include "bpf/bpfutil.h"
#include "config/config.h"
#include "queue/queue.h"
#include "lib/clock.h"

#define DEFAULT_CONFIG "/etc/bpfpush/bpfpush.yml"
#define EXIT_CONFIG 2

struct options {
	const char *config_path;
	bool check_only, once, dry_run;
	int64_t flush_deadline_ms;
	caps_mask caps_keep;   /* --capabilities-keep */
	bool enable_bpf_stats; /* --enable-bpf-stats */
	int64_t bpf_stats_on_ms, bpf_stats_period_ms; /* --bpf-stats-duty ON/PERIOD */
};

struct agent {
	struct options opt;
	struct config cfg;
	struct registry *registry;
	struct scheduler *scheduler;
	struct queue **queues;
	size_t n_queues;
	struct agent_totals totals;
	struct views views;      /* relabel_configs, write_relabel_configs */
	struct status *status; /* the local HTTP endpoint, or NULL */
	int data_dir_lock;     /* fd holding global.data_dir's lock, or -1 */
	struct reload_state reload;
	sigset_t signals; /* the ones the main loop waits for */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bpfpush [--config FILE] [--once] [--dry-run] [--flush-deadline DURATION]\n"
		"               [--log-level debug|info|warn|error]\n"
		"               [--capabilities-keep LIST] [--enable-bpf-stats]\n"
		"       bpfpush --check-config FILE\n"
		"       bpfpush show [--interval 1s] [--config FILE] [COLLECTOR...]\n"
		"       bpfpush --version\n"
		"\n"
		"  --config FILE            configuration (default " DEFAULT_CONFIG ")\n"
		"  --check-config FILE      validate FILE and exit: 0 valid, 2 invalid\n"
		"  --once                   collect one round, push it, flush, exit\n"
		"                           (exit 1 if any sample was not accepted)\n"
		"  --dry-run                print what would be pushed (text format), push nothing\n"
		"  --flush-deadline D       on SIGTERM, time left to send what is queued (default 1m)\n"
		"  --log-level LEVEL        default info\n"
		"  --capabilities-keep LIST capabilities kept once started, e.g. bpf,perfmon\n"
		"                           (default none)\n"
		"  --enable-bpf-stats       switch BPF run statistics on (needs CAP_SYS_ADMIN)\n"
		"  --bpf-stats-duty ON/PERIOD  on for ON in every PERIOD, scaled (default 1s/10s;\n"
		"                           \"always\": on for the agent's life)\n");
}

static int parse_caps_keep(const char *list, caps_mask *out)
{
	char err[128];

	if (caps_parse_list(list, out, err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "bpfpush: --capabilities-keep: %s\n", err);
	return -1;
}

/* --bpf-stats-duty: "always", or ON/PERIOD durations with ON < PERIOD. */
static int parse_stats_duty(const char *text, struct options *o)
{
	char on[32];
	const char *slash = strchr(text, '/');

	if (strcmp(text, "always") == 0) {
		o->bpf_stats_on_ms = o->bpf_stats_period_ms = 0;
		return 0;
	}
	if (slash && (size_t)(slash - text) < sizeof(on)) {
		memcpy(on, text, (size_t)(slash - text));
		on[slash - text] = '\0';
		if (parse_duration_ms(on, &o->bpf_stats_on_ms) == 0 &&
		    parse_duration_ms(slash + 1, &o->bpf_stats_period_ms) == 0 &&
		    o->bpf_stats_on_ms > 0 && o->bpf_stats_on_ms < o->bpf_stats_period_ms)
			return 0;
	}
	fprintf(stderr, "bpfpush: --bpf-stats-duty: want ON/PERIOD (ON < PERIOD) or always, "
		"not \"%s\"\n", text);
	return -1;
}

/* The options that take a value: 0, or -1 after saying what is wrong. */
static int parse_option_value(int c, const char *arg, struct options *opt)
{
	switch (c) {
	case 'f':
		if (parse_duration_ms(arg, &opt->flush_deadline_ms) < 0) {
			fprintf(stderr, "bpfpush: --flush-deadline: bad duration \"%s\"\n", arg);
			return -1;
		}
		return 0;
	case 'l':
		if (log_set_level_name(arg) < 0) {
			fprintf(stderr, "bpfpush: --log-level: unknown level \"%s\"\n", arg);
			return -1;
		}
		return 0;
	case 'K':
		return parse_caps_keep(arg, &opt->caps_keep) < 0 ? -1 : 0;
	default: /* 'D' */
		return parse_stats_duty(arg, opt) < 0 ? -1 : 0;
	}
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", required_argument, NULL, 'C'},
		{"once", no_argument, NULL, 'o'},
		{"dry-run", no_argument, NULL, 'n'},
		{"flush-deadline", required_argument, NULL, 'f'},
		{"log-level", required_argument, NULL, 'l'},
		{"capabilities-keep", required_argument, NULL, 'K'},
		{"enable-bpf-stats", no_argument, NULL, 'S'},
		{"bpf-stats-duty", required_argument, NULL, 'D'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*opt = (struct options){.config_path = DEFAULT_CONFIG, .flush_deadline_ms = 60000,
				.bpf_stats_on_ms = 1000, .bpf_stats_period_ms = 10000};
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt->config_path = optarg; break;
		case 'C': opt->config_path = optarg; opt->check_only = true; break;
		case 'o': opt->once = true; break;
		case 'n': opt->dry_run = true; break;
		case 'f': case 'l': case 'K': case 'D':
			if (parse_option_value(c, optarg, opt) < 0)
				return -1;
			break;
		case 'S': opt->enable_bpf_stats = true; break;
		case 'V': printf("bpfpush %s\n", BPFPUSH_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bpfpush: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* Said at every start and by --check-config: an endpoint whose certificate
 * is not checked can be impersonated, and the line is easy to forget. */
static void warn_insecure_tls(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_remote_write; i++) {
		const struct remote_write_config *rw = &cfg->remote_write[i];
		char name[256], url[1024], qname[512], qurl[1024];

		if (!rw->tls.insecure_skip_verify)
			continue;
		endpoint_name(rw, i, name, sizeof(name));
		config_mask_url(rw->url, url, sizeof(url));
		log_msg(LOG_WARN, "remote_write: TLS certificate verification is disabled "
			"(tls_config.insecure_skip_verify: true)", "remote_name=%s url=%s",
			log_quote(name, strlen(name), qname, sizeof(qname)),
			log_quote(url, strlen(url), qurl, sizeof(qurl)));
	}
}

static int start_queues(struct agent *a)
{
	a->queues = calloc(a->cfg.n_remote_write + 1, sizeof(*a->queues));
	if (!a->queues)
		return -1;
	for (size_t i = 0; i < a->cfg.n_remote_write; i++) {
		if (!(a->queues[i] = endpoint_open(&a->cfg, i, a->opt.dry_run)))
			return -1;
		a->n_queues++;
	}
	if (a->n_queues == 0 && !a->opt.dry_run)
		log_msg(LOG_WARN, "no remote_write endpoint configured: nothing will be pushed", NULL);
	return 0;
}

/* Frees the series the registry forgot a while ago, once no queue holds a
 * sample appended before the last reclaim; the status snapshot was
 * replaced this round, so it holds none of theirs either. */
static void reclaim_series(struct agent *a)
{
	for (size_t i = 0; i < a->n_queues; i++)
		if (!queue_mark_passed(a->queues[i]))
			return;
	registry_reclaim(a->registry);
	for (size_t i = 0; i < a->n_queues; i++)
		queue_mark(a->queues[i]);
}

/* SIGTERM or SIGINT arrived (it stays pending for wait_for_tick). */
static bool stop_pending(void)
{
	sigset_t pending;

	return sigpending(&pending) == 0 &&
	       (sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1);
}

/* A round that does not fit a queue's rings waits for room (queue.h), at
 * most half an interval in all, shared by every endpoint, in slices of
 * 100 ms so that a SIGTERM is acted on at once; what is left then is
 * appended dropping the oldest, as a queue with a dead endpoint does. */
static void append_round(struct agent *a, const struct sample *samples, size_t n)
{
	int64_t deadline = mono_ms() + a->cfg.global.interval_ms / 2;

	for (size_t i = 0; i < a->n_queues; i++) {
		size_t done = 0, n_own;
		/* An endpoint with write_relabel_configs: the round as it sends it. */
		const struct sample *own = views_samples(&a->views, a->registry, a->queues[i],
							 samples, n, &n_own);

		while (done < n_own && mono_ms() < deadline && !stop_pending()) {
			int64_t slice = mono_ms() + 100;

			done += queue_append_wait(a->queues[i], own + done, n_own - done,
						  slice < deadline ? slice : deadline);
		}
		if (done < n_own)
			queue_append(a->queues[i], own + done, n_own - done);
	}
}

static void collect_round(struct agent *a)
{
	int64_t started = mono_ms(), round_ts = wall_ms();
	const struct sample *samples;
	size_t n;

	registry_begin_round(a->registry, round_ts);
	scheduler_collect(a->scheduler, a->registry);
	selfmetrics_emit(a->registry, a->queues, a->n_queues, &a->totals);
	views_emit(&a->views, a->registry);
	reload_emit(a->registry, &a->reload);
	samples = registry_end_round(a->registry, &n);
	status_publish(a->status, samples, n, round_ts);

	if (a->opt.dry_run) {
		/* A comment line (valid text format) that marks where a round starts. */
		printf("# bpfpush round %llu at %lld\n", (unsigned long long)a->totals.rounds + 1,
		       (long long)round_ts);
		exposition_write(stdout, samples, n, round_ts);
		fflush(stdout);
	} else {
		append_round(a, samples, n);
		endpoints_offer_metadata(a->queues, a->n_queues, a->registry);
	}
	reclaim_series(a);
	a->totals.samples_in += n;
	a->totals.rounds++;
	a->totals.last_round_seconds = (double)(mono_ms() - started) / 1000.0;
	log_msg(LOG_DEBUG, "round collected", "samples=%zu series=%zu", n,
		registry_series_count(a->registry));
}

/* SIGHUP or POST /-/reload: the file is read now, so of several requests
 * that came during one reload the next reload applies the last file. */
static void reload(struct agent *a)
{
	char outcome[CONFIG_ERR_MAX + 256];
	uint64_t covers = status_reload_begin(a->status);
	struct reload_target t = {a->opt.config_path, a->opt.dry_run, a->opt.flush_deadline_ms,
				  &a->cfg, &a->queues, &a->n_queues, a->scheduler};
	const struct remote_write_config *running = a->cfg.remote_write;
	int rc = reload_run(&a->reload, &t, outcome, sizeof(outcome));

	/* Only a config that replaced the running one brought new queues. */
	if (a->cfg.remote_write != running)
		views_sync(&a->views, a->registry, a->queues, a->n_queues, &a->cfg);

	status_reload_done(a->status, covers, rc == 0, outcome);
}

/* Waits until deadline (monotonic ms) or a stopping signal, reloading on
 * SIGHUP. Returns the signal, or 0. */
static int wait_for_tick(struct agent *a, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mono_ms();
		struct timespec ts;
		int sig;

		if (left <= 0)
			return 0;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		sig = sigtimedwait(&a->signals, NULL, &ts);
		if (sig == SIGHUP) {
			reload(a);
			continue;
		}
		if (sig > 0)
			return sig;
		if (errno != EAGAIN && errno != EINTR)
			return 0;
	}
}

static void run_loop(struct agent *a)
{
	int64_t next = mono_ms();

	for (;;) {
		int sig;
		collect_round(a);
		if (a->opt.once)
			return;
		next += a->cfg.global.interval_ms;
		if (next < mono_ms()) /* a round overran: skip, don't burst */
			next = mono_ms() + a->cfg.global.interval_ms;
		sig = wait_for_tick(a, next);
		if (sig) {
			log_msg(LOG_INFO, "signal received, stopping", "signal=%s", strsignal(sig));
			return;
		}
	}
}

/* During the flush: a second SIGTERM or SIGINT ends it at once (an
 * operator who asks twice does not want to wait out --flush-deadline). */
struct flush_watch {
	struct agent *a;
	pthread_t thread;
	atomic_bool done;
};

static void *watch_flush(void *arg)
{
	struct flush_watch *w = arg;
	struct timespec tick = {1, 0};

	while (!atomic_load(&w->done)) {
		int sig = sigtimedwait(&w->a->signals, NULL, &tick);

		if (sig != SIGTERM && sig != SIGINT)
			continue; /* a timeout, or SIGHUP: nothing to reload now */
		log_msg(LOG_WARN, "second signal, ending the flush now: unsent samples are dropped",
			"signal=%s", strsignal(sig));
		for (size_t i = 0; i < w->a->n_queues; i++)
			queue_end_flush_now(w->a->queues[i]);
		break;
	}
	return NULL;
}

/* Flushes every queue until the shared deadline; returns the samples that
 * were not accepted (refused, or dropped for any reason). Every queue starts
 * flushing at once: stopping them one after the other would let a dead
 * endpoint listed first use up the deadline before the next one is told. */
static uint64_t stop_queues(struct agent *a)
{
	int64_t deadline = mono_ms() + a->opt.flush_deadline_ms;
	struct flush_watch w = {.a = a};
	bool watching = false;
	uint64_t lost = 0;

	for (size_t i = 0; i < a->n_queues && !a->opt.dry_run; i++)
		queue_begin_stop(a->queues[i], deadline);
	if (a->n_queues && !a->opt.dry_run)
		watching = pthread_create(&w.thread, NULL, watch_flush, &w) == 0;
	for (size_t i = 0; i < a->n_queues; i++) {
		struct queue_stats st;
		if (!a->opt.dry_run)
			queue_stop(a->queues[i], deadline);
		queue_get_stats(a->queues[i], &st);
		lost += st.samples_failed;
		for (int r = 0; r < DROP_REASONS; r++)
			lost += st.samples_dropped[r];
	}
	atomic_store(&w.done, true);
	if (watching) {
		pthread_kill(w.thread, SIGHUP); /* ends its wait now; it checks done */
		pthread_join(w.thread, NULL);
	}
	return lost;
}

static void agent_free(struct agent *a)
{
	status_stop(a->status);
	instance_unlock(a->data_dir_lock);
	for (size_t i = 0; i < a->n_queues; i++)
		queue_destroy(a->queues[i]);
	free(a->queues);
	scheduler_destroy(a->scheduler);
	views_free(&a->views);
	registry_destroy(a->registry);
	config_free(&a->cfg);
	reload_free(&a->reload);
	queue_global_cleanup();
}

/* The status endpoint holds a connection table sized from the fd limit;
 * the soft limit (often 1024) is raised to what the hard one allows. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int setup(struct agent *a)
{
	char host[256] = "localhost";

	/* First, before any collector loads: a second agent stops at once. */
	if (!a->opt.dry_run && a->cfg.global.data_dir[0] &&
	    (a->data_dir_lock = instance_lock(a->cfg.global.data_dir)) < 0)
		return -1;
	raise_fd_limit();
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	/* Block the signals we wait for before any thread starts, so they are
	 * delivered only to sigtimedwait in the main loop. */
	sigemptyset(&a->signals);
	sigaddset(&a->signals, SIGTERM);
	sigaddset(&a->signals, SIGINT);
	sigaddset(&a->signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &a->signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A taken address is most often a second agent on this host: starting
	 * anyway would push every series twice. Before the collectors load,
	 * so that agent stops at once. */
	if (!a->opt.dry_run && a->cfg.http.listen_address[0] &&
	    !(a->status = status_start(a->cfg.http.listen_address))) {
		log_msg(LOG_ERROR, "cannot serve http.listen_address; is another bpfpush running? "
			"(listen_address: \"\" runs without the status endpoint)", "address=%s",
			a->cfg.http.listen_address);
		return -1;
	}

	if (queue_global_init() < 0)
		return -1;
	a->registry = registry_create(a->cfg.global.external_labels,
				      a->cfg.global.n_external_labels, "bpfpush", host);
	if (a->registry && views_global(&a->views, a->registry, &a->cfg) < 0)
		return -1;
	bpf_stats_request(a->opt.enable_bpf_stats, a->opt.bpf_stats_on_ms,
			  a->opt.bpf_stats_period_ms);
	a->scheduler = a->registry ? scheduler_create(&a->cfg) : NULL;
	if (!a->scheduler || start_queues(a) < 0)
		return -1;
	views_sync(&a->views, a->registry, a->queues, a->n_queues, &a->cfg);
	/* Last: the programs are loaded and attached, the files open. */
	return caps_drop(a->opt.caps_keep);
}

int main(int argc, char **argv)
{
	static struct agent a = {.data_dir_lock = -1};
	struct config_error err;
	uint64_t lost;

	if (argc > 1 && strcmp(argv[1], "show") == 0)
		return show_main(argc - 1, argv + 1);
	if (parse_options(argc, argv, &a.opt) < 0)
		return EXIT_CONFIG;
	if (config_load(a.opt.config_path, scheduler_schemas(), &a.cfg, &err) < 0) {
		fprintf(stderr, "%s\n", err.text);
		return EXIT_CONFIG;
	}
	warn_insecure_tls(&a.cfg);
	reload_init(&a.reload);
	if (a.opt.check_only) {
		printf("%s: ok\n", a.opt.config_path);
		config_free(&a.cfg);
		return 0;
	}
	if (setup(&a) < 0) {
		log_msg(LOG_ERROR, "startup failed", NULL);
		agent_free(&a);
		return 1;
	}
	log_msg(LOG_INFO, "bpfpush started", "version=%s config=%s interval_ms=%lld",
		BPFPUSH_VERSION, a.opt.config_path, (long long)a.cfg.global.interval_ms);
	run_loop(&a);
	lost = stop_queues(&a);
	log_msg(LOG_INFO, "bpfpush stopped", "rounds=%llu samples_collected=%llu not_delivered=%llu",
		(unsigned long long)a.totals.rounds, (unsigned long long)a.totals.samples_in,
		(unsigned long long)lost);
	agent_free(&a);
	return a.opt.once && lost ? 1 : 0;
}
