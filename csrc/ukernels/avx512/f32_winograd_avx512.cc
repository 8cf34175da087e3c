// float Winograd transforms compiled for avx512: the shared code of ukernels/winograd_impl.h,
// 16 tiles per vector, input patches gathered 16 at a time, filter taps loaded a filter at a
// time and transposed.
#include "ukernels/avx512/simd_avx512.h"
#include "ukernels/avx512/transpose_16x16_avx512.h"
#include "ukernels/winograd_impl.h"

namespace fastconv::ukernels {
namespace {

// Filter taps into planes where a filter's taps are contiguous (3x3 and 2x2 filters in place):
// each of 16 lanes' filters is one masked load, and a register transpose turns the 16 into tap
// planes. A vector gather per tap, as for the input patches, took ~15 cycles, and 60% of the
// filter transform (itself 19% of a plan-less r50_3x3_256@14 at N=1). Other taps (the phases of
// a 4x4 stride-2 filter) are gathered, and so are the input patches (lanes()).
struct LoadAndTransposeTaps : GatherVia<F32Traits> {
  template <int Taps>
  static void run(const float* g, const int32_t* offsets, const int32_t* tap_off, int64_t lanes,
                  float* taps) {
    static_assert(Taps <= 16, "a filter's taps fit one vector");
    bool contiguous = true;
    for (int q = 1; q < Taps; ++q) contiguous = contiguous && tap_off[q] == tap_off[0] + q;
    if (!contiguous) {
      GatherVia<F32Traits>::run<Taps>(g, offsets, tap_off, lanes, taps);
      return;
    }
    const float* base = g + tap_off[0];
    constexpr __mmask16 kTaps = static_cast<__mmask16>((1u << Taps) - 1u);
    int64_t l = 0;
    for (; l + 16 <= lanes; l += 16) {
      __m512 filters[16], planes[16];
      for (int i = 0; i < 16; ++i) filters[i] = _mm512_maskz_loadu_ps(kTaps, base + offsets[l + i]);
      transpose_16x16<Taps>(filters, planes);
      for (int q = 0; q < Taps; ++q) _mm512_storeu_ps(taps + q * lanes + l, planes[q]);
    }
    GatherTapsByElement::run<Taps>(g, offsets + l, tap_off, lanes - l, taps + l, lanes);
  }
};

}  // namespace

const WinogradUkernels<float> f32_winograd_avx512 =
    winograd_ukernels<float, 16, LoadAndTransposeTaps>("f32_winograd_avx512");

}  // namespace fastconv::ukernels
