// GEMM tile 6x8: the shared algorithm of ukernels/gemm_impl.h.
#include "ukernels/avx2/simd_avx2.h"
#include "ukernels/gemm_impl.h"

namespace fastconv::ukernels {

FASTCONV_DEFINE_GEMM(F64Traits, 6, 2, f64_gemm_6x8_avx2)

}  // namespace fastconv::ukernels
