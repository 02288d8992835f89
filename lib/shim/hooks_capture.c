/*
 * The start of a stream capture, for t2_stream's overlap (stage.c): the
 * first copies in the capture may then be ordered after the capture's
 * start rather than after the kernels before them, so that in a replayed
 * graph the copy engine fetches the first T2 weights while the kernels
 * over VRAM run.  Passed straight through otherwise.  (CUDA 10.0's
 * cuStreamBeginCapture, without a mode, is not hooked: its first copy
 * waits, as any first copy does.)
 */
#include "shim.h"

static CUresult begin(CUresult (*real)(CUstream, CUstreamCaptureMode), int ptsz, CUstream h, CUstreamCaptureMode mode)
{
	CUresult e = real(h, mode);

	if (e == CUDA_SUCCESS && unlikely(atomic_load_explicit(&gb_staging, memory_order_relaxed)) && !gb_depth)
		gb_stage_capture_began(h, ptsz);
	return e;
}

CUresult gbw_cuStreamBeginCapture_v2(CUstream h, CUstreamCaptureMode mode)
{
	gb_ready();
	if (unlikely(!R.cuStreamBeginCapture_v2))
		return CUDA_ERROR_NOT_INITIALIZED;
	return begin(R.cuStreamBeginCapture_v2, 0, h, mode);
}
GB_ALIAS(CUresult, cuStreamBeginCapture_v2, (CUstream, CUstreamCaptureMode));

CUresult gbw_cuStreamBeginCapture_v2_ptsz(CUstream h, CUstreamCaptureMode mode)
{
	gb_ready();
	if (unlikely(!R.cuStreamBeginCapture_v2_ptsz))
		return CUDA_ERROR_NOT_INITIALIZED;
	return begin(R.cuStreamBeginCapture_v2_ptsz, 1, h, mode);
}
GB_ALIAS(CUresult, cuStreamBeginCapture_v2_ptsz, (CUstream, CUstreamCaptureMode));
