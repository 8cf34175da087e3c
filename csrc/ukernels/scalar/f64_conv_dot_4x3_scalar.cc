// Direct-conv dot tile (weight gradient): the shared algorithm of ukernels/conv_direct_impl.h.
#include "ukernels/scalar/simd_scalar.h"
#include "ukernels/conv_direct_impl.h"

namespace fastconv::ukernels {

void f64_conv_dot_4x3_scalar(const ConvDotArgs<double>& a) { conv_dot<F64Traits, 4, 3>(a); }

}  // namespace fastconv::ukernels
