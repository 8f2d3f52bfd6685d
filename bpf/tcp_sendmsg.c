/* tcp_sendmsg: sizes of sendmsg calls on TCP sockets, as a histogram in
 * bytes, kernel_tcp_sendmsg_size_bytes, and failed calls,
 * kernel_tcp_sendmsg_errors_total. Kernel side in tcp_sendmsg.bpf.c.
 *
 * The hook is chosen at load, the first that loads and attaches:
 * tp_btf/sock_send_length, raw_tp/sock_send_length (size = bytes the call
 * accepted; errors counted), fentry/tcp_sendmsg, kprobe/tcp_sendmsg (size
 * = bytes asked for; errors not seen, their series is not emitted). The
 * option `hook` pins one (auto, tp_btf, raw_tp, fentry, kprobe). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "lib/log.h"
#include "bpf/bpf_collector.h"
#include "bpf/bpfutil.h"
#include "bpf/tcp_sendmsg.h"
#include "bpf/tcp_sendmsg.skel.h" /* generated into $(BUILD)/bpf */

/* Buckets up to 2^30 bytes (1 GiB); larger sends count in +Inf. */
#define TCP_SENDMSG_BUCKETS 30

struct tcp_sendmsg_opts {
	char *hook; /* auto, tp_btf, raw_tp, fentry, kprobe */
};

static const struct opt_desc tcp_sendmsg_opt_descs[] = {
	{"hook", OPT_ENUM, "auto|tp_btf|raw_tp|fentry|kprobe", offsetof(struct tcp_sendmsg_opts, hook), 0},
	{NULL, OPT_BOOL, NULL, 0, 0},
};

static const struct metric_desc size_desc = {
	"kernel_tcp_sendmsg_size_bytes",
	"Sizes of sendmsg calls on TCP sockets (bytes accepted with the sock_send_length "
	"tracepoint, bytes asked for with fentry/kprobe on tcp_sendmsg).",
	METRIC_HISTOGRAM};
static const struct metric_desc errors_desc = {
	"kernel_tcp_sendmsg_errors_total",
	"sendmsg calls on TCP sockets that failed (EAGAIN: send buffer full; EPIPE, ...).",
	METRIC_COUNTER};

enum hook { HOOK_TP_BTF, HOOK_RAW_TP, HOOK_FENTRY, HOOK_KPROBE, HOOKS };
static const char *const hook_option[HOOKS] = {"tp_btf", "raw_tp", "fentry", "kprobe"};
static const char *const hook_name[HOOKS] = {"tp_btf/sock_send_length", "raw_tp/sock_send_length",
					     "fentry/tcp_sendmsg", "kprobe/tcp_sendmsg"};

struct tcp_sendmsg_state {
	struct tcp_sendmsg_bpf *skel;
	enum hook hook;
};

static bool kernel_has(enum hook h)
{
	switch (h) {
	case HOOK_TP_BTF:
	case HOOK_RAW_TP:
		return bpf_has_raw_tracepoint("sock_send_length");
	case HOOK_FENTRY:
		return bpf_has_kernel_function("tcp_sendmsg");
	case HOOK_KPROBE:
		/* The kprobe PMU is how libbpf attaches kprobes. */
		return bpf_has_kernel_function("tcp_sendmsg") &&
		       access("/sys/bus/event_source/devices/kprobe/type", R_OK) == 0;
	default:
		return false;
	}
}

static struct bpf_program *program(struct tcp_sendmsg_bpf *skel, enum hook h)
{
	switch (h) {
	case HOOK_TP_BTF:
		return skel->progs.tcp_send_length;
	case HOOK_RAW_TP:
		return skel->progs.tcp_send_length_raw;
	case HOOK_FENTRY:
		return skel->progs.tcp_sendmsg_fentry;
	default:
		return skel->progs.tcp_sendmsg_kprobe;
	}
}

/* Loads and attaches only hook h's program. NULL on failure (errno set). */
static struct tcp_sendmsg_bpf *load(enum hook h)
{
	struct tcp_sendmsg_bpf *skel = tcp_sendmsg_bpf__open();
	int err;

	if (!skel)
		return NULL;
	for (int other = 0; other < HOOKS; other++)
		bpf_program__set_autoload(program(skel, (enum hook)other), other == (int)h);
	if (tcp_sendmsg_bpf__load(skel) || tcp_sendmsg_bpf__attach(skel)) {
		err = errno;
		tcp_sendmsg_bpf__destroy(skel);
		errno = err;
		return NULL;
	}
	return skel;
}

/* Appends item to a comma-separated list in buf. */
static void append(char *buf, size_t size, const char *item)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s%s", len ? "," : "", item);
}

static int tcp_sendmsg_init(struct collector_ctx *ctx)
{
	const struct tcp_sendmsg_opts *opts = ctx->opts;
	const char *want = opts && opts->hook && *opts->hook ? opts->hook : "auto";
	struct tcp_sendmsg_state *st;
	char missing[128] = "", failed[128] = "";
	int err = 0;

	bpf_setup();
	st = calloc(1, sizeof(*st));
	if (!st)
		return -1;
	for (int h = 0; h < HOOKS && !st->skel; h++) {
		if (strcmp(want, "auto") != 0 && strcmp(want, hook_option[h]) != 0)
			continue;
		if (!kernel_has((enum hook)h)) {
			append(missing, sizeof(missing), hook_name[h]);
			continue;
		}
		st->skel = load((enum hook)h);
		st->hook = (enum hook)h;
		if (!st->skel) {
			err = errno;
			append(failed, sizeof(failed), hook_name[h]);
		}
	}
	if (!st->skel) {
		/* One line: what is missing, and what the kernel refused. */
		if (!*failed)
			log_msg(LOG_WARN, "bpf collector disabled: kernel lacks its hook",
				"collector=tcp_sendmsg hook=%s", missing);
		else
			log_msg(LOG_WARN, "bpf collector disabled: cannot load or attach",
				"collector=tcp_sendmsg hook=%s err=%d missing=%s", failed, -err,
				*missing ? missing : "none");
		free(st);
		return -1;
	}
	log_msg(LOG_INFO, "bpf collector loaded", "collector=tcp_sendmsg hook=%s",
		hook_name[st->hook]);
	ctx->state = st;
	return 0;
}

static int tcp_sendmsg_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct tcp_sendmsg_state *st = ctx->state;
	uint64_t entries[HIST_ENTRIES], counters[TCP_SENDMSG_COUNTERS];

	if (bpf_percpu_sum(bpf_map__fd(st->skel->maps.hist), 0, HIST_ENTRIES, entries) < 0 ||
	    bpf_percpu_sum(bpf_map__fd(st->skel->maps.counters), 0, TCP_SENDMSG_COUNTERS,
			   counters) < 0)
		return -1;
	bpf_emit_log2_histogram(reg, &size_desc, NULL, 0, entries, TCP_SENDMSG_BUCKETS, 1, 1);
	if (st->hook == HOOK_TP_BTF || st->hook == HOOK_RAW_TP)
		registry_emit(reg, &errors_desc, NULL, NULL, 0,
			      (double)counters[TCP_SENDMSG_ERRORS], 0);
	bpf_emit_program_stats(reg, "tcp_sendmsg", st->skel->obj);
	return 0;
}

static void tcp_sendmsg_exit(struct collector_ctx *ctx)
{
	struct tcp_sendmsg_state *st = ctx->state;

	if (st)
		tcp_sendmsg_bpf__destroy(st->skel);
	free(st);
	ctx->state = NULL;
}

const struct collector bpf_collector_tcp_sendmsg = {
	.name = "tcp_sendmsg",
	.default_enabled = true,
	.opts_size = sizeof(struct tcp_sendmsg_opts),
	.opts = tcp_sendmsg_opt_descs,
	.kind = &bpf_collector_kind,
	.init = tcp_sendmsg_init,
	.update = tcp_sendmsg_update,
	.exit = tcp_sendmsg_exit,
};
