/*
 * Kernel launches, for t2_stream (stage.c).  While it is off, or no T2
 * memory exists, a launch costs one relaxed load more than the driver's.
 */
#include "shim.h"

typedef CUresult (*launch_fn)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
			      CUstream, void **, void **);
typedef CUresult (*launch_ex_fn)(const CUlaunchConfig *, CUfunction, void **, void **);

static CUresult run_launch(struct gb_launch *L, void **params, void **extra)
{
	return ((launch_fn)L->real)(L->f, L->grid[0], L->grid[1], L->grid[2], L->block[0], L->block[1], L->block[2],
				    L->shmem, L->stream, params, extra);
}

/* a launch not staged, queued: one that may have written T2 is told of
 * again (see hooks_write.c) */
static CUresult unstaged(int r, CUresult e)
{
	if (r == GB_STAGE_WROTE)
		gb_stage_bump();
	return e;
}

static CUresult launch(launch_fn real, int ptsz, CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
		       unsigned by, unsigned bz, unsigned shmem, CUstream s, void **params, void **extra)
{
	struct gb_launch L = { .f = f, .stream = s, .params = params, .extra = extra, .ptsz = ptsz, .run = run_launch,
			       .grid = { gx, gy, gz }, .block = { bx, by, bz }, .shmem = shmem, .real = (void *)real };
	int r;

	if (likely(!atomic_load_explicit(&gb_staging, memory_order_relaxed)) || gb_depth)
		return real(f, gx, gy, gz, bx, by, bz, shmem, s, params, extra);
	r = gb_stage_launch(&L);
	return r < 0 ? unstaged(r, real(f, gx, gy, gz, bx, by, bz, shmem, s, params, extra)) : (CUresult)r;
}

CUresult gbw_cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
			    unsigned bz, unsigned shmem, CUstream s, void **params, void **extra)
{
	gb_ready();
	if (unlikely(!R.cuLaunchKernel))
		return CUDA_ERROR_NOT_INITIALIZED;
	return launch(R.cuLaunchKernel, 0, f, gx, gy, gz, bx, by, bz, shmem, s, params, extra);
}
GB_ALIAS(CUresult, cuLaunchKernel, (CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
				    unsigned, CUstream, void **, void **));

CUresult gbw_cuLaunchKernel_ptsz(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
				 unsigned bz, unsigned shmem, CUstream s, void **params, void **extra)
{
	gb_ready();
	if (unlikely(!R.cuLaunchKernel_ptsz))
		return CUDA_ERROR_NOT_INITIALIZED;
	return launch(R.cuLaunchKernel_ptsz, 1, f, gx, gy, gz, bx, by, bz, shmem, s, params, extra);
}
GB_ALIAS(CUresult, cuLaunchKernel_ptsz, (CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
					 unsigned, CUstream, void **, void **));

static CUresult run_launch_ex(struct gb_launch *L, void **params, void **extra)
{
	return ((launch_ex_fn)L->real)(L->cfg, L->f, params, extra);
}

static CUresult launch_ex(launch_ex_fn real, int ptsz, const CUlaunchConfig *cfg, CUfunction f, void **params,
			  void **extra)
{
	struct gb_launch L = { .f = f, .stream = cfg ? cfg->hStream : NULL, .params = params, .extra = extra,
			       .ptsz = ptsz, .run = run_launch_ex, .cfg = cfg, .real = (void *)real };
	int r;

	if (likely(!atomic_load_explicit(&gb_staging, memory_order_relaxed)) || gb_depth || !cfg)
		return real(cfg, f, params, extra);
	r = gb_stage_launch(&L);
	return r < 0 ? unstaged(r, real(cfg, f, params, extra)) : (CUresult)r;
}

CUresult gbw_cuLaunchKernelEx(const CUlaunchConfig *cfg, CUfunction f, void **params, void **extra)
{
	gb_ready();
	if (unlikely(!R.cuLaunchKernelEx))
		return CUDA_ERROR_NOT_INITIALIZED;
	return launch_ex(R.cuLaunchKernelEx, 0, cfg, f, params, extra);
}
GB_ALIAS(CUresult, cuLaunchKernelEx, (const CUlaunchConfig *, CUfunction, void **, void **));

CUresult gbw_cuLaunchKernelEx_ptsz(const CUlaunchConfig *cfg, CUfunction f, void **params, void **extra)
{
	gb_ready();
	if (unlikely(!R.cuLaunchKernelEx_ptsz))
		return CUDA_ERROR_NOT_INITIALIZED;
	return launch_ex(R.cuLaunchKernelEx_ptsz, 1, cfg, f, params, extra);
}
GB_ALIAS(CUresult, cuLaunchKernelEx_ptsz, (const CUlaunchConfig *, CUfunction, void **, void **));
