// double pooling row kernels compiled for avx2: the shared loops of ukernels/pool_rows_impl.h.
#include "ukernels/pool_rows_impl.h"

namespace fastconv::ukernels {

const PoolRowUkernels<double> f64_pool_rows_avx2 =
    pool_row_ukernels<double, 4>("f64_pool_rows_avx2");

}  // namespace fastconv::ukernels
