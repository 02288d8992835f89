/*
 * Copies, memsets, stream waits, graph and cooperative launches: passed
 * straight through, after telling t2_stream (stage.c) that device memory
 * may have changed where it cannot see, so that its next copy does not
 * run ahead of them; and once more after, for a launch on another thread
 * that looked between the first telling and the call.  While t2_stream
 * has nothing to stage, a call costs one relaxed load more than the
 * driver's.
 */
#include "shim.h"

#define GB_WRITE_WRAPPER(name, base, ver, var, params, args, dst) \
	CUresult gbw_##name params \
	{ \
		CUresult gb_r; \
		int gb_noted = 0; \
		\
		gb_ready(); \
		if (unlikely(!R.name)) \
			return CUDA_ERROR_NOT_INITIALIZED; \
		if (unlikely(atomic_load_explicit(&gb_staging, memory_order_relaxed)) && !gb_depth) \
			gb_noted = gb_stage_wrote((CUdeviceptr)(dst)); \
		gb_r = R.name args; \
		if (gb_noted) \
			gb_stage_bump(); \
		return gb_r; \
	} \
	GB_ALIAS(CUresult, name, params);

GB_WRITE_FUNCS(GB_WRITE_WRAPPER)
