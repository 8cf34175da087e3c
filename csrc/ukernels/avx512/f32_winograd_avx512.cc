// float Winograd transforms compiled for avx512: the shared code of ukernels/winograd_impl.h,
// 16 tiles per vector.
#include "ukernels/winograd_impl.h"

namespace fastconv::ukernels {

const WinogradUkernels<float> f32_winograd_avx512 =
    winograd_ukernels<float, 16>("f32_winograd_avx512");

}  // namespace fastconv::ukernels
