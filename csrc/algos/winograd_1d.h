// One-dimensional Winograd F(4, 4) along the width, forward ("winograd_1d").
//
// Split into its sw width phases, a kernel S wide at column stride sw is sw stride-1 kernels of
// at most ceil(S / sw) taps, and every row of such a kernel is a 1-D correlation along the
// width. With at most 4 taps a row, F(4, 4) (ukernels/winograd_1d.h) gives each 4 outputs of a
// row from 7 products where direct does 16: a 7x7 stride-2 kernel does 14 products per 4
// outputs of each input channel and kernel row against direct's 28. Everything else stays a sum,
// so for each of the 7 transform points p the products are one correlation
//   M_p[k][oh][t] = sum over (c, pc, r) of U_p[k][c, pc, r] * V_p[c, pc][oh * sh + r * dh][t]
// over the (input channel, width phase, kernel row) triples, with tile t's transformed inputs
// V_p in place of positions: the direct kernels' tile (ukernels/conv_direct.h) computes it from
// V laid out as their phase-split input (rows split by the row stride, so consecutive output rows
// are consecutive tiles), 7 tiles per block of outputs, and the output transform takes the 7 into
// 4 outputs per tile (y = A^T M + bias). Row stride, row dilation and padding cost nothing
// extra; the width's dilation is not taken.
//
// Work is split into (image, group, band of output rows) items, each transforming the input rows
// its band reads into a per-thread buffer sized for L2 (neighbouring bands re-transform the
// rows they share: (R - 1) * dh + 1 - sh of them).
//
// Accuracy: the transforms amplify rounding by their constants (up to 12 in B^T, 8 in A^T);
// README.md gives the measured error.
#pragma once

#include <cstdint>

#include "ops/conv2d.h"

namespace fastconv::algos {

// Why winograd_1d cannot run p (nullptr: it can): width stride 1 or 2, width dilation 1, and
// at most 4 taps a width phase (S <= 4 * sw).
const char* winograd_1d_declines(const ops::Conv2dParams& p);
// "auto" takes winograd_1d where it does at most half direct's multiplies, rows of 4 taps at
// stride 1 (7 products per 4 outputs against 16) and of 7 or 8 at stride 2 (14 against 28 or
// 32), over at least this many tiles (N * Ho * ceil(Wo / 4)): fewer do not repay the call's
// filter transform and bands. Measured with benchmarks/auto_choice.py, one thread, against the
// fastest other algorithm (direct): 7x7 stride 2 from 3 channels at 224x224 1.54x as fast at
// N=1 and 1.56x at N=8, at 112x112 1.3x and 1.48x, at 32x32 (64 tiles an image) 0.62x at N=1 and
// 1.03x at N=8 (512 tiles); from 16 channels at 56x56 (196 tiles an image) 0.99x and 1.37x; 4x4
// stride 1 on 64 channels at 56x56 1.34x and 1.44x. Below the multiplies' half it was no
// better than direct: 5x5 stride 2 (rows of 3 and 2 taps, 14 products against 20) 1.08x, 4x4
// stride 2 0.7x, 3x3 stride 1 from 3 channels 0.47x.
inline constexpr int64_t kWinograd1dAutoMinTiles = 512;
// Why "auto" should pass over a shape winograd_1d supports (nullptr: take it).
const char* winograd_1d_auto_declines(const ops::Conv2dParams& p);

template <class T>
void winograd_1d_conv2d_forward(const ops::Conv2dParams& p, const T* x, const T* w,
                                const T* bias, T* y);

}  // namespace fastconv::algos
