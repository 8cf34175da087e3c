// Row micro-kernels for convolutions with few input channels per group (depthwise and the
// like; csrc/algos/depthwise_conv.cc). Portable declarations, no intrinsics.
//
// A call computes a run of n outputs of one output row whose windows lie inside the input along
// w; the caller clips rows along h and handles the clipped windows at the row's ends.
//   y[j] = bias + sum_t sum_{s < kw} wrow[t][s] * rows[t][col0 + j * sw + s * dw]
// where t runs over the (input channel, in-bounds kernel row) pairs of the window.
#pragma once

#include <cstdint>

namespace fastconv::ukernels {

template <class T>
struct DwConvRowArgs {
  const T* const* rows;   // nrows input rows
  const T* const* wrow;   // nrows kernel rows of kw weights each
  int64_t nrows;
  int64_t col0, n, sw, dw, kw;
  T bias;
  T* y;                   // n outputs, overwritten
};

// A block of output rows of one channel from one input channel, stride 1, kernel rows
// dilation 1:
//   y[i * y_pitch + j] = bias + sum_{r < R, s < S} w[r * S + s] * x[(i + r) * x_pitch + j + s * dw]
// for i < rows, j < n (x: the zero-padded plane, at the first output's window). Several output
// rows at once, so each loaded input vector serves every output row whose window covers it.
// Reads up to 16 elements past the end of an input row's window (n + (S - 1) * dw elements):
// the next row, or for the last row slack the caller provides; those lanes are never used.
template <class T>
struct DwConvPlaneArgs {
  const T* x;
  int64_t x_pitch;
  const T* w;  // R x S
  int64_t R, S, dw;
  T bias;
  T* y;
  int64_t y_pitch, rows, n;
};

// Whole output planes from input planes as they lie (not padded), one input channel per group,
// stride 1, undilated, output rows of at most one vector (3x3, 5x5, 7x7: of up to
// kDwConvSmallPlaneMaxStrips strips, dwconv_small_plane_fits): output plane q (q < planes) is
//   y[q][i * Wo + j] = bias[q] + sum_{r < R, s < S} w[q][r * S + s] * xq[i + r - pt][j + s - pl]
// with xq = x[q / kg] (kg output channels per input channel; row pitch W), for i < Ho, j < Wo,
// xq read as 0 outside its H x W plane; planes are consecutive in x
// (H * W apart), y (Ho * Wo), w (R * S) and bias (null: 0). Each tap of an output row is one
// masked load, so the input is not copied into a padded plane and the output needs no copy-out
// (both copies took 70% of dw_512@14).
template <class T>
struct DwConvSmallPlaneArgs {
  const T* x;
  int64_t H, W;
  const T* w;
  int64_t R, S, pt, pl;
  const T* bias;
  T* y;
  int64_t Ho, Wo, planes, kg;
};

template <class T>
struct DwConvUkernel {
  const char* name;
  void (*row)(const DwConvRowArgs<T>&);
  void (*plane)(const DwConvPlaneArgs<T>&);
  // dst[i * dst_pitch + j] = src[i * src_pitch + j] for i < rows, j < n: the zero-padded copy of
  // the input and the copy-out of flat runs, rows often shorter than a vector (14 wide: one
  // masked move where the ISA has them).
  void (*copy_rows)(T* dst, int64_t dst_pitch, const T* src, int64_t src_pitch, int64_t rows,
                    int64_t n);
  // Null where the ISA has no masked moves; else takes what dwconv_small_plane_fits allows
  // (small_plane_max_width: the ISA's lanes).
  void (*small_plane)(const DwConvSmallPlaneArgs<T>&);
  int64_t small_plane_max_width;
  // out[i] += sum_{j < n} g[j] * x[i][j] for i < count, n a multiple of 16: the weight
  // gradient's dot products of one grad_output run with each tap's input run.
  void (*taps_dot)(const T* g, const T* const* x, int64_t count, int64_t n, T* out);
  // even[i * dst_pitch + j] = src[i * src_pitch + 2j], odd[...] = src[... + 2j + 1] for i < rows
  // and the n elements of each source row: rows' two column phases, for the stride-2 phase
  // split of a padded plane (rows often shorter than two vectors: one pair of masked loads
  // where the ISA has them).
  void (*split_pairs)(T* even, T* odd, int64_t dst_pitch, const T* src, int64_t src_pitch,
                      int64_t rows, int64_t n);
  // dst[i * dst_pitch + 2j] = even[i * even_pitch + j], dst[... + 2j + 1] = odd[i * odd_pitch
  // + j] for i < rows and the n elements of each destination row: two column phases back into
  // rows (a stride-2 input gradient's phases).
  void (*merge_pairs)(T* dst, int64_t dst_pitch, const T* even, int64_t even_pitch,
                      const T* odd, int64_t odd_pitch, int64_t rows, int64_t n);
  // small_plane at stride 2 along both axes (output (i, j) reads xq[2i + r - pt][2j + s - pl]);
  // null where small_plane is. Takes what dwconv_small_plane_s2_fits allows.
  void (*small_plane_s2)(const DwConvSmallPlaneArgs<T>&);
};

// The kernel sizes the small-plane kernels are compiled for (small_plane reads the others'
// sizes at run time; small_plane_s2 takes only these).
inline bool dwconv_small_plane_compiled(int64_t R, int64_t S) {
  return R == S && (R == 3 || R == 5 || R == 7);
}

inline constexpr int64_t kDwConvSmallPlaneMaxS = 8;

// The compiled sizes' output rows are computed in strips, each strip's windows within a pair of
// input vectors: lanes outputs at stride 1, (2 * lanes - S) / 2 + 1 at stride 2 (14 of 16 for
// 5x5); at most kDwConvSmallPlaneMaxStrips strips, each one's masks worked out once per call.
constexpr int64_t dwconv_small_plane_strip(int64_t S, int64_t stride, int64_t lanes) {
  return stride == 1 ? lanes : (2 * lanes - S) / 2 + 1;
}
inline constexpr int64_t kDwConvSmallPlaneMaxStrips = 8;

// Whether the compiled sizes' stride-1 output rows Wo wide go two planes to a vector: each
// plane's outputs in half the lanes, its windows in one vector of its input row.
constexpr bool dwconv_small_plane_pairs_fit(int64_t S, int64_t Wo, int64_t lanes) {
  return 2 * Wo <= lanes && Wo + S - 1 <= lanes;
}

// Whether the compiled sizes' stride-2 output rows Wo wide go two planes to a vector: each
// plane's outputs in half the lanes, its windows within the pair of vectors from column -pl.
// Measured against one plane a vector (paired, one thread, floats): 5x5 and 7x7 on rows of 5
// to 8 outputs 1.00-1.23x (672 channels, 5x5, at 14x14 1.16-1.22x; 7x7 at 14x14 1.19-1.23x,
// at 9x9 1.00x); on rows of 4, a quarter vector, 0.95-1.05x; 3x3 (576 channels at 14x14)
// 0.87x at N=1, 1.00x at N=8: its three taps do not repay the second plane's loads and permutes.
constexpr bool dwconv_small_plane_s2_pairs_fit(int64_t S, int64_t Wo, int64_t lanes) {
  return S >= 5 && 4 * Wo > lanes && 2 * Wo <= lanes && 2 * (Wo - 1) + S <= 2 * lanes;
}

// Whether small_plane takes a kernel R x S over outputs Wo wide (lanes: the ISA's,
// small_plane_max_width): S <= kDwConvSmallPlaneMaxS and rows of one vector, or a compiled size
// in at most kDwConvSmallPlaneMaxStrips strips.
inline bool dwconv_small_plane_fits(int64_t R, int64_t S, int64_t Wo, int64_t lanes) {
  const int64_t widest = kDwConvSmallPlaneMaxStrips * dwconv_small_plane_strip(S, 1, lanes);
  return S <= kDwConvSmallPlaneMaxS &&
         (Wo <= lanes || (dwconv_small_plane_compiled(R, S) && Wo <= widest));
}

// Whether small_plane_s2 takes a kernel R x S over outputs Wo wide: a compiled size in at most
// kDwConvSmallPlaneMaxStrips strips.
inline bool dwconv_small_plane_s2_fits(int64_t R, int64_t S, int64_t Wo, int64_t lanes) {
  return dwconv_small_plane_compiled(R, S) &&
         Wo <= kDwConvSmallPlaneMaxStrips * dwconv_small_plane_strip(S, 2, lanes);
}

extern const DwConvUkernel<float> f32_dwconv_rows_scalar;
extern const DwConvUkernel<double> f64_dwconv_rows_scalar;
extern const DwConvUkernel<float> f32_dwconv_rows_avx2;
extern const DwConvUkernel<double> f64_dwconv_rows_avx2;
extern const DwConvUkernel<float> f32_dwconv_rows_avx512;
extern const DwConvUkernel<double> f64_dwconv_rows_avx512;

}  // namespace fastconv::ukernels
