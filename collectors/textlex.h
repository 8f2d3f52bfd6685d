/* SPDX-License-Identifier: MIT */
/* textlex: the scalars of the Prometheus text format as Prometheus' Go
 * parser reads them: Go's float and integer syntax (label values' UTF-8
 * is lib/names.h's).
 * Apart from textparse so that each file stays one reading's worth. */
#ifndef BPFPUSH_TEXTLEX_H
#define BPFPUSH_TEXTLEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Go's strconv.ParseFloat(s, 64) on the NUL-terminated s. */
bool text_parse_float(const char *s, double *out);
/* Where the decimal ([+-]digits[.digits]) at s[0..end) stops, with its
 * value in *out, when it is read exactly without strtod; else NULL (and
 * text_parse_float decides). A number followed by more than a blank or
 * the end (an exponent, say) is not whole: the caller checks the stop. */
const char *text_parse_decimal(const char *s, const char *end, double *out);
/* Go's strconv.ParseInt(s, 10, 64) on s[0..len). */
bool text_parse_int64(const char *s, size_t len, int64_t *out);

#endif
