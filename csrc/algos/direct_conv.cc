#include "algos/direct_conv.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <vector>

#include "algos/interleave.h"
#include "runtime/cpu.h"
#include "runtime/parallel.h"
#include "ukernels/conv_direct.h"

namespace fastconv::algos {
namespace {

using ops::Conv2dParams;
using ukernels::ConvDirectUkernel;

template <class T>
const ConvDirectUkernel<T>& pick_ukernel();

template <>
const ConvDirectUkernel<float>& pick_ukernel<float>() {
  using namespace ukernels;
  static const ConvDirectUkernel<float> k[] = {
      {"f32_conv_direct_4x12_scalar", 4, 12, 4, f32_conv_direct_4x12_scalar, nullptr, 4, 3,
       "f32_conv_dot_4x3_scalar", f32_conv_dot_4x3_scalar, nullptr},
      {"f32_conv_direct_4x24_avx2", 4, 24, 8, f32_conv_direct_4x24_avx2, nullptr, 4, 3,
       "f32_conv_dot_4x3_avx2", f32_conv_dot_4x3_avx2, f32_split_rows_s2_avx2},
      {"f32_conv_direct_8x48_avx512", 8, 48, 16, f32_conv_direct_8x48_avx512,
       f32_conv_direct_8x48_avx512_to_output, 4, 5,
       "f32_conv_dot_4x5_avx512", f32_conv_dot_4x5_avx512, f32_split_rows_s2_avx512},
  };
  return k[static_cast<int>(active_isa())];
}

template <>
const ConvDirectUkernel<double>& pick_ukernel<double>() {
  using namespace ukernels;
  static const ConvDirectUkernel<double> k[] = {
      {"f64_conv_direct_4x6_scalar", 4, 6, 2, f64_conv_direct_4x6_scalar, nullptr, 4, 3,
       "f64_conv_dot_4x3_scalar", f64_conv_dot_4x3_scalar, nullptr},
      {"f64_conv_direct_4x12_avx2", 4, 12, 4, f64_conv_direct_4x12_avx2, nullptr, 4, 3,
       "f64_conv_dot_4x3_avx2", f64_conv_dot_4x3_avx2, f64_split_rows_s2_avx2},
      {"f64_conv_direct_8x24_avx512", 8, 24, 8, f64_conv_direct_8x24_avx512,
       f64_conv_direct_8x24_avx512_to_output, 4, 5,
       "f64_conv_dot_4x5_avx512", f64_conv_dot_4x5_avx512, f64_split_rows_s2_avx512},
  };
  return k[static_cast<int>(active_isa())];
}

// Growable per-calling-thread scratch (no zero fill, no page faults once warm). Slot i holds
// one buffer; the parallel regions use pointers from the calling thread's slots.
template <class T>
T* scratch(int slot, size_t n) {
  struct Buf {
    void* p = nullptr;
    size_t bytes = 0;
    ~Buf() { std::free(p); }
  };
  thread_local Buf bufs[4];
  Buf& b = bufs[slot];
  const size_t need = (n * sizeof(T) + 63) / 64 * 64;
  if (b.bytes < need) {
    std::free(b.p);
    b.p = std::aligned_alloc(64, need);
    if (!b.p) throw std::bad_alloc();
    b.bytes = need;
  }
  return static_cast<T*>(b.p);
}

// The most stride phases direct_input_by_phases takes (strides up to 8 x 8).
constexpr int64_t kMaxInputPhases = 64;

// Output grid per chunk of images: small enough to be re-read from cache (L2 + a share of L3).
constexpr int64_t kGridChunkBytes = 4 << 20;

// Four digits, d[0] fastest, counting through items in order.
struct Odometer {
  using Radices = std::array<int64_t, 4>;
  Radices r, d;
  Odometer(int64_t item, const Radices& radices) : r(radices) {
    for (int k = 0; k < 4; ++k) {
      d[k] = item % r[k];
      item /= r[k];
    }
  }
  void next() {
    for (int k = 0; k < 4 && ++d[k] == r[k]; ++k) d[k] = 0;
  }
};

// A correlation problem on the phase-split layout (the forward conv, or the input gradient
// seen as a stride-1 correlation of the zero-inserted grad_output).
struct Corr {
  int64_t N, G, Cg, Kg;      // images, groups, input / output channels per group
  int64_t Hp, Wp;            // padded input
  int64_t sh, sw, dh, dw, R, S;
  int64_t Ho, Wo;            // output
  int64_t Hi, Wj, plane, cstride;
  std::vector<int64_t> tap_off;

  void finish() {
    Hi = (Hp + sh - 1) / sh;
    Wj = (Wp + sw - 1) / sw;
    plane = Hi * Wj;
    cstride = sh * sw * plane;
    tap_off.resize(R * S);
    for (int64_t r = 0; r < R; ++r)
      for (int64_t s = 0; s < S; ++s)
        tap_off[r * S + s] = (((r * dh) % sh) * sw + (s * dw) % sw) * plane +
                             ((r * dh) / sh) * Wj + (s * dw) / sw;
  }
};


// Where the padded input comes from: padded coordinate u maps to the (zero-inserted by up)
// source index z = u - off; z % up != 0 or z outside [0, Hs*up) reads 0.
struct Src {
  int64_t Hs, Ws, up_h, up_w, off_h, off_w;
};

// dst[j] = src[j * stride]. The common stride 2 as a constant lets the compiler turn the
// gather into vector shuffles (a scalar loop was ~12% of a stride-2 3x3 layer's time).
// kStride = 0: the stride given at run time.
template <class T, int64_t kStride = 0>
void strided_copy(T* __restrict dst, const T* __restrict src, int64_t n, int64_t stride) {
  const int64_t st = kStride ? kStride : stride;
  for (int64_t j = 0; j < n; ++j) dst[j] = src[j * st];
}

// row[j] = src[j - j0] for j0 <= j < j1, else 0 (j < width). Loops, not memcpy and memset: the
// rows are often a few vectors long, where the calls cost more than the copy (a 4x4 stride-2
// transposed conv from 14x14 maps at N=8 spent 19% of its time on the padded copy with them,
// 11% with loops).
template <class T>
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void padded_row(
    T* __restrict row, const T* __restrict src, int64_t j0, int64_t j1, int64_t width) {
  for (int64_t j = 0; j < j0; ++j) row[j] = T(0);
  for (int64_t j = j0; j < j1; ++j) row[j] = src[j - j0];
  for (int64_t j = j1; j < width; ++j) row[j] = T(0);
}

// xs[n][c][pr][pc][i][j] for all N * G * Cg channels, plus zeroed slack for over-reads. Which
// source row feeds each phase row, and which columns of a phase row read the source (the rest
// is padding), is the same for every channel: worked out once per call (per row, with its
// divisions, it was 40% of a small layer's call: odd_7-5_3x3s2, N=1).
template <class T>
T* phase_split(const Corr& q, const Src& s, const T* src, int64_t max_pos,
               void (*split_rows_s2)(const ukernels::SplitRowsArgs<T>&)) {
  const int64_t nch = q.N * q.G * q.Cg;
  T* xs = scratch<T>(0, static_cast<size_t>(nch * q.cstride + q.cstride + 2 * max_pos + 64));
  std::memset(xs + nch * q.cstride, 0,
              sizeof(T) * static_cast<size_t>(q.cstride + 2 * max_pos + 64));
  // Source row of phase row (pr, i), or -1 for padding (or a zero inserted by up_h).
  std::vector<int64_t> src_row(q.sh * q.Hi);
  for (int64_t pr = 0; pr < q.sh; ++pr)
    for (int64_t i = 0; i < q.Hi; ++i) {
      const int64_t u = i * q.sh + pr, z = u - s.off_h;
      const bool inside = u < q.Hp && z >= 0 && z % s.up_h == 0 && z / s.up_h < s.Hs;
      src_row[pr * q.Hi + i] = inside ? z / s.up_h : -1;
    }
  if (split_rows_s2 && q.sw == 2 && s.up_w == 1) {
    // Source row z feeds the even-column phase row dst_off[z] (and the odd one a plane on);
    // phase rows that no source row feeds are padding, zeroed here.
    std::vector<int64_t> dst_off(s.Hs, -1), zero_rows;
    for (int64_t pr = 0; pr < q.sh; ++pr)
      for (int64_t i = 0; i < q.Hi; ++i) {
        const int64_t z = src_row[pr * q.Hi + i], off = 2 * pr * q.plane + i * q.Wj;
        if (z >= 0) dst_off[z] = off;
        else zero_rows.push_back(off);
      }
    const int64_t lo = std::max<int64_t>(0, s.off_w), hi = std::min(q.Wp, s.off_w + s.Ws);
    parallel_for_cost(nch, stream_ns(2.0 * nch * q.cstride * sizeof(T)), [&](int64_t nc) {
      T* dst = xs + nc * q.cstride;
      for (const int64_t off : zero_rows)
        for (int64_t j = 0; j < q.Wj; ++j) dst[off + j] = dst[off + q.plane + j] = T(0);
      split_rows_s2({src + nc * s.Hs * s.Ws, s.Ws, s.Hs, dst, q.plane, dst_off.data(), s.off_w,
                     lo, std::max(lo, hi), q.Wj});
    });
    return xs;
  }
  // Without zero insertion in width (up_w == 1): phase column pc's columns [j0, j1) read the
  // source row from column first on, sw apart.
  struct Cols {
    int64_t j0, j1, first;
  };
  std::vector<Cols> cols(q.sw);
  for (int64_t pc = 0; pc < q.sw; ++pc) {
    const int64_t lo = s.off_w - pc, hi = std::min(q.Wp, s.off_w + s.Ws) - pc;
    const int64_t j0 = std::min(q.Wj, lo > 0 ? (lo + q.sw - 1) / q.sw : 0);
    const int64_t j1 = std::max(j0, std::min(q.Wj, hi > 0 ? (hi + q.sw - 1) / q.sw : 0));
    cols[pc] = {j0, j1, j0 * q.sw + pc - s.off_w};
  }
  parallel_for_cost(nch, stream_ns(2.0 * nch * q.cstride * sizeof(T)), [&](int64_t nc) {
    const T* sp = src + nc * s.Hs * s.Ws;
    if (q.sh == 1 && q.sw == 1 && s.up_w == 1) {  // a zero-padded copy: one phase
      const Cols c = cols[0];
      T* row = xs + nc * q.cstride;
      for (int64_t i = 0; i < q.Hi; ++i, row += q.Wj) {
        const int64_t z = src_row[i];
        if (z < 0) padded_row(row, sp, 0, 0, q.Wj);
        else padded_row(row, sp + z * s.Ws + c.first, c.j0, c.j1, q.Wj);
      }
      return;
    }
    // Rows in source order, each row's phases together: the source is read once, in sequence
    // (phase by phase it was read sh * sw times, with row strides the prefetchers lost: half of
    // r50_3x3s2_128@56's split time sat on one load).
    for (int64_t i = 0; i < q.Hi; ++i)
      for (int64_t pr = 0; pr < q.sh; ++pr)
        for (int64_t pc = 0; pc < q.sw; ++pc) {
          const Cols c = cols[pc];
          T* row = xs + nc * q.cstride + (pr * q.sw + pc) * q.plane + i * q.Wj;
          const int64_t z = src_row[pr * q.Hi + i];
          if (z < 0) {
            std::memset(row, 0, sizeof(T) * static_cast<size_t>(q.Wj));
            continue;
          }
          const T* srow = sp + z * s.Ws;
          if (s.up_w == 1) {
            for (int64_t j = 0; j < c.j0; ++j) row[j] = T(0);
            if (q.sw == 1)
              std::memcpy(row + c.j0, srow + c.first, sizeof(T) * static_cast<size_t>(c.j1 - c.j0));
            else if (q.sw == 2)
              strided_copy<T, 2>(row + c.j0, srow + c.first, c.j1 - c.j0, 2);
            else
              strided_copy<T>(row + c.j0, srow + c.first, c.j1 - c.j0, q.sw);
            for (int64_t j = c.j1; j < q.Wj; ++j) row[j] = T(0);
            continue;
          }
          for (int64_t j = 0; j < q.Wj; ++j) {
            const int64_t v = j * q.sw + pc, zc = v - s.off_w;
            row[j] = (v < q.Wp && zc >= 0 && zc % s.up_w == 0 && zc / s.up_w < s.Ws)
                         ? srow[zc / s.up_w] : T(0);
          }
        }
  });
  return xs;
}

// A weight tensor seen through strides: element (g, k, c, r, s) of the correlation's R x S
// kernels is base[g*sg + k*sk + c*sc + r*sr + s*ss] (negative sr and ss walk a flipped kernel,
// or every stride-th tap of one, for the input gradient).
template <class T>
struct WSrc {
  const T* base;
  int64_t sg, sk, sc, sr, ss;
};

// One k-block: dst[((c * R + r) * S + s) * KB + k] = rows[k][c * sc + r * sr + s * ss]. KB is a
// compile-time constant so the k loop unrolls into KB independent loads and one contiguous
// store run; with a run-time width the gather cost ~1-2 ns per element (a 512x512x3x3 layer
// spent ~2 ms here).
template <class T, int KB>
void pack_weight_block(T* __restrict dst, const T* const* rows, int64_t Cg, int64_t R, int64_t S,
                       const WSrc<T>& w) {
  for (int64_t c = 0; c < Cg; ++c)
    for (int64_t r = 0; r < R; ++r)
      for (int64_t s = 0; s < S; ++s, dst += KB) {
        const int64_t off = c * w.sc + r * w.sr + s * w.ss;
        for (int k = 0; k < KB; ++k) dst[k] = rows[k][off];
      }
}

// Elements of pack_weights' result.
int64_t packed_weights_elems(const Corr& q, int kb) {
  return q.G * ((q.Kg + kb - 1) / kb) * q.Cg * q.R * q.S * kb;
}

// Packs weights as [g][k-block][c][tap][KB] (zero-padded output channels) into wp, or where
// null into a scratch buffer.
template <class T>
T* pack_weights(const Corr& q, int kb, const WSrc<T>& w, T* wp = nullptr) {
  const int64_t T_ = q.R * q.S, nkb = (q.Kg + kb - 1) / kb, block = q.Cg * T_ * kb;
  if (!wp) wp = scratch<T>(1, static_cast<size_t>(packed_weights_elems(q, kb)));
  parallel_for_cost(q.G * nkb, stream_ns(2.0 * q.G * nkb * block * sizeof(T)), [&](int64_t gb) {
    const int64_t g = gb / nkb, b = gb % nkb;
    const int64_t kvalid = q.Kg - b * kb < kb ? q.Kg - b * kb : kb;
    T* dst = wp + gb * block;
    // Rows past the last output channel repeat it; their columns are zeroed afterwards.
    const T* rows[16];
    if (kb > 16) throw std::logic_error("direct conv: micro-kernel block wider than 16");
    for (int64_t k = 0; k < kb; ++k)
      rows[k] = w.base + g * w.sg + (b * kb + (k < kvalid ? k : kvalid - 1)) * w.sk;
    switch (kb) {
      case 4: pack_weight_block<T, 4>(dst, rows, q.Cg, q.R, q.S, w); break;
      case 8: pack_weight_block<T, 8>(dst, rows, q.Cg, q.R, q.S, w); break;
      default:
        for (int64_t j = 0; j < q.Cg * T_; ++j) {
          const int64_t c = j / T_, r = j % T_ / q.S, s = j % q.S;
          const int64_t off = c * w.sc + r * w.sr + s * w.ss;
          for (int64_t k = 0; k < kb; ++k) dst[j * kb + k] = rows[k][off];
        }
    }
    if (kvalid < kb)
      for (int64_t j = 0; j < q.Cg * T_; ++j)
        for (int64_t k = kvalid; k < kb; ++k) dst[j * kb + k] = T(0);
  });
  return wp;
}

// How correlate walks its (image, group, k-block, tile) items, outermost first:
// - image_hot (n, g, k-block, tile) when tiles go straight into y and an image's input fits in
//   L2: the image stays in L2 across the k-blocks, whose weights are a small block streamed
//   once per image, and only KB output planes are written at a time (all K at once, the stem's
//   64 planes of a 26 MB output, are too many streams for the prefetchers: N=8 went
//   16 -> 20-23 ms). Preferred even when the weights outweigh an image (dcgan_d2 at N=8,
//   512 KiB of weights against 296 KiB images: 3.8 -> 3.45-3.6 ms against weights_hot);
// - weights_hot (g, k-block, n, tile) when a group's weights outweigh an image's input: one
//   k-block's weights stay hot across every image and tile;
// - tile_hot (n, g, tile, k-block) otherwise: one tile of input stays hot in L1 across k-blocks.
enum class LoopOrder { image_hot, weights_hot, tile_hot };
LoopOrder loop_order(const Corr& q, bool to_output, size_t elem) {
  if (to_output && q.Cg * q.cstride * static_cast<int64_t>(elem) <= kL2Bytes)
    return LoopOrder::image_hot;
  if (q.Kg * q.R * q.S > q.cstride) return LoopOrder::weights_hot;
  return LoopOrder::tile_hot;
}

// y[n][g*Kg + k][oh][ow] = bias + sum_{c, r, s} wp * xs over the tiles of the flattened grid.
// Where the ISA has masked stores the micro-kernel writes each tile straight into y, bias
// included, skipping the junk columns. Elsewhere it writes whole tiles into a Wj-wide scratch
// grid and one pass then drops the junk columns and adds the bias; images go through in chunks
// whose grid stays in cache for that pass (a whole batch's grid of the 7x7 stem at N=8 is
// 26 MB, re-read from memory).
template <class T>
void correlate(const Corr& q, const ConvDirectUkernel<T>& uk, const T* xs, const T* wp,
               const T* bias, T* y) {
  const int64_t KB = uk.kb, MP = uk.max_pos, T_ = q.R * q.S;
  const int64_t P = q.Ho * q.Wj;
  const int64_t ntile = (P + MP - 1) / MP, nkb = (q.Kg + KB - 1) / KB;
  const int64_t Ktot = q.G * q.Kg, Ctot = q.G * q.Cg, Pst = ntile * MP, Kgp = nkb * KB;
  const int64_t plane = q.Ho * q.Wo;
  const bool to_output = uk.tile_to_output != nullptr;
  const int64_t image_grid_bytes = q.G * Kgp * Pst * static_cast<int64_t>(sizeof(T));
  const int64_t chunk =
      to_output ? q.N : std::max<int64_t>(1, std::min(q.N, kGridChunkBytes / image_grid_bytes));
  T* grid = to_output ? nullptr : scratch<T>(2, static_cast<size_t>(chunk * q.G * Kgp * Pst));
  // Grid row and column of each tile's first position (a division per tile is a tenth of a
  // small layer's tile).
  std::vector<int64_t> tile_row(ntile), tile_col(ntile);
  for (int64_t t = 0; t < ntile; ++t) {
    tile_row[t] = t * MP / q.Wj;
    tile_col[t] = t * MP % q.Wj;
  }
  // (tile, n, k-block, g) positions among the odometer's digits, for the loop_order.
  struct Order {
    int tile, n, b, g;
  };
  const LoopOrder lo = loop_order(q, to_output, sizeof(T));
  const Order order = lo == LoopOrder::weights_hot ? Order{0, 1, 2, 3}
                      : lo == LoopOrder::image_hot ? Order{0, 3, 1, 2}
                                                   : Order{1, 3, 0, 2};
  const double tile_flops = 2.0 * KB * MP * q.Cg * T_;
  for (int64_t n0 = 0; n0 < q.N; n0 += chunk) {
    const int64_t nc = std::min(chunk, q.N - n0);
    // Each thread takes a contiguous range of items and steps through it like an odometer:
    // decoding every item with divisions cost a small layer ~30% of its time (cifar_3-16: 184
    // items of ~160 cycles each).
    const int64_t items = nc * q.G * ntile * nkb;
    const int threads = threads_for(flops_ns(tile_flops * items));
    Odometer::Radices radices;
    radices[order.tile] = ntile;
    radices[order.n] = nc;
    radices[order.b] = nkb;
    radices[order.g] = q.G;
    parallel_for(threads, [&](int64_t part) {
      const int64_t i0 = items * part / threads, i1 = items * (part + 1) / threads;
      Odometer it(i0, radices);
      for (int64_t i = i0; i < i1; ++i, it.next()) {
        const int64_t tile = it.d[order.tile], b = it.d[order.b], g = it.d[order.g];
        const int64_t n = it.d[order.n];  // image within the chunk
        const int64_t p0 = tile * MP;
        ukernels::ConvTileArgs<T> a;
        a.x = xs + ((n0 + n) * Ctot + g * q.Cg) * q.cstride + p0;
        a.x_cstride = q.cstride;
        a.tap_off = q.tap_off.data();
        a.taps = T_;
        a.channels = q.Cg;
        a.w = wp + (g * nkb + b) * q.Cg * T_ * KB;
        a.npos = P - p0 < MP ? P - p0 : MP;
        if (to_output) {
          const int64_t k0 = g * q.Kg + b * KB;
          a.y = y + ((n0 + n) * Ktot + k0) * plane;
          a.y_stride = plane;
          a.row = tile_row[tile];
          a.col = tile_col[tile];
          a.grid_width = q.Wj;
          a.out_width = q.Wo;
          a.out_rows = q.Ho;
          a.kvalid = q.Kg - b * KB < KB ? q.Kg - b * KB : KB;
          a.bias = bias ? bias + k0 : nullptr;
          uk.tile_to_output(a);
        } else {
          a.y = grid + ((n * q.G + g) * Kgp + b * KB) * Pst + p0;
          a.y_stride = Pst;
          uk.tile(a);
        }
      }
    }, threads);
    if (to_output) continue;
    parallel_for_cost(nc * Ktot, stream_ns(2.0 * nc * Ktot * P * sizeof(T)), [&](int64_t nk) {
      const int64_t n = nk / Ktot, ko = nk % Ktot, g = ko / q.Kg, k = ko % q.Kg;
      const T bv = bias ? bias[ko] : T(0);
      const T* src = grid + ((n * q.G + g) * Kgp + k) * Pst;
      T* dst = y + (n0 * Ktot + nk) * plane;
      for (int64_t oh = 0; oh < q.Ho; ++oh)
        for (int64_t ow = 0; ow < q.Wo; ++ow) dst[oh * q.Wo + ow] = src[oh * q.Wj + ow] + bv;
    });
  }
}

// Phase-splits and correlates the batch in chunks of images whose split input fits in the
// threads' L2s, so the correlation reads it back from cache (r50_3x3s2 at N=8 split all 8
// images, 14 MB, up front: 13% of its time), and at least one image per thread (the stem's
// 3 channels alone split unevenly). Layers walked weights_hot take the batch whole.
template <class T>
void split_and_correlate(const Corr& q, const Src& s, const T* src, const ConvDirectUkernel<T>& uk,
                         const T* wp, const T* bias, T* out) {
  const int64_t src_image = q.G * q.Cg * s.Hs * s.Ws, out_image = q.G * q.Kg * q.Ho * q.Wo;
  const int64_t split_image = q.G * q.Cg * q.cstride * static_cast<int64_t>(sizeof(T));
  const int64_t threads = max_threads();
  const bool whole =
      loop_order(q, uk.tile_to_output != nullptr, sizeof(T)) == LoopOrder::weights_hot;
  const int64_t chunk =
      whole ? q.N : std::min(q.N, std::max(threads, threads * kL2Bytes / split_image));
  Corr qc = q;
  for (int64_t n0 = 0; n0 < q.N; n0 += chunk) {
    qc.N = std::min(chunk, q.N - n0);
    const T* xs = phase_split<T>(qc, s, src + n0 * src_image, uk.max_pos, uk.split_rows_s2);
    correlate<T>(qc, uk, xs, wp, bias, out + n0 * out_image);
  }
}

Corr forward_corr(const Conv2dParams& p) {
  Corr q;
  q.N = p.N; q.G = p.groups; q.Cg = p.C / p.groups; q.Kg = p.K / p.groups;
  q.Hp = p.H + p.pt + p.pb; q.Wp = p.W + p.pl + p.pr;
  q.sh = p.sh; q.sw = p.sw; q.dh = p.dh; q.dw = p.dw; q.R = p.R; q.S = p.S;
  q.Ho = p.Ho; q.Wo = p.Wo;
  q.finish();
  return q;
}

}  // namespace

template <class T>
void direct_conv2d_forward(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y) {
  if (p.N == 0) return;
  const ConvDirectUkernel<T>& uk = pick_ukernel<T>();
  Corr q = forward_corr(p);
  const int64_t Cg = q.Cg, Kg = q.Kg, R = p.R, S = p.S;
  const T* wp = pack_weights<T>(q, uk.kb, WSrc<T>{w, Kg * Cg * R * S, Cg * R * S, R * S, S, 1});
  split_and_correlate<T>(q, Src{p.H, p.W, 1, 1, p.pt, p.pl}, x, uk, wp, bias, y);
}

// The input gradient of a strided, undilated conv by stride phases: dx's rows ih = a + sh*i
// take only the kernel rows r = (a + pt) mod sh, that plus sh, ..., and the j-th of them reads
// grad_output row (a + pt) / sh + i - j (columns alike). So each of the sh x sw phases is a
// stride-1 correlation of grad_output as it lies with its sub-kernel, flipped: one zero-padded
// copy of grad_output serves them all, each phase reading it from its own corner. The phases
// are computed as dense planes, then interleaved into dx. (Zero insertion does sh * sw times the
// multiply-adds: a 4x4 stride-2 transposed conv with 8 channels per group ran at 17 GFLOP/s.)
template <class T>
void input_by_phases(const Conv2dParams& p, const ConvDirectUkernel<T>& uk, const T* gy,
                     const T* w, const T* bias, T* dx) {
  const int64_t Cg = p.C / p.groups, Kg = p.K / p.groups, sh = p.sh, sw = p.sw;
  const int64_t HW = p.H * p.W;
  auto count = [](int64_t n, int64_t first, int64_t step) {  // first, first + step, ... < n
    return n > first ? (n - first + step - 1) / step : 0;
  };
  // Phase (a, b): Hi x Wi outputs, Rm x Sm taps from kernel row r0 and column s0 on, the first
  // tap reading grad_output from row base_h - (Rm - 1), column base_w - (Sm - 1).
  struct Phase {
    int64_t Hi, Wi, r0, s0, Rm, Sm, base_h, base_w, at;  // at: offset of its planes / (N * C)
  };
  // Phases past the input's last row or column hold nothing (strides may pass the input).
  const int64_t ah = std::min(sh, p.H), bw = std::min(sw, p.W);
  std::vector<Phase> ph(ah * bw);
  int64_t top = 0, left = 0, at = 0;
  for (int64_t a = 0; a < ah; ++a)
    for (int64_t b = 0; b < bw; ++b) {
      Phase& f = ph[a * bw + b];
      f.Hi = count(p.H, a, sh);
      f.Wi = count(p.W, b, sw);
      f.r0 = (a + p.pt) % sh;
      f.s0 = (b + p.pl) % sw;
      f.Rm = count(p.R, f.r0, sh);
      f.Sm = count(p.S, f.s0, sw);
      f.base_h = (a + p.pt) / sh;
      f.base_w = (b + p.pl) / sw;
      f.at = at;
      at += f.Hi * f.Wi;
      top = std::max(top, f.Rm - 1 - f.base_h);
      left = std::max(left, f.Sm - 1 - f.base_w);
    }
  // The padded grad_output: rows from -top on, as many as the deepest-reaching phase needs.
  int64_t Hpad = top + p.Ho, Wpad = left + p.Wo;
  for (const Phase& f : ph) {
    Hpad = std::max(Hpad, top + f.base_h + f.Hi);
    Wpad = std::max(Wpad, left + f.base_w + f.Wi);
  }
  Corr split;
  split.N = 0; split.G = p.groups; split.Cg = Kg; split.Kg = Cg;
  split.Hp = Hpad; split.Wp = Wpad;
  split.sh = 1; split.sw = 1; split.dh = 1; split.dw = 1; split.R = 1; split.S = 1;
  split.Ho = 0; split.Wo = 0;
  split.finish();
  // Each phase's correlation and its packed weights, once for all images. Tap (m, n) of a phase
  // is kernel row r0 + (Rm - 1 - m) * sh, column s0 + (Sm - 1 - n) * sw.
  std::vector<Corr> corr(ph.size(), split);
  std::vector<int64_t> wp_at(ph.size() + 1, 0);
  for (size_t i = 0; i < ph.size(); ++i) {
    Corr& q = corr[i];
    q.R = std::max<int64_t>(1, ph[i].Rm); q.S = std::max<int64_t>(1, ph[i].Sm);
    q.Ho = ph[i].Hi; q.Wo = ph[i].Wi;
    q.finish();
    const bool taps = ph[i].Rm > 0 && ph[i].Sm > 0;
    wp_at[i + 1] = wp_at[i] + (taps ? packed_weights_elems(q, uk.kb) : 0);
  }
  T* wp = scratch<T>(1, static_cast<size_t>(wp_at.back()));
  for (size_t i = 0; i < ph.size(); ++i) {
    const Phase& f = ph[i];
    if (f.Rm == 0 || f.Sm == 0) continue;
    const T* w_first = w + (f.r0 + (f.Rm - 1) * sh) * p.S + f.s0 + (f.Sm - 1) * sw;
    pack_weights<T>(corr[i], uk.kb, WSrc<T>{w_first, Kg * Cg * p.R * p.S, p.R * p.S,
                                            Cg * p.R * p.S, -sh * p.S, -sw}, wp + wp_at[i]);
  }
  // Images per pass: phase planes the interleave reads back from L2 (or one image).
  const int64_t image_bytes = p.C * HW * static_cast<int64_t>(sizeof(T));
  const int64_t chunk = std::max<int64_t>(1, std::min(p.N, kL2Bytes / image_bytes));
  T* planes = scratch<T>(3, static_cast<size_t>(chunk * p.C * HW));
  for (int64_t n0 = 0; n0 < p.N; n0 += chunk) {
    const int64_t nc = std::min(chunk, p.N - n0);
    split.N = nc;
    const T* xs = phase_split<T>(split, Src{p.Ho, p.Wo, 1, 1, top, left},
                                 gy + n0 * p.K * p.Ho * p.Wo, uk.max_pos, uk.split_rows_s2);
    for (size_t i = 0; i < ph.size(); ++i) {
      const Phase& f = ph[i];
      T* out = planes + f.at * nc * p.C;
      if (f.Hi == 0 || f.Wi == 0) continue;
      if (f.Rm == 0 || f.Sm == 0) {  // no tap lands on this phase: the bias alone
        for (int64_t nch = 0; nch < nc * p.C; ++nch)
          std::fill_n(out + nch * f.Hi * f.Wi, f.Hi * f.Wi, bias ? bias[nch % p.C] : T(0));
        continue;
      }
      Corr& q = corr[i];
      q.N = nc;
      const int64_t corner = (top + f.base_h - (f.Rm - 1)) * q.Wj + left + f.base_w - (f.Sm - 1);
      correlate<T>(q, uk, xs + corner, wp + wp_at[i], bias, out);
    }
    // dx[n][c][a + sh*i][b + sw*j] = phase (a, b)'s plane [n][c][i][j].
    parallel_for_cost(nc * p.C, stream_ns(2.0 * nc * p.C * HW * sizeof(T)), [&](int64_t nch) {
      T* d = dx + (n0 * p.C + nch) * HW;
      for (int64_t a = 0; a < ah; ++a) {
        const Phase* row_phases = &ph[a * bw];
        for (int64_t i = 0; i < row_phases[0].Hi; ++i) {
          T* row = d + (a + sh * i) * p.W;
          auto src = [&](int64_t b) {
            const Phase& f = row_phases[b];
            return planes + f.at * nc * p.C + (nch * f.Hi + i) * f.Wi;
          };
          if (sw == 2 && bw == 2) {
            interleave_pair(row, src(0), src(1), p.W);
            continue;
          }
          for (int64_t b = 0; b < bw; ++b) {
            const T* s = src(b);
            for (int64_t j = 0; j < row_phases[b].Wi; ++j) row[b + j * sw] = s[j];
          }
        }
      }
    });
  }
}

bool direct_input_by_phases(const Conv2dParams& p) {
  // At most kMaxInputPhases phases that hold inputs: a stride past the input leaves one row or
  // column per phase, each phase a correlation call.
  return (p.sh > 1 || p.sw > 1) && p.dh == 1 && p.dw == 1 &&
         std::min(p.sh, p.H) * std::min(p.sw, p.W) <= kMaxInputPhases;
}

template <class T>
void direct_conv2d_input(const Conv2dParams& p, const T* gy, const T* w, const T* bias, T* dx) {
  if (p.N == 0) return;
  const ConvDirectUkernel<T>& uk = pick_ukernel<T>();
  if (direct_input_by_phases(p)) return input_by_phases(p, uk, gy, w, bias, dx);
  // dx[ih] = sum_r gz[ih + pt - r*dh] w[r], gz = grad_output zero-inserted by the stride:
  // a stride-1 correlation with the flipped kernel over gz shifted by (R-1)*dh - pt.
  const int64_t Cg = p.C / p.groups, Kg = p.K / p.groups, R = p.R, S = p.S;
  Corr q;
  q.N = p.N; q.G = p.groups; q.Cg = Kg; q.Kg = Cg;
  q.Hp = p.H + (R - 1) * p.dh; q.Wp = p.W + (S - 1) * p.dw;
  q.sh = 1; q.sw = 1; q.dh = p.dh; q.dw = p.dw; q.R = R; q.S = S;
  q.Ho = p.H; q.Wo = p.W;
  q.finish();
  Src src{p.Ho, p.Wo, p.sh, p.sw, (R - 1) * p.dh - p.pt, (S - 1) * p.dw - p.pl};
  // element (g, c, k, r, s) = w[g*Kg + k][c][R-1-r][S-1-s]: the flipped kernel
  const T* wp = pack_weights<T>(
      q, uk.kb, WSrc<T>{w + R * S - 1, Kg * Cg * R * S, R * S, Cg * R * S, -S, -1});
  split_and_correlate<T>(q, src, gy, uk, wp, bias, dx);
}

template <class T>
void direct_conv2d_weight(const Conv2dParams& p, const T* x, const T* gy, T* dw) {
  const ConvDirectUkernel<T>& uk = pick_ukernel<T>();
  Corr q = forward_corr(p);
  const int64_t Cg = q.Cg, Kg = q.Kg, T_ = p.R * p.S, J = Cg * T_;
  if (p.N == 0) {
    std::memset(dw, 0, sizeof(T) * static_cast<size_t>(p.K * J));
    return;
  }
  const int64_t L = uk.lanes, P = q.Ho * q.Wj, Plen = (P + L - 1) / L * L;
  const T* xs = phase_split<T>(q, Src{p.H, p.W, 1, 1, p.pt, p.pl}, x, uk.max_pos + L,
                              uk.split_rows_s2);
  // grad_output on the same Wj-wide grid, zero in the junk columns and the tail.
  T* gz = scratch<T>(2, static_cast<size_t>(p.N * p.K * Plen));
  parallel_for_cost(p.N * p.K, stream_ns(2.0 * p.N * p.K * Plen * sizeof(T)), [&](int64_t nk) {
    T* dst = gz + nk * Plen;
    const T* s = gy + nk * p.Ho * p.Wo;
    std::memset(dst, 0, sizeof(T) * static_cast<size_t>(Plen));
    for (int64_t oh = 0; oh < p.Ho; ++oh)
      std::memcpy(dst + oh * q.Wj, s + oh * p.Wo, sizeof(T) * static_cast<size_t>(p.Wo));
  });
  const int64_t KA = uk.dot_ka, NB = uk.dot_nb;
  const int64_t nkb = (Kg + KA - 1) / KA, njb = (J + NB - 1) / NB;
  const double dot_flops = 2.0 * KA * NB * p.N * Plen;
  parallel_for_cost(p.groups * nkb * njb, flops_ns(dot_flops * p.groups * nkb * njb),
                    [&](int64_t item) {
    const int64_t jb = item % njb, b = (item / njb) % nkb, g = item / (njb * nkb);
    T out[8 * 8] = {};
    const T* ap[8];
    const T* bp[8];
    for (int64_t n = 0; n < p.N; ++n) {
      for (int64_t i = 0; i < KA; ++i) {
        int64_t k = b * KA + i < Kg ? b * KA + i : Kg - 1;
        ap[i] = gz + (n * p.K + g * Kg + k) * Plen;
      }
      for (int64_t j = 0; j < NB; ++j) {
        int64_t jj = jb * NB + j < J ? jb * NB + j : J - 1;
        int64_t c = jj / T_, t = jj % T_;
        bp[j] = xs + (n * p.C + g * Cg + c) * q.cstride + q.tap_off[t];
      }
      uk.dot(ukernels::ConvDotArgs<T>{ap, bp, Plen, out});
    }
    for (int64_t i = 0; i < KA && b * KA + i < Kg; ++i)
      for (int64_t j = 0; j < NB && jb * NB + j < J; ++j)
        dw[(g * Kg + b * KA + i) * J + jb * NB + j] = out[i * NB + j];
  });
}

template <>
const ConvDirectUkernel<float>& direct_ukernel<float>() {
  return pick_ukernel<float>();
}
template <>
const ConvDirectUkernel<double>& direct_ukernel<double>() {
  return pick_ukernel<double>();
}

template void direct_conv2d_forward<float>(const Conv2dParams&, const float*, const float*,
                                           const float*, float*);
template void direct_conv2d_forward<double>(const Conv2dParams&, const double*, const double*,
                                            const double*, double*);
template void direct_conv2d_input<float>(const Conv2dParams&, const float*, const float*,
                                         const float*, float*);
template void direct_conv2d_input<double>(const Conv2dParams&, const double*, const double*,
                                          const double*, double*);
template void direct_conv2d_weight<float>(const Conv2dParams&, const float*, const float*, float*);
template void direct_conv2d_weight<double>(const Conv2dParams&, const double*, const double*,
                                           double*);

}  // namespace fastconv::algos
