// Direct-conv forward tile: the shared algorithm of ukernels/conv_direct_impl.h.
#include "ukernels/avx2/simd_avx2.h"
#include "ukernels/conv_direct_impl.h"

namespace fastconv::ukernels {

void f64_conv_direct_4x12_avx2(const ConvTileArgs<double>& a) { conv_tile<F64Traits, 4, 3>(a); }

}  // namespace fastconv::ukernels
