// Direct-convolution micro-kernels (portable declarations; no intrinsics).
//
// Data layout (built by csrc/algos/direct_conv.cc): the input of one image is copied into a
// zero-padded, phase-split buffer so that every tap (r, s) of every stride/dilation reads a
// contiguous run in the flattened output index p = oh * Wj + ow.
//
// Forward tile: y[k][p] = sum_{c, t} w[c][t][k] * x[c * x_cstride + tap_off[t] + p]
//   for k < KB, p < npos (the kernel may compute and store up to npos rounded up to its
//   vector width; it reads x up to that many positions past tap_off, the caller keeps slack).
// The same tile written straight into the NCHW output (tile_to_output, where the ISA has
// masked stores): position p of the Wj-wide grid is output (p / Wj, p % Wj); columns
// >= out_width and rows >= out_rows are not stored, nor channels >= kvalid; bias (kvalid
// values, or null) is added. This saves the grid's copy-out pass, a memory-bound sweep that
// took ~19% of the 7x7 stem at N=8 (perf, AVX-512).
// Dot tile (weight gradient): out[i * NB + j] += sum_{l < len} a[i][l] * b[j][l]
//   for i < KA, j < NB; len is a multiple of the vector width.
#pragma once

#include <cstdint>

namespace fastconv::ukernels {

template <class T>
struct ConvTileArgs {
  const T* x;              // channel 0, flat position of the tile's first output
  int64_t x_cstride;       // elements between consecutive channels
  const int64_t* tap_off;  // taps offsets (relative, same for every channel)
  int64_t taps;
  int64_t channels;
  const T* w;              // packed [channels][taps][KB]
  T* y;                    // KB rows of y_stride elements; overwritten
  int64_t y_stride;
  int64_t npos;            // 1 .. max_pos
  // tile_to_output only: y is the output plane of the block's first channel, y_stride the
  // plane size (out_rows * out_width).
  int64_t row, col;        // grid position of the tile's first output
  int64_t grid_width, out_width, out_rows;
  int64_t kvalid;          // output channels of this block that exist (<= KB)
  const T* bias;           // kvalid values, or null
};

template <class T>
struct ConvDotArgs {
  const T* const* a;  // KA row pointers
  const T* const* b;  // NB row pointers
  int64_t len;        // multiple of the kernel's lanes
  T* out;             // KA x NB, accumulated (+=)
};

// Stride-2 phase split of one channel (the input copy of csrc/algos/direct_conv.cc): for each
// source row z < rows with dst_off[z] >= 0, with
//   x[e] = src[z * src_ld + e - shift], read only for lo <= e < hi,  d = dst + dst_off[z]:
//   d[j] = x[2j] and d[phase + j] = x[2j + 1] for j < len, 0 where the index is outside [lo, hi).
// So one pass over each source row writes both of its column phases, padding included.
template <class T>
struct SplitRowsArgs {
  const T* src;
  int64_t src_ld, rows;
  T* dst;
  int64_t phase;
  const int64_t* dst_off;  // per source row; < 0: the row feeds no phase row
  int64_t shift, lo, hi, len;
};

template <class T>
struct ConvDirectUkernel {
  const char* name;
  int kb;        // output channels per forward tile
  int max_pos;   // positions per forward tile
  int lanes;     // vector width (dot len granularity, forward store granularity)
  void (*tile)(const ConvTileArgs<T>&);
  void (*tile_to_output)(const ConvTileArgs<T>&);  // null: this ISA writes the grid only
  int dot_ka, dot_nb;
  const char* dot_name;
  void (*dot)(const ConvDotArgs<T>&);
  void (*split_rows_s2)(const SplitRowsArgs<T>&);  // null: the split copies element by element
};

#define FASTCONV_DECL_CONV(T, name) void name(const ConvTileArgs<T>&);
#define FASTCONV_DECL_CONV_OUT(T, name) \
  void name(const ConvTileArgs<T>&);    \
  void name##_to_output(const ConvTileArgs<T>&);
#define FASTCONV_DECL_DOT(T, name) void name(const ConvDotArgs<T>&);
FASTCONV_DECL_CONV(float, f32_conv_direct_4x12_scalar)
FASTCONV_DECL_CONV(double, f64_conv_direct_4x6_scalar)
FASTCONV_DECL_CONV(float, f32_conv_direct_4x24_avx2)
FASTCONV_DECL_CONV(double, f64_conv_direct_4x12_avx2)
FASTCONV_DECL_CONV_OUT(float, f32_conv_direct_8x48_avx512)
FASTCONV_DECL_CONV_OUT(double, f64_conv_direct_8x24_avx512)
FASTCONV_DECL_DOT(float, f32_conv_dot_4x3_scalar)
FASTCONV_DECL_DOT(double, f64_conv_dot_4x3_scalar)
FASTCONV_DECL_DOT(float, f32_conv_dot_4x3_avx2)
FASTCONV_DECL_DOT(double, f64_conv_dot_4x3_avx2)
FASTCONV_DECL_DOT(float, f32_conv_dot_4x5_avx512)
FASTCONV_DECL_DOT(double, f64_conv_dot_4x5_avx512)
#define FASTCONV_DECL_SPLIT(T, name) void name(const SplitRowsArgs<T>&);
FASTCONV_DECL_SPLIT(float, f32_split_rows_s2_avx2)
FASTCONV_DECL_SPLIT(double, f64_split_rows_s2_avx2)
FASTCONV_DECL_SPLIT(float, f32_split_rows_s2_avx512)
FASTCONV_DECL_SPLIT(double, f64_split_rows_s2_avx512)
#undef FASTCONV_DECL_SPLIT
#undef FASTCONV_DECL_CONV
#undef FASTCONV_DECL_CONV_OUT
#undef FASTCONV_DECL_DOT

}  // namespace fastconv::ukernels
