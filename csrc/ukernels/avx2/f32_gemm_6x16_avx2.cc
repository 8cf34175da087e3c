// GEMM tile 6x16: the shared algorithm of ukernels/gemm_impl.h.
#include "ukernels/avx2/simd_avx2.h"
#include "ukernels/gemm_impl.h"

namespace fastconv::ukernels {

FASTCONV_DEFINE_GEMM(F32Traits, 6, 2, f32_gemm_6x16_avx2)

}  // namespace fastconv::ukernels
