/* SPDX-License-Identifier: MIT */
#include "collectors/filter.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/hashmap.h"
#include "lib/log.h"

#define MEMO_MAX 4096 /* names remembered, at most: about 128 KiB */

struct memo_slot {
	uint64_t hash;
	uint32_t off, len; /* the name in names */
	bool used, keep;
};

struct filter_memo {
	struct memo_slot *slots;
	size_t cap, n; /* cap: a power of two, or 0 */
	char *names;
	size_t names_len, names_cap;
};

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
	f->memo = calloc(1, sizeof(*f->memo));
	if (f->match_data && f->memo)
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

static bool match_keep(const struct name_filter *f, const char *name, size_t len)
{
	if (f->include && !matches(f->include, f->match_data, name, len))
		return false;
	return !(f->exclude && matches(f->exclude, f->match_data, name, len));
}

/* The slot of name, or the empty slot where it would go. */
static struct memo_slot *memo_find(const struct filter_memo *m, uint64_t hash, const char *name,
				   size_t len)
{
	for (size_t i = hash & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct memo_slot *s = &m->slots[i];
		if (!s->used || (s->hash == hash && s->len == len &&
				 !memcmp(m->names + s->off, name, len)))
			return s;
	}
}

/* Doubles the table (at most 2 * MEMO_MAX slots: half full). -1: not now. */
static int memo_grow(struct filter_memo *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct filter_memo bigger = *m;

	if (cap > 2 * MEMO_MAX || !(bigger.slots = calloc(cap, sizeof(*bigger.slots))))
		return -1;
	bigger.cap = cap;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].used)
			*memo_find(&bigger, m->slots[i].hash, NULL, SIZE_MAX) = m->slots[i];
	free(m->slots);
	*m = bigger;
	return 0;
}

static void memo_add(struct filter_memo *m, uint64_t hash, const char *name, size_t len,
		     bool keep)
{
	struct memo_slot *s;

	if (m->n >= MEMO_MAX || len > UINT32_MAX || m->names_len + len > UINT32_MAX ||
	    ((m->n + 1) * 2 > m->cap && memo_grow(m) < 0) ||
	    grow_array((void **)&m->names, &m->names_cap, m->names_len + len, 1) < 0)
		return;
	s = memo_find(m, hash, name, len);
	memcpy(m->names + m->names_len, name, len);
	*s = (struct memo_slot){hash, (uint32_t)m->names_len, (uint32_t)len, true, keep};
	m->names_len += len;
	m->n++;
}

bool name_filter_keep(const struct name_filter *f, const char *name, size_t len)
{
	struct filter_memo *m = f->memo;
	uint64_t hash;
	bool keep;

	if (!f->include && !f->exclude)
		return true;
	if (!m)
		return match_keep(f, name, len);
	hash = hashmap_hash(name, len);
	if (m->cap) {
		const struct memo_slot *s = memo_find(m, hash, name, len);
		if (s->used)
			return s->keep;
	}
	keep = match_keep(f, name, len);
	memo_add(m, hash, name, len, keep);
	return keep;
}

void name_filter_free(struct name_filter *f)
{
	pcre2_code_free(f->include);
	pcre2_code_free(f->exclude);
	pcre2_match_data_free(f->match_data);
	if (f->memo) {
		free(f->memo->slots);
		free(f->memo->names);
		free(f->memo);
	}
	*f = (struct name_filter){0};
}
