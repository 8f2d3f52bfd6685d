/* SPDX-License-Identifier: MIT */
/* Which Remote Write an endpoint speaks, and what follows from it: batches
 * and disk records encoded in the endpoint's protocol, the fall back from
 * 2.0 to 1.0, and 2.0's counts of what the receiver wrote.
 *
 * An endpoint configured for 2.0 (protobuf_message:
 * io.prometheus.write.v2.Request) falls back to 1.0 when its receiver shows
 * it speaks only 1.0: a 415 (Unsupported Media Type), or a 2xx without
 * X-Prometheus-Remote-Write-Samples-Written (a 1.x receiver decodes a 2.0
 * body as an empty WriteRequest and says 204: Prometheus 2.42 does). The
 * batch that found it out is transcoded to 1.0 and sent again at once, so
 * nothing is lost and nothing counted twice (only the request that was
 * accepted counts as sent); every batch after it is encoded as 1.0; a 2.0
 * body already encoded (another shard's, a disk record) is transcoded
 * before it is sent. The endpoint stays on 1.0 until a restart or a
 * reload. */
#include "queue/queue.h"

#include <stdatomic.h>

#include "lib/log.h"
#include "proto/encode.h"
#include "proto/encode_v2.h"
#include "queue/internal.h"

bool proto_v2_now(const struct queue *q)
{
	return atomic_load_explicit(&q->proto, memory_order_relaxed) == RW_PROTO_V2;
}

int proto_encode(struct queue *q, struct v2_encoder **enc, const struct sample *s, size_t n,
		 struct buf *pb, struct buf *body, bool *v2)
{
	*v2 = proto_v2_now(q);
	if (*v2 && !*enc && !(*enc = v2_encoder_new()))
		return -1;
	if ((*v2 ? encode_v2_request(*enc, s, n, pb) : encode_write_request(s, n, pb)) < 0)
		return -1;
	return snappy_compress_block(pb, body);
}

bool proto_says_v1(const struct send_outcome *o, enum send_result r)
{
	return o->http_status == 415 || (r == SEND_OK && o->samples_written < 0);
}

void proto_fall_back(struct queue *q, const struct send_outcome *o)
{
	int want = RW_PROTO_V2;

	if (!atomic_compare_exchange_strong(&q->proto, &want, RW_PROTO_V1))
		return; /* another shard's batch found it out first */
	add(&q->c.fallbacks, 1);
	log_msg(LOG_WARN, "remote_write: the receiver speaks only Remote Write 1.0, "
		"sending 1.0 until a restart or reload",
		"remote_name=%s url=%s status=%ld why=%s", q->log_name, q->log_url,
		o->http_status,
		o->http_status == 415 ? "unsupported_media_type" : "no_samples_written_header");
}

void queue_reset_protocol(struct queue *q)
{
	atomic_store(&q->proto, (int)q->cfg->protobuf_message);
}

int proto_transcode(struct buf *body, struct buf *pb, struct buf *scratch)
{
	if (snappy_uncompress_block(body->data, body->len, scratch) < 0 ||
	    transcode_v2_to_v1(scratch->data, scratch->len, pb) < 0 ||
	    snappy_compress_block(pb, body) < 0)
		return -1;
	return 0;
}

uint64_t proto_written(struct queue *q, const struct send_outcome *o, bool v2,
		       uint64_t samples)
{
	uint64_t written;

	if (!v2 || o->samples_written < 0)
		return samples;
	written = (uint64_t)o->samples_written +
		  (o->histograms_written > 0 ? (uint64_t)o->histograms_written : 0);
	if (written >= samples) {
		if (atomic_load_explicit(&q->partial_logged, memory_order_relaxed))
			atomic_store_explicit(&q->partial_logged, false, memory_order_relaxed);
		return samples;
	}
	/* Warned once per spell: a receiver that refuses part of every batch
	 * (out-of-order samples, say) must not flood the log. */
	log_msg(atomic_exchange(&q->partial_logged, true) ? LOG_DEBUG : LOG_WARN,
		"remote_write: partial write, the receiver kept part of a batch",
		"remote_name=%s url=%s status=%ld samples=%llu written=%llu", q->log_name,
		q->log_url, o->http_status, (unsigned long long)samples,
		(unsigned long long)written);
	return written;
}
