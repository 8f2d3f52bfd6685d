/* SPDX-License-Identifier: MIT */
/* Registry transactions (registry.h): an undo log of the few fields an emit
 * changes, kept in step with the emitted list and reused, so a transaction
 * allocates nothing once it has grown. A series never emitted before the
 * transaction was made inside it: abort takes it out again. */
#include <stdint.h>
#include <stdlib.h>

#include "lib/buf.h"
#include "series/registry_priv.h"

int registry_txn_begin(struct registry *r)
{
	struct registry_txn *t = &r->txn;

	if (t->active)
		return -1;
	t->active = true;
	t->n_samples = r->n_samples;
	t->n_emitted = r->emitted.len;
	t->guess_shift = r->guess_shift;
	t->n_undo = 0;
	return 0;
}

void registry_txn_commit(struct registry *r)
{
	r->txn.active = false;
}

int txn_reserve(struct registry *r)
{
	struct registry_txn *t = &r->txn;

	if (grow_array((void **)&t->undo, &t->cap_undo, t->n_undo + 1, sizeof(*t->undo)) < 0 ||
	    grow_array((void **)&r->emitted.items, &r->emitted.cap, r->emitted.len + 1,
		       sizeof(*r->emitted.items)) < 0)
		return -1;
	return 0;
}

/* The emits since the mark, newest first: a series made inside leaves the
 * table and is freed at once (nothing outside the registry saw it: its
 * samples go before end_round hands any out), the others get their fields
 * back. The log and the list are in step (txn_note made room for the push
 * before emit changed anything). */
void registry_txn_abort(struct registry *r)
{
	struct registry_txn *t = &r->txn;
	size_t n = r->emitted.len - t->n_emitted;

	if (!t->active)
		return;
	if (n > t->n_undo)
		n = t->n_undo;
	for (size_t i = n; i-- > 0;) {
		struct series_node *node = r->emitted.items[t->n_emitted + i];
		const struct txn_undo *u = &t->undo[i];

		if (u->rounds_back == TXN_NEW) {
			registry_unlink(r, node);
			registry_free_series(r, node);
			continue;
		}
		node->last_ts_ms = u->last_ts_ms;
		node->position = u->position;
		node->emitted_round = r->round - u->rounds_back;
	}
	r->emitted.len = t->n_emitted;
	r->n_samples = t->n_samples;
	r->guess_shift = t->guess_shift;
	t->n_undo = 0;
	t->active = false;
}

void txn_free(struct registry *r)
{
	free(r->txn.undo);
	r->txn = (struct registry_txn){0};
}
