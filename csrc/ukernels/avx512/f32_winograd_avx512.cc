// float Winograd transforms compiled for avx512: the shared code of ukernels/winograd_impl.h,
// 16 tiles per vector, filter taps and input patches gathered 16 at a time.
#include <immintrin.h>

#include "ukernels/winograd_impl.h"

namespace fastconv::ukernels {
namespace {

struct GatherAvx512 {
  template <int Taps>
  static void run(const float* g, const int32_t* offsets, int64_t lanes, float* taps) {
    // The masked form with a zero source: the plain intrinsic leaves its source undefined,
    // which GCC 12 warns about.
    int64_t l = 0;
    for (; l + 16 <= lanes; l += 16) {
      const __m512i at = _mm512_loadu_si512(offsets + l);
      for (int q = 0; q < Taps; ++q)
        _mm512_storeu_ps(taps + q * lanes + l, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xffff, at, g + q, 4));
    }
    GatherTapsByElement::run<Taps>(g, offsets + l, lanes - l, taps + l, lanes);
  }
  // One vector of 16 lanes, base[offsets[l]] where bit l of valid is set, else 0.
  template <class V, class T, int B>
  static V lanes(const float* base, const int32_t* offsets, uint32_t valid) {
    static_assert(B == 16);
    const __m512i at = _mm512_loadu_si512(offsets);
    return (V)_mm512_mask_i32gather_ps(_mm512_setzero_ps(), static_cast<__mmask16>(valid), at,
                                       base, 4);
  }
};

}  // namespace

const WinogradUkernels<float> f32_winograd_avx512 =
    winograd_ukernels<float, 16, GatherAvx512>("f32_winograd_avx512");

}  // namespace fastconv::ukernels
