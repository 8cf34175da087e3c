// GEMM tile 8x48: the shared algorithm of ukernels/gemm_impl.h.
#include "ukernels/avx512/simd_avx512.h"
#include "ukernels/gemm_impl.h"

namespace fastconv::ukernels {

FASTCONV_DEFINE_GEMM(F32Traits, 8, 3, f32_gemm_8x48_avx512)

}  // namespace fastconv::ukernels
