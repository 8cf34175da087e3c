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

template <class T>
struct DwConvUkernel {
  const char* name;
  void (*row)(const DwConvRowArgs<T>&);
  // dst[i * dst_pitch + j] = src[i * src_pitch + j] for i < rows, j < n: the zero-padded copy of
  // the input and the copy-out of flat runs, rows often shorter than a vector (14 wide: one
  // masked move where the ISA has them).
  void (*copy_rows)(T* dst, int64_t dst_pitch, const T* src, int64_t src_pitch, int64_t rows,
                    int64_t n);
};

extern const DwConvUkernel<float> f32_dwconv_rows_scalar;
extern const DwConvUkernel<double> f64_dwconv_rows_scalar;
extern const DwConvUkernel<float> f32_dwconv_rows_avx2;
extern const DwConvUkernel<double> f64_dwconv_rows_avx2;
extern const DwConvUkernel<float> f32_dwconv_rows_avx512;
extern const DwConvUkernel<double> f64_dwconv_rows_avx512;

}  // namespace fastconv::ukernels
