/*
 * The phase detector: INIT -> MODEL_LOAD -> INFERENCE -> STEADY, from the
 * pattern of large (tracked) allocations alone.  Heuristics, documented
 * in greenboost(7):
 *
 *  INIT -> MODEL_LOAD    the first large allocation.
 *  MODEL_LOAD -> INFERENCE
 *                        a large free (weights are not freed while they
 *                        load; temporaries of a forward pass are), a
 *                        memory-size query once something is loaded
 *                        (frameworks size the KV cache from free memory
 *                        after loading weights), or a large allocation
 *                        after a pause of phase_gap.
 *  INFERENCE -> STEADY   steady_after without a large allocation or free.
 *  STEADY -> INFERENCE   any large allocation or free.
 *
 * While INIT or MODEL_LOAD, T1 admits allocations up to vram_limit minus
 * kv_reserve; from INFERENCE on, up to vram_limit.  Callers hold g.lock.
 */
#include "shim.h"

void gb_phase_set(int phase, uint64_t now)
{
	if (phase == g.phase)
		return;
	gb_info("phase %s -> %s", gb_phase_name(g.phase), gb_phase_name(phase));
	g.phase = phase;
	g.phase_since_ms = now;
	g.phase_since_wall = gb_wall_time();
	gb_status_dirty();
}

void gb_phase_event(int what, uint64_t now)
{
	uint64_t quiet = now - g.last_event_ms;

	switch (what) {
	case GB_EV_ALLOC:
		if (g.phase == GB_PHASE_INIT)
			gb_phase_set(GB_PHASE_MODEL_LOAD, now);
		else if (g.phase == GB_PHASE_MODEL_LOAD && quiet >= g.conf.phase_gap_ms)
			gb_phase_set(GB_PHASE_INFERENCE, now);
		else if (g.phase == GB_PHASE_STEADY)
			gb_phase_set(GB_PHASE_INFERENCE, now);
		g.last_event_ms = now;
		break;
	case GB_EV_FREE:
		if (g.phase == GB_PHASE_MODEL_LOAD || g.phase == GB_PHASE_STEADY)
			gb_phase_set(GB_PHASE_INFERENCE, now);
		g.last_event_ms = now;
		break;
	case GB_EV_QUERY:
		if (g.phase == GB_PHASE_MODEL_LOAD)
			gb_phase_set(GB_PHASE_INFERENCE, now);
		break;
	case GB_EV_TICK:
		if (g.phase == GB_PHASE_INFERENCE && quiet >= g.conf.steady_after_ms)
			gb_phase_set(GB_PHASE_STEADY, now);
		break;
	}
}

/* a memory-size query, from any of the APIs that answer one */
void gb_phase_query(void)
{
	pthread_mutex_lock(&g.lock);
	gb_phase_event(GB_EV_QUERY, gb_now_ms());
	pthread_mutex_unlock(&g.lock);
}
