// im2col + GEMM convolution, forward and both gradients, on the packed GEMM of csrc/gemm/.
//
// Per image n and group g the forward conv is one GEMM
//   y[n,g] (Kg x Ho*Wo) = W_g (Kg x Cg*R*S) * col (Cg*R*S x Ho*Wo),
//   col[(c*R + r)*S + s][oh*Wo + ow] = x_padded[c][oh*sh + r*dh][ow*sw + s*dw].
// The input gradient is dcol = W_g^T * grad_output[n,g] scattered back by col2im, the weight
// gradient dW_g = sum_n grad_output[n,g] * col^T. A 1x1, stride-1, unpadded conv needs no col
// matrix: the GEMMs run on the NCHW planes directly (but for the forward on maps of at most
// kIm2colPointwiseBatchMaxPositions, which runs images side by side like other small maps).
//
// Workspace bound (per thread; buffers are kept per thread and reused across calls). Work is
// cut into tiles of at most kIm2colTileColumns output positions (whole output rows, at least
// one row). Every op uses the GEMM's packing buffers (one KC x NC block of B, one MC x KC block
// of A, fixed by the cache sizes, csrc/gemm/gemm.h). Beyond that:
//  - forward: nothing; B panels are packed straight from the image (gemm::PanelSource). Maps
//    of fewer than kIm2colTileColumns positions run whole images per GEMM into an output block
//    that is copied out: Kg * batch * Ho * Wo elements, batch * Ho * Wo at most
//    kIm2colTileColumns.
//  - input gradient: one dcol tile of at most max(kIm2colInputTileBytes, Cg*R*S*Wo*sizeof(T))
//    bytes; tiles of at most kIm2colInputFewColumns columns use a second one of the same size.
//    A call whose images all fit one tile (N*Ho*Wo <= kIm2colTileColumns), with at most
//    kIm2colInputByChannelsMaxBytes of grad_output per group, instead packs grad_output^T
//    (N*Ho*Wo x Kg elements) and uses one chunk of dcol^T of at most
//    max(kIm2colInputChunkBytes, N*Ho*Wo*R*S*sizeof(T)) bytes.
//  - weight gradient: a channels-last copy of the input rows one tile reads, at most
//    (rows*sh + (R-1)*dh) * W * Cg elements for rows = max(1, kIm2colTileColumns / Wo) (none for
//    a 1x1 conv: both operands are read as they lie), and one dW-sized partial per thread.
//    Maps of fewer than kIm2colTileColumns positions are summed several whole images per GEMM:
//    batch * H * W * Cg elements, batch * Ho * Wo at most kIm2colTileColumns.
// Calls without a plan also keep the packed weights of their last call per thread (a plan
// keeps its own). _core.im2col_last_tile_bytes() reports the tile/slab bytes of the last call
// (0: none).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gemm/gemm.h"
#include "ops/conv2d.h"
#include "runtime/cpu.h"

namespace fastconv::algos {

inline constexpr int64_t kIm2colTileBytes = 4 << 20;
// A 1x1 forward batches images into one GEMM only on maps this small (im2col_gemm.cc).
inline constexpr int64_t kIm2colPointwiseBatchMaxPositions = 64;
// The input gradient's dcol tile: small enough that col2im reads it back from L2 (kL2Bytes).
// 4 MiB tiles went out to L3 and back: dcgan_g3 at N=8 spent 19% of its time in col2im, and
// ran 9-15% slower than with 1 MiB tiles.
inline constexpr int64_t kIm2colInputTileBytes = kL2Bytes;
inline constexpr int64_t kIm2colTileColumns = 512;
// Input-gradient tiles of at most this many columns multiply grad_output^T by W rather than W^T
// by grad_output, sparing the per-call transposed packing of W (measured in
// benchmarks/auto_choice.py on the DCGAN generator's first layers).
inline constexpr int64_t kIm2colInputFewColumns = 16;
// A call whose images all fit one tile multiplies grad_output^T by W in chunks of whole
// channels, each chunk's dcol^T at most this many bytes (or one channel's): half of L2, beside
// grad_output^T (at most a quarter, below). W is then read row by row, once per call, where
// packing W^T reads MR elements from each row in turn. Measured, dcgan_g2 at N=8 on one
// thread: 4.04 ms with chunks of L2, 4.02 with L2/2, 4.08 with L2/4 (4.4-4.8 through W^T).
inline constexpr int64_t kIm2colInputChunkBytes = kL2Bytes / 2;
// ... when grad_output^T, packed once and read again by every chunk, is at most this many
// bytes; larger, W^T packed once wins (and needs no transpose): the input gradients of
// dcgan_d3 and dcgan_g3 at N=8 (512 columns, 512 KiB) ran 3.69 -> 3.91 and 4.06 -> 4.12 ms
// on one thread in chunks.
inline constexpr int64_t kIm2colInputByChannelsMaxBytes = kL2Bytes / 4;

// True when the conv is a plain matrix product on NCHW (1x1 kernel, stride 1, no padding).
bool im2col_is_pointwise(const ops::Conv2dParams& p);
// Output rows per tile: the unit of work and, for the input gradient, of the dcol buffer (tiles
// of col are then at most max_bytes, unless one row is more).
int64_t im2col_tile_rows(const ops::Conv2dParams& p, size_t elem,
                         int64_t max_bytes = kIm2colTileBytes);
// Whether the weight gradient sums several whole images per GEMM (maps smaller than a tile).
bool im2col_weight_batches_images(const ops::Conv2dParams& p, size_t elem);
// The tile size used by the most recent im2col call (any op, any thread).
int64_t im2col_last_tile_bytes();

// Forward weights per group as GEMM left operands: packed once (Conv2dPlan keeps one), or read
// in place by the micro-kernels (a plan-less call too small to amortise the packing pass).
template <class T>
struct Im2colWeights {
  std::vector<gemm::PackedA<T>> groups;
  // in_place: refer to w (which must outlive the calls) instead of packing it.
  void pack(const ops::Conv2dParams& p, const T* w, bool in_place = false);
};

template <class T>
void im2col_conv2d_forward(const ops::Conv2dParams& p, const T* x, const Im2colWeights<T>& w,
                           const T* bias, T* y);
template <class T>
void im2col_conv2d_forward(const ops::Conv2dParams& p, const T* x, const T* w, const T* bias, T* y);
template <class T>
void im2col_conv2d_input(const ops::Conv2dParams& p, const T* grad_output, const T* w,
                         const T* bias, T* dx);
template <class T>
void im2col_conv2d_weight(const ops::Conv2dParams& p, const T* x, const T* grad_output, T* dw);

}  // namespace fastconv::algos
