// float Winograd transforms compiled for avx512: the shared code of ukernels/winograd_impl.h,
// 16 tiles per vector, filter taps and input patches gathered 16 at a time.
#include "ukernels/avx512/simd_avx512.h"
#include "ukernels/winograd_impl.h"

namespace fastconv::ukernels {

const WinogradUkernels<float> f32_winograd_avx512 =
    winograd_ukernels<float, 16, GatherVia<F32Traits>>("f32_winograd_avx512");

}  // namespace fastconv::ukernels
