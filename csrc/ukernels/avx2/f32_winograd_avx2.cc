// float Winograd transforms compiled for avx2: the shared code of ukernels/winograd_impl.h,
// 8 tiles per vector, filter taps and input patches gathered 8 at a time.
#include "ukernels/avx2/simd_avx2.h"
#include "ukernels/winograd_impl.h"

namespace fastconv::ukernels {

const WinogradUkernels<float> f32_winograd_avx2 =
    winograd_ukernels<float, 8, GatherVia<F32Traits>>("f32_winograd_avx2");

}  // namespace fastconv::ukernels
