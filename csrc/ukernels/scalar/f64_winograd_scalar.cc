// double Winograd transforms compiled for scalar: the shared code of ukernels/winograd_impl.h,
// 2 tiles per vector.
#include "ukernels/winograd_impl.h"

namespace fastconv::ukernels {

const WinogradUkernels<double> f64_winograd_scalar =
    winograd_ukernels<double, 2>("f64_winograd_scalar");

}  // namespace fastconv::ukernels
