// float depthwise-conv row kernel compiled for avx2: ukernels/dwconv_rows_impl.h.
#include "ukernels/dwconv_rows_impl.h"

namespace fastconv::ukernels {

const DwConvUkernel<float> f32_dwconv_rows_avx2 =
    dwconv_ukernel<float, 8>("f32_dwconv_rows_avx2");

}  // namespace fastconv::ukernels
