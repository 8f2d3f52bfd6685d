/* SPDX-License-Identifier: MIT */
#include "bpf/ksyms.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ksym {
	uint64_t addr;
	uint32_t name; /* offset into names */
	uint32_t order; /* line number: keeps aliases in file order */
};

struct ksyms {
	struct ksym *syms;
	size_t n;
	char *names;
};

static void ksyms_free(struct ksyms *k);

/* The whole file: /proc files have no size, so read until EOF. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	size_t cap = 1 << 22, n = 0;
	char *buf = NULL, *bigger;

	if (!f)
		return NULL;
	for (;;) {
		if (!(bigger = realloc(buf, cap + 1))) {
			free(buf);
			fclose(f);
			errno = ENOMEM;
			return NULL;
		}
		buf = bigger;
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int by_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* A line of kallsyms, "ADDR TYPE NAME [MODULE]", that is a text symbol:
 * its address, and its name (name_len bytes at *name, not terminated). */
static bool text_symbol(char *line, uint64_t *addr, char **name, size_t *name_len)
{
	char *end, type;

	*addr = strtoull(line, &end, 16);
	if (end == line || end[0] != ' ' || !end[1] || end[2] != ' ')
		return false;
	type = end[1];
	if (type != 't' && type != 'T' && type != 'w' && type != 'W')
		return false;
	*name = end + 3;
	*name_len = strcspn(*name, " \t");
	return true;
}

/* Appends the symbol at addr named at offset name of the names; -1 when
 * the table cannot grow. */
static int add_symbol(struct ksyms *k, size_t *cap, uint64_t addr, size_t name)
{
	if (k->n == *cap) {
		struct ksym *bigger;
		*cap = *cap ? *cap * 2 : 65536;
		if (!(bigger = realloc(k->syms, *cap * sizeof(*bigger))))
			return -1;
		k->syms = bigger;
	}
	k->syms[k->n] = (struct ksym){addr, (uint32_t)name, (uint32_t)k->n};
	k->n++;
	return 0;
}

/* Loads path (NULL: /proc/kallsyms). NULL with errno set on failure. */
static struct ksyms *ksyms_load(const char *path)
{
	struct ksyms *k = calloc(1, sizeof(*k));
	size_t len, cap = 0, used = 0;
	char *text, *line, *next;
	bool any_address = false;

	if (!k || !(text = slurp(path ? path : "/proc/kallsyms", &len))) {
		free(k);
		return NULL;
	}
	/* Names are copied into text's own storage, packed from its start:
	 * a name never outgrows the line it came from, so writes stay behind
	 * the parse position. */
	for (line = text; line && *line; line = next) {
		char *name;
		uint64_t addr;
		size_t name_len;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!text_symbol(line, &addr, &name, &name_len))
			continue;
		any_address |= addr != 0;
		if (!name_len || used + name_len + 1 > UINT32_MAX)
			continue;
		if (add_symbol(k, &cap, addr, used) < 0)
			goto nomem;
		memmove(text + used, name, name_len);
		text[used + name_len] = '\0';
		used += name_len + 1;
	}
	if (!any_address) {
		/* kptr_restrict: every address reads as 0. */
		free(text);
		ksyms_free(k);
		errno = EPERM;
		return NULL;
	}
	k->names = realloc(text, used ? used : 1);
	if (!k->names)
		k->names = text;
	if (k->n) /* else syms is NULL, which qsort must not be given */
		qsort(k->syms, k->n, sizeof(*k->syms), by_addr);
	return k;
nomem:
	free(text);
	ksyms_free(k);
	errno = ENOMEM;
	return NULL;
}

static void ksyms_free(struct ksyms *k)
{
	if (!k)
		return;
	free(k->syms);
	free(k->names);
	free(k);
}

const char *ksyms_lookup(const struct ksyms *k, uint64_t addr, uint64_t *offset)
{
	size_t lo = 0, hi;

	if (!k || !k->n || addr < k->syms[0].addr)
		return NULL;
	/* The last symbol with syms[i].addr <= addr. */
	hi = k->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (k->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	/* Aliases share an address: the first one in the file names it. */
	while (lo > 0 && k->syms[lo - 1].addr == k->syms[lo].addr)
		lo--;
	if (offset)
		*offset = addr - k->syms[lo].addr;
	return k->names + k->syms[lo].name;
}

static struct ksyms *shared;
static unsigned shared_users;
static bool shared_tried;

const struct ksyms *ksyms_acquire(void)
{
	if (!shared_tried) {
		shared_tried = true;
		shared = ksyms_load(NULL);
	}
	shared_users++;
	return shared;
}

void ksyms_release(void)
{
	if (!shared_users || --shared_users)
		return;
	ksyms_free(shared);
	shared = NULL;
	shared_tried = false;
}
