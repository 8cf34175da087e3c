// float pooling row kernels compiled for avx2: the shared loops of ukernels/pool_rows_impl.h.
#include "ukernels/pool_rows_impl.h"

namespace fastconv::ukernels {

const PoolRowUkernels<float> f32_pool_rows_avx2 = pool_row_ukernels<float, 8>("f32_pool_rows_avx2");

}  // namespace fastconv::ukernels
