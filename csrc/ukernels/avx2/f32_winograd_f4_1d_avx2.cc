// float one-dimensional Winograd F(4, 4) transforms compiled for avx2:
// ukernels/winograd_1d_impl.h, 8 tiles per vector.
#include "ukernels/winograd_1d_impl.h"

namespace fastconv::ukernels {

const Winograd1dUkernels<float> f32_winograd_f4_1d_avx2 =
    winograd_f4_1d_ukernels<float, 8>("f32_winograd_f4_1d_avx2");

}  // namespace fastconv::ukernels
