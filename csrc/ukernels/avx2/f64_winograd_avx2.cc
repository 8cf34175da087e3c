// double Winograd transforms compiled for avx2: the shared code of ukernels/winograd_impl.h,
// 4 tiles per vector, filter taps and input patches gathered 4 at a time.
#include "ukernels/avx2/simd_avx2.h"
#include "ukernels/winograd_impl.h"

namespace fastconv::ukernels {

const WinogradUkernels<double> f64_winograd_avx2 =
    winograd_ukernels<double, 4, GatherVia<F64Traits>>("f64_winograd_avx2");

}  // namespace fastconv::ukernels
