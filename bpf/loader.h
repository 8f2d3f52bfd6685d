/* SPDX-License-Identifier: MIT */
/* loader: the one way a BPF collector comes up and goes down. A BPF
 * collector is a descriptor (struct bpf_collector): its ways in, in order
 * of preference, each with the kernel hooks it needs and the programs it
 * loads; callbacks that set its options into the skeleton before load; and
 * its own map-to-series code. The loader does the rest, the same for all:
 *
 *   1. which ways the option that pins one (desc->pin_option: `hook`,
 *      `storage`) permits ("auto", or unset: all of them);
 *   2. which of those this kernel has (their hooks probed in bpfutil.h;
 *      BPFPUSH_BPF_HIDE_HOOKS hides some). The first way it has fixes the
 *      hook: ways needing another hook (another `hooks` array) are not
 *      tried after it, unless desc->every_hook (then each way that exists
 *      is, until one loads). None: one warning, "kernel lacks its hook";
 *   3. prepare (once), then per way: open the skeleton, turn off every
 *      program the way does not name, configure, load, ready, attach; the
 *      first way that attaches wins, a failure is a debug line and the next
 *      way. None: one warning, "cannot load or attach";
 *   4. started, then one line "bpf collector loaded" (desc->describe's
 *      tail), and each round update then the programs' own cost;
 *   5. at exit the skeleton destroyed, release, the state freed.
 *
 * A pin option that is a plain string (not an enum that config checks)
 * and names no way is one warning too, "unknown <option> option".
 *
 * Raw tracepoints come before classic tracepoints, and a tracepoint gets no
 * kprobe fallback: a kprobe costs ~140 ns more per event, and the
 * tracepoints these collectors use are stable on every kernel with BTF
 * (tcp_sendmsg's fentry and kprobe are for kernels without its tracepoint).
 * A collector whose init fails stays configured and reports
 * bpfpush_bpf_collector_up 0 (its struct collector_kind). */
#ifndef BPFPUSH_BPF_LOADER_H
#define BPFPUSH_BPF_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include "collectors/collector.h"
#include "bpf/bpf_collector.h"

struct bpf_object;

/* A generated skeleton's functions, typed away: BPF_SKEL_OPS(foo_bpf)
 * defines foo_bpf_ops for the skeleton foo_bpf (build/bpf/foo.skel.h). */
struct bpf_skel_ops {
	void *(*open)(void);
	int (*load)(void *skel);
	int (*attach)(void *skel);
	void (*destroy)(void *skel);
	struct bpf_object *(*object)(void *skel);
};

#define BPF_SKEL_OPS(skel)                                                              \
	static void *skel##_open_(void) { return skel##__open(); }                      \
	static int skel##_load_(void *s) { return skel##__load(s); }                    \
	static int skel##_attach_(void *s) { return skel##__attach(s); }                \
	static void skel##_destroy_(void *s) { skel##__destroy(s); }                    \
	static struct bpf_object *skel##_object_(void *s) { return ((struct skel *)s)->obj; } \
	static const struct bpf_skel_ops skel##_ops = {skel##_open_, skel##_load_,      \
						       skel##_attach_, skel##_destroy_,   \
						       skel##_object_}

enum bpf_hook_kind {
	BPF_RAW_TP,     /* btf_trace_<name> in the kernel's BTF: tp_btf and raw_tp */
	BPF_TRACEPOINT, /* tracefs shows <category>/<name> */
	BPF_FUNCTION,   /* a BTF FUNC: fentry */
	BPF_KPROBE      /* a BTF FUNC and the kprobe PMU (how libbpf attaches kprobes) */
};

/* A hook a way needs; arrays of them end with a NULL name. */
struct bpf_hook {
	enum bpf_hook_kind kind;
	const char *category; /* tracepoints only */
	const char *name;
};

#define BPF_HOOKS_END {BPF_RAW_TP, NULL, NULL}

/* One way in. */
struct bpf_way {
	const char *option;           /* the pin option's value that picks it; NULL: none does */
	const char *label;            /* its name in log lines; NULL: its first hook's */
	const struct bpf_hook *hooks; /* all needed; ways sharing the array share a hook */
	const char *const *progs;     /* NULL-terminated, kept on; NULL: configure chooses */
};

/* What the callbacks see: one collector, loading or loaded. */
struct bpf_run {
	const struct bpf_collector *desc;
	const void *opts;                   /* its options struct, filled by config */
	const struct global_config *global;
	void *state;                        /* desc->state_size bytes, zeroed: the collector's */
	void *skel;                         /* the skeleton: the way's being tried, then the loaded one */
	int way;                            /* index of that way in the list */
	const char *program;                /* the program log lines name for it */
};

/* A callback that already logged why the collector stays off returns
 * BPF_LOGGED; -1 with errno set leaves the line to the loader. */
#define BPF_LOGGED (-2)

struct bpf_collector {
	struct collector collector; /* the scheduler's view: BPF_COLLECTOR() fills it */
	const struct bpf_skel_ops *skel;
	size_t state_size;
	const struct bpf_way *ways; /* in order of preference */
	size_t n_ways;
	/* The ways for these options instead of ways/n_ways, or NULL. */
	const struct bpf_way *(*ways_for)(const void *opts, size_t *n);
	const char *pin_option; /* the option that pins a way, or NULL */
	bool fail_names_pin;    /* "cannot load" names the pin option's value */
	bool every_hook;        /* see step 2; both failure lines list the ways */
	bool loaded_debug;      /* "bpf collector loaded" at debug level */

	/* Once, after a way was found: the state from options and BTF. */
	int (*prepare)(struct bpf_run *r);
	/* Per way tried, after open: rodata, map sizes, programs; -1 (errno):
	 * this way cannot be used here. */
	int (*configure)(struct bpf_run *r);
	/* Per way tried, after load, before attach. */
	int (*ready)(struct bpf_run *r);
	/* Once, after attach. */
	void (*started)(struct bpf_run *r);
	/* The load line's tail after collector=NAME; NULL: no line. */
	void (*describe)(const struct bpf_run *r, char *buf, size_t size);
	/* Each round: its maps as series. 0, or -1 (up 0 this round). */
	int (*update)(struct bpf_run *r, struct registry *reg);
	/* Frees what the state holds (not the state, not the skeleton); also
	 * after a failed init, on a state prepare may have left half done. */
	void (*release)(struct bpf_run *r);
};

/* The struct collector of a BPF collector (name, default on, options). */
#define BPF_COLLECTOR(name_, enabled_, opts_size_, opts_)                                    \
	{                                                                                     \
		.name = (name_), .default_enabled = (enabled_), .opts_size = (opts_size_),    \
		.opts = (opts_), .kind = &bpf_collector_kind, .init = bpf_loader_init,        \
		.update = bpf_loader_update, .exit = bpf_loader_exit,                         \
	}

int bpf_loader_init(struct collector_ctx *ctx);
int bpf_loader_update(struct collector_ctx *ctx, struct registry *reg);
void bpf_loader_exit(struct collector_ctx *ctx);

/* The one "kernel lacks its hook" line, for a collector that finds out in
 * prepare (extra: NULL, or more key=value pairs). */
void bpf_log_lacks_hook(const char *collector, const char *hook, const char *extra);

/* Turns autoload off for every program of the way's skeleton not named in
 * keep (n names, NULL entries skipped): for configure, when the way's
 * programs depend on the kernel. */
void bpf_keep_programs(struct bpf_run *r, const char *const *keep, size_t n);

#endif
