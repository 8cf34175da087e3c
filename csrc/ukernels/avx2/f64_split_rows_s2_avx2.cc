// The direct conv's stride-2 phase split: the shared algorithm of ukernels/split_rows_impl.h.
#include "ukernels/avx2/simd_avx2.h"
#include "ukernels/split_rows_impl.h"

namespace fastconv::ukernels {

void f64_split_rows_s2_avx2(const SplitRowsArgs<double>& a) { split_rows_s2<F64Traits>(a); }

}  // namespace fastconv::ukernels
