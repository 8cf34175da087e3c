// double Winograd transforms compiled for avx2: the shared code of ukernels/winograd_impl.h,
// 4 tiles per vector, filter taps and input patches gathered 4 at a time.
#include <immintrin.h>

#include "ukernels/winograd_impl.h"

namespace fastconv::ukernels {
namespace {

struct GatherAvx2 {
  template <int Taps>
  static void run(const double* g, const int32_t* offsets, int64_t lanes, double* taps) {
    // The masked form with a zero source: the plain intrinsic leaves its source undefined,
    // which GCC 12 warns about.
    const __m256d zero = _mm256_setzero_pd(), all = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
    int64_t l = 0;
    for (; l + 4 <= lanes; l += 4) {
      const __m128i at = _mm_loadu_si128(reinterpret_cast<const __m128i*>(offsets + l));
      for (int q = 0; q < Taps; ++q)
        _mm256_storeu_pd(taps + q * lanes + l, _mm256_mask_i32gather_pd(zero, g + q, at, all, 8));
    }
    GatherTapsByElement::run<Taps>(g, offsets + l, lanes - l, taps + l, lanes);
  }
  // One vector of 4 lanes, base[offsets[l]] where bit l of valid is set, else 0.
  template <class V, class T, int B>
  static V lanes(const double* base, const int32_t* offsets, uint32_t valid) {
    static_assert(B == 4);
    const __m128i at = _mm_loadu_si128(reinterpret_cast<const __m128i*>(offsets));
    const __m256i bit = _mm256_setr_epi64x(1, 2, 4, 8);
    const __m256i on = _mm256_cmpeq_epi64(
        _mm256_and_si256(_mm256_set1_epi64x(static_cast<int64_t>(valid)), bit), bit);
    return (V)_mm256_mask_i32gather_pd(_mm256_setzero_pd(), base, at, _mm256_castsi256_pd(on),
                                       8);
  }
};

}  // namespace

const WinogradUkernels<double> f64_winograd_avx2 =
    winograd_ukernels<double, 4, GatherAvx2>("f64_winograd_avx2");

}  // namespace fastconv::ukernels
