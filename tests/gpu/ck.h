/* For the GPU checks: a driver (or, in CUDA C++, runtime) call that
 * fails ends the TAP run as a failed assertion, with the call, the line
 * and the driver's words.  Needs cuda.h (and cuda_runtime.h) and
 * tests/tap.h first. */
#ifndef GB_TESTS_GPU_CK_H
#define GB_TESTS_GPU_CK_H

static void ck_driver(CUresult e, const char *what, int line)
{
	const char *s = "?";

	if (e == CUDA_SUCCESS)
		return;
	cuGetErrorString(e, &s);
	ok(0, "%s (line %d): CUDA error %d: %s", what, line, (int)e, s);
	printf("Bail out! CUDA error\n");
	done();
	exit(1);
}
#define CK_DRIVER(call) ck_driver((call), #call, __LINE__)

#ifdef __CUDACC__
/* the same for the runtime API: a failure leaves the context unusable */
static void ck_runtime(cudaError_t e, const char *what, int line)
{
	if (e == cudaSuccess)
		return;
	ok(0, "%s (line %d): %s", what, line, cudaGetErrorString(e));
	printf("Bail out! CUDA error\n");
	done();
	exit(1);
}
#define CK(call) ck_runtime((call), #call, __LINE__)
#endif

#endif
