// The direct conv's stride-2 phase split: the shared algorithm of ukernels/split_rows_impl.h.
#include "ukernels/avx2/simd_avx2.h"
#include "ukernels/split_rows_impl.h"

namespace fastconv::ukernels {

void f32_split_rows_s2_avx2(const SplitRowsArgs<float>& a) { split_rows_s2<F32Traits>(a); }

}  // namespace fastconv::ukernels
