// Portable "vector" traits for the scalar level: GCC/Clang vector extensions, which the
// x86-64 baseline lowers to SSE2. Include only from csrc/ukernels/scalar/ files.
#pragma once

#include <cstring>

namespace fastconv::ukernels {
namespace {

template <class TT, int LL>
struct VecExtTraits {
  using T = TT;
  static constexpr int L = LL;
  typedef T V __attribute__((vector_size(sizeof(T) * LL)));
  static inline V zero() { return V{}; }
  static inline V load(const T* p) { V v; __builtin_memcpy(&v, p, sizeof(V)); return v; }
  static inline void store(T* p, V v) { __builtin_memcpy(p, &v, sizeof(V)); }
  static inline V bcast(const T* p) { return V{} + *p; }
  static inline V fma(V a, V b, V c) { return a * b + c; }
  static inline T hsum(V v) {
    T s = 0;
    for (int i = 0; i < L; ++i) s += v[i];
    return s;
  }
};
using F32Traits = VecExtTraits<float, 4>;
using F64Traits = VecExtTraits<double, 2>;

}  // namespace
}  // namespace fastconv::ukernels
