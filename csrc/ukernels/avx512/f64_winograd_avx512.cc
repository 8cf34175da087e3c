// double Winograd transforms compiled for avx512: the shared code of ukernels/winograd_impl.h,
// 8 tiles per vector.
#include "ukernels/winograd_impl.h"

namespace fastconv::ukernels {

const WinogradUkernels<double> f64_winograd_avx512 =
    winograd_ukernels<double, 8>("f64_winograd_avx512");

}  // namespace fastconv::ukernels
