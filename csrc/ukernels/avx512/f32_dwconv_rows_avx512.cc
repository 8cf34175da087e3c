// float depthwise-conv row kernel compiled for avx512: ukernels/dwconv_rows_impl.h.
#include "ukernels/dwconv_rows_impl.h"

namespace fastconv::ukernels {

const DwConvUkernel<float> f32_dwconv_rows_avx512 =
    dwconv_ukernel<float, 16>("f32_dwconv_rows_avx512");

}  // namespace fastconv::ukernels
