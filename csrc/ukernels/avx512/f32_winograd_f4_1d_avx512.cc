// float one-dimensional Winograd F(4, 4) transforms compiled for avx512:
// ukernels/winograd_1d_impl.h, 16 tiles per vector.
#include "ukernels/winograd_1d_impl.h"

namespace fastconv::ukernels {

const Winograd1dUkernels<float> f32_winograd_f4_1d_avx512 =
    winograd_f4_1d_ukernels<float, 16>("f32_winograd_f4_1d_avx512");

}  // namespace fastconv::ukernels
