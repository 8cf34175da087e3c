// float pooling row kernels compiled for scalar: the shared loops of ukernels/pool_rows_impl.h.
#include "ukernels/pool_rows_impl.h"

namespace fastconv::ukernels {

const PoolRowUkernels<float> f32_pool_rows_scalar =
    pool_row_ukernels<float, 4>("f32_pool_rows_scalar");

}  // namespace fastconv::ukernels
