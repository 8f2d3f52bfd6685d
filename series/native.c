/* SPDX-License-Identifier: MIT */
/* Log2 histograms as classic series and as native histograms of schema 0:
 * the mapping (native.h), the encoding of the prompb Histogram, and the
 * arenas its bytes live in until registry_reclaim says nothing holds them. */
#include "series/native.h"
#include "series/le_bounds.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/numfmt.h"
#include "proto/pbwire.h"
#include "series/registry_priv.h"

/* prompb Histogram field numbers (proto/types.proto). */
enum {
	H_COUNT_INT = 1,
	H_SUM = 3,
	H_ZERO_THRESHOLD = 5,
	H_ZERO_COUNT_INT = 6,
	H_POSITIVE_SPANS = 11,
	H_POSITIVE_DELTAS = 12,
	H_RESET_HINT = 14,
	SPAN_OFFSET = 1,
	SPAN_LENGTH = 2,
};

#define MAX_BUCKETS 32     /* slots of a log2 map (bpf/histogram.h) */
#define SPAN_GAP_MAX 2     /* empty buckets a span carries as zero deltas */
#define CHUNK_SIZE (16 * 1024)

/* ---- the mapping ------------------------------------------------------ */

/* k - i for slot i >= 1: ceil(L + 0.5), L = log2(unit). L + 0.5 is never
 * an integer for a power-of-two unit, so rounding cannot flip it. */
static int bucket_shift(double unit)
{
	return (int)ceil(log2(unit) + 0.5);
}

/* The counts of slots 0..n_slots-1, those past n_slots added to the last
 * (the classic form counts them in +Inf only: beyond the last finite
 * bucket; here they stay in the last one, so both forms give the same
 * quantiles). Returns n_slots. */
static unsigned fold_slots(const struct log2_histogram *h, uint64_t *c)
{
	unsigned n = h->n_slots;

	for (unsigned i = 0; i < n; i++)
		c[i] = h->slots[i];
	for (unsigned i = n; i < h->n_all; i++)
		c[n - 1] += h->slots[i];
	return n;
}

struct span {
	int32_t offset;
	uint32_t length;
};

/* The positive buckets as the protocol sends them. */
struct spans {
	struct span span[MAX_BUCKETS];
	size_t n_spans;
	int64_t delta[MAX_BUCKETS];
	size_t n_deltas;
	uint64_t prev; /* the last bucket's count */
};

/* The next bucket of the current span. Deltas are a bucket's count less
 * the previous one's, across spans; counts wrap like Go's int64, so the
 * receiver's running sum gives them back exactly. */
static void add_bucket(struct spans *out, uint64_t count)
{
	out->delta[out->n_deltas++] = (int64_t)(count - out->prev);
	out->prev = count;
	out->span[out->n_spans - 1].length++;
}

/* Slots 1..n-1 of c: a span per run of buckets, runs parted by more than
 * SPAN_GAP_MAX empty ones (fewer ride inside the span as zeros: cheaper
 * than a new span). */
static void build_spans(const uint64_t *c, unsigned n, int shift, struct spans *out)
{
	unsigned i = 1;

	out->n_spans = out->n_deltas = 0;
	out->prev = 0;
	while (i < n && c[i] == 0)
		i++;
	if (i == n)
		return;
	out->span[out->n_spans++] = (struct span){(int32_t)((int)i + shift), 0};
	for (; i < n; i++) {
		unsigned gap = 0;

		for (; i < n && c[i] == 0; i++)
			gap++;
		if (i == n)
			break;
		if (gap > SPAN_GAP_MAX)
			out->span[out->n_spans++] = (struct span){(int32_t)gap, 0};
		for (; gap && gap <= SPAN_GAP_MAX; gap--)
			add_bucket(out, 0);
		add_bucket(out, c[i]);
	}
}

static size_t span_body_size(const struct span *s)
{
	return (s->offset ? 1 + pb_varint_size(pb_zigzag(s->offset)) : 0) +
	       (s->length ? 1 + pb_varint_size(s->length) : 0);
}

static uint8_t *put_spans(uint8_t *p, const struct span *spans, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		p = pb_put_varint(p, pb_tag(H_POSITIVE_SPANS, PB_LEN));
		p = pb_put_varint(p, span_body_size(&spans[i]));
		if (spans[i].offset) {
			p = pb_put_varint(p, pb_tag(SPAN_OFFSET, PB_VARINT));
			p = pb_put_varint(p, pb_zigzag(spans[i].offset));
		}
		if (spans[i].length) {
			p = pb_put_varint(p, pb_tag(SPAN_LENGTH, PB_VARINT));
			p = pb_put_varint(p, spans[i].length);
		}
	}
	return p;
}

/* repeated sint64, packed (proto3's default). */
static uint8_t *put_deltas(uint8_t *p, const int64_t *d, size_t n)
{
	size_t len = 0;

	if (!n)
		return p;
	for (size_t i = 0; i < n; i++)
		len += pb_varint_size(pb_zigzag(d[i]));
	p = pb_put_varint(p, pb_tag(H_POSITIVE_DELTAS, PB_LEN));
	p = pb_put_varint(p, len);
	for (size_t i = 0; i < n; i++)
		p = pb_put_varint(p, pb_zigzag(d[i]));
	return p;
}

static uint8_t *put_double(uint8_t *p, unsigned field, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	p = pb_put_varint(p, pb_tag(field, PB_FIXED64));
	return pb_put_fixed64(p, bits);
}

/* Fields in number order, proto3 defaults left out as protobuf-c does
 * (schema 0 always; sum when 0), the oneof counts always written. */
size_t native_encode(const struct log2_histogram *h, enum native_reset_hint hint,
		     uint8_t *out)
{
	uint64_t c[MAX_BUCKETS], count = 0;
	struct spans spans;
	int shift = bucket_shift(h->unit);
	unsigned n = fold_slots(h, c);
	uint8_t *p = out;

	for (unsigned i = 0; i < n; i++)
		count += c[i];
	build_spans(c, n, shift, &spans);
	p = pb_put_varint(p, pb_tag(H_COUNT_INT, PB_VARINT));
	p = pb_put_varint(p, count);
	if (h->sum != 0.0)
		p = put_double(p, H_SUM, h->sum);
	p = put_double(p, H_ZERO_THRESHOLD, ldexp(1.0, shift));
	p = pb_put_varint(p, pb_tag(H_ZERO_COUNT_INT, PB_VARINT));
	p = pb_put_varint(p, c[0]);
	p = put_spans(p, spans.span, spans.n_spans);
	p = put_deltas(p, spans.delta, spans.n_deltas);
	if (hint != NATIVE_RESET_UNKNOWN) {
		p = pb_put_varint(p, pb_tag(H_RESET_HINT, PB_VARINT));
		p = pb_put_varint(p, (uint64_t)hint);
	}
	return (size_t)(p - out);
}

/* ---- stale markers and reading back ------------------------------------ */

/* count_int 0, sum the stale NaN (little-endian fixed64). */
static const struct wire_hist stale_marker = {
	11, {0x08, 0x00, 0x19, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x7f}};

const struct wire_hist *native_stale_marker(void)
{
	return &stale_marker;
}

bool native_is_stale(const struct wire_hist *h)
{
	double sum;
	uint64_t count, bits;

	if (h == &stale_marker)
		return true;
	if (native_count_sum(h, &count, &sum) < 0)
		return false;
	memcpy(&bits, &sum, sizeof(bits));
	return bits == STALE_NAN_BITS;
}

static const uint8_t *get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; p < end && shift < 64; shift += 7) {
		*v |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p++ & 0x80))
			return p;
	}
	return NULL;
}

/* count_int and sum: the first fields we write; anything else ends the
 * scan (sum is left out when 0). */
int native_count_sum(const struct wire_hist *h, uint64_t *count, double *sum)
{
	const uint8_t *p = h->pb, *end = h->pb + h->len;
	uint64_t tag, bits = 0;

	*sum = 0;
	if (!(p = get_varint(p, end, &tag)) || tag != pb_tag(H_COUNT_INT, PB_VARINT) ||
	    !(p = get_varint(p, end, count)))
		return -1;
	if (p < end && *p == pb_tag(H_SUM, PB_FIXED64)) {
		if (end - p < 9)
			return -1;
		for (int i = 0; i < 8; i++)
			bits |= (uint64_t)p[1 + i] << (8 * i);
		memcpy(sum, &bits, sizeof(*sum));
	}
	return 0;
}

/* ---- arenas ------------------------------------------------------------ */

/* Chunks of encoded histograms. Those filled since the last reclaim are
 * `filling`; a reclaim sets them aside as `held` (queued samples may point
 * into them) and recycles the ones it set aside before: nothing holds a
 * sample handed out before the previous reclaim (registry_reclaim). */
struct chunk {
	struct chunk *next;
	size_t used;
	_Alignas(8) uint8_t data[CHUNK_SIZE];
};

struct native_arenas {
	struct chunk *filling, *held, *spare;
};

static void chunks_free(struct chunk *c)
{
	for (struct chunk *next; c; c = next) {
		next = c->next;
		free(c);
	}
}

void native_free(struct registry *r)
{
	if (!r->native)
		return;
	chunks_free(r->native->filling);
	chunks_free(r->native->held);
	chunks_free(r->native->spare);
	free(r->native);
	r->native = NULL;
}

void native_reclaim(struct registry *r)
{
	struct native_arenas *a = r->native;
	struct chunk *last;

	if (!a)
		return;
	if (a->held) {
		for (last = a->held; last->next; last = last->next)
			;
		last->next = a->spare;
		a->spare = a->held;
	}
	a->held = a->filling;
	a->filling = NULL;
}

/* Room for a wire_hist of up to NATIVE_HIST_MAX bytes, at the end of the
 * chunk being filled; native_commit takes what was used. */
static struct wire_hist *arena_room(struct registry *r)
{
	const size_t need = sizeof(struct wire_hist) + NATIVE_HIST_MAX;
	struct native_arenas *a = r->native;
	struct chunk *c;

	if (!a && !(a = r->native = calloc(1, sizeof(*a))))
		return NULL;
	c = a->filling;
	if (!c || CHUNK_SIZE - c->used < need) {
		c = a->spare;
		if (c)
			a->spare = c->next;
		else if (!(c = malloc(sizeof(*c))))
			return NULL;
		c->next = a->filling;
		c->used = 0;
		a->filling = c;
	}
	return (struct wire_hist *)(void *)(c->data + c->used);
}

static void arena_commit(struct registry *r, const struct wire_hist *h)
{
	r->native->filling->used += (sizeof(*h) + h->len + 7) & ~(size_t)7;
}

/* ---- emitting ---------------------------------------------------------- */

static uint64_t total_count(const struct log2_histogram *h)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < h->n_all; i++)
		total += h->slots[i];
	return total;
}

/* A reset: the series' first sample, its collector started again (its
 * start time moved), or its count went down since the last round. */
const struct wire_hist *native_hist_for(struct registry *r, struct series_node *n,
					const struct log2_histogram *h)
{
	uint64_t count = total_count(h);
	struct native_state *last = node_native(n);
	bool reset = !n->hist_seen || last->start_ms != n->s.wire.start_ms ||
		     count < last->count;
	struct wire_hist *w = arena_room(r);

	if (!w)
		return NULL;
	w->len = (uint32_t)native_encode(h, reset ? NATIVE_RESET_YES : NATIVE_RESET_UNKNOWN,
					 w->pb);
	arena_commit(r, w);
	n->hist_seen = true;
	last->count = count;
	last->start_ms = n->s.wire.start_ms;
	return w;
}

void registry_set_histograms(struct registry *r, enum histogram_forms forms)
{
	r->hist_forms = (uint8_t)forms;
}

/* The classic form, as Prometheus' client libraries write it. */
static int emit_classic(struct registry *r, const struct metric_desc *family,
			const struct label *labels, size_t n_labels,
			const struct log2_histogram *h)
{
	struct label l[REGISTRY_HIST_MAX_LABELS + 1];
	char name[160], le[32];
	uint64_t cumulative = 0, total = total_count(h);
	int rc = 0;

	if (n_labels)
		memcpy(l, labels, n_labels * sizeof(*l));
	l[n_labels] = (struct label){"le", le};
	snprintf(name, sizeof(name), "%s_bucket", family->name);
	for (unsigned i = 0; i < h->n_slots; i++) {
		cumulative += h->slots[i];
		l[n_labels].value = le_bound(h->unit, i, le, sizeof(le));
		rc |= registry_emit(r, family, name, l, n_labels + 1, (double)cumulative, 0) < 0;
	}
	l[n_labels].value = "+Inf";
	rc |= registry_emit(r, family, name, l, n_labels + 1, (double)total, 0) < 0;
	snprintf(name, sizeof(name), "%s_sum", family->name);
	rc |= registry_emit(r, family, name, labels, n_labels, h->sum, 0) < 0;
	snprintf(name, sizeof(name), "%s_count", family->name);
	rc |= registry_emit(r, family, name, labels, n_labels, (double)total, 0) < 0;
	return rc ? -1 : 0;
}

int registry_emit_log2_histogram(struct registry *r, const struct metric_desc *family,
				 const struct label *labels, size_t n_labels,
				 const struct log2_histogram *h)
{
	unsigned forms = r->hist_forms ? r->hist_forms : HISTOGRAMS_CLASSIC;
	int rc = 0;

	if (n_labels > REGISTRY_HIST_MAX_LABELS || h->n_slots == 0 || h->n_slots > h->n_all ||
	    h->n_all > MAX_BUCKETS || !(h->unit > 0))
		return -1;
	if (forms & HISTOGRAMS_CLASSIC)
		rc |= emit_classic(r, family, labels, n_labels, h);
	if (forms & HISTOGRAMS_NATIVE)
		rc |= registry_emit_native(r, family, labels, n_labels, h) < 0;
	return rc ? -1 : 0;
}
