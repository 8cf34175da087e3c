// The pooling row kernels of ukernels/pool.h, written once and compiled by each ISA's file with
// that ISA's flags. Max/min keep blocks of outputs in vector-extension registers across all
// taps (ukernels/vecext.h); avg and its backward are plain loops the compiler vectorises
// (a tap-outer pass per row measured as fast as register blocks there).
// Include only from csrc/ukernels/<isa>/ files; everything here has internal linkage.
#pragma once

#include "ukernels/pool.h"
#include "ukernels/vecext.h"

namespace fastconv::ukernels {
namespace {

// Index lanes as wide as T's compare mask (int32 for float: one blend per tap instead of a
// widen and two), widened to int64 on store; planes of 2^31 elements or more use int64 lanes.
template <class T> struct IndexFor { using type = int64_t; };
template <> struct IndexFor<float> { using type = int32_t; };

// Outputs [j, j + B) of the run.
template <class T, bool IsMin, bool WithIdx, int SW, int B, class Idx>
inline void max_block(const MaxPoolRowArgs<T>& a, int64_t j) {
  using V = typename Block<T, B, Idx>::V;
  using I = typename Block<T, B, Idx>::I;
  const int64_t sw = SW ? SW : a.sw;
  I lane;
  for (int l = 0; l < B; ++l) lane[l] = static_cast<Idx>(l * sw);
  V best = V{} + (IsMin ? __builtin_inf() : -__builtin_inf());
  I bi = I{} + static_cast<Idx>(a.row_index[0] + a.col0 + j * sw) + lane;
  for (int64_t r = 0; r < a.nrows; ++r)
    for (int64_t s = 0; s < a.kw; ++s) {
      const int64_t off = a.col0 + s * a.dw + j * sw;
      const V v = load_strided<T, B, SW>(a.rows[r] + off, sw);
      // v != v: a NaN replaces whatever is there, so NaN propagates and the last one wins.
      const auto take = (IsMin ? v < best : v > best) | (v != v);
      best = take ? v : best;
      if (WithIdx)
        bi = __builtin_convertvector(take, I) ? I{} + static_cast<Idx>(a.row_index[r] + off) + lane
                                              : bi;
    }
  __builtin_memcpy(a.y + j, &best, sizeof(V));
  if (WithIdx) {
    const auto wide = __builtin_convertvector(bi, typename Block<T, B, Idx>::I64);
    __builtin_memcpy(a.idx + j, &wide, sizeof(wide));
  }
}

// Blocks of B from j on, then the remainder in blocks of B/2, B/4, ..., 1: no scalar tail loop
// and no read past the run.
template <class T, bool IsMin, bool WithIdx, int SW, int B, class Idx>
void max_row(const MaxPoolRowArgs<T>& a, int64_t j = 0) {
  for (; j + B <= a.n; j += B) max_block<T, IsMin, WithIdx, SW, B, Idx>(a, j);
  if constexpr (B > 1) max_row<T, IsMin, WithIdx, SW, B / 2, Idx>(a, j);
}

template <class T, bool IsMin, int B>
void max_row_dispatch(const MaxPoolRowArgs<T>& a) {
  using Idx32 = typename IndexFor<T>::type;
  if (a.idx) {
    // The largest index the run can produce; the rows ascend, so the last row bounds it.
    const int64_t last = a.row_index[a.nrows - 1] + a.col0 + (a.n - 1) * a.sw + (a.kw - 1) * a.dw;
    if (last > 2147483647) return max_row<T, IsMin, true, 0, B, int64_t>(a);
    if (a.sw == 1) return max_row<T, IsMin, true, 1, B, Idx32>(a);
    if (a.sw == 2) return max_row<T, IsMin, true, 2, B, Idx32>(a);
    return max_row<T, IsMin, true, 0, B, Idx32>(a);
  }
  if (a.sw == 1) return max_row<T, IsMin, false, 1, B, int64_t>(a);
  if (a.sw == 2) return max_row<T, IsMin, false, 2, B, int64_t>(a);
  return max_row<T, IsMin, false, 0, B, int64_t>(a);
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

// B: outputs per register block (a multiple of the ISA's lanes for T).
template <class T, int B>
constexpr PoolRowUkernels<T> pool_row_ukernels(const char* name) {
  return {name, max_row_dispatch<T, false, B>, max_row_dispatch<T, true, B>, avg_row_dispatch<T>,
          avg_backward_row_dispatch<T>};
}

}  // namespace
}  // namespace fastconv::ukernels
