/*
 * Pointer -> record map.  Lookups take no lock: the free path of every
 * allocation, small ones included, asks whether a pointer is ours, and
 * must not contend.  Writers (large allocations and frees only) hold
 * g.lock.  Open addressing with linear probing; a key is published after
 * its value, removed by a tombstone; growing copies into a new table and
 * retires the old one.  A retired table is freed only at a later growth
 * at least RETIRE_GRACE_MS after it was retired: a reader holds a table
 * for the few hundred nanoseconds of one lookup, so no reader can still be
 * inside it (a thread preempted mid-lookup for longer than that is not a
 * case this map defends against; it would take a ten-second stall).
 */
#include <stdlib.h>

#include "shim.h"

#define EMPTY ((uintptr_t)0)
#define TOMB ((uintptr_t)1)
#define MIN_CAP 1024
#define RETIRE_GRACE_MS 10000

struct tab {
	size_t mask;
	_Atomic uintptr_t *keys;
	void *_Atomic *vals;
	struct tab *retired;   /* older tables, newest first */
	uint64_t retired_at;   /* when this one was replaced */
};

struct gb_ptrmap {
	struct tab *_Atomic tab;
	size_t used; /* live + tombstones */
	size_t live;
};

static size_t hash(uintptr_t k, size_t mask)
{
	/* allocations are at least 256-byte aligned */
	return (size_t)(((k >> 8) * 0x9E3779B97F4A7C15ULL) >> 20) & mask;
}

static struct tab *tab_new(size_t cap)
{
	struct tab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->keys = calloc(cap, sizeof(*t->keys));
	t->vals = calloc(cap, sizeof(*t->vals));
	if (!t->keys || !t->vals) {
		free(t->keys);
		free(t->vals);
		free(t);
		return NULL;
	}
	t->mask = cap - 1;
	return t;
}

struct gb_ptrmap *gb_ptrmap_new(void)
{
	struct gb_ptrmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	atomic_store(&m->tab, tab_new(MIN_CAP));
	if (!atomic_load(&m->tab)) {
		free(m);
		return NULL;
	}
	return m;
}

void *gb_ptrmap_get(struct gb_ptrmap *m, uintptr_t key)
{
	struct tab *t = atomic_load_explicit(&m->tab, memory_order_acquire);
	size_t i = hash(key, t->mask), n;

	for (n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
		uintptr_t k = atomic_load_explicit(&t->keys[i], memory_order_acquire);

		if (k == key)
			return atomic_load_explicit(&t->vals[i], memory_order_relaxed);
		if (k == EMPTY)
			return NULL;
	}
	return NULL;
}

static void tab_free(struct tab *t)
{
	free(t->keys);
	free(t->vals);
	free(t);
}

/* 1 if it took an empty slot, 0 if it reused a tombstone */
static int insert(struct tab *t, uintptr_t key, void *v)
{
	size_t i = hash(key, t->mask);

	for (;;) {
		uintptr_t k = atomic_load_explicit(&t->keys[i], memory_order_relaxed);

		if (k == EMPTY || k == TOMB) {
			atomic_store_explicit(&t->vals[i], v, memory_order_relaxed);
			atomic_store_explicit(&t->keys[i], key, memory_order_release);
			return k == EMPTY;
		}
		i = (i + 1) & t->mask;
	}
}

/* free retired tables past their grace period (the newest are kept) */
static void reclaim(struct tab *t, uint64_t now)
{
	struct tab **pp = &t->retired, *r;

	while ((r = *pp)) {
		if (now - r->retired_at >= RETIRE_GRACE_MS) {
			*pp = NULL;
			while (r) {
				struct tab *next = r->retired;

				tab_free(r);
				r = next;
			}
			return;
		}
		pp = &r->retired;
	}
}

static int grow(struct gb_ptrmap *m)
{
	struct tab *old = atomic_load_explicit(&m->tab, memory_order_relaxed), *t;
	size_t cap = MIN_CAP, i;

	while (cap < (m->live + 1) * 4)
		cap <<= 1;
	t = tab_new(cap);
	if (!t)
		return -1;
	for (i = 0; i <= old->mask; i++) {
		uintptr_t k = atomic_load_explicit(&old->keys[i], memory_order_relaxed);

		if (k != EMPTY && k != TOMB)
			insert(t, k, atomic_load_explicit(&old->vals[i], memory_order_relaxed));
	}
	/* the chain moves to the new table; old ones go once no reader can hold them */
	t->retired = old;
	old->retired_at = gb_now_ms();
	atomic_store_explicit(&m->tab, t, memory_order_release);
	m->used = m->live;
	reclaim(t, old->retired_at);
	return 0;
}

int gb_ptrmap_put(struct gb_ptrmap *m, uintptr_t key, void *v)
{
	struct tab *t;

	if (key == EMPTY || key == TOMB)
		return -1;
	t = atomic_load_explicit(&m->tab, memory_order_relaxed);
	if ((m->used + 1) * 2 > t->mask + 1) {
		if (grow(m) < 0)
			return -1;
		t = atomic_load_explicit(&m->tab, memory_order_relaxed);
	}
	m->used += (size_t)insert(t, key, v);
	m->live++;
	return 0;
}

void *gb_ptrmap_del(struct gb_ptrmap *m, uintptr_t key)
{
	struct tab *t = atomic_load_explicit(&m->tab, memory_order_relaxed);
	size_t i = hash(key, t->mask), n;

	for (n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
		uintptr_t k = atomic_load_explicit(&t->keys[i], memory_order_relaxed);

		if (k == key) {
			void *v = atomic_load_explicit(&t->vals[i], memory_order_relaxed);

			atomic_store_explicit(&t->keys[i], TOMB, memory_order_release);
			m->live--;
			return v;
		}
		if (k == EMPTY)
			return NULL;
	}
	return NULL;
}

size_t gb_ptrmap_live(struct gb_ptrmap *m)
{
	return m->live;
}

size_t gb_ptrmap_capacity(struct gb_ptrmap *m)
{
	return atomic_load_explicit(&m->tab, memory_order_relaxed)->mask + 1;
}

void gb_ptrmap_each(struct gb_ptrmap *m, void (*fn)(void *v, void *arg), void *arg)
{
	struct tab *t = atomic_load_explicit(&m->tab, memory_order_relaxed);
	size_t i;

	for (i = 0; i <= t->mask; i++) {
		uintptr_t k = atomic_load_explicit(&t->keys[i], memory_order_relaxed);

		if (k != EMPTY && k != TOMB)
			fn(atomic_load_explicit(&t->vals[i], memory_order_relaxed), arg);
	}
}

size_t gb_ptrmap_remove_if(struct gb_ptrmap *m, int (*keep)(void *v, void *arg), void *arg, void **out, size_t nout)
{
	struct tab *t = atomic_load_explicit(&m->tab, memory_order_relaxed);
	size_t i, n = 0;

	for (i = 0; i <= t->mask && n < nout; i++) {
		uintptr_t k = atomic_load_explicit(&t->keys[i], memory_order_relaxed);
		void *v;

		if (k == EMPTY || k == TOMB)
			continue;
		v = atomic_load_explicit(&t->vals[i], memory_order_relaxed);
		if (keep(v, arg))
			continue;
		atomic_store_explicit(&t->keys[i], TOMB, memory_order_release);
		m->live--;
		out[n++] = v;
	}
	return n;
}
