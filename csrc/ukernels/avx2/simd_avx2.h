// AVX2+FMA traits. Include only from csrc/ukernels/avx2/ files.
#pragma once

#include "ukernels/intrinsics.h"

#include <cstdint>

namespace fastconv::ukernels {
namespace {

struct F32Traits {
  using T = float;
  using V = __m256;
  static constexpr int L = 8;
  static inline V zero() { return _mm256_setzero_ps(); }
  static inline V load(const T* p) { return _mm256_loadu_ps(p); }
  static inline void store(T* p, V v) { _mm256_storeu_ps(p, v); }
  static inline V bcast(const T* p) { return _mm256_broadcast_ss(p); }
  // Lanes set in `lanes` as an all-ones/all-zeros vector mask (vmaskmov's form).
  static inline __m256i lane_mask(unsigned lanes) {
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(static_cast<int>(lanes)), bit),
                              bit);
  }
  // Masked-off lanes are not read (no fault) and come out 0, or are not written.
  static inline V load_masked(const T* p, unsigned lanes) {
    return _mm256_maskload_ps(p, lane_mask(lanes));
  }
  static inline void store_masked(T* p, unsigned lanes, V v) {
    _mm256_maskstore_ps(p, lane_mask(lanes), v);
  }
  // Lanes 0, 2, ..., 14 of the 16 elements a, b.
  static inline V even_lanes(V a, V b) {
    const V pairs = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));  // a0 a2 b0 b2 a4 a6 b4 b6
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(pairs), _MM_SHUFFLE(3, 1, 2, 0)));
  }
  // Lanes 1, 3, ..., 15.
  static inline V odd_lanes(V a, V b) {
    const V pairs = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));  // a1 a3 b1 b3 a5 a7 b5 b7
    const __m256d quads = _mm256_permute4x64_pd(_mm256_castps_pd(pairs), _MM_SHUFFLE(3, 1, 2, 0));
    return _mm256_castpd_ps(quads);
  }
  // base[idx[l]] in the lanes set in `lanes`, 0 elsewhere (the masked form with a zero source:
  // the plain intrinsic leaves its source undefined, which GCC 12 warns about).
  static inline V gather(const T* base, const int32_t* idx, unsigned lanes) {
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base,
                                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(idx)),
                                    _mm256_castsi256_ps(lane_mask(lanes)), 4);
  }
  static inline V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static inline T hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

struct F64Traits {
  using T = double;
  using V = __m256d;
  static constexpr int L = 4;
  static inline V zero() { return _mm256_setzero_pd(); }
  static inline V load(const T* p) { return _mm256_loadu_pd(p); }
  static inline void store(T* p, V v) { _mm256_storeu_pd(p, v); }
  static inline V bcast(const T* p) { return _mm256_broadcast_sd(p); }
  static inline __m256i lane_mask(unsigned lanes) {
    const __m256i bit = _mm256_setr_epi64x(1, 2, 4, 8);
    return _mm256_cmpeq_epi64(
        _mm256_and_si256(_mm256_set1_epi64x(static_cast<int64_t>(lanes)), bit), bit);
  }
  static inline V load_masked(const T* p, unsigned lanes) {
    return _mm256_maskload_pd(p, lane_mask(lanes));
  }
  static inline void store_masked(T* p, unsigned lanes, V v) {
    _mm256_maskstore_pd(p, lane_mask(lanes), v);
  }
  static inline V even_lanes(V a, V b) {  // a0 b0 a2 b2 -> a0 a2 b0 b2
    return _mm256_permute4x64_pd(_mm256_unpacklo_pd(a, b), _MM_SHUFFLE(3, 1, 2, 0));
  }
  static inline V odd_lanes(V a, V b) {  // a1 b1 a3 b3 -> a1 a3 b1 b3
    return _mm256_permute4x64_pd(_mm256_unpackhi_pd(a, b), _MM_SHUFFLE(3, 1, 2, 0));
  }
  static inline V gather(const T* base, const int32_t* idx, unsigned lanes) {
    return _mm256_mask_i32gather_pd(_mm256_setzero_pd(), base,
                                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(idx)),
                                    _mm256_castsi256_pd(lane_mask(lanes)), 8);
  }
  static inline V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static inline T hsum(V v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
};

}  // namespace
}  // namespace fastconv::ukernels
