// Direct-conv dot tile (weight gradient): the shared algorithm of ukernels/conv_direct_impl.h.
#include "ukernels/avx512/simd_avx512.h"
#include "ukernels/conv_direct_impl.h"

namespace fastconv::ukernels {

void f64_conv_dot_4x5_avx512(const ConvDotArgs<double>& a) { conv_dot<F64Traits, 4, 5>(a); }

}  // namespace fastconv::ukernels
