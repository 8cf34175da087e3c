// float Winograd transforms compiled for scalar: the shared code of ukernels/winograd_impl.h,
// 4 tiles per vector.
#include "ukernels/winograd_impl.h"

namespace fastconv::ukernels {

const WinogradUkernels<float> f32_winograd_scalar =
    winograd_ukernels<float, 4>("f32_winograd_scalar");

}  // namespace fastconv::ukernels
