// GEMM tile 4x4: the shared algorithm of ukernels/gemm_impl.h.
#include "ukernels/scalar/simd_scalar.h"
#include "ukernels/gemm_impl.h"

namespace fastconv::ukernels {

void f64_gemm_4x4_scalar(int64_t kc, const double* a, const double* b, double* c,
    int64_t ldc, int64_t m, int64_t n, bool accumulate) {
  gemm_tile<F64Traits, 4, 2>(kc, a, b, c, ldc, m, n, accumulate);
}

}  // namespace fastconv::ukernels
