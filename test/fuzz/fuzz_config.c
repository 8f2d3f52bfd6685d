/* SPDX-License-Identifier: MIT */
/* The YAML config loader fed one arbitrary file, with the agent's real
 * schemas (every collector's and BPF collector's options): libyaml's
 * events, the duplicate-key and alias checks, every section's options,
 * relabel rules, durations, sizes, URLs and ${VAR} expansion. A file that
 * loads is loaded a second time and compared with the first, as a reload
 * compares them: a config must equal itself, or a reload would restart
 * what did not change. */
#include "agent/scheduler.h"
#include "config/config.h"

#include "fuzz_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void compare(const struct config *a, const struct config *b)
{
	if (a->n_remote_write != b->n_remote_write || a->n_collectors != b->n_collectors ||
	    a->n_bpf != b->n_bpf ||
	    !config_kv_equal(a->global.external_labels, a->global.n_external_labels,
			     b->global.external_labels, b->global.n_external_labels) ||
	    !config_relabel_equal(&a->global.relabel_configs, &b->global.relabel_configs))
		abort();
	for (size_t i = 0; i < a->n_remote_write; i++)
		if (!config_remote_write_equal(&a->remote_write[i], &b->remote_write[i]) ||
		    !config_rw_protocol_equal(&a->remote_write[i], &b->remote_write[i]))
			abort();
	for (size_t i = 0; i < a->n_collectors; i++)
		if (!config_section_equal(&a->collectors[i], &b->collectors[i]))
			abort();
	for (size_t i = 0; i < a->n_bpf; i++)
		if (!config_section_equal(&a->bpf[i], &b->bpf[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[PATH_MAX];
	const struct config_schemas *schemas = scheduler_schemas();
	struct config cfg = {0}, again = {0};
	struct config_error err;

	if (!path[0]) {
		fuzz_logs_on();
		snprintf(path, sizeof(path), "%s/bpfpush.yml", fuzz_scratch());
		/* What ${VAR} in the seeds names, so that expansion succeeds. */
		setenv("NODE_NAME", "fuzzhost", 0);
	}
	fuzz_write(fuzz_scratch(), "bpfpush.yml", data, size);
	if (config_load(path, schemas, &cfg, &err) < 0)
		return 0;
	if (config_load(path, schemas, &again, &err) < 0)
		abort(); /* the same bytes loaded once */
	compare(&cfg, &again);
	config_free(&again);
	config_free(&cfg);
	return 0;
}
