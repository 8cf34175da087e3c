// double Winograd transforms compiled for avx512: the shared code of ukernels/winograd_impl.h,
// 8 tiles per vector, filter taps and input patches gathered 8 at a time.
#include "ukernels/avx512/simd_avx512.h"
#include "ukernels/winograd_impl.h"

namespace fastconv::ukernels {

const WinogradUkernels<double> f64_winograd_avx512 =
    winograd_ukernels<double, 8, GatherVia<F64Traits>>("f64_winograd_avx512");

}  // namespace fastconv::ukernels
