// Winograd F(m x m, 3 x 3) and F(2 x 2, 2 x 2) transform micro-kernels (portable declarations;
// no intrinsics).
//
// Tiles sit in the vector lanes: a call transforms `lanes` tiles at once, where lanes is a
// multiple of the table's `block` (the ISA's vector width for T) and is in practice the GEMM
// micro-kernel's NR, so one call fills one packed B panel. With a = m + R - 1 for R x R filters:
//   input:  d[(i * a + j) * lanes + l]  (the a x a input patch of tile l, zero where padded)
//           -> v[xi * v_stride + l] = (B^T d B)[xi] for xi = i * a + j
//   output: mm[xi * m_stride + l]      (the a x a GEMM result of tile l)
//           -> y[(i * m + j) * lanes + l] = (A^T mm A)[i][j] + bias
//   filter: g[offsets[l] + taps[r * R + s]] (tap (r, s) of R x R filter l wherever it lies,
//           e.g. taps[q] = q for contiguous R x R filters; lanes is any count up to
//           kWinogradMaxFilterLanes)
//           -> u[xi * u_stride + l] = (G g G^T)[xi]
//   filter_sets: the same for several R x R subsets of 4 x 4 filters, each filter read once
// The matrices are those of Lavin & Gray's construction with interpolation points
// 0, +-1 (and infinity) for m = 2, 0, +-1, +-2 for m = 4, and 0, +-1, +-2, +-1/2 for m = 6;
// F(2x2, 2x2) uses 0, 1 (and infinity), every coefficient +-1; F(4x4, 2x2) 0, +-1, 2.
#pragma once

#include <cstdint>

namespace fastconv::ukernels {

inline constexpr int64_t kWinogradMaxFilterLanes = 512;

template <class T>
struct WinogradTransforms {
  void (*input)(const T* d, int64_t lanes, T* v, int64_t v_stride);
  void (*output)(const T* mm, int64_t m_stride, int64_t lanes, T bias, T* y);
  void (*filter)(const T* g, const int32_t* offsets, const int32_t* taps, int64_t lanes, T* u,
                 int64_t u_stride);
  // filter for several tap sets of the same 4 x 4 filters at once (the phases of a 4x4
  // stride-2 conv): every filter's 16 taps, g[offsets[l] + q] for q < 16, are read once, and
  // set s's R x R taps, set_taps[s * R * R + i] of the 16, are transformed into u[s]; for the
  // 2 x 2 kernels' tiles only (null for the 3 x 3 ones).
  void (*filter_sets)(const T* g, const int32_t* offsets, const int32_t* set_taps, int sets,
                      int64_t lanes, T* const* u, int64_t u_stride);
  // input, reading each tile's patch where it lies (see winograd_input_gathered); null at
  // ISA levels without vector gathers.
  void (*input_gathered)(const T* x, const int32_t* offsets, const uint32_t* row_valid,
                         const uint32_t* col_valid, int64_t row, int64_t lanes, T* v,
                         int64_t v_stride);
};

template <class T>
struct WinogradUkernels {
  const char* name;
  int block;                    // lanes must be a multiple of this
  WinogradTransforms<T> f2;     // F(2x2, 3x3): 4 x 4 patches
  WinogradTransforms<T> f4;     // F(4x4, 3x3): 6 x 6 patches
  WinogradTransforms<T> f6;     // F(6x6, 3x3): 8 x 8 patches
  WinogradTransforms<T> f2r2;   // F(2x2, 2x2): 3 x 3 patches, 2 x 2 filters
  WinogradTransforms<T> f4r2;   // F(4x4, 2x2): 5 x 5 patches, 2 x 2 filters
};

extern const WinogradUkernels<float> f32_winograd_scalar;
extern const WinogradUkernels<double> f64_winograd_scalar;
extern const WinogradUkernels<float> f32_winograd_avx2;
extern const WinogradUkernels<double> f64_winograd_avx2;
extern const WinogradUkernels<float> f32_winograd_avx512;
extern const WinogradUkernels<double> f64_winograd_avx512;

}  // namespace fastconv::ukernels
