#include "ops/pool.h"

#include <stdexcept>
#include <string>

#include "algos/pool.h"

namespace fastconv::ops {

void check_pool_params(const PoolParams& p, const char* op) {
  auto bad = [op](const std::string& m) {
    throw std::invalid_argument(std::string(op) + ": " + m);
  };
  if (p.N < 0 || p.C < 0 || p.H < 1 || p.W < 1) bad("input sizes must be positive");
  if (p.kh < 1 || p.kw < 1 || p.sh < 1 || p.sw < 1 || p.dh < 1 || p.dw < 1)
    bad("kernel, stride and dilation must be >= 1");
  if (p.ph < 0 || p.pw < 0) bad("padding must be >= 0");
  if (p.Ho < 1 || p.Wo < 1) bad("output sizes must be positive");
  // Every window must start before the end of the padded input (ceil_mode's rule), so no
  // window lies entirely in the padding.
  if ((p.Ho - 1) * p.sh >= p.H + p.ph || (p.Wo - 1) * p.sw >= p.W + p.pw)
    bad("output size too large for the input");
}

template <class T>
void max_pool2d(const PoolParams& p, const T* x, T* y, int64_t* idx, bool is_min) {
  algos::max_pool2d_planes(p, x, y, idx, is_min);
}
template <class T>
void max_pool2d_backward(const PoolParams& p, const T* gy, const int64_t* idx, T* dx) {
  algos::max_pool2d_backward_planes(p, gy, idx, dx);
}
template <class T>
void avg_pool2d(const PoolParams& p, const T* x, T* y, bool count_include_pad,
                int64_t divisor_override) {
  algos::avg_pool2d_planes(p, x, y, count_include_pad, divisor_override);
}
template <class T>
void avg_pool2d_backward(const PoolParams& p, const T* gy, T* dx, bool count_include_pad,
                         int64_t divisor_override) {
  algos::avg_pool2d_backward_planes(p, gy, dx, count_include_pad, divisor_override);
}

#define FASTCONV_INSTANTIATE(T)                                                               \
  template void max_pool2d<T>(const PoolParams&, const T*, T*, int64_t*, bool);              \
  template void max_pool2d_backward<T>(const PoolParams&, const T*, const int64_t*, T*);     \
  template void avg_pool2d<T>(const PoolParams&, const T*, T*, bool, int64_t);               \
  template void avg_pool2d_backward<T>(const PoolParams&, const T*, T*, bool, int64_t);
FASTCONV_INSTANTIATE(float)
FASTCONV_INSTANTIATE(double)
#undef FASTCONV_INSTANTIATE

}  // namespace fastconv::ops
