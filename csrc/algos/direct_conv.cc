#include "algos/direct_conv.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <vector>

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
       "f32_conv_dot_4x3_scalar", f32_conv_dot_4x3_scalar},
      {"f32_conv_direct_4x24_avx2", 4, 24, 8, f32_conv_direct_4x24_avx2, nullptr, 4, 3,
       "f32_conv_dot_4x3_avx2", f32_conv_dot_4x3_avx2},
      {"f32_conv_direct_8x48_avx512", 8, 48, 16, f32_conv_direct_8x48_avx512,
       f32_conv_direct_8x48_avx512_to_output, 4, 5,
       "f32_conv_dot_4x5_avx512", f32_conv_dot_4x5_avx512},
  };
  return k[static_cast<int>(active_isa())];
}

template <>
const ConvDirectUkernel<double>& pick_ukernel<double>() {
  using namespace ukernels;
  static const ConvDirectUkernel<double> k[] = {
      {"f64_conv_direct_4x6_scalar", 4, 6, 2, f64_conv_direct_4x6_scalar, nullptr, 4, 3,
       "f64_conv_dot_4x3_scalar", f64_conv_dot_4x3_scalar},
      {"f64_conv_direct_4x12_avx2", 4, 12, 4, f64_conv_direct_4x12_avx2, nullptr, 4, 3,
       "f64_conv_dot_4x3_avx2", f64_conv_dot_4x3_avx2},
      {"f64_conv_direct_8x24_avx512", 8, 24, 8, f64_conv_direct_8x24_avx512,
       f64_conv_direct_8x24_avx512_to_output, 4, 5,
       "f64_conv_dot_4x5_avx512", f64_conv_dot_4x5_avx512},
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

// xs[n][c][pr][pc][i][j] for all N * G * Cg channels, plus zeroed slack for over-reads. Which
// source row feeds each phase row, and which columns of a phase row read the source (the rest
// is padding), is the same for every channel: worked out once per call (per row, with its
// divisions, it was 40% of a small layer's call: odd_7-5_3x3s2, N=1).
template <class T>
T* phase_split(const Corr& q, const Src& s, const T* src, int64_t max_pos) {
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

// A weight tensor seen through strides: element (g, k, c, tap) of the correlation's weights is
// base[g*sg + k*sk + c*sc + tap*st], tap = r * S + s (st = -1 walks a flipped kernel for the
// input gradient).
template <class T>
struct WSrc {
  const T* base;
  int64_t sg, sk, sc, st;
};

// One k-block: dst[(c * taps + t) * KB + k] = rows[k][c * sc + t * st]. KB is a compile-time
// constant so the k loop unrolls into KB independent loads and one contiguous store run; with a
// run-time width the gather cost ~1-2 ns per element (a 512x512x3x3 layer spent ~2 ms here).
template <class T, int KB>
void pack_weight_block(T* __restrict dst, const T* const* rows, int64_t Cg, int64_t taps,
                       int64_t sc, int64_t st) {
  for (int64_t c = 0; c < Cg; ++c)
    for (int64_t t = 0; t < taps; ++t, dst += KB) {
      const int64_t off = c * sc + t * st;
      for (int k = 0; k < KB; ++k) dst[k] = rows[k][off];
    }
}

// Packs weights as [g][k-block][c][tap][KB] (zero-padded output channels).
template <class T>
T* pack_weights(const Corr& q, int kb, const WSrc<T>& w) {
  const int64_t T_ = q.R * q.S, nkb = (q.Kg + kb - 1) / kb, block = q.Cg * T_ * kb;
  T* wp = scratch<T>(1, static_cast<size_t>(q.G * nkb * block));
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
      case 4: pack_weight_block<T, 4>(dst, rows, q.Cg, T_, w.sc, w.st); break;
      case 8: pack_weight_block<T, 8>(dst, rows, q.Cg, T_, w.sc, w.st); break;
      default:
        for (int64_t j = 0; j < q.Cg * T_; ++j)
          for (int64_t k = 0; k < kb; ++k)
            dst[j * kb + k] = rows[k][(j / T_) * w.sc + (j % T_) * w.st];
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
    const T* xs = phase_split<T>(qc, s, src + n0 * src_image, uk.max_pos);
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
  const T* wp = pack_weights<T>(q, uk.kb, WSrc<T>{w, Kg * Cg * R * S, Cg * R * S, R * S, 1});
  split_and_correlate<T>(q, Src{p.H, p.W, 1, 1, p.pt, p.pl}, x, uk, wp, bias, y);
}

template <class T>
void direct_conv2d_input(const Conv2dParams& p, const T* gy, const T* w, T* dx) {
  if (p.N == 0) return;
  const ConvDirectUkernel<T>& uk = pick_ukernel<T>();
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
  // element (g, c, k, tap) = w[g*Kg + k][c][R*S-1 - tap]: the flipped kernel
  const T* wp = pack_weights<T>(
      q, uk.kb, WSrc<T>{w + R * S - 1, Kg * Cg * R * S, R * S, Cg * R * S, -1});
  split_and_correlate<T>(q, src, gy, uk, wp, nullptr, dx);
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
  const T* xs = phase_split<T>(q, Src{p.H, p.W, 1, 1, p.pt, p.pl}, x, uk.max_pos + L);
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

template void direct_conv2d_forward<float>(const Conv2dParams&, const float*, const float*,
                                           const float*, float*);
template void direct_conv2d_forward<double>(const Conv2dParams&, const double*, const double*,
                                            const double*, double*);
template void direct_conv2d_input<float>(const Conv2dParams&, const float*, const float*, float*);
template void direct_conv2d_input<double>(const Conv2dParams&, const double*, const double*,
                                          double*);
template void direct_conv2d_weight<float>(const Conv2dParams&, const float*, const float*, float*);
template void direct_conv2d_weight<double>(const Conv2dParams&, const double*, const double*,
                                           double*);

}  // namespace fastconv::algos
