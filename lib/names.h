/* SPDX-License-Identifier: MIT */
/* names: Prometheus' metric and label name grammar and the UTF-8 its label
 * values must be, written once for the registry, the textfile parser and
 * the configuration checks. */
#ifndef BPFPUSH_NAMES_H
#define BPFPUSH_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the longest metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) at the start
 * of s[0..len): 0 when none starts there. */
size_t metric_name_span(const char *s, size_t len);
/* The same for a label name: [a-zA-Z_][a-zA-Z0-9_]* */
size_t label_name_span(const char *s, size_t len);
/* Whether ch may follow the start of a metric name: where one ends. */
bool metric_name_continues(char ch);
/* Whether all of s[0..len) is one such name. */
bool valid_metric_name(const char *s, size_t len);
bool valid_label_name(const char *s, size_t len);
/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
bool valid_utf8(const void *s, size_t len);

#endif
