// double one-dimensional Winograd F(4, 4) transforms compiled for avx512:
// ukernels/winograd_1d_impl.h, 8 tiles per vector.
#include "ukernels/winograd_1d_impl.h"

namespace fastconv::ukernels {

const Winograd1dUkernels<double> f64_winograd_f4_1d_avx512 =
    winograd_f4_1d_ukernels<double, 8>("f64_winograd_f4_1d_avx512");

}  // namespace fastconv::ukernels
