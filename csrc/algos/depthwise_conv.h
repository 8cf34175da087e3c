// Convolution with few input channels per group (depthwise: one), one pass over memory: each
// group's input planes are zero-padded into a per-thread buffer (in cache) and every output
// plane of the group is computed from it by ukernels/dwconv.h, vectorised along the output
// width (stride 1: along the whole flattened plane). Threads take (image, group) pairs.
#pragma once

#include <cstdint>

#include "ops/conv2d.h"

namespace fastconv::algos {

// The shapes this algorithm takes: at most this many input channels per group and output
// channels per group. Beyond them the register-blocked kernels reuse each input load across
// many output channels and win (benchmarks/bench_depthwise.py, its cg* and mult* sweeps,
// measures the crossover on this machine: at 28x28, N=8, 1 thread, Cg=2 ran 1.6x faster
// than direct and Cg=4 0.85x; a multiplier of 4 about even, 8 at 0.6x).
constexpr int64_t kDepthwiseMaxInputsPerGroup = 2;
constexpr int64_t kDepthwiseMaxOutputsPerGroup = 4;

// Why p exceeds the forward's channel limits, or null.
const char* depthwise_forward_declines(const ops::Conv2dParams& p);
template <class T>
void depthwise_conv2d_forward(const ops::Conv2dParams& p, const T* x, const T* w, const T* bias,
                              T* y);

// The input gradient as the forward conv of grad_output (with stride - 1 zeros between its rows
// and columns) by the flipped kernels, each group's input and output channels swapped: so it
// takes at most kDepthwiseMaxInputsPerGroup output channels per group of p and at most
// kDepthwiseMaxOutputsPerGroup input channels, and padding no wider than the dilated kernel.
// A strided, undilated depthwise kernel (one channel per group each way) goes by stride phases
// instead, each a stride-1 correlation of grad_output as it lies with the taps that land on
// that phase of dx (a quarter of the multiply-adds at stride 2). Why p does not fit, or null.
const char* depthwise_input_declines(const ops::Conv2dParams& p);
template <class T>
void depthwise_conv2d_input(const ops::Conv2dParams& p, const T* gy, const T* w, const T* bias,
                            T* dx);

// The weight gradient: per group, image by image, the group's input planes padded as the
// forward pads them (split into stride phases where strided), each output channel's
// grad_output laid out along the same flat run, and one dot product of the two runs per tap.
// Threads take whole groups (disjoint slices of dw). Takes the forward's channel limits and
// strides equal both ways where dilated. Why p does not fit it, or null.
const char* depthwise_weight_declines(const ops::Conv2dParams& p);
template <class T>
void depthwise_conv2d_weight(const ops::Conv2dParams& p, const T* x, const T* gy, T* dw);

}  // namespace fastconv::algos
