// float pooling row kernels compiled for avx512: the shared loops of ukernels/pool_rows_impl.h.
#include "ukernels/pool_rows_impl.h"

namespace fastconv::ukernels {

const PoolRowUkernels<float> f32_pool_rows_avx512 =
    pool_row_ukernels<float, 16>("f32_pool_rows_avx512");

}  // namespace fastconv::ukernels
