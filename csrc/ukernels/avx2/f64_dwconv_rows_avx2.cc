// double depthwise-conv row kernel compiled for avx2: ukernels/dwconv_rows_impl.h.
#include "ukernels/dwconv_rows_impl.h"

namespace fastconv::ukernels {

const DwConvUkernel<double> f64_dwconv_rows_avx2 =
    dwconv_ukernel<double, 4>("f64_dwconv_rows_avx2");

}  // namespace fastconv::ukernels
