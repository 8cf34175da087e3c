// GEMM tile 4x8: the shared algorithm of ukernels/gemm_impl.h.
#include "ukernels/scalar/simd_scalar.h"
#include "ukernels/gemm_impl.h"

namespace fastconv::ukernels {

FASTCONV_DEFINE_GEMM(F32Traits, 4, 2, f32_gemm_4x8_scalar)

}  // namespace fastconv::ukernels
