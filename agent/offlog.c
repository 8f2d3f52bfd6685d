/* SPDX-License-Identifier: MIT */
#include "agent/offlog.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"

/* Collectors there are: a few dozen; a name past the table is not kept. */
#define MAX_OFF 64
#define NAME_MAX_LEN 64
#define REASON_MAX 320

struct off {
	char collector[NAME_MAX_LEN];
	char reason[REASON_MAX];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct off table[MAX_OFF];
static size_t n_off;

/* The value of key= in a logfmt tail (unquoted values only: collector
 * names never need quotes), into out; false when absent. */
static bool field(const char *tail, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key), len;

	for (const char *p = tail; (p = strstr(p, key)); p += klen) {
		if ((p != tail && p[-1] != ' ') || p[klen] != '=')
			continue;
		p += klen + 1;
		len = strcspn(p, " ");
		if (len == 0 || len >= size)
			return false;
		memcpy(out, p, len);
		out[len] = '\0';
		return true;
	}
	return false;
}

/* "kernel lacks its hook hook=raw_tp/x": the message after "disabled: "
 * and the tail without its collector= field. */
static void make_reason(const char *msg, const char *tail, const char *collector, char *out,
			size_t size)
{
	const char *colon = strstr(msg, "disabled: ");
	char self[NAME_MAX_LEN + 16];
	const char *cut;
	size_t len;

	snprintf(self, sizeof(self), "collector=%s", collector);
	snprintf(out, size, "%s", colon ? colon + strlen("disabled: ") : msg);
	cut = strstr(tail, self);
	len = strlen(out);
	if (cut) {
		snprintf(out + len, size - len, "%s%.*s%s", *tail && cut != tail ? " " : "",
			 (int)(cut - tail), tail, cut + strlen(self));
	} else if (*tail) {
		snprintf(out + len, size - len, " %s", tail);
	}
}

static void tap(enum log_level level, const char *msg, const char *tail)
{
	char collector[NAME_MAX_LEN];
	size_t i;

	(void)level;
	if (!strstr(msg, "collector disabled") || !field(tail, "collector", collector,
							 sizeof(collector)))
		return;
	pthread_mutex_lock(&mu);
	for (i = 0; i < n_off && strcmp(table[i].collector, collector) != 0; i++)
		;
	if (i == n_off && n_off < MAX_OFF)
		snprintf(table[n_off++].collector, NAME_MAX_LEN, "%s", collector);
	if (i < n_off)
		make_reason(msg, tail, collector, table[i].reason, REASON_MAX);
	pthread_mutex_unlock(&mu);
}

void offlog_start(void)
{
	log_set_tap(tap);
}

bool offlog_reason(const char *collector, char *buf, size_t size)
{
	bool found = false;

	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < n_off && !found; i++)
		if (strcmp(table[i].collector, collector) == 0) {
			snprintf(buf, size, "%s", table[i].reason);
			found = true;
		}
	pthread_mutex_unlock(&mu);
	return found;
}

void offlog_each(void (*fn)(void *arg, const char *collector, const char *reason), void *arg)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < n_off; i++)
		fn(arg, table[i].collector, table[i].reason);
	pthread_mutex_unlock(&mu);
}
