// GEMM tile 6x16: the shared algorithm of ukernels/gemm_impl.h.
#include "ukernels/avx2/simd_avx2.h"
#include "ukernels/gemm_impl.h"

namespace fastconv::ukernels {

void f32_gemm_6x16_avx2(int64_t kc, const float* a, const float* b, float* c,
    int64_t ldc, int64_t m, int64_t n, bool accumulate) {
  gemm_tile<F32Traits, 6, 2>(kc, a, b, c, ldc, m, n, accumulate);
}

}  // namespace fastconv::ukernels
