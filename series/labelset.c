/* SPDX-License-Identifier: MIT */
/* A series keeps its labels once, encoded as it sends them; the few that
 * want them as strings (write_relabel_configs on a new series, the
 * --dry-run exposition, tests) decode them here into memory of their own. */
#include "series/registry.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "proto/pbread.h"

/* A NUL-terminated copy of one Label field (1: name, 2: value) into *text. */
static const char *take_string(const struct pb_field *f, char **text)
{
	char *s = *text;

	memcpy(s, f->data, f->len);
	s[f->len] = '\0';
	*text += f->len + 1;
	return s;
}

/* One Label message into l, its strings at *text. 0, or -1 when malformed. */
static int decode_label(const struct pb_field *msg, struct label *l, char **text)
{
	struct pb_reader r = pb_reader_of(msg->data, msg->len);
	struct pb_field f;
	int rc;

	*l = (struct label){"", ""};
	while ((rc = pb_read_field(&r, &f)) > 0) {
		if (f.type != PB_LEN || (f.num != 1 && f.num != 2))
			return -1;
		if (f.num == 1)
			l->name = take_string(&f, text);
		else
			l->value = take_string(&f, text);
	}
	return rc;
}

/* Each string takes its bytes plus a NUL, and its field at least a tag and
 * a length byte: the text never needs more than the encoded bytes. */
int series_decode_labels(const struct series *s, struct label_set *out)
{
	struct pb_reader r = pb_reader_of(s->wire.labels_pb, s->wire.labels_len);
	struct pb_field f;
	char *text;
	int rc;

	out->n = 0;
	if (grow_array((void **)&out->text, &out->cap_text, (size_t)s->wire.labels_len + 1, 1) < 0)
		return -1;
	text = out->text;
	while ((rc = pb_read_field(&r, &f)) > 0) {
		if (f.num != 1 || f.type != PB_LEN)
			return -1;
		if (grow_array((void **)&out->labels, &out->cap, out->n + 1, sizeof(*out->labels)) < 0 ||
		    decode_label(&f, &out->labels[out->n], &text) < 0)
			return -1;
		out->n++;
	}
	return rc;
}

void label_set_free(struct label_set *set)
{
	free(set->labels);
	free(set->text);
	*set = (struct label_set){0};
}
