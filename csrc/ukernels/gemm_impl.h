// The GEMM micro-kernel algorithm, shared by every ISA. Include only from a file under
// csrc/ukernels/<isa>/, after that ISA's traits header (simd_<isa>.h): everything here is a
// template in an anonymous namespace instantiated with the file's internal-linkage traits, so
// no inline function compiled with ISA flags can leak into portable code.
#pragma once

#include "ukernels/gemm.h"

#define FASTCONV_GEMM_UNROLL _Pragma("GCC unroll 32")

namespace fastconv::ukernels {
namespace {

// MR rows x NV vectors of C live in registers for the whole k loop: per k, NV loads of B and
// MR broadcasts of A, each broadcast feeding NV FMAs. C is loaded into the accumulators first
// when accumulating, so the result is stored once and no add pass is needed.
template <class Tr, int MR, int NV>
inline void gemm_tile(int64_t kc, const typename Tr::T* __restrict a,
                      const typename Tr::T* __restrict b, typename Tr::T* c, int64_t ldc,
                      int64_t m, int64_t n, bool accumulate) {
  using T = typename Tr::T;
  using V = typename Tr::V;
  constexpr int L = Tr::L;
  constexpr int NR = NV * L;
  const bool full = m == MR && n == NR;
  // Edge tiles go through a small buffer: the register tile is always full-size (the packed
  // panels are zero-padded), only the rows/columns that exist are copied to and from C.
  alignas(64) T edge[MR * NR];
  T* ct = c;
  int64_t ct_ld = ldc;
  if (!full) {
    ct = edge;
    ct_ld = NR;
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j)
        edge[i * NR + j] = (accumulate && i < m && j < n) ? c[i * ldc + j] : T(0);
  }
  V acc[MR][NV];
  if (accumulate || !full) {
    FASTCONV_GEMM_UNROLL
    for (int i = 0; i < MR; ++i)
      FASTCONV_GEMM_UNROLL
      for (int v = 0; v < NV; ++v) acc[i][v] = Tr::load(ct + i * ct_ld + v * L);
  } else {
    FASTCONV_GEMM_UNROLL
    for (int i = 0; i < MR; ++i) {
      __builtin_prefetch(c + i * ldc, 1);
      __builtin_prefetch(c + i * ldc + NR - 1, 1);
      FASTCONV_GEMM_UNROLL
      for (int v = 0; v < NV; ++v) acc[i][v] = Tr::zero();
    }
  }
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    V bv[NV];
    FASTCONV_GEMM_UNROLL
    for (int v = 0; v < NV; ++v) bv[v] = Tr::load(b + v * L);
    FASTCONV_GEMM_UNROLL
    for (int i = 0; i < MR; ++i) {
      V ai = Tr::bcast(a + i);
      FASTCONV_GEMM_UNROLL
      for (int v = 0; v < NV; ++v) acc[i][v] = Tr::fma(ai, bv[v], acc[i][v]);
    }
    a += MR;
    b += NR;
  }
  FASTCONV_GEMM_UNROLL
  for (int i = 0; i < MR; ++i)
    FASTCONV_GEMM_UNROLL
    for (int v = 0; v < NV; ++v) Tr::store(ct + i * ct_ld + v * L, acc[i][v]);
  if (!full)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = edge[i * NR + j];
}

}  // namespace
}  // namespace fastconv::ukernels
