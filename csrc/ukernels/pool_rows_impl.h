// The pooling row kernels of ukernels/pool.h, written once in plain C++ and compiled by each
// ISA's file with that ISA's flags: the loops are simple enough for the compiler to vectorise
// (strided loads, compare + blend), and a hand-written version measured no faster.
// Include only from csrc/ukernels/<isa>/ files; everything here has internal linkage.
#pragma once

#include "ukernels/pool.h"

namespace fastconv::ukernels {
namespace {

// Stride as a compile-time constant for the common 1 and 2 (contiguous or even/odd loads);
// SW == 0 reads the run-time stride.
template <class T, bool IsMin, bool WithIdx, int SW>
void max_row(const MaxPoolRowArgs<T>& a) {
  const int64_t sw = SW ? SW : a.sw, n = a.n;
  T* __restrict y = a.y;
  int64_t* __restrict idx = a.idx;
  const T init = IsMin ? __builtin_inf() : -__builtin_inf();
  for (int64_t j = 0; j < n; ++j) y[j] = init;
  if (WithIdx)
    for (int64_t j = 0; j < n; ++j) idx[j] = a.row_index[0] + a.col0 + j * sw;
  for (int64_t r = 0; r < a.nrows; ++r)
    for (int64_t s = 0; s < a.kw; ++s) {
      const int64_t off = a.col0 + s * a.dw;
      const T* __restrict src = a.rows[r] + off;
      const int64_t base = a.row_index[r] + off;
      for (int64_t j = 0; j < n; ++j) {
        const T v = src[j * sw], b = y[j];
        // v != v: a NaN replaces whatever is there, so NaN propagates and the last one wins.
        const bool take = (IsMin ? v < b : v > b) | (v != v);
        y[j] = take ? v : b;
        if (WithIdx) idx[j] = take ? base + j * sw : idx[j];
      }
    }
}

template <class T, bool IsMin>
void max_row_dispatch(const MaxPoolRowArgs<T>& a) {
  if (a.idx) {
    if (a.sw == 1) return max_row<T, IsMin, true, 1>(a);
    if (a.sw == 2) return max_row<T, IsMin, true, 2>(a);
    return max_row<T, IsMin, true, 0>(a);
  }
  if (a.sw == 1) return max_row<T, IsMin, false, 1>(a);
  if (a.sw == 2) return max_row<T, IsMin, false, 2>(a);
  return max_row<T, IsMin, false, 0>(a);
}

template <class T, int SW>
void avg_row(const AvgPoolRowArgs<T>& a) {
  const int64_t sw = SW ? SW : a.sw, n = a.n;
  T* __restrict y = a.y;
  for (int64_t j = 0; j < n; ++j) y[j] = T(0);
  for (int64_t r = 0; r < a.nrows; ++r)
    for (int64_t s = 0; s < a.kw; ++s) {
      const T* __restrict src = a.rows[r] + a.col0 + s;
      for (int64_t j = 0; j < n; ++j) y[j] += src[j * sw];
    }
  for (int64_t j = 0; j < n; ++j) y[j] = y[j] / a.divisor;
}

template <class T>
void avg_row_dispatch(const AvgPoolRowArgs<T>& a) {
  if (a.sw == 1) return avg_row<T, 1>(a);
  if (a.sw == 2) return avg_row<T, 2>(a);
  return avg_row<T, 0>(a);
}

template <class T, int SW>
void avg_backward_row(const AvgPoolBackwardRowArgs<T>& a) {
  const int64_t sw = SW ? SW : a.sw, n = a.n;
  const T* __restrict g = a.grad;
  for (int64_t r = 0; r < a.nrows; ++r)
    for (int64_t s = 0; s < a.kw; ++s) {
      // For one tap the outputs j write distinct columns col0 + j*sw + s: no dependence.
      T* __restrict dst = a.rows[r] + a.col0 + s;
      for (int64_t j = 0; j < n; ++j) dst[j * sw] += g[j] / a.divisor;
    }
}

template <class T>
void avg_backward_row_dispatch(const AvgPoolBackwardRowArgs<T>& a) {
  if (a.sw == 1) return avg_backward_row<T, 1>(a);
  if (a.sw == 2) return avg_backward_row<T, 2>(a);
  return avg_backward_row<T, 0>(a);
}

template <class T>
constexpr PoolRowUkernels<T> pool_row_ukernels(const char* name) {
  return {name, max_row_dispatch<T, false>, max_row_dispatch<T, true>, avg_row_dispatch<T>,
          avg_backward_row_dispatch<T>};
}

}  // namespace
}  // namespace fastconv::ukernels
