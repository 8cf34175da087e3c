// double one-dimensional Winograd F(4, 4) transforms compiled for scalar:
// ukernels/winograd_1d_impl.h, 2 tiles per vector.
#include "ukernels/winograd_1d_impl.h"

namespace fastconv::ukernels {

const Winograd1dUkernels<double> f64_winograd_f4_1d_scalar =
    winograd_f4_1d_ukernels<double, 2>("f64_winograd_f4_1d_scalar");

}  // namespace fastconv::ukernels
