// double one-dimensional Winograd F(4, 4) transforms compiled for avx2:
// ukernels/winograd_1d_impl.h, 4 tiles per vector.
#include "ukernels/winograd_1d_impl.h"

namespace fastconv::ukernels {

const Winograd1dUkernels<double> f64_winograd_f4_1d_avx2 =
    winograd_f4_1d_ukernels<double, 4>("f64_winograd_f4_1d_avx2");

}  // namespace fastconv::ukernels
