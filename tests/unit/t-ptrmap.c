/* the shim's pointer map: lookups without locks while a writer churns */
#include <pthread.h>
#include <stdatomic.h>

#include "shim/shim.h"
#include "../tap.h"

#define KEY(i) ((uintptr_t)0x7f0000000000ULL + (uintptr_t)(i) * 4096)

static struct gb_ptrmap *m;
static _Atomic int stop;
static _Atomic long wrong;

/* gb_ptrmap_each's visitor: how often each key's value was seen */
static void visit(void *v, void *arg)
{
	unsigned char *times = arg;
	uintptr_t i = ((uintptr_t)v - KEY(0)) / 4096;

	if (i < 3000)
		times[i]++;
}

/* keys below 1000 are never removed: readers must always find them */
static void *reader(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;

	while (!atomic_load(&stop)) {
		i = i * 1103515245 + 12345;
		if (gb_ptrmap_get(m, KEY(i % 1000)) != (void *)KEY(i % 1000))
			atomic_fetch_add(&wrong, 1);
		if (gb_ptrmap_get(m, KEY(5000000 + i % 1000)) != NULL)
			atomic_fetch_add(&wrong, 1);
	}
	return NULL;
}

int main(void)
{
	pthread_t th[4];
	int i, bad = 0;

	m = gb_ptrmap_new();
	ok(m != NULL, "new map");
	ok(gb_ptrmap_get(m, KEY(1)) == NULL, "empty map finds nothing");
	ok(gb_ptrmap_put(m, 0, (void *)1) < 0 && gb_ptrmap_put(m, 1, (void *)1) < 0, "keys 0 and 1 are refused");
	for (i = 0; i < 1000; i++)
		bad += gb_ptrmap_put(m, KEY(i), (void *)KEY(i)) < 0;
	ok(!bad, "1000 inserts");
	is_int(gb_ptrmap_live(m), 1000, "1000 live");
	for (i = 0, bad = 0; i < 1000; i++)
		bad += gb_ptrmap_get(m, KEY(i)) != (void *)KEY(i);
	ok(!bad, "all found after growing");
	ok(gb_ptrmap_del(m, KEY(10)) == (void *)KEY(10) && gb_ptrmap_get(m, KEY(10)) == NULL, "delete one");
	ok(gb_ptrmap_del(m, KEY(10)) == NULL, "delete twice finds nothing");
	ok(gb_ptrmap_get(m, KEY(11)) == (void *)KEY(11), "neighbour still there");
	gb_ptrmap_put(m, KEY(10), (void *)KEY(10));

	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, reader, (void *)(uintptr_t)(i + 1));
	/* churn: insert and delete 200000 keys, growing and reusing tombstones */
	for (i = 0; i < 200000; i++) {
		gb_ptrmap_put(m, KEY(1000 + i), (void *)KEY(1000 + i));
		if (i >= 50)
			bad += gb_ptrmap_del(m, KEY(1000 + i - 50)) != (void *)KEY(1000 + i - 50);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ok(!bad, "churn: every delete found its key");
	is_int(atomic_load(&wrong), 0, "readers never saw a wrong answer during the churn");
	is_int(gb_ptrmap_live(m), 1050, "live count after the churn");

	/* each: every live value once, none of the deleted, across growth */
	{
		struct gb_ptrmap *q = gb_ptrmap_new();
		static unsigned char times[3000];
		int once = 0, gone = 0;

		gb_ptrmap_each(q, visit, times);
		for (i = 0; i < 3000; i++)
			gone += times[i] != 0;
		is_int(gone, 0, "each on an empty map visits nothing");
		for (i = 0; i < 3000; i++)
			gb_ptrmap_put(q, KEY(i), (void *)KEY(i));
		for (i = 0; i < 3000; i += 3)
			gb_ptrmap_del(q, KEY(i));
		gb_ptrmap_each(q, visit, times);
		for (i = 0; i < 3000; i++) {
			if (i % 3)
				once += times[i] == 1;
			else
				gone += times[i] != 0;
		}
		is_int(once, 2000, "each visits every live value once, after growing");
		is_int(gone, 0, "and none that was deleted");
	}

	/* the same few keys allocated and freed over and over reuse their
	 * slots: the table does not grow (it used to, and leak) */
	{
		struct gb_ptrmap *q = gb_ptrmap_new();

		for (i = 0; i < 1000000; i++) {
			gb_ptrmap_put(q, KEY(i % 64), (void *)1);
			gb_ptrmap_del(q, KEY(i % 64));
		}
		is_int(gb_ptrmap_capacity(q), 1024, "a million put/del pairs on 64 keys: no growth");
		is_int(gb_ptrmap_live(q), 0, "and nothing live");
	}
	return done();
}
