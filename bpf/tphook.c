#include "bpf/tphook.h"

#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "bpf/bpfutil.h"

static bool wants(const char *want, const char *kind)
{
	return !want || !strcmp(want, "auto") || !strcmp(want, kind);
}

enum tp_hook tphook_choose(const char *category, const char *name, const char *want)
{
	if (wants(want, "raw_tp") && bpf_has_raw_tracepoint(name))
		return TP_HOOK_RAW;
	if (wants(want, "tracepoint") && bpf_has_tracefs_event(category, name))
		return TP_HOOK_TRACEPOINT;
	return TP_HOOK_NONE;
}

const char *tphook_describe(enum tp_hook h, const char *category, const char *name,
			    const char *want, char *buf, size_t size)
{
	if (h == TP_HOOK_TRACEPOINT || (h == TP_HOOK_NONE && want && !strcmp(want, "tracepoint")))
		snprintf(buf, size, "tracepoint/%s/%s", category, name);
	else
		snprintf(buf, size, "raw_tp/%s", name);
	return buf;
}

void tphook_keep_only(struct bpf_object *obj, const char *const *keep, size_t n)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		bool wanted = false;

		for (size_t i = 0; i < n && !wanted; i++)
			wanted = keep[i] && !strcmp(bpf_program__name(prog), keep[i]);
		bpf_program__set_autoload(prog, wanted);
	}
}
