// The GEMM micro-kernel algorithm, shared by every ISA. Include only from a file under
// csrc/ukernels/<isa>/, after that ISA's traits header (simd_<isa>.h): everything here is a
// template in an anonymous namespace instantiated with the file's internal-linkage traits, so
// no inline function compiled with ISA flags can leak into portable code.
#pragma once

#include "ukernels/gemm.h"

#define FASTCONV_GEMM_UNROLL _Pragma("GCC unroll 32")

namespace fastconv::ukernels {
namespace {

// Where the kernel reads its MR x kc block of A: a packed MR-panel, a[k * MR + i], or MR rows
// of A in place, a[i * lda + k] (no packing for an A used against few columns of B).
template <class Tr, int MR>
struct PackedPanel {
  const typename Tr::T* p;
  typename Tr::V bcast(int i) const { return Tr::bcast(p + i); }
  void next() { p += MR; }
};
template <class Tr>
struct RowsInPlace {
  const typename Tr::T* p;
  int64_t lda;
  typename Tr::V bcast(int i) const { return Tr::bcast(p + i * lda); }
  void next() { ++p; }
};

// MR rows x NV vectors of C live in registers for the whole k loop: per k, NV loads of B and
// MR broadcasts of A, each broadcast feeding NV FMAs. C is loaded into the accumulators first
// when accumulating, so the result is stored once and no add pass is needed.
template <class Tr, int MR, int NV, class AReader>
inline void gemm_tile(int64_t kc, AReader a, const typename Tr::T* __restrict b,
                      typename Tr::T* c, int64_t ldc, int64_t m, int64_t n, bool accumulate) {
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
      V ai = a.bcast(i);
      FASTCONV_GEMM_UNROLL
      for (int v = 0; v < NV; ++v) acc[i][v] = Tr::fma(ai, bv[v], acc[i][v]);
    }
    a.next();
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

// Defines an ISA's MR x (NV vectors) tile: `name` on a packed A panel and `name`_a_in_place
// on MR rows of A read in place (all MR rows must exist; the driver packs partial panels).
#define FASTCONV_DEFINE_GEMM(Traits, MR, NV, name)                                              \
  void name(int64_t kc, const Traits::T* a, const Traits::T* b, Traits::T* c, int64_t ldc,    \
            int64_t m, int64_t n, bool accumulate) {                                         \
    gemm_tile<Traits, MR, NV>(kc, PackedPanel<Traits, MR>{a}, b, c, ldc, m, n, accumulate);  \
  }                                                                                          \
  void name##_a_in_place(int64_t kc, const Traits::T* a, int64_t lda, const Traits::T* b,    \
                         Traits::T* c, int64_t ldc, int64_t m, int64_t n, bool accumulate) { \
    gemm_tile<Traits, MR, NV>(kc, RowsInPlace<Traits>{a, lda}, b, c, ldc, m, n, accumulate); \
  }
