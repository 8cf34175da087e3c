// Pooling ops: max/min (with indices), average, and their backward passes, on NCHW planes.
// One algorithm each (a pass over memory vectorised along w, threaded over N*C planes), so there
// is no candidate list here; the checks guard the C++ boundary (Python validated the user's input).
#pragma once

#include <cstdint>

namespace fastconv::ops {

struct PoolParams {
  int64_t N, C, H, W;   // input
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
  int64_t Ho, Wo;       // given by the caller (ceil_mode already folded in)
};

// Throws std::invalid_argument (ValueError) for sizes the kernels cannot index safely.
void check_pool_params(const PoolParams& p, const char* op);

// idx may be null (indices not wanted).
template <class T>
void max_pool2d(const PoolParams& p, const T* x, T* y, int64_t* idx, bool is_min);
// dx (N, C, H, W) = scatter-add of gy at idx; indices outside the plane are ignored.
template <class T>
void max_pool2d_backward(const PoolParams& p, const T* gy, const int64_t* idx, T* dx);
// divisor_override != 0 replaces the divisor (negative included, as torch).
template <class T>
void avg_pool2d(const PoolParams& p, const T* x, T* y, bool count_include_pad,
                int64_t divisor_override);
template <class T>
void avg_pool2d_backward(const PoolParams& p, const T* gy, T* dx, bool count_include_pad,
                         int64_t divisor_override);

}  // namespace fastconv::ops
