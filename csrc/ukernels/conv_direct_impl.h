// The direct-convolution micro-kernel algorithm, shared by every ISA. Include only from a file
// under csrc/ukernels/<isa>/, after that ISA's traits header (simd_<isa>.h): everything here is
// a template in an anonymous namespace, instantiated with the file's internal-linkage traits,
// so no inline function compiled with ISA flags can leak into portable code.
//
// Traits Tr: T (scalar), V (vector), L (lanes), zero(), load(p), store(p, v), bcast(p),
// fma(a, b, c) = a * b + c, hsum(v).
#pragma once

#include "ukernels/conv_direct.h"

// Constant-trip loops are unrolled before scalar replacement so the accumulator arrays live in
// registers (without it GCC keeps storing them to the stack every iteration).
#define FASTCONV_UNROLL _Pragma("GCC unroll 32")

namespace fastconv::ukernels {
namespace {

// Stores vector v of every channel row into the NCHW output: its lanes split at the grid's row
// ends into runs of consecutive output columns, each one masked store (the junk columns
// between runs are masked off).
template <class Tr, int KB>
inline void store_to_output(const ConvTileArgs<typename Tr::T>& a, const typename Tr::V* acc_v,
                            int64_t stride_v, int64_t row, int64_t col) {
  constexpr int L = Tr::L;
  int lane = 0;
  while (lane < L && row < a.out_rows) {
    const int64_t in_row = a.grid_width - col;  // lanes [lane, lane + in_row) lie in `row`
    const int64_t keep = col < a.out_width ? a.out_width - col : 0;
    const int64_t end = lane + keep < L ? lane + keep : L;
    if (end > lane) {
      const unsigned mask = ((1u << end) - 1u) & ~((1u << lane) - 1u);
      // lane l holds column col + l - lane; the base may precede the plane, masked lanes don't.
      typename Tr::T* base = a.y + row * a.out_width + col - lane;
      FASTCONV_UNROLL
      for (int k = 0; k < KB; ++k)
        if (k < a.kvalid) Tr::store_masked(base + k * a.y_stride, mask, acc_v[k * stride_v]);
    }
    lane += static_cast<int>(in_row < L ? in_row : L);
    ++row;
    col = 0;
  }
}

// KB output channels x NV vectors of flattened output positions, accumulated in registers over
// every (channel, tap); one vector load per position vector, one broadcast per channel.
// ToOutput: stored into the NCHW output with the bias (tile_to_output), else into the grid.
template <class Tr, int KB, int NV, bool ToOutput>
inline void conv_tile_fixed(const ConvTileArgs<typename Tr::T>& a) {
  using T = typename Tr::T;
  using V = typename Tr::V;
  V acc[KB][NV];
  FASTCONV_UNROLL
  for (int k = 0; k < KB; ++k) {
    const V init = ToOutput && a.bias && k < a.kvalid ? Tr::bcast(a.bias + k) : Tr::zero();
    FASTCONV_UNROLL
    for (int v = 0; v < NV; ++v) acc[k][v] = init;
  }
  const T* w = a.w;
  const int64_t taps = a.taps;
  const int64_t* tap_off = a.tap_off;
  for (int64_t c = 0; c < a.channels; ++c) {
    const T* xc = a.x + c * a.x_cstride;
    for (int64_t t = 0; t < taps; ++t) {
      const T* xp = xc + tap_off[t];
      // The next channel's rows, every line of them: the hardware prefetchers do not follow
      // the channel stride (the first and last line only left the middle ones to miss:
      // r50_3x3s2_128@56's tiles in a harness 162-173 -> 171-184 GFLOP/s).
      FASTCONV_UNROLL
      for (int v = 0; v < NV; ++v) __builtin_prefetch(xp + a.x_cstride + v * Tr::L);
      __builtin_prefetch(xp + a.x_cstride + NV * Tr::L - 1);
      V xv[NV];
      FASTCONV_UNROLL
      for (int v = 0; v < NV; ++v) xv[v] = Tr::load(xp + v * Tr::L);
      FASTCONV_UNROLL
      for (int k = 0; k < KB; ++k) {
        V wk = Tr::bcast(w + k);
        FASTCONV_UNROLL
        for (int v = 0; v < NV; ++v) acc[k][v] = Tr::fma(wk, xv[v], acc[k][v]);
      }
      w += KB;
    }
  }
  if constexpr (ToOutput) {
    int64_t row = a.row, col = a.col;
    FASTCONV_UNROLL
    for (int v = 0; v < NV; ++v) {
      store_to_output<Tr, KB>(a, &acc[0][v], NV, row, col);
      for (col += Tr::L; col >= a.grid_width; col -= a.grid_width) ++row;
    }
  } else {
    FASTCONV_UNROLL
    for (int k = 0; k < KB; ++k)
      FASTCONV_UNROLL
      for (int v = 0; v < NV; ++v) Tr::store(a.y + k * a.y_stride + v * Tr::L, acc[k][v]);
  }
}

// Picks the number of position vectors for npos (the last tile of a row range may be short).
template <class Tr, int KB, int NV, bool ToOutput = false>
inline void conv_tile(const ConvTileArgs<typename Tr::T>& a) {
  if constexpr (NV > 1) {
    if (a.npos <= (NV - 1) * Tr::L) {
      conv_tile<Tr, KB, NV - 1, ToOutput>(a);
      return;
    }
  }
  conv_tile_fixed<Tr, KB, NV, ToOutput>(a);
}

// out[i][j] += dot(a[i], b[j]) for KA x NB rows of length len (a multiple of L).
template <class Tr, int KA, int NB>
inline void conv_dot(const ConvDotArgs<typename Tr::T>& d) {
  using T = typename Tr::T;
  using V = typename Tr::V;
  V acc[KA][NB];
  FASTCONV_UNROLL
  for (int i = 0; i < KA; ++i)
    FASTCONV_UNROLL
    for (int j = 0; j < NB; ++j) acc[i][j] = Tr::zero();
  const T* ap[KA];
  const T* bp[NB];
  FASTCONV_UNROLL
  for (int i = 0; i < KA; ++i) ap[i] = d.a[i];
  FASTCONV_UNROLL
  for (int j = 0; j < NB; ++j) bp[j] = d.b[j];
  for (int64_t l = 0; l < d.len; l += Tr::L) {
    V bv[NB];
    FASTCONV_UNROLL
    for (int j = 0; j < NB; ++j) bv[j] = Tr::load(bp[j] + l);
    FASTCONV_UNROLL
    for (int i = 0; i < KA; ++i) {
      V av = Tr::load(ap[i] + l);
      FASTCONV_UNROLL
      for (int j = 0; j < NB; ++j) acc[i][j] = Tr::fma(av, bv[j], acc[i][j]);
    }
  }
  FASTCONV_UNROLL
  for (int i = 0; i < KA; ++i)
    FASTCONV_UNROLL
    for (int j = 0; j < NB; ++j) d.out[i * NB + j] += Tr::hsum(acc[i][j]);
}

}  // namespace
}  // namespace fastconv::ukernels
