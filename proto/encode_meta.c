/* SPDX-License-Identifier: MIT */
/* The 1.0 metadata-only WriteRequest (proto/remote.proto, types.proto):
 *   WriteRequest.metadata = 3
 *     MetricMetadata: type = 1, metric_family_name = 2, help = 4, unit = 5
 * Defaults omitted as protobuf-c omits them (type 0, empty strings). */
#include "proto/encode_v2.h"

#include <string.h>

#include "proto/pbwire.h"

enum { REQ_METADATA = 3 };
enum { MM_TYPE = 1, MM_FAMILY = 2, MM_HELP = 4, MM_UNIT = 5 };

static size_t str_field_size(unsigned field, const char *s)
{
	size_t len = strlen(s);

	return len ? pb_len_field_size(field, len) : 0;
}

static size_t meta_body_size(const struct wire_meta *m)
{
	return (m->type ? 1 + pb_varint_size(m->type) : 0) + str_field_size(MM_FAMILY, m->family) +
	       str_field_size(MM_HELP, m->help) + str_field_size(MM_UNIT, m->unit);
}

static uint8_t *put_str(uint8_t *p, unsigned field, const char *s)
{
	size_t len = strlen(s);

	return len ? pb_put_len_field(p, field, s, len) : p;
}

int encode_metadata_request(const struct wire_meta *const *meta, size_t n, struct buf *out)
{
	size_t total = 0;
	uint8_t *p;

	for (size_t i = 0; i < n; i++)
		total += pb_len_field_size(REQ_METADATA, meta_body_size(meta[i]));
	buf_reset(out);
	if (buf_reserve(out, total ? total : 1) < 0)
		return -1;
	p = out->data;
	for (size_t i = 0; i < n; i++) {
		const struct wire_meta *m = meta[i];

		p = pb_put_varint(p, pb_tag(REQ_METADATA, PB_LEN));
		p = pb_put_varint(p, meta_body_size(m));
		if (m->type) {
			p = pb_put_varint(p, pb_tag(MM_TYPE, PB_VARINT));
			p = pb_put_varint(p, m->type);
		}
		p = put_str(p, MM_FAMILY, m->family);
		p = put_str(p, MM_HELP, m->help);
		p = put_str(p, MM_UNIT, m->unit);
	}
	out->len = (size_t)(p - out->data);
	return 0;
}
