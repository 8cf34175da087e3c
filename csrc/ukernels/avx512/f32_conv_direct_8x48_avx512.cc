// Direct-conv forward tile, into the grid or (masked stores) the output: the shared algorithm
// of ukernels/conv_direct_impl.h.
#include "ukernels/avx512/simd_avx512.h"
#include "ukernels/conv_direct_impl.h"

namespace fastconv::ukernels {

void f32_conv_direct_8x48_avx512(const ConvTileArgs<float>& a) { conv_tile<F32Traits, 8, 3>(a); }
void f32_conv_direct_8x48_avx512_to_output(const ConvTileArgs<float>& a) {
  conv_tile<F32Traits, 8, 3, true>(a);
}

}  // namespace fastconv::ukernels
