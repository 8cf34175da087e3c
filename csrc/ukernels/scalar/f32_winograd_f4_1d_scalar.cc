// float one-dimensional Winograd F(4, 4) transforms compiled for scalar:
// ukernels/winograd_1d_impl.h, 4 tiles per vector.
#include "ukernels/winograd_1d_impl.h"

namespace fastconv::ukernels {

const Winograd1dUkernels<float> f32_winograd_f4_1d_scalar =
    winograd_f4_1d_ukernels<float, 4>("f32_winograd_f4_1d_scalar");

}  // namespace fastconv::ukernels
