// Direct-conv forward tile: the shared algorithm of ukernels/conv_direct_impl.h.
#include "ukernels/avx512/simd_avx512.h"
#include "ukernels/conv_direct_impl.h"

namespace fastconv::ukernels {

void f64_conv_direct_8x24_avx512(const ConvTileArgs<double>& a) { conv_tile<F64Traits, 8, 3>(a); }

}  // namespace fastconv::ukernels
