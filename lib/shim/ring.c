/*
 * t2_stream's staging ring: which bytes of the staging area a new copy
 * may take, and which earlier uses it must wait for first.
 *
 * Regions are taken in order, wrapping to the start when the next does
 * not fit; each use is queued with the event recorded after it.  A new
 * region waits for every queued use it overlaps, wherever that use is in
 * the queue: a lap that ends lower than the one before leaves the older
 * lap's last uses at the head, ahead of newer ones the next lap meets
 * first, and a kernel that takes the copies of the one before queues a
 * second use of an older region.  Uses leave the queue from its head,
 * once a new region covers them or to make room.
 *
 * A use queued in the caller's own order (the same stream, capture and,
 * for a per-thread default stream, thread) needs no wait: whatever the
 * new copy is ordered after already follows it.  (t2_stream keeps the one
 * use that may not, the previous kernel's, from being overwritten.)
 *
 * A use leaves the queue only once newer ones guard all its bytes: a new
 * region that covers part of it shrinks it to the rest (its start or its
 * end; a region inside it leaves it whole), so that a later region over
 * the rest still waits for it.  Inside a capture, a use of another order
 * is kept whole: the capture's wait for it is a node of the graph, which
 * orders nothing that runs outside the graph.  The capture waits for it
 * once on each stream it queues waits on: whatever it queues there later
 * follows that wait.  A full queue first drops the uses newer ones guard
 * wholly; still full, a capture gets no region (GB_RING_FULL) rather than
 * drop a use of another order.
 */
#include "shim.h"

static int overlaps(const struct gb_ring_use *u, size_t off, size_t len)
{
	return u->off < off + len && off < u->off + u->len;
}

int gb_ring_same_order(const struct gb_ring_order *a, const struct gb_ring_order *b)
{
	return a && a->s == b->s && a->capture == b->capture && a->per_thread == b->per_thread &&
	       (!a->per_thread || pthread_equal(a->thread, b->thread));
}

/* drop the uses newer ones guard wholly, keeping the order of the rest;
 * slots are swapped, not copied, so that each keeps an event */
static void compact(struct gb_ring *r)
{
	size_t i, k;

	for (i = 0, k = 0; i < r->n; i++) {
		struct gb_ring_use *u = &r->q[(r->h + i) % GB_RING_QUEUE], *v, t;

		if (!u->len)
			continue;
		v = &r->q[(r->h + k++) % GB_RING_QUEUE];
		if (v != u) {
			t = *v;
			*v = *u;
			*u = t;
		}
	}
	r->n = k;
}

size_t gb_ring_take(struct gb_ring *r, size_t len, const struct gb_ring_order *o, cuuint64_t capture,
		    const void *waiter, void (*wait)(void *arg, CUevent ev), void *arg)
{
	size_t off = r->head + len > r->size ? 0 : r->head, end = off + len, i;

	if (r->n == GB_RING_QUEUE) {
		compact(r);
		/* a capture cannot make room by waiting for a use of another
		 * order: its wait orders nothing outside the graph */
		if (r->n == GB_RING_QUEUE && capture && !gb_ring_same_order(o, &r->q[r->h].order))
			return GB_RING_FULL;
	}
	for (i = 0; i < r->n; i++) {
		struct gb_ring_use *u = &r->q[(r->h + i) % GB_RING_QUEUE];
		int same = gb_ring_same_order(o, &u->order);

		if (!u->len || !overlaps(u, off, len))
			continue;
		/* (a wait queued on the same stream earlier in this capture
		 * comes before anything queued there now) */
		if (u->ev && !same && !(capture && capture != GB_RING_CAPTURE_UNKNOWN && waiter && u->waited == capture &&
					u->waiter == waiter))
			wait(arg, u->ev);
		/* the bytes the new use covers it now guards: its event comes
		 * after this one.  Not so in a capture for a use of another
		 * order: the wait is a graph node, no edge for work outside. */
		if (capture && !same) {
			u->waited = capture;
			u->waiter = waiter;
			continue;
		}
		if (off <= u->off && u->off + u->len <= end) {
			u->len = 0;
		} else if (off <= u->off) {
			u->len = u->off + u->len - end;
			u->off = end;
		} else if (u->off + u->len <= end) {
			u->len = off - u->off;
		} /* its middle: kept whole */
	}
	while (r->n && (r->n == GB_RING_QUEUE || !r->q[r->h].len)) {
		const struct gb_ring_use *u = &r->q[r->h];

		if (u->ev && u->len)
			wait(arg, u->ev); /* the queue is full: one more wait makes room */
		r->h = (r->h + 1) % GB_RING_QUEUE;
		r->n--;
	}
	r->head = end;
	return off;
}

struct gb_ring_use *gb_ring_push(struct gb_ring *r, size_t off, size_t len)
{
	struct gb_ring_use *u;

	if (r->n == GB_RING_QUEUE)
		return NULL;
	/* each slot keeps its event: a graph captured with one refers to it */
	u = &r->q[(r->h + r->n) % GB_RING_QUEUE];
	u->off = off;
	u->len = len;
	u->waited = 0;
	u->waiter = NULL;
	r->n++;
	return u;
}
