// float depthwise-conv row kernel compiled for scalar: ukernels/dwconv_rows_impl.h.
#include "ukernels/dwconv_rows_impl.h"

namespace fastconv::ukernels {

const DwConvUkernel<float> f32_dwconv_rows_scalar =
    dwconv_ukernel<float, 4>("f32_dwconv_rows_scalar");

}  // namespace fastconv::ukernels
