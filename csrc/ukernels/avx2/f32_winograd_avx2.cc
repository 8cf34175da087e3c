// float Winograd transforms compiled for avx2: the shared code of ukernels/winograd_impl.h,
// 8 tiles per vector.
#include "ukernels/winograd_impl.h"

namespace fastconv::ukernels {

const WinogradUkernels<float> f32_winograd_avx2 =
    winograd_ukernels<float, 8>("f32_winograd_avx2");

}  // namespace fastconv::ukernels
