// Direct-conv forward tile: the shared algorithm of ukernels/conv_direct_impl.h.
#include "ukernels/scalar/simd_scalar.h"
#include "ukernels/conv_direct_impl.h"

namespace fastconv::ukernels {

void f64_conv_direct_4x6_scalar(const ConvTileArgs<double>& a) { conv_tile<F64Traits, 4, 3>(a); }

}  // namespace fastconv::ukernels
