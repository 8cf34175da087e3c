// im2col + GEMM convolution, forward and both gradients, on the packed GEMM of csrc/gemm/.
//
// Per image n and group g the forward conv is one GEMM
//   y[n,g] (Kg x Ho*Wo) = W_g (Kg x Cg*R*S) * col (Cg*R*S x Ho*Wo),
//   col[(c*R + r)*S + s][oh*Wo + ow] = x_padded[c][oh*sh + r*dh][ow*sw + s*dw].
// The input gradient is dcol = W_g^T * grad_output[n,g] scattered back by col2im, the weight
// gradient dW_g = sum_n grad_output[n,g] * col^T. A 1x1, stride-1, unpadded conv needs no col
// matrix: the GEMMs run on the NCHW planes directly.
//
// Workspace bound. The forward and weight-gradient GEMMs never build col: their B panels are
// packed straight from the image (gemm::PanelSource), so they need only the GEMM's packing
// buffers (one KC x NC block of B, one MC x KC block of A per thread, fixed by the cache sizes,
// csrc/gemm/gemm.h) plus, for the weight gradient, one partial dW (K*Cg*R*S elements) per
// extra thread. The input gradient materialises dcol one tile of output rows at a time (about
// kIm2colTileColumns output positions per tile); a tile holds at most
//     max(kIm2colTileBytes, Cg*R*S*Wo*sizeof(T))  bytes
// (one output row is the smallest tile), one tile buffer per thread, reused across calls.
// im2col_tile_bytes() is that per-thread size; _core.im2col_last_tile_bytes() reports the size
// the last call used (0 when no col tile was needed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gemm/gemm.h"
#include "ops/conv2d.h"

namespace fastconv::algos {

inline constexpr int64_t kIm2colTileBytes = 4 << 20;
inline constexpr int64_t kIm2colTileColumns = 512;

// True when the conv is a plain matrix product on NCHW (1x1 kernel, stride 1, no padding).
bool im2col_is_pointwise(const ops::Conv2dParams& p);
// Output rows per tile (the unit of work and, for the input gradient, of the dcol buffer), and
// the bytes of one dcol tile buffer (0 for pointwise convs).
int64_t im2col_tile_rows(const ops::Conv2dParams& p, size_t elem);
int64_t im2col_tile_bytes(const ops::Conv2dParams& p, size_t elem);
// The tile size used by the most recent im2col call (any op, any thread).
int64_t im2col_last_tile_bytes();

// Forward weights packed once per group as GEMM left operands (Conv2dPlan keeps one).
template <class T>
struct Im2colWeights {
  std::vector<gemm::PackedA<T>> groups;
  void pack(const ops::Conv2dParams& p, const T* w);
};

template <class T>
void im2col_conv2d_forward(const ops::Conv2dParams& p, const T* x, const Im2colWeights<T>& w,
                           const T* bias, T* y);
template <class T>
void im2col_conv2d_forward(const ops::Conv2dParams& p, const T* x, const T* w, const T* bias, T* y);
template <class T>
void im2col_conv2d_input(const ops::Conv2dParams& p, const T* grad_output, const T* w, T* dx);
template <class T>
void im2col_conv2d_weight(const ops::Conv2dParams& p, const T* x, const T* grad_output, T* dw);

}  // namespace fastconv::algos
