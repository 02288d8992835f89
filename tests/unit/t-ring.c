/* t2_stream's staging ring: a new region waits for every earlier use it
 * overlaps, wherever that use sits in the queue; a use leaves the queue
 * only once newer ones guard all its bytes, and in a capture not for a
 * use of another order */
#include "shim/shim.h"
#include "../tap.h"

#define EV(i) ((CUevent)(uintptr_t)(0x1000 + (i)))
#define CS ((const void *)(uintptr_t)0x77) /* the stream a capture's waits go on */

static struct gb_ring r;
static int waited[GB_RING_QUEUE + 64], nwaited;

static void wait(void *arg, CUevent ev)
{
	(void)arg;
	if (nwaited < (int)(sizeof(waited) / sizeof(waited[0])))
		waited[nwaited++] = (int)((uintptr_t)ev - 0x1000);
}

static int has(int ev)
{
	int i;

	for (i = 0; i < nwaited; i++)
		if (waited[i] == ev)
			return 1;
	return 0;
}

/* take len, then queue its use with event ev; the offset */
static size_t use(size_t len, int ev)
{
	size_t off;
	struct gb_ring_use *u;

	nwaited = 0;
	off = gb_ring_take(&r, len, NULL, 0, NULL, wait, NULL);
	u = gb_ring_push(&r, off, len);
	if (u)
		u->ev = EV(ev);
	return off;
}

/* work queued on stream s, in capture c (0: none) */
static struct gb_ring_order order(uintptr_t s, cuuint64_t c)
{
	struct gb_ring_order o = { (CUstream)s, c, 0, 0 };

	return o;
}

/* queue a use of [off, off+len) in order o, with event ev; 0: no room */
static int queue(size_t off, size_t len, int ev, struct gb_ring_order o)
{
	struct gb_ring_use *u = gb_ring_push(&r, off, len);

	if (u) {
		u->ev = EV(ev);
		u->order = o;
	}
	return u != NULL;
}

/* take len with the ring's head at head, the waits counted afresh */
static size_t take(size_t head, size_t len, const struct gb_ring_order *o, cuuint64_t capture, const void *waiter)
{
	nwaited = 0;
	r.head = head;
	return gb_ring_take(&r, len, o, capture, waiter, wait, NULL);
}

static void reset(size_t size)
{
	memset(&r, 0, sizeof(r));
	r.size = size;
}

int main(void)
{
	size_t i;
	int bad;

	reset(100);
	is_int(use(60, 1), 0, "the first region starts at 0");
	is_int(nwaited, 0, "and waits for nothing");
	is_int(use(35, 2), 60, "the next follows it");
	is_int(nwaited, 0, "and waits for nothing");
	is_int(use(45, 3), 0, "one that does not fit wraps to 0");
	ok(nwaited == 1 && has(1), "and waits for the use it overwrites, only");
	/* the head of the queue is now 2, at 60..95, which 0..58 misses; 3,
	 * at 0..45, is behind it */
	is_int(use(58, 4), 0, "a lap that ends lower: the next wraps to 0 again");
	ok(has(3) && !has(2), "and waits for the newer use behind the head that it overlaps (3), not the one it misses");

	reset(100);
	use(40, 1);
	use(40, 2);
	{
		struct gb_ring_use *u = gb_ring_push(&r, 0, 40); /* a kernel reusing region 1's copies */

		ok(u != NULL, "a second use of an older region is queued");
		u->ev = EV(3);
	}
	is_int(use(30, 4), 0, "the next region wraps over it");
	ok(has(1) && has(3) && !has(2), "and waits for both uses of that region");

	{
		struct gb_ring_order o1 = order(0x10, 0), o7 = order(0x10, 7);

		reset(100);
		queue(0, 50, 1, o1);
		queue(50, 50, 2, order(0x20, 0));
		is_int(take(100, 100, &o1, 0, NULL), 0, "a region over two uses");
		ok(nwaited == 1 && has(2), "waits for the use on another stream only, not the one in its own order");
		queue(0, 100, 3, o7);
		take(r.head, 100, &o1, 0, NULL);
		ok(nwaited == 1 && has(3), "a use on the same stream in a capture is another order");
	}

	/* a use partly covered keeps the rest, which a later region waits for */
	reset(100);
	use(60, 1);
	r.head = 100;
	is_int(use(30, 2), 0, "a region over the start of an earlier use");
	ok(has(1), "waits for it");
	r.head = 40;
	use(10, 3);
	ok(nwaited == 1 && has(1), "a region over the rest of that use waits for it too");
	r.head = 10;
	use(10, 4);
	ok(nwaited == 1 && has(2), "one over bytes the newer use covered waits for that one only");

	{
		struct gb_ring_order eager = order(0x10, 0), cap = order(0x20, 9), other = order(0x30, 0);
		int w;

		reset(100);
		queue(0, 50, 1, eager);
		take(0, 50, &cap, 9, CS);
		ok(nwaited == 1 && has(1) && r.n == 1, "a capture's region over an eager use waits for it and keeps it queued");
		take(0, 50, &cap, 9, CS);
		is_int(nwaited, 0, "the next region there in that capture, waiting on the same stream, needs no second wait");
		take(0, 50, &cap, 9, (const void *)(uintptr_t)0x78);
		ok(nwaited == 1 && has(1), "one whose waits go on another stream waits");
		take(0, 50, &cap, GB_RING_CAPTURE_UNKNOWN, CS);
		w = nwaited;
		take(0, 50, &cap, GB_RING_CAPTURE_UNKNOWN, CS);
		ok(w + nwaited == 2, "in a capture whose id is unknown, every region waits");
		queue(0, 50, 2, cap);
		take(0, 50, &other, 0, NULL);
		ok(has(1) && has(2), "so that an eager region there later, on a third stream, waits for the eager use too");
		ok(r.n == 0, "and both leave the queue: that eager wait is an edge");

		reset(100);
		queue(0, 50, 1, cap);
		take(0, 50, &cap, 9, CS);
		ok(nwaited == 0 && r.n == 0, "a use of the capture's own order is covered, and leaves the queue");
	}

	{
		struct gb_ring_order x = order(0x10, 0), z = order(0x30, 0), cap = order(0x20, 9);
		size_t h0, n0;

		/* a capture longer than the queue, then eager work */
		reset(100);
		queue(0, 50, 7, x);
		for (i = 0, bad = 0; i < 2 * GB_RING_QUEUE; i++) {
			bad += take(50, 50, &cap, 9, CS) != 50;
			bad += !queue(50, 50, 100 + (int)i % 3000, cap);
		}
		is_int(bad, 0, "a capture of twice as many launches as the queue holds: every region taken and queued");
		take(0, 50, &z, 0, NULL);
		ok(has(7), "an eager region after it, over an eager use on another stream, still waits for that use");

		/* a queue full of uses of another order, none covered */
		reset(100000);
		for (i = 0; i < GB_RING_QUEUE; i++)
			queue(i * 10, 10, (int)i, x);
		h0 = r.h, n0 = r.n;
		ok(take(0, 10, &cap, 9, CS) == GB_RING_FULL && nwaited == 0 && r.h == h0 && r.n == n0 && r.head == 0,
		   "a capture facing a full queue of others' uses gets no region, and changes nothing");
		ok(gb_ring_take(&r, 10, &x, 0, NULL, wait, NULL) == 0 && r.n < GB_RING_QUEUE,
		   "eager work in that order takes one, covering the oldest use");
	}

	reset(100000);
	for (i = 0, bad = 0; i < 3 * GB_RING_QUEUE; i++) {
		size_t off = use(1, (int)(i % 4000));

		bad += off >= 100000 || r.n > GB_RING_QUEUE;
	}
	is_int(bad, 0, "thousands of small uses: every region inside, the queue never over its size");
	ok(r.n == GB_RING_QUEUE && gb_ring_push(&r, 0, 1) == NULL, "a full queue takes no more without a take");
	use(1, 9999);
	ok(r.n == GB_RING_QUEUE && nwaited >= 1, "a take on a full queue waits for its oldest use and makes room");
	return done();
}
