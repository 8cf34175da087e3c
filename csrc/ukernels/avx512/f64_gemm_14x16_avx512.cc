// GEMM tile 14x16: the shared algorithm of ukernels/gemm_impl.h.
#include "ukernels/avx512/simd_avx512.h"
#include "ukernels/gemm_impl.h"

namespace fastconv::ukernels {

FASTCONV_DEFINE_GEMM(F64Traits, 14, 2, f64_gemm_14x16_avx512)

}  // namespace fastconv::ukernels
