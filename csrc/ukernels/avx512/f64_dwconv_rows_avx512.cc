// double depthwise-conv row kernel compiled for avx512: ukernels/dwconv_rows_impl.h.
#include "ukernels/dwconv_rows_impl.h"

namespace fastconv::ukernels {

const DwConvUkernel<double> f64_dwconv_rows_avx512 =
    dwconv_ukernel<double, 8>("f64_dwconv_rows_avx512");

}  // namespace fastconv::ukernels
