// double Winograd transforms compiled for avx512: the shared code of ukernels/winograd_impl.h,
// 8 tiles per vector, filter taps and input patches gathered 8 at a time.
#include <immintrin.h>

#include "ukernels/winograd_impl.h"

namespace fastconv::ukernels {
namespace {

struct GatherAvx512 {
  template <int Taps>
  static void run(const double* g, const int32_t* offsets, int64_t lanes, double* taps) {
    // The masked form with a zero source: the plain intrinsic leaves its source undefined,
    // which GCC 12 warns about.
    int64_t l = 0;
    for (; l + 8 <= lanes; l += 8) {
      const __m256i at = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(offsets + l));
      for (int q = 0; q < Taps; ++q)
        _mm512_storeu_pd(taps + q * lanes + l, _mm512_mask_i32gather_pd(_mm512_setzero_pd(), 0xff, at, g + q, 8));
    }
    GatherTapsByElement::run<Taps>(g, offsets + l, lanes - l, taps + l, lanes);
  }
  // One vector of 8 lanes, base[offsets[l]] where bit l of valid is set, else 0.
  template <class V, class T, int B>
  static V lanes(const double* base, const int32_t* offsets, uint32_t valid) {
    static_assert(B == 8);
    const __m256i at = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(offsets));
    return (V)_mm512_mask_i32gather_pd(_mm512_setzero_pd(), static_cast<__mmask8>(valid), at,
                                       base, 8);
  }
};

}  // namespace

const WinogradUkernels<double> f64_winograd_avx512 =
    winograd_ukernels<double, 8, GatherAvx512>("f64_winograd_avx512");

}  // namespace fastconv::ukernels
