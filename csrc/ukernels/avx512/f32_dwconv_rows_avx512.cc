// float depthwise-conv row kernel compiled for avx512: ukernels/dwconv_rows_impl.h, with
// masked row copies.
#include "ukernels/avx512/simd_avx512.h"
#include "ukernels/dwconv_rows_impl.h"

namespace fastconv::ukernels {

const DwConvUkernel<float> f32_dwconv_rows_avx512 =
    dwconv_ukernel_masked<float, 16, F32Traits>("f32_dwconv_rows_avx512");

}  // namespace fastconv::ukernels
