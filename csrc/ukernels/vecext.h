// GCC vector extensions for row micro-kernels written once in plain C++ and compiled by each
// ISA's files with that ISA's flags (pooling, depthwise convolution): the compiler lowers the
// vector types to SSE2, AVX2 or AVX-512. Include only from csrc/ukernels/<isa>/ files (through
// an *_impl.h); everything here has internal linkage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

namespace fastconv::ukernels {
namespace {

// B values of T (B = the ISA's lanes for T, or a power-of-two fraction for a run's tail), and
// B indices of type Idx.
template <class T, int B, class Idx = int64_t>
struct Block {
  typedef T V __attribute__((vector_size(B * sizeof(T))));
  typedef Idx I __attribute__((vector_size(B * sizeof(Idx))));
  typedef int64_t I64 __attribute__((vector_size(B * sizeof(int64_t))));
};

// Even elements p[0], p[2], ..., p[2B - 2] without reading p[2B - 1] (which may lie past the
// row): the upper half comes from a second load that starts at p[B - 1].
template <class V, class T, int B, size_t... L>
inline V even_lanes(const T* p, std::index_sequence<L...>) {
  V lo, hi;
  __builtin_memcpy(&lo, p, sizeof(V));
  __builtin_memcpy(&hi, p + B - 1, sizeof(V));
  return __builtin_shufflevector(lo, hi, (2 * L < B ? 2 * L : 2 * L + 1)...);
}

// p[0], p[sw], ..., p[(B - 1) * sw]. SW: the stride as a compile-time constant for 1
// (contiguous) and 2 (even lanes of two loads); SW == 0 reads the run-time sw and gathers.
template <class T, int B, int SW>
inline typename Block<T, B>::V load_strided(const T* p, int64_t sw) {
  using V = typename Block<T, B>::V;
  V v;
  if constexpr (SW == 1) {
    __builtin_memcpy(&v, p, sizeof(V));
  } else if constexpr (SW == 2) {
    v = even_lanes<V, T, B>(p, std::make_index_sequence<B>());
  } else {
    for (int l = 0; l < B; ++l) v[l] = p[l * sw];
  }
  return v;
}

}  // namespace
}  // namespace fastconv::ukernels
