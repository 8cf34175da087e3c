// float Winograd transforms compiled for avx2: the shared code of ukernels/winograd_impl.h,
// 8 tiles per vector, filter taps and input patches gathered 8 at a time.
#include <immintrin.h>

#include "ukernels/winograd_impl.h"

namespace fastconv::ukernels {
namespace {

struct GatherAvx2 {
  template <int Taps>
  static void run(const float* g, const int32_t* offsets, int64_t lanes, float* taps) {
    // The masked form with a zero source: the plain intrinsic leaves its source undefined,
    // which GCC 12 warns about.
    const __m256 zero = _mm256_setzero_ps(), all = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    int64_t l = 0;
    for (; l + 8 <= lanes; l += 8) {
      const __m256i at = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(offsets + l));
      for (int q = 0; q < Taps; ++q)
        _mm256_storeu_ps(taps + q * lanes + l, _mm256_mask_i32gather_ps(zero, g + q, at, all, 4));
    }
    GatherTapsByElement::run<Taps>(g, offsets + l, lanes - l, taps + l, lanes);
  }
  // One vector of 8 lanes, base[offsets[l]] where bit l of valid is set, else 0.
  template <class V, class T, int B>
  static V lanes(const float* base, const int32_t* offsets, uint32_t valid) {
    static_assert(B == 8);
    const __m256i at = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(offsets));
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i on = _mm256_cmpeq_epi32(
        _mm256_and_si256(_mm256_set1_epi32(static_cast<int>(valid)), bit), bit);
    return (V)_mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, at, _mm256_castsi256_ps(on),
                                       4);
  }
};

}  // namespace

const WinogradUkernels<float> f32_winograd_avx2 =
    winograd_ukernels<float, 8, GatherAvx2>("f32_winograd_avx2");

}  // namespace fastconv::ukernels
