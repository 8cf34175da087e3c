// double depthwise-conv row kernel compiled for avx512: ukernels/dwconv_rows_impl.h, with
// masked row copies.
#include "ukernels/avx512/simd_avx512.h"
#include "ukernels/dwconv_rows_impl.h"

namespace fastconv::ukernels {

const DwConvUkernel<double> f64_dwconv_rows_avx512 =
    dwconv_ukernel_masked<double, 8, F64Traits>("f64_dwconv_rows_avx512");

}  // namespace fastconv::ukernels
