/* SPDX-License-Identifier: MIT */
#include "collectors/filter.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "lib/log.h"

static int compile(const char *pattern, void **out)
{
	int err;
	PCRE2_SIZE at;

	*out = NULL;
	if (!pattern || !*pattern)
		return 0;
	*out = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &at, NULL);
	if (*out) {
		/* JIT when the platform has it; matching works without. */
		pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
		return 0;
	}
	log_msg(LOG_ERROR, "bad filter pattern", "pattern=\"%s\" offset=%zu", pattern, (size_t)at);
	return -1;
}

int name_filter_init(struct name_filter *f, const char *include, const char *exclude)
{
	*f = (struct name_filter){0};
	if (compile(include, &f->include) < 0 || compile(exclude, &f->exclude) < 0)
		goto fail;
	if (!f->include && !f->exclude)
		return 0;
	f->match_data = pcre2_match_data_create(1, NULL);
	if (f->match_data)
		return 0;
	log_msg(LOG_ERROR, "filter: out of memory", NULL);
fail:
	name_filter_free(f);
	return -1;
}

static bool matches(void *re, void *md, const char *name, size_t len)
{
	return pcre2_match(re, (PCRE2_SPTR)name, len, 0, 0, md, NULL) >= 0;
}

bool name_filter_keep(const struct name_filter *f, const char *name, size_t len)
{
	if (f->include && !matches(f->include, f->match_data, name, len))
		return false;
	return !(f->exclude && matches(f->exclude, f->match_data, name, len));
}

void name_filter_free(struct name_filter *f)
{
	pcre2_code_free(f->include);
	pcre2_code_free(f->exclude);
	pcre2_match_data_free(f->match_data);
	*f = (struct name_filter){0};
}
