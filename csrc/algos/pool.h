// Pooling over NCHW planes: the plane loops behind ops/pool.h. Each output row is split into the
// windows clipped at its two ends (a short scalar loop) and the interior run, which goes to the
// ISA's row micro-kernel (ukernels/pool.h). Threads take whole (n, c) planes: the backward
// scatter-adds stay inside a plane, so there are no races and no atomics.
#pragma once

#include <cstdint>

#include "ops/pad.h"
#include "ops/pool.h"

namespace fastconv::algos {

template <class T>
void max_pool2d_planes(const ops::PoolParams& p, const T* x, T* y, int64_t* idx, bool is_min);
template <class T>
void max_pool2d_backward_planes(const ops::PoolParams& p, const T* gy, const int64_t* idx, T* dx);
template <class T>
void avg_pool2d_planes(const ops::PoolParams& p, const T* x, T* y, bool count_include_pad,
                       int64_t divisor_override);
template <class T>
void avg_pool2d_backward_planes(const ops::PoolParams& p, const T* gy, T* dx,
                                bool count_include_pad, int64_t divisor_override);

template <class T>
void pad_planes(const ops::PadParams& p, const T* x, T* y, T value);

}  // namespace fastconv::algos
