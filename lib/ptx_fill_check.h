/*
 * Two kernels in PTX, compiled by the driver at run time, so that the
 * programs using them (gb-demo, tests/gpu/gpu-drv) build with a plain C
 * compiler:
 *   fill(p, n, seed):       p[i] = (u32)i * 2654435761 ^ seed, i < n words
 *   check(p, n, seed, bad): adds to *bad (u64) each word that differs
 */
#ifndef GB_PTX_FILL_CHECK_H
#define GB_PTX_FILL_CHECK_H

static const char gb_ptx_fill_check[] =
	".version 7.0\n.target sm_52\n.address_size 64\n"
	".visible .entry fill(.param .u64 p, .param .u64 n, .param .u32 seed)\n{\n"
	"  .reg .pred %q; .reg .b32 %r<8>; .reg .b64 %d<10>;\n"
	"  ld.param.u64 %d1, [p]; ld.param.u64 %d2, [n]; ld.param.u32 %r1, [seed];\n"
	"  cvta.to.global.u64 %d1, %d1;\n"
	"  mov.u32 %r2, %ctaid.x; mov.u32 %r3, %ntid.x; mov.u32 %r4, %tid.x;\n"
	"  mul.wide.u32 %d3, %r2, %r3; cvt.u64.u32 %d4, %r4; add.u64 %d3, %d3, %d4;\n"
	"  mov.u32 %r5, %nctaid.x; mul.wide.u32 %d5, %r5, %r3;\n"
	"L1: setp.ge.u64 %q, %d3, %d2; @%q bra D1;\n"
	"  cvt.u32.u64 %r6, %d3; mul.lo.u32 %r6, %r6, -1640531535; xor.b32 %r6, %r6, %r1;\n"
	"  shl.b64 %d6, %d3, 2; add.u64 %d7, %d1, %d6; st.global.u32 [%d7], %r6;\n"
	"  add.u64 %d3, %d3, %d5; bra L1;\nD1: ret;\n}\n"
	".visible .entry check(.param .u64 p, .param .u64 n, .param .u32 seed, .param .u64 bad)\n{\n"
	"  .reg .pred %q; .reg .b32 %r<9>; .reg .b64 %d<12>;\n"
	"  ld.param.u64 %d1, [p]; ld.param.u64 %d2, [n]; ld.param.u32 %r1, [seed]; ld.param.u64 %d8, [bad];\n"
	"  cvta.to.global.u64 %d1, %d1; cvta.to.global.u64 %d8, %d8;\n"
	"  mov.u32 %r2, %ctaid.x; mov.u32 %r3, %ntid.x; mov.u32 %r4, %tid.x;\n"
	"  mul.wide.u32 %d3, %r2, %r3; cvt.u64.u32 %d4, %r4; add.u64 %d3, %d3, %d4;\n"
	"  mov.u32 %r5, %nctaid.x; mul.wide.u32 %d5, %r5, %r3;\n"
	"L2: setp.ge.u64 %q, %d3, %d2; @%q bra D2;\n"
	"  cvt.u32.u64 %r6, %d3; mul.lo.u32 %r6, %r6, -1640531535; xor.b32 %r6, %r6, %r1;\n"
	"  shl.b64 %d6, %d3, 2; add.u64 %d7, %d1, %d6; ld.global.u32 %r7, [%d7];\n"
	"  setp.ne.u32 %q, %r7, %r6; @%q atom.global.add.u64 %d9, [%d8], 1;\n"
	"  add.u64 %d3, %d3, %d5; bra L2;\nD2: ret;\n}\n";

#endif
