// GEMM tile 14x32: the shared algorithm of ukernels/gemm_impl.h.
#include "ukernels/avx512/simd_avx512.h"
#include "ukernels/gemm_impl.h"

namespace fastconv::ukernels {

FASTCONV_DEFINE_GEMM(F32Traits, 14, 2, f32_gemm_14x32_avx512)

}  // namespace fastconv::ukernels
