/* SPDX-License-Identifier: MIT */
/* The keys of a remote_write entry that choose what goes on the wire:
 * protobuf_message (Remote Write 1.0 or 2.0) and metadata_config (the
 * 1.0 metadata requests), with Prometheus' names and defaults. */
#include "config/internal.h"

#include <string.h>

#define MSG_V1 "prometheus.WriteRequest"
#define MSG_V2 "io.prometheus.write.v2.Request"

int cfg_parse_protobuf_message(struct cfg_ctx *ctx, const yaml_node_t *key,
			       const yaml_node_t *value, void *dst)
{
	enum rw_protocol *proto = dst;
	char q[QUOTE_BUF];
	const char *text;

	(void)key;
	if (cfg_is_null(value))
		return 0;
	if (!(text = cfg_scalar(ctx, value, "protobuf_message")))
		return -1;
	if (!strcmp(text, MSG_V1))
		*proto = RW_PROTO_V1;
	else if (!strcmp(text, MSG_V2))
		*proto = RW_PROTO_V2;
	else
		return cfg_fail(ctx, value, "\"protobuf_message\": expected \"" MSG_V1 "\" or \""
				MSG_V2 "\", got %s", cfg_quote_str(text, q, sizeof(q)));
	return 0;
}

static const struct field metadata_fields[] = {
	{"send", F_BOOL, offsetof(struct metadata_config, send), 0, NULL},
	/* A zero interval would send the metadata in a hot loop. */
	{"send_interval", F_DURATION, offsetof(struct metadata_config, send_interval_ms), 1, NULL},
	{"max_samples_per_send", F_INT, offsetof(struct metadata_config, max_samples_per_send), 1,
	 NULL},
};

int cfg_parse_metadata_config(struct cfg_ctx *ctx, const yaml_node_t *key,
			      const yaml_node_t *value, void *dst)
{
	static const struct mapping_spec spec = {"\"metadata_config\"", "key",
						 "in metadata_config", metadata_fields,
						 NFIELDS(metadata_fields)};
	struct field_pos pos[NFIELDS(metadata_fields)];

	(void)key;
	return cfg_parse_mapping(ctx, value, &spec, dst, pos);
}

void cfg_rw_protocol_defaults(struct remote_write_config *rw)
{
	rw->protobuf_message = RW_PROTO_V1;
	rw->metadata = (struct metadata_config){
		.send = true,
		.send_interval_ms = 60 * 1000,
		.max_samples_per_send = 2000,
	};
}

bool config_rw_protocol_equal(const struct remote_write_config *a,
			      const struct remote_write_config *b)
{
	return a->protobuf_message == b->protobuf_message &&
	       a->metadata.send == b->metadata.send &&
	       a->metadata.send_interval_ms == b->metadata.send_interval_ms &&
	       a->metadata.max_samples_per_send == b->metadata.max_samples_per_send;
}
