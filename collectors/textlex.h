/* textlex: the scalars of the Prometheus text format as Prometheus' Go
 * parser reads them: UTF-8 label values, Go's float and integer syntax.
 * Apart from textparse so that each file stays one reading's worth. */
#ifndef BPFPUSH_TEXTLEX_H
#define BPFPUSH_TEXTLEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Valid UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
bool text_valid_utf8(const unsigned char *s, size_t len);
/* Go's strconv.ParseFloat(s, 64) on the NUL-terminated s. */
bool text_parse_float(const char *s, double *out);
/* Go's strconv.ParseInt(s, 10, 64) on s[0..len). */
bool text_parse_int64(const char *s, size_t len, int64_t *out);

#endif
