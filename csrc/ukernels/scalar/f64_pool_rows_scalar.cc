// double pooling row kernels compiled for scalar: the shared loops of ukernels/pool_rows_impl.h.
#include "ukernels/pool_rows_impl.h"

namespace fastconv::ukernels {

const PoolRowUkernels<double> f64_pool_rows_scalar =
    pool_row_ukernels<double, 2>("f64_pool_rows_scalar");

}  // namespace fastconv::ukernels
