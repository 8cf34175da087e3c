// One-dimensional Winograd F(4, q) along the width, forward ("winograd_1d").
//
// A kernel row is one or two 1-D correlations along the width of at most 4 taps ("parts"): at
// width stride 2 its even and its odd columns, each a stride-1 correlation of the input's even
// or odd columns; at stride 1 its columns 0-3 and 4-7 (S <= 8 either way). A part of q taps runs
// F(4, q) (ukernels/winograd_1d.h): each 4 outputs of a row from 3 + q products where direct
// does 4q, so a 7x7 kernel does 7 + 6 products per 4 outputs of each input channel and kernel
// row against direct's 28. The tile sizes share their points and so their output transform:
// everything else stays a sum, and for each transform point p the products are one correlation
//   M_p[k][oh][t] = sum over (part i, c, r) of U_p[k][i, c, r] * V_p[i, c][oh * sh + r * dh][t]
// over the (part, input channel, kernel row) triples of the parts that have point p, with tile
// t's transformed inputs V_p in place of positions: the direct kernels' tile
// (ukernels/conv_direct.h) computes it from V laid out as their phase-split input (rows split by
// the row stride, so consecutive output rows are consecutive tiles), a tile per point for each
// block of outputs, and the output transform takes the points into 4 outputs per tile
// (y = A^T M + bias). Row stride, row dilation and padding cost nothing extra; the width's
// dilation is not taken.
//
// Work is split into (image, group, band of output rows) items, each transforming the input rows
// its band reads into a per-thread buffer sized for L2 (neighbouring bands re-transform the
// rows they share: (R - 1) * dh + 1 - sh of them).
//
// Accuracy: the transforms amplify rounding by their constants (up to 12 in B^T, 8 in A^T);
// README.md gives the measured error (about twice direct's).
#pragma once

#include <cstdint>

#include "ops/conv2d.h"
#include "runtime/workspace.h"
#include "ukernels/conv_direct.h"
#include "ukernels/winograd_1d.h"

namespace fastconv::algos {

// Why winograd_1d cannot run p (nullptr: it can): width stride 1 or 2, width dilation 1, and a
// kernel at most 8 wide.
const char* winograd_1d_declines(const ops::Conv2dParams& p);
// "auto" takes winograd_1d where it does under half direct's multiplies -- a part of q taps
// does 3 + q products per 4 outputs where direct does 4q: rows of 4 taps at stride 1 (7 against
// 16), of 7 or 8 at either stride (7 + 6 against 28, 7 + 7 against 32) -- with at least
// kWinograd1dAutoMinRows kernel rows, over at least kWinograd1dAutoMinTiles tiles (N * Ho *
// ceil(Wo / 4)): fewer do not repay the call's filter transform and bands. Measured with
// benchmarks/auto_choice.py, one thread, against the fastest other algorithm (direct but where
// said): 7x7 stride 2 from 3 channels at 224x224 1.54x as fast at N=1 and 1.56x at N=8, at
// 112x112 1.3x and 1.48x, at 32x32 (64 tiles an image) 0.62x at N=1 and 1.03x at N=8 (512
// tiles); from 16 channels at 56x56 (196 tiles an image) 0.99x and 1.37x, from 64 0.89x and
// 1.39x; 4x4 stride 1 on 64 channels at 56x56 1.32-1.34x and 1.43-1.44x; 7x7 stride 1 on 16-64
// channels at 56x56 1.40-1.45x at N=1 and 1.66-1.73x at N=8, on 128 at 17x17 (N=8) 1.45x
// against im2col. One kernel row shares each transformed input row with too few products
// (and narrow maps pay the transforms' partial vectors): 1x7 on 128-192 channels at 17x17 0.45x
// (N=1) and 0.79-0.85x (N=8) against im2col, on 3-64 channels at 56x56 and 224x224 0.74-1.1x.
// At half the multiplies or more it was no better: 5x5 stride 2 (6 + 5 against 20) from 3
// channels 1.09-1.18x but from 64 0.77-0.79x at N=1, 3x3 stride 1 (6 against 12) 0.38-0.95x,
// 3x3 stride 2 (5 + 4 against 12) 0.18-0.93x, 4x4 stride 2 0.8-0.95x.
inline constexpr int64_t kWinograd1dAutoMinRows = 4;
inline constexpr int64_t kWinograd1dAutoMinTiles = 512;
// Why "auto" should pass over a shape winograd_1d supports (nullptr: take it).
const char* winograd_1d_auto_declines(const ops::Conv2dParams& p);

// Transformed filters packed once for many calls (a Conv2dPlan keeps one). They depend on the
// conv's channels, groups, kernel and width stride, not on the batch or input size; the layout
// belongs to the ISA active when pack() ran, and runs use that ISA's kernels.
template <class T>
class Winograd1dWeights {
 public:
  void pack(const ops::Conv2dParams& p, const T* w);  // w: (K, C / groups, R, S)
  bool empty() const { return data_ == nullptr; }
  const T* data() const { return data_; }
  const ukernels::ConvDirectUkernel<T>& tile_ukernel() const { return *conv_; }
  const ukernels::Winograd1dUkernels<T>& transforms() const { return *transforms_; }

 private:
  const ukernels::ConvDirectUkernel<T>* conv_ = nullptr;
  const ukernels::Winograd1dUkernels<T>* transforms_ = nullptr;
  AlignedBuffer buf_;
  T* data_ = nullptr;
};

template <class T>
void winograd_1d_conv2d_forward(const ops::Conv2dParams& p, const T* x,
                                const Winograd1dWeights<T>& w, const T* bias, T* y);
// Transforms w into a per-thread buffer kept between calls, then runs.
template <class T>
void winograd_1d_conv2d_forward(const ops::Conv2dParams& p, const T* x, const T* w,
                                const T* bias, T* y);

}  // namespace fastconv::algos
