// Direct convolution (portable blocking and packing around ukernels/conv_direct.h).
//
// Each image is copied once into a zero-padded, phase-split buffer
//   xs[c][pr][pc][i][j] = xpad[c][i*sh + pr][j*sw + pc],  rows of width Wj = ceil(Wpad / sw),
// so tap (r, s) reads xs[c][(r*dh) % sh][(s*dw) % sw] at ((r*dh)/sh)*Wj + (s*dw)/sw + oh*Wj + ow:
// contiguous in the flattened index p = oh*Wj + ow. One micro-kernel therefore serves every
// stride, dilation and padding; columns ow >= Wout of that grid are junk, dropped on copy-out.
// The input gradient is the same correlation with the transposed, flipped weights: for a
// strided, undilated kernel one per stride phase of the input, each over grad_output as it lies
// with the taps that land on that phase, the phases then interleaved; otherwise one over the
// zero-inserted grad_output. The weight gradient is dot products over the forward's layout.
#pragma once

#include "ops/conv2d.h"
#include "ukernels/conv_direct.h"

namespace fastconv::algos {

// The forward tile micro-kernel of the active ISA (also run by algos/winograd_1d.cc).
template <class T>
const ukernels::ConvDirectUkernel<T>& direct_ukernel();

template <class T>
void direct_conv2d_forward(const ops::Conv2dParams& p, const T* x, const T* w, const T* bias,
                           T* y);
// Whether direct_conv2d_input goes by stride phases (strided and undilated).
bool direct_input_by_phases(const ops::Conv2dParams& p);
template <class T>
void direct_conv2d_input(const ops::Conv2dParams& p, const T* grad_output, const T* w,
                         const T* bias, T* dx);
template <class T>
void direct_conv2d_weight(const ops::Conv2dParams& p, const T* x, const T* grad_output, T* dw);

}  // namespace fastconv::algos
