// GEMM tile 4x8: the shared algorithm of ukernels/gemm_impl.h.
#include "ukernels/scalar/simd_scalar.h"
#include "ukernels/gemm_impl.h"

namespace fastconv::ukernels {

void f32_gemm_4x8_scalar(int64_t kc, const float* a, const float* b, float* c,
    int64_t ldc, int64_t m, int64_t n, bool accumulate) {
  gemm_tile<F32Traits, 4, 2>(kc, a, b, c, ldc, m, n, accumulate);
}

}  // namespace fastconv::ukernels
