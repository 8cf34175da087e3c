// GEMM tile 4x4: the shared algorithm of ukernels/gemm_impl.h.
#include "ukernels/scalar/simd_scalar.h"
#include "ukernels/gemm_impl.h"

namespace fastconv::ukernels {

FASTCONV_DEFINE_GEMM(F64Traits, 4, 2, f64_gemm_4x4_scalar)

}  // namespace fastconv::ukernels
