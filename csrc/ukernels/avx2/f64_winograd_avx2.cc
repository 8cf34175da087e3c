// double Winograd transforms compiled for avx2: the shared code of ukernels/winograd_impl.h,
// 4 tiles per vector.
#include "ukernels/winograd_impl.h"

namespace fastconv::ukernels {

const WinogradUkernels<double> f64_winograd_avx2 =
    winograd_ukernels<double, 4>("f64_winograd_avx2");

}  // namespace fastconv::ukernels
