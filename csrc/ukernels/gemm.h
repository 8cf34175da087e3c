// GEMM micro-kernels (portable declarations; no intrinsics).
//
// One call computes an m x n tile (m <= MR, n <= NR) of C from packed panels:
//   C[i][j] (+)= sum_{k < kc} a[k * MR + i] * b[k * NR + j]
// `a` is an MR-wide panel of A and `b` an NR-wide panel of B, both zero-padded to full width by
// the packing in csrc/gemm/, so the kernel may read whole vectors past m and n; it computes only
// the rows and vectors that m and n need, and stores only m x n. C is row-major with row
// stride ldc. With accumulate == false C is overwritten (it may hold garbage, even NaN); with
// true the product is added to it. row_bias (m values, or null) is added to every column of
// its row: the accumulators start from it, so a biased output is written once, not filled with
// the bias and then accumulated into (that fill was 17% of r50_1x1_64-256@56 at N=1).
#pragma once

#include <cstdint>

namespace fastconv::ukernels {

template <class T>
using GemmTileFn = void (*)(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, int64_t m,
                            int64_t n, bool accumulate, const T* row_bias);

// The same tile reading A in place: a[i * lda + k] for all MR rows i (they must all exist).
template <class T>
using GemmTileInPlaceFn = void (*)(int64_t kc, const T* a, int64_t lda, const T* b, T* c,
                                   int64_t ldc, int64_t m, int64_t n, bool accumulate,
                                   const T* row_bias);

// The same tile reading B in place: b[k * ldb + j] for j < n, whole vectors of them (the
// caller passes only full-width tiles, or columns that may be read past n).
template <class T>
using GemmTileBInPlaceFn = void (*)(int64_t kc, const T* a, const T* b, int64_t ldb, T* c,
                                    int64_t ldc, int64_t m, int64_t n, bool accumulate,
                                    const T* row_bias);

// A full MR x NR tile reading B in place like GemmTileBInPlaceFn and also writing the NR-wide
// packed panel of what it read to bdst (bdst[k * NR + j] = b[k * ldb + j]).
template <class T>
using GemmTilePackingBFn = void (*)(int64_t kc, const T* a, const T* b, int64_t ldb, T* bdst,
                                    T* c, int64_t ldc, bool accumulate, const T* row_bias);

template <class T>
struct GemmUkernel {
  const char* name;
  int mr, nr;
  GemmTileFn<T> fn;
  GemmTileInPlaceFn<T> fn_a_in_place;
  GemmTileBInPlaceFn<T> fn_b_in_place;
  GemmTilePackingBFn<T> fn_packing_b;
};

#define FASTCONV_DECL_GEMM(T, name)                                                           \
  void name(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, int64_t m, int64_t n,       \
            bool accumulate, const T* row_bias);                                              \
  void name##_a_in_place(int64_t kc, const T* a, int64_t lda, const T* b, T* c, int64_t ldc, \
                         int64_t m, int64_t n, bool accumulate, const T* row_bias);           \
  void name##_b_in_place(int64_t kc, const T* a, const T* b, int64_t ldb, T* c, int64_t ldc, \
                         int64_t m, int64_t n, bool accumulate, const T* row_bias);           \
  void name##_packing_b(int64_t kc, const T* a, const T* b, int64_t ldb, T* bdst, T* c,      \
                        int64_t ldc, bool accumulate, const T* row_bias);
FASTCONV_DECL_GEMM(float, f32_gemm_4x8_scalar)
FASTCONV_DECL_GEMM(double, f64_gemm_4x4_scalar)
FASTCONV_DECL_GEMM(float, f32_gemm_6x16_avx2)
FASTCONV_DECL_GEMM(double, f64_gemm_6x8_avx2)
FASTCONV_DECL_GEMM(float, f32_gemm_14x32_avx512)
FASTCONV_DECL_GEMM(float, f32_gemm_8x48_avx512)
FASTCONV_DECL_GEMM(double, f64_gemm_14x16_avx512)
#undef FASTCONV_DECL_GEMM

}  // namespace fastconv::ukernels
