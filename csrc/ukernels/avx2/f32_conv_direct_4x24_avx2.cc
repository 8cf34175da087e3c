// Direct-conv forward tile: the shared algorithm of ukernels/conv_direct_impl.h.
#include "ukernels/avx2/simd_avx2.h"
#include "ukernels/conv_direct_impl.h"

namespace fastconv::ukernels {

void f32_conv_direct_4x24_avx2(const ConvTileArgs<float>& a) { conv_tile<F32Traits, 4, 3>(a); }

}  // namespace fastconv::ukernels
