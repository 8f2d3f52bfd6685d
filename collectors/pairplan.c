/* SPDX-License-Identifier: MIT */
#include "collectors/pairplan.h"

#include <stdlib.h>
#include <string.h>

#include "collectors/filter.h"
#include "collectors/kvlines.h"

#define KEY_LEN 128 /* field names are short; the longest today is ~30 bytes */

bool pair_plan_matches(const struct pair_plan *plan, const char *header, size_t header_len)
{
	return plan->header && plan->header_len == header_len &&
	       memcmp(plan->header, header, header_len) == 0;
}

void pair_plan_free(struct pair_plan *plan)
{
	for (size_t i = 0; i < plan->n_kept; i++) {
		free(plan->kept[i].name);
		free(plan->kept[i].help);
	}
	free(plan->kept);
	free(plan->header);
	memset(plan, 0, sizeof(*plan));
}

/* Column `column` (proto, field) kept: its name and HELP, as netstat's
 * emit_field builds them. 0 or -1. */
static int keep_column(struct pair_plan *plan, size_t column, const char *proto,
		       const char *field, const char *key)
{
	char text[KEY_LEN + 32];
	struct pair_column *c = &plan->kept[plan->n_kept];

	c->column = column;
	c->value = NULL;
	kv_join(text, sizeof(text), (const char *const[]){"node_netstat_", key}, 2);
	c->name = strdup(text);
	kv_join(text, sizeof(text), (const char *const[]){"Statistic ", proto, field, "."}, 4);
	c->help = strdup(text);
	plan->n_kept++;
	return c->name && c->help ? 0 : -1;
}

int pair_plan_build(struct pair_plan *plan, const char *header, size_t header_len,
		    const struct name_filter *fields)
{
	char *copy, *cur, *proto, *field, key[KEY_LEN];
	size_t len, column = 0;

	pair_plan_free(plan);
	if (!(plan->header = malloc(header_len + 1)) || !(copy = malloc(header_len + 1)) ||
	    !(plan->kept = calloc(header_len / 2 + 1, sizeof(*plan->kept)))) {
		pair_plan_free(plan);
		return -1;
	}
	memcpy(plan->header, header, header_len);
	plan->header[header_len] = '\0';
	plan->header_len = header_len;
	memcpy(copy, header, header_len + 1);
	cur = copy;
	proto = kv_field(&cur);
	len = proto ? strlen(proto) : 0;
	if (len > 0 && proto[len - 1] == ':')
		proto[len - 1] = '\0';
	for (; proto && (field = kv_field(&cur)); column++) {
		size_t n = kv_join(key, sizeof(key), (const char *const[]){proto, "_", field}, 3);

		if (n < sizeof(key) && name_filter_keep(fields, key, n) &&
		    keep_column(plan, column, proto, field, key) < 0) {
			free(copy);
			pair_plan_free(plan);
			return -1;
		}
	}
	plan->n_columns = column;
	free(copy);
	return 0;
}

bool pair_plan_values(struct pair_plan *plan, char *values)
{
	size_t column = 0, next = 0;
	char *value;

	if (!kv_field(&values))
		return false; /* no proto */
	while ((value = kv_field(&values))) {
		if (next < plan->n_kept && plan->kept[next].column == column)
			plan->kept[next++].value = value;
		column++;
	}
	return column == plan->n_columns;
}
