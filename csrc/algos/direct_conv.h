// Direct convolution (portable blocking and packing around ukernels/conv_direct.h).
//
// Each image is copied once into a zero-padded, phase-split buffer
//   xs[c][pr][pc][i][j] = xpad[c][i*sh + pr][j*sw + pc],  rows of width Wj = ceil(Wpad / sw),
// so tap (r, s) reads xs[c][(r*dh) % sh][(s*dw) % sw] at ((r*dh)/sh)*Wj + (s*dw)/sw + oh*Wj + ow:
// contiguous in the flattened index p = oh*Wj + ow. One micro-kernel therefore serves every
// stride, dilation and padding; columns ow >= Wout of that grid are junk, dropped on copy-out.
// The input gradient is the same correlation over the zero-inserted grad_output with the
// transposed, flipped weights; the weight gradient is dot products over the same layout.
#pragma once

#include "ops/conv2d.h"

namespace fastconv::algos {

template <class T>
void direct_conv2d_forward(const ops::Conv2dParams& p, const T* x, const T* w, const T* bias,
                           T* y);
template <class T>
void direct_conv2d_input(const ops::Conv2dParams& p, const T* grad_output, const T* w, T* dx);
template <class T>
void direct_conv2d_weight(const ops::Conv2dParams& p, const T* x, const T* grad_output, T* dw);

}  // namespace fastconv::algos
