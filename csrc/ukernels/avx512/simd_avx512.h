// AVX-512F traits. Include only from csrc/ukernels/avx512/ files.
#pragma once

#include "ukernels/intrinsics.h"

#include <cstdint>

namespace fastconv::ukernels {
namespace {

struct F32Traits {
  using T = float;
  using V = __m512;
  static constexpr int L = 16;
  static inline V zero() { return _mm512_setzero_ps(); }
  static inline V load(const T* p) { return _mm512_loadu_ps(p); }
  static inline void store(T* p, V v) { _mm512_storeu_ps(p, v); }
  static inline void store_masked(T* p, unsigned lanes, V v) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>(lanes), v);
  }
  static inline V load_masked(const T* p, unsigned lanes) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>(lanes), p);
  }
  // base[idx[l]] in the lanes set in `lanes`, 0 elsewhere (the masked form with a zero source:
  // the plain intrinsic leaves its source undefined, which GCC 12 warns about).
  static inline V gather(const T* base, const int32_t* idx, unsigned lanes) {
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), static_cast<__mmask16>(lanes),
                                    _mm512_loadu_si512(idx), base, 4);
  }
  // Lanes 0, 2, ..., 30 of the 32 elements a, b (a stride-2 row's elements).
  static inline V even_lanes(V a, V b) {
    return _mm512_permutex2var_ps(
        a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
  }
  // Lanes 1, 3, ..., 31.
  static inline V odd_lanes(V a, V b) {
    return _mm512_permutex2var_ps(
        a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
  }
  static inline V bcast(const T* p) { return _mm512_set1_ps(*p); }
  // (p[0], p[1]) in every pair of lanes.
  static inline V bcast_pair(const T* p) {
    double pair;
    __builtin_memcpy(&pair, p, sizeof(pair));
    return _mm512_castpd_ps(_mm512_set1_pd(pair));
  }
  static inline V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static inline T hsum(V v) { return _mm512_reduce_add_ps(v); }
};

struct F64Traits {
  using T = double;
  using V = __m512d;
  static constexpr int L = 8;
  static inline V zero() { return _mm512_setzero_pd(); }
  static inline V load(const T* p) { return _mm512_loadu_pd(p); }
  static inline void store(T* p, V v) { _mm512_storeu_pd(p, v); }
  static inline void store_masked(T* p, unsigned lanes, V v) {
    _mm512_mask_storeu_pd(p, static_cast<__mmask8>(lanes), v);
  }
  static inline V load_masked(const T* p, unsigned lanes) {
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>(lanes), p);
  }
  static inline V gather(const T* base, const int32_t* idx, unsigned lanes) {
    return _mm512_mask_i32gather_pd(_mm512_setzero_pd(), static_cast<__mmask8>(lanes),
                                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(idx)),
                                    base, 8);
  }
  static inline V even_lanes(V a, V b) {
    return _mm512_permutex2var_pd(a, _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), b);
  }
  static inline V odd_lanes(V a, V b) {
    return _mm512_permutex2var_pd(a, _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15), b);
  }
  static inline V bcast(const T* p) { return _mm512_set1_pd(*p); }
  static inline V bcast_pair(const T* p) { return _mm512_broadcast_f64x2(_mm_loadu_pd(p)); }
  static inline V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static inline T hsum(V v) { return _mm512_reduce_add_pd(v); }
};

}  // namespace
}  // namespace fastconv::ukernels
