/*
 * The staging kernels, in PTX so that the shim builds with a plain C
 * compiler (the driver compiles them when first needed):
 *
 *   gb_sum(p, nbytes, out)              *out += sum of w_i * (2i + 1) over the
 *                                       64-bit little-endian words w_i of the
 *                                       nbytes at p, the last word zero-padded
 *   gb_writeback(src, dst, nbytes, sums) copy src to dst when sums[0] != sums[1]
 *
 * The sum, weighted by position, tells whether a kernel wrote to a staged
 * copy: a plain sum would miss a permutation.
 */
#ifndef GB_STAGE_PTX_H
#define GB_STAGE_PTX_H

static const char gb_stage_ptx[] =
	".version 7.0\n.target sm_52\n.address_size 64\n"
	/* ---- gb_sum ---- */
	".visible .entry gb_sum(.param .u64 p, .param .u64 nbytes, .param .u64 out)\n{\n"
	"  .reg .pred %q<4>; .reg .b32 %r<16>; .reg .b64 %d<24>;\n"
	"  ld.param.u64 %d1, [p]; ld.param.u64 %d2, [nbytes]; ld.param.u64 %d3, [out];\n"
	"  cvta.to.global.u64 %d1, %d1; cvta.to.global.u64 %d3, %d3;\n"
	"  shr.u64 %d4, %d2, 3;\n"
	"  mov.u32 %r1, %ctaid.x; mov.u32 %r2, %ntid.x; mov.u32 %r3, %tid.x; mov.u32 %r4, %nctaid.x;\n"
	"  mul.wide.u32 %d5, %r1, %r2; cvt.u64.u32 %d6, %r3; add.u64 %d5, %d5, %d6; mov.u64 %d22, %d5;\n"
	"  mul.wide.u32 %d7, %r4, %r2; mov.u64 %d8, 0;\n"
	"SL: setp.ge.u64 %q1, %d5, %d4; @%q1 bra ST;\n"
	"  shl.b64 %d9, %d5, 3; add.u64 %d10, %d1, %d9; ld.global.u64 %d11, [%d10];\n"
	"  shl.b64 %d12, %d5, 1; add.u64 %d12, %d12, 1; mad.lo.u64 %d8, %d11, %d12, %d8;\n"
	"  add.u64 %d5, %d5, %d7; bra SL;\n"
	/* the partial last word, by the first thread */
	"ST: setp.ne.u64 %q2, %d22, 0; @%q2 bra SR;\n"
	"  and.b64 %d13, %d2, 7; setp.eq.u64 %q3, %d13, 0; @%q3 bra SR;\n"
	"  shl.b64 %d14, %d4, 3; add.u64 %d15, %d1, %d14; mov.u64 %d16, 0; mov.u64 %d17, 0;\n"
	"STL: setp.ge.u64 %q1, %d16, %d13; @%q1 bra STD;\n"
	"  add.u64 %d18, %d15, %d16; ld.global.u8 %r5, [%d18]; cvt.u64.u32 %d19, %r5;\n"
	"  cvt.u32.u64 %r6, %d16; shl.b32 %r6, %r6, 3; shl.b64 %d19, %d19, %r6; or.b64 %d17, %d17, %d19;\n"
	"  add.u64 %d16, %d16, 1; bra STL;\n"
	"STD: shl.b64 %d12, %d4, 1; add.u64 %d12, %d12, 1; mad.lo.u64 %d8, %d17, %d12, %d8;\n"
	/* one atomic a warp */
	"SR: mov.b64 {%r7, %r8}, %d8;\n"
	"  shfl.sync.down.b32 %r9, %r7, 16, 31, -1; shfl.sync.down.b32 %r10, %r8, 16, 31, -1;\n"
	"  mov.b64 %d20, {%r9, %r10}; add.u64 %d8, %d8, %d20; mov.b64 {%r7, %r8}, %d8;\n"
	"  shfl.sync.down.b32 %r9, %r7, 8, 31, -1; shfl.sync.down.b32 %r10, %r8, 8, 31, -1;\n"
	"  mov.b64 %d20, {%r9, %r10}; add.u64 %d8, %d8, %d20; mov.b64 {%r7, %r8}, %d8;\n"
	"  shfl.sync.down.b32 %r9, %r7, 4, 31, -1; shfl.sync.down.b32 %r10, %r8, 4, 31, -1;\n"
	"  mov.b64 %d20, {%r9, %r10}; add.u64 %d8, %d8, %d20; mov.b64 {%r7, %r8}, %d8;\n"
	"  shfl.sync.down.b32 %r9, %r7, 2, 31, -1; shfl.sync.down.b32 %r10, %r8, 2, 31, -1;\n"
	"  mov.b64 %d20, {%r9, %r10}; add.u64 %d8, %d8, %d20; mov.b64 {%r7, %r8}, %d8;\n"
	"  shfl.sync.down.b32 %r9, %r7, 1, 31, -1; shfl.sync.down.b32 %r10, %r8, 1, 31, -1;\n"
	"  mov.b64 %d20, {%r9, %r10}; add.u64 %d8, %d8, %d20;\n"
	"  and.b32 %r11, %r3, 31; setp.ne.u32 %q1, %r11, 0; @%q1 bra SX;\n"
	"  atom.global.add.u64 %d21, [%d3], %d8;\n"
	"SX: ret;\n}\n"
	/* ---- gb_writeback ---- */
	".visible .entry gb_writeback(.param .u64 src, .param .u64 dst, .param .u64 nbytes, .param .u64 sums)\n{\n"
	"  .reg .pred %q<4>; .reg .b32 %r<8>; .reg .b64 %d<24>;\n"
	"  ld.param.u64 %d1, [src]; ld.param.u64 %d2, [dst]; ld.param.u64 %d3, [nbytes]; ld.param.u64 %d4, [sums];\n"
	"  cvta.to.global.u64 %d1, %d1; cvta.to.global.u64 %d2, %d2; cvta.to.global.u64 %d4, %d4;\n"
	"  ld.global.u64 %d5, [%d4]; ld.global.u64 %d6, [%d4+8];\n"
	"  setp.eq.u64 %q1, %d5, %d6; @%q1 bra WX;\n"
	"  shr.u64 %d7, %d3, 3;\n"
	"  mov.u32 %r1, %ctaid.x; mov.u32 %r2, %ntid.x; mov.u32 %r3, %tid.x; mov.u32 %r4, %nctaid.x;\n"
	"  mul.wide.u32 %d8, %r1, %r2; cvt.u64.u32 %d9, %r3; add.u64 %d8, %d8, %d9; mov.u64 %d22, %d8;\n"
	"  mul.wide.u32 %d10, %r4, %r2;\n"
	"WL: setp.ge.u64 %q2, %d8, %d7; @%q2 bra WT;\n"
	"  shl.b64 %d11, %d8, 3; add.u64 %d12, %d1, %d11; add.u64 %d13, %d2, %d11;\n"
	"  ld.global.u64 %d14, [%d12]; st.global.u64 [%d13], %d14;\n"
	"  add.u64 %d8, %d8, %d10; bra WL;\n"
	"WT: setp.ne.u64 %q2, %d22, 0; @%q2 bra WX;\n"
	"  shl.b64 %d15, %d7, 3;\n"
	"WTL: setp.ge.u64 %q3, %d15, %d3; @%q3 bra WX;\n"
	"  add.u64 %d16, %d1, %d15; add.u64 %d17, %d2, %d15; ld.global.u8 %r5, [%d16]; st.global.u8 [%d17], %r5;\n"
	"  add.u64 %d15, %d15, 1; bra WTL;\n"
	"WX: ret;\n}\n";

#endif
