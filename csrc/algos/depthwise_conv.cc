#include "algos/depthwise_conv.h"

#include <algorithm>
#include <vector>

#include "runtime/cpu.h"
#include "runtime/parallel.h"
#include "ukernels/dwconv.h"

namespace fastconv::algos {
namespace {

using ops::Conv2dParams;
using ukernels::DwConvUkernel;

template <class T>
const DwConvUkernel<T>& pick_ukernel();

template <>
const DwConvUkernel<float>& pick_ukernel<float>() {
  using namespace ukernels;
  static const DwConvUkernel<float>* k[] = {&f32_dwconv_rows_scalar, &f32_dwconv_rows_avx2,
                                            &f32_dwconv_rows_avx512};
  return *k[static_cast<int>(active_isa())];
}

template <>
const DwConvUkernel<double>& pick_ukernel<double>() {
  using namespace ukernels;
  static const DwConvUkernel<double>* k[] = {&f64_dwconv_rows_scalar, &f64_dwconv_rows_avx2,
                                             &f64_dwconv_rows_avx512};
  return *k[static_cast<int>(active_isa())];
}

// Growable per-thread buffer (grows, never shrinks; no per-call allocation once warm).
template <class T, int Slots = 2>
T* thread_buffer(int slot, size_t n) {
  thread_local std::vector<T> bufs[Slots];
  if (bufs[slot].size() < n) bufs[slot].resize(n);
  return bufs[slot].data();
}

}  // namespace

template <class T>
void depthwise_conv2d_forward(const Conv2dParams& p, const T* x, const T* w, const T* bias,
                              T* y) {
  const DwConvUkernel<T>& uk = pick_ukernel<T>();
  const int64_t Cg = p.C / p.groups, Kg = p.K / p.groups;
  const int64_t Hp = p.H + p.pt + p.pb, Wp = p.W + p.pl + p.pr;
  const int64_t plane = p.H * p.W, padded = Hp * Wp, out_plane = p.Ho * p.Wo;
  const int64_t taps = Cg * p.R;
  // Stride 1 with short rows: the output plane is one flat run over the padded grid,
  // p = oh * Wp + ow (tap (r, s) reads p + r*dh*Wp + s*dw), so a small plane is a few long
  // vector runs instead of many short rows; columns ow >= Wo of that grid are junk, dropped on
  // copy-out. Long rows are written in place, row by row (no copy-out pass).
  constexpr int64_t kFlatBelowWidth = 64;
  // Long rows of one input channel, stride 1, kernel rows not dilated: blocks of output rows at
  // once (the plane kernel), each loaded input vector serving every row whose window covers it.
  const bool plane_kernel = Cg == 1 && p.sh == 1 && p.sw == 1 && p.dh == 1;
  // Output rows of at most one vector, one input channel, stride 1, undilated: the planes read
  // where they lie with masked loads, written with masked stores, no padded copy in and no
  // copy-out (dw_512@14 at N=8: 0.480 -> 0.342 ms on one thread, 0.227 -> 0.170 on two).
  const bool small_plane = uk.small_plane && Cg == 1 && p.sh == 1 && p.sw == 1 && p.dh == 1 &&
                           p.dw == 1 && p.Wo <= uk.small_plane_max_width &&
                           p.S <= ukernels::kDwConvSmallPlaneMaxS;
  constexpr int64_t kPlaneRowBlock = 4;  // output rows per plane-kernel call (its register block)
  const int64_t flat_n = (p.Ho - 1) * Wp + p.Wo;
  // The flat run rounded up to whole vectors (16 elements: a multiple of every ISA's lanes):
  // its last outputs are junk columns or past the plane, read from zeroed slack after the
  // padded planes, and never copied out; a partial last vector would be computed as blocks of
  // 8, 4, 2 and 1, each a latency-bound chain (15% of dw_512@14's time). The plane kernel's
  // loads also reach into that slack (up to a vector past a row's end, DwConvPlaneArgs).
  constexpr int64_t kRunMultiple = 16;
  const int64_t flat_run = (flat_n + kRunMultiple - 1) / kRunMultiple * kRunMultiple;
  const int64_t xp_elems = Cg * padded + kRunMultiple;
  // Threads take contiguous ranges of (image, group) pairs, so the per-thread buffers are
  // looked up once per range rather than once per plane (that cost showed on 14x14 planes).
  const int64_t pairs = p.N * p.groups;
  // Cost: the arithmetic or, as often for depthwise layers, the pass over input and output
  // (dw_512@14 at N=1, 1.8 MFLOP over 0.8 MB, ran 59 us on one thread, judged by its FLOPs
  // alone too small to share).
  const double flops = 2.0 * p.N * p.K * Cg * p.R * p.S * p.Ho * p.Wo;
  const double bytes = static_cast<double>(sizeof(T)) * p.N * (p.C * plane + p.K * out_plane);
  const int64_t chunks =
      std::min<int64_t>(pairs, threads_for(std::max(flops_ns(flops), stream_ns(bytes))));
  parallel_for(chunks, [&](int64_t chunk) {
    const int64_t ng0 = pairs * chunk / chunks, ng1 = pairs * (chunk + 1) / chunks;
    if (small_plane) {
      // One call per image's run of groups: their planes are consecutive in x, y and w.
      for (int64_t ng = ng0; ng < ng1;) {
        const int64_t n = ng / p.groups, g0 = ng % p.groups;
        const int64_t g1 = std::min(p.groups, g0 + ng1 - ng);
        uk.small_plane({x + (n * p.C + g0) * plane, p.H, p.W, w + g0 * Kg * p.R * p.S, p.R, p.S,
                        p.pt, p.pl, bias ? bias + g0 * Kg : nullptr,
                        y + (n * p.K + g0 * Kg) * out_plane, p.Ho, p.Wo, (g1 - g0) * Kg, Kg});
        ng += g1 - g0;
      }
      return;
    }
    // The group's input planes, zero-padded, shared by its Kg output channels. Only the
    // interior is written per plane: the borders stay zero from the buffer's first use with
    // this geometry (a thread's buffer is reused across calls). The key is everything that
    // decides which elements are border.
    thread_local int64_t geometry[7] = {-1, -1, -1, -1, -1, -1, -1};
    T* xp = thread_buffer<T>(0, static_cast<size_t>(xp_elems));
    const int64_t key[7] = {Cg, p.H, p.W, p.pt, p.pb, p.pl, p.pr};
    if (!std::equal(key, key + 7, geometry)) {
      std::fill(xp, xp + xp_elems, T(0));
      std::copy(key, key + 7, geometry);
    }
    T* flat = p.sh == 1 && p.sw == 1 && p.Wo < kFlatBelowWidth
                  ? thread_buffer<T>(1, static_cast<size_t>(flat_run))
                  : nullptr;
    const T** rows = thread_buffer<const T*>(0, static_cast<size_t>(2 * taps));
    const T** wrow = rows + taps;
    for (int64_t ng = ng0; ng < ng1; ++ng) {
      const int64_t n = ng / p.groups, g = ng % p.groups;
      if (plane_kernel && !flat) {
        // One input plane: it is copied a row block ahead of the rows that use it, so its reads
        // from memory overlap the arithmetic on the block before (copying whole planes first
        // left the copy waiting on memory, a quarter of dw_32@112's time at N=8), and each
        // block serves the group's Kg output channels.
        const T* src = x + (n * p.C + g) * plane;
        int64_t copied = 0;  // input rows [0, copied) are in the padded plane
        auto copy_input_to = [&](int64_t padded_row_end) {
          const int64_t end = std::min(p.H, padded_row_end - p.pt);
          if (end <= copied) return;
          uk.copy_rows(xp + (p.pt + copied) * Wp + p.pl, Wp, src + copied * p.W, p.W,
                       end - copied, p.W);
          copied = end;
        };
        copy_input_to(kPlaneRowBlock + p.R - 1);
        for (int64_t oh = 0; oh < p.Ho; oh += kPlaneRowBlock) {
          const int64_t rows = std::min(kPlaneRowBlock, p.Ho - oh);
          copy_input_to(oh + 2 * kPlaneRowBlock + p.R - 1);
          for (int64_t k = g * Kg; k < (g + 1) * Kg; ++k)
            uk.plane({xp + oh * Wp, Wp, w + k * p.R * p.S, p.R, p.S, p.dw, bias ? bias[k] : T(0),
                      y + (n * p.K + k) * out_plane + oh * p.Wo, p.Wo, rows, p.Wo});
        }
        continue;
      }
      for (int64_t c = 0; c < Cg; ++c) {
        const T* src = x + (n * p.C + g * Cg + c) * plane;
        T* dst = xp + c * padded + p.pt * Wp + p.pl;
        uk.copy_rows(dst, Wp, src, p.W, p.H, p.W);
      }
      for (int64_t kk = 0; kk < Kg; ++kk) {
        const int64_t k = g * Kg + kk;
        const T* wk = w + k * Cg * p.R * p.S;  // (Cg, R, S) weights of output channel k
        const T b = bias ? bias[k] : T(0);
        T* yk = y + (n * p.K + k) * out_plane;
        for (int64_t t = 0; t < taps; ++t) wrow[t] = wk + t * p.S;
        if (flat) {
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t r = 0; r < p.R; ++r) rows[c * p.R + r] = xp + c * padded + r * p.dh * Wp;
          uk.row({rows, wrow, taps, 0, flat_run, 1, p.dw, p.S, b, flat});
          uk.copy_rows(yk, p.Wo, flat, Wp, p.Ho, p.Wo);
          continue;
        }
        for (int64_t oh = 0; oh < p.Ho; ++oh) {
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t r = 0; r < p.R; ++r)
              rows[c * p.R + r] = xp + c * padded + (oh * p.sh + r * p.dh) * Wp;
          uk.row({rows, wrow, taps, 0, p.Wo, p.sw, p.dw, p.S, b, yk + oh * p.Wo});
        }
      }
    }
  });
}
template void depthwise_conv2d_forward<float>(const Conv2dParams&, const float*, const float*,
                                              const float*, float*);
template void depthwise_conv2d_forward<double>(const Conv2dParams&, const double*,
                                               const double*, const double*, double*);

}  // namespace fastconv::algos
