// double depthwise-conv row kernel compiled for scalar: ukernels/dwconv_rows_impl.h.
#include "ukernels/dwconv_rows_impl.h"

namespace fastconv::ukernels {

const DwConvUkernel<double> f64_dwconv_rows_scalar =
    dwconv_ukernel<double, 2>("f64_dwconv_rows_scalar");

}  // namespace fastconv::ukernels
