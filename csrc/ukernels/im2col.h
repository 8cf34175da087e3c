// im2col row micro-kernels (portable declarations; no intrinsics).
//
// One call fills `rows` rows of `len` elements of an im2col panel run. Row i is (channel c,
// tap t) with c * taps + t = first_tap + i; with x = src + c * channel_stride + off[t]:
//   dst[i * ld + e] = x[e * stride]  for lo[t] <= e < hi[t],
//   dst[i * ld + e] = 0              for the rest of [0, len),
// with the stride fixed by the kernel (1 or 2). Elements outside [lo[t], hi[t]) are never read
// (padding: their addresses may lie outside the input). csrc/algos/ works out each tap's offset
// and bounds once for all channels; the scalar level, and other strides, have no kernel
// (nullptr: a plain loop there). A call takes at most kIm2colRowsMaxTaps taps.
#pragma once

#include <cstdint>

namespace fastconv::ukernels {

// The kernels keep each tap's lane masks in a table of this many taps (16 KiB on the stack);
// callers cut larger kernels into calls of at most this many taps.
inline constexpr int64_t kIm2colRowsMaxTaps = 512;

template <class T>
struct Im2colRowsArgs {
  T* dst;
  int64_t ld;
  const T* src;
  int64_t channel_stride;
  const int64_t* off;
  const int64_t* lo;
  const int64_t* hi;
  int64_t taps, first_tap, rows, len;
};

template <class T>
using Im2colRowsFn = void (*)(const Im2colRowsArgs<T>&);

template <class T>
struct Im2colUkernel {
  const char* name;
  Im2colRowsFn<T> stride1, stride2;
};

void f32_im2col_rows_avx2(const Im2colRowsArgs<float>& a);
void f32_im2col_rows_s2_avx2(const Im2colRowsArgs<float>& a);
void f64_im2col_rows_avx2(const Im2colRowsArgs<double>& a);
void f64_im2col_rows_s2_avx2(const Im2colRowsArgs<double>& a);
void f32_im2col_rows_avx512(const Im2colRowsArgs<float>& a);
void f32_im2col_rows_s2_avx512(const Im2colRowsArgs<float>& a);
void f64_im2col_rows_avx512(const Im2colRowsArgs<double>& a);
void f64_im2col_rows_s2_avx512(const Im2colRowsArgs<double>& a);

}  // namespace fastconv::ukernels
