// GEMM tile 14x32: the shared algorithm of ukernels/gemm_impl.h.
#include "ukernels/avx512/simd_avx512.h"
#include "ukernels/gemm_impl.h"

namespace fastconv::ukernels {

void f32_gemm_14x32_avx512(int64_t kc, const float* a, const float* b, float* c,
    int64_t ldc, int64_t m, int64_t n, bool accumulate) {
  gemm_tile<F32Traits, 14, 2>(kc, a, b, c, ldc, m, n, accumulate);
}

}  // namespace fastconv::ukernels
