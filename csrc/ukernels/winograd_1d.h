// Transforms of the one-dimensional Winograd F(4, Q), Q = 1..4 taps (algos/winograd_1d.h);
// portable declarations, no intrinsics.
//
// F(4, Q) computes 4 outputs of a Q-tap correlation, y[i] = sum_s g[s] d[i + s], from 3 + Q
// products of transformed values: y = A^T ((G g) * (B^T d)), with d the tile's 3 + Q inputs.
// The matrices come from Lagrange interpolation at the first 3 + Q of the points 0, 1, -1,
// infinity, 2, -2, 1/2: each tile size's points are the smaller ones' and one more, so every
// size has the same A^T columns and products at a point may be summed across sizes before one
// output transform (float32 error of F(4, 4) on a 42-term sum, simulated in NumPy: 4.8e-7
// relative L2, 3.7x direct's; -1/2 or 3 in place of 1/2 gave 5.7e-7 and 2.0e-6).
// Tiles sit in the vector lanes; a call transforms `tiles` consecutive tiles of one row:
//   input:  v[p * v_stride + t] = (B^T d_t)[p], d_t[j] = x[(4 t + j) * step] with step 1 or 2,
//           p, j < 3 + taps,
//           t < tiles; x is read up to (4 * (tiles rounded up to the block) + 7) * step, which
//           the caller keeps readable; exactly `tiles` values of each v row are written.
//   output: y[4 t + j] = (A^T m_t)[j] + bias for 4 t + j < count (<= 4 * tiles), where
//           m_t[p] = m[p * m_stride + t] for the first `points` (4..7) points; m is read up to
//           tiles rounded up to the block.
// The filter transform, G g, is once per call and portable (algos/winograd_1d.cc).
#pragma once

#include <cstdint>

namespace fastconv::ukernels {

template <class T>
struct Winograd1dUkernels {
  const char* name;
  int block;  // tiles per vector
  void (*input)(const T* x, int64_t step, int taps, int64_t tiles, T* v, int64_t v_stride);
  void (*output)(const T* m, int64_t m_stride, int points, int64_t tiles, int64_t count, T bias,
                 T* y);
};

extern const Winograd1dUkernels<float> f32_winograd_f4_1d_scalar;
extern const Winograd1dUkernels<double> f64_winograd_f4_1d_scalar;
extern const Winograd1dUkernels<float> f32_winograd_f4_1d_avx2;
extern const Winograd1dUkernels<double> f64_winograd_f4_1d_avx2;
extern const Winograd1dUkernels<float> f32_winograd_f4_1d_avx512;
extern const Winograd1dUkernels<double> f64_winograd_f4_1d_avx512;

}  // namespace fastconv::ukernels
