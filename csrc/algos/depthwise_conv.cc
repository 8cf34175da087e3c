#include "algos/depthwise_conv.h"

#include <algorithm>
#include <vector>

#include "algos/interleave.h"
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
template <class T, int Slots = 8>
T* thread_buffer(int slot, size_t n) {
  thread_local std::vector<T> bufs[Slots];
  if (bufs[slot].size() < n) bufs[slot].resize(n);
  return bufs[slot].data();
}

// The interior of one channel's zero-padded plane, split into its ps x ps phases (Hg x Wg each,
// phase (a, b) at planes + (a * ps + b) * Hg * Wg): padded element (u, v) = source (u - pt,
// v - pl) goes to phase (u % ps, v % ps) at (u / ps, v / ps). The borders are left alone.
template <class T>
void copy_into_phases(T* __restrict planes, int64_t Hg, int64_t Wg, int64_t ps,
                      const T* __restrict src, int64_t H, int64_t W, int64_t pt, int64_t pl) {
  // Phase column b starts at phase column j0[b] with source column first[b].
  int64_t j0[8], first[8];
  for (int64_t b = 0; b < ps; ++b) {
    j0[b] = pl > b ? (pl - b + ps - 1) / ps : 0;
    first[b] = j0[b] * ps + b - pl;
  }
  int64_t a = pt % ps, i = pt / ps;  // phase row of source row 0
  for (int64_t ih = 0; ih < H; ++ih) {
    const T* srow = src + ih * W;
    for (int64_t b = 0; b < ps; ++b) {
      T* row = planes + (a * ps + b) * Hg * Wg + i * Wg + j0[b];
      const int64_t n = first[b] < W ? (W - first[b] + ps - 1) / ps : 0;
      const T* s = srow + first[b];
      for (int64_t j = 0; j < n; ++j) row[j] = s[j * ps];
    }
    if (++a == ps) {
      a = 0;
      ++i;
    }
  }
}

// Flat runs: an output plane as one run over a grid, position oh * Wg + ow, so a small plane is
// a few long vector runs instead of many short rows; columns ow >= Wo of that grid are junk. At
// stride 1 the grid is the padded plane (Wg = Wp; tap (r, s) reads p + r*dh*Wp + s*dw). At
// stride ps > 1 both ways, undilated, the padded plane is split into its ps x ps phases (padded
// element (u, v) to phase (u % ps, v % ps) at (u / ps, v / ps)), Hg x Wg each, and tap (r, s)
// reads phase (r % ps, s % ps) at p + (r / ps)*Wg + s / ps: a stride-1 run again, each kernel
// row one row of taps per phase column (ceil(S / ps) taps, the forward's weights zero-padded).
struct FlatGrid {
  int64_t ps;           // phases per side (1: none)
  int64_t Hg, Wg;       // one phase's (the padded plane's) size
  int64_t padded;       // one channel's (phase-split) padded plane: ps * ps * Hg * Wg
  int64_t kw;           // taps per row of taps
  int64_t flat_n;       // the run's outputs, junk columns included
  int64_t flat_run;     // flat_n rounded up to whole vectors
  int64_t planes_elems; // a group's padded planes and the slack the runs read past them

  // The run rounded up to whole vectors (16 elements: a multiple of every ISA's lanes): its
  // last outputs are junk columns or past the plane, read from zeroed slack after the padded
  // planes; a partial last vector would be computed as blocks of 8, 4, 2 and 1, each a
  // latency-bound chain (15% of dw_512@14's time). The plane kernel's loads also reach into
  // that slack (up to a vector past a row's end, DwConvPlaneArgs).
  static constexpr int64_t kRunMultiple = 16;

  static bool fits(const Conv2dParams& p) {
    return (p.sh == 1 && p.sw == 1) || (p.sh == p.sw && p.dh == 1 && p.dw == 1);
  }
  // phases: whether strided p is split into phases (else ps = 1, the plain padded plane).
  FlatGrid(const Conv2dParams& p, bool phases) {
    const int64_t Hp = p.H + p.pt + p.pb, Wp = p.W + p.pl + p.pr;
    ps = phases ? p.sh : 1;
    Hg = (Hp + ps - 1) / ps;
    Wg = (Wp + ps - 1) / ps;
    padded = ps * ps * Hg * Wg;
    kw = (p.S + ps - 1) / ps;
    flat_n = (p.Ho - 1) * Wg + p.Wo;
    flat_run = (flat_n + kRunMultiple - 1) / kRunMultiple * kRunMultiple;
    planes_elems = p.C / p.groups * padded + kRunMultiple;
  }
  // Offset of tap (r, s) of channel c in the group's planes.
  int64_t tap_offset(const Conv2dParams& p, int64_t c, int64_t r, int64_t s) const {
    if (ps == 1) return c * padded + r * p.dh * Wg + s * p.dw;
    return c * padded + ((r % ps) * ps + s % ps) * Hg * Wg + (r / ps) * Wg + s / ps;
  }
};

// The calling thread's buffer for a group's zero-padded planes (slot 0), its borders zeroed
// once per geometry: only the interior is written per plane, by copy_group_planes. The key is
// everything that decides which elements are border; shared by every user of the slot.
template <class T>
T* padded_planes(const Conv2dParams& p, const FlatGrid& grid) {
  thread_local int64_t geometry[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
  T* xp = thread_buffer<T>(0, static_cast<size_t>(grid.planes_elems));
  const int64_t key[8] = {p.C / p.groups, p.H, p.W, p.pt, p.pb, p.pl, p.pr, grid.ps};
  if (!std::equal(key, key + 8, geometry)) {
    std::fill(xp, xp + grid.planes_elems, T(0));
    std::copy(key, key + 8, geometry);
  }
  return xp;
}

// copy_into_phases for ps = 2: each source row split into its even and odd columns by the
// micro-kernel's split_pairs (strided copies per phase cost ~1 ns an element on 14-wide rows:
// half of a stride-2 depthwise weight gradient on 14x14 maps). Source column iw lands in phase
// column (iw + pl) % 2 at (iw + pl) / 2: the even columns in phase pl % 2 from pl / 2 on, the
// odd ones in the other from (pl + 1) / 2.
template <class T>
void copy_into_two_phases(const DwConvUkernel<T>& uk, T* planes, int64_t Hg, int64_t Wg,
                          const T* src, int64_t H, int64_t W, int64_t pt, int64_t pl) {
  const int64_t phase = Hg * Wg, even_b = pl % 2;
  for (int64_t ih = 0; ih < 2 && ih < H; ++ih) {  // the source rows of each phase row parity
    const int64_t u = ih + pt;
    T* row = planes + (u % 2) * 2 * phase + u / 2 * Wg;  // row u / 2 of phase (u % 2, 0)
    uk.split_pairs(row + even_b * phase + pl / 2, row + (1 - even_b) * phase + (pl + 1) / 2, Wg,
                   src + ih * W, 2 * W, (H - ih + 1) / 2, W);
  }
}

// The group's Cg input planes of image n into xp's interiors.
template <class T>
void copy_group_planes(const Conv2dParams& p, const FlatGrid& grid, const DwConvUkernel<T>& uk,
                       const T* x, int64_t n, int64_t g, T* xp) {
  const int64_t Cg = p.C / p.groups, plane = p.H * p.W;
  for (int64_t c = 0; c < Cg; ++c) {
    const T* src = x + (n * p.C + g * Cg + c) * plane;
    T* dst = xp + c * grid.padded;
    if (grid.ps == 2) copy_into_two_phases(uk, dst, grid.Hg, grid.Wg, src, p.H, p.W, p.pt, p.pl);
    else if (grid.ps > 1)
      copy_into_phases<T>(dst, grid.Hg, grid.Wg, grid.ps, src, p.H, p.W, p.pt, p.pl);
    else uk.copy_rows(dst + p.pt * grid.Wg + p.pl, grid.Wg, src, p.W, p.H, p.W);
  }
}

}  // namespace

template <class T>
void depthwise_conv2d_forward(const Conv2dParams& p, const T* x, const T* w, const T* bias,
                              T* y) {
  const DwConvUkernel<T>& uk = pick_ukernel<T>();
  const int64_t Cg = p.C / p.groups, Kg = p.K / p.groups;
  const int64_t plane = p.H * p.W, out_plane = p.Ho * p.Wo;
  // Short rows: the output plane is one flat run (FlatGrid), its junk columns dropped on
  // copy-out. Long rows are written in place, row by row (no copy-out pass). Row by row, 7
  // outputs per row of a 14x14 plane at stride 2 ran as short latency-bound chains with strided
  // loads, 4x slower than PyTorch (5x5, 672 channels, N=1).
  constexpr int64_t kFlatBelowWidth = 64;
  const bool flat_layout = p.Wo < kFlatBelowWidth && FlatGrid::fits(p);
  const FlatGrid grid(p, flat_layout && p.sh > 1);
  // Wg: the padded plane's width off the phase path (ps = 1).
  const int64_t ps = grid.ps, Wg = grid.Wg, padded = grid.padded, kw = grid.kw;
  const int64_t taps = Cg * p.R * ps;  // rows of taps (per phase column when ps > 1)
  // Long rows of one input channel, stride 1, kernel rows not dilated: blocks of output rows at
  // once (the plane kernel), each loaded input vector serving every row whose window covers it.
  const bool plane_kernel = Cg == 1 && p.sh == 1 && p.sw == 1 && p.dh == 1;
  // Output rows of at most one vector, one input channel, stride 1, undilated: the planes read
  // where they lie with masked loads, written with masked stores, no padded copy in and no
  // copy-out (dw_512@14 at N=8: 0.480 -> 0.342 ms on one thread, 0.227 -> 0.170 on two). 3x3,
  // 5x5 and 7x7 rows up to 8 vectors wide likewise, in strips of one vector, instead of the
  // plane kernel (one thread, N=8, paired: 3x3 on 64 channels at 56x56 1.68x as fast, at 28x28
  // 1.57x; 5x5 on 128 at 40x40 1.42x; 32 at 112x112 1.03x).
  const bool small_plane = uk.small_plane && Cg == 1 && p.sh == 1 && p.sw == 1 && p.dh == 1 &&
                           p.dw == 1 &&
                           ukernels::dwconv_small_plane_fits(p.R, p.S, p.Wo,
                                                             uk.small_plane_max_width);
  // The same at stride 2 for 3x3, 5x5 and 7x7, in strips of outputs whose windows lie within
  // two vectors of their input row: no phase split, no copy-out (one thread, N=8: 672 channels
  // at 14x14, 5x5, 1.44 -> 0.82 ms; 576 at 14x14, 3x3, 0.96 -> 0.35 ms; 240 at 28x28, 5x5, 1.21
  // -> 0.56 ms; in several strips, paired against the phase split: 144 at 56x56, 5x5, 1.86x as
  // fast; 64 at 56x56, 3x3, 1.66x; 32 at 112x112, 3x3, 2.63x; 7x7, 96 at 56x56, 0.95-1.08x).
  const bool small_plane_s2 =
      uk.small_plane_s2 && Cg == 1 && p.sh == 2 && p.sw == 2 && p.dh == 1 && p.dw == 1 &&
      ukernels::dwconv_small_plane_s2_fits(p.R, p.S, p.Wo, uk.small_plane_max_width);
  constexpr int64_t kPlaneRowBlock = 4;  // output rows per plane-kernel call (its register block)
  const int64_t flat_run = grid.flat_run;
  // At stride ps > 1, row of taps t = (c, r, pc) reads phase (r % ps, pc) of channel c from its
  // row r / ps, with weights (c, r, pc + q * ps) for q < kw (-1: past the kernel, zero).
  std::vector<int64_t> phase_x_off(ps > 1 ? taps : 0);
  std::vector<int64_t> phase_w_index(ps > 1 ? taps * kw : 0);
  for (int64_t t = 0; ps > 1 && t < taps; ++t) {
    const int64_t pc = t % ps, r = t / ps % p.R, c = t / ps / p.R;
    phase_x_off[t] = grid.tap_offset(p, c, r, pc);
    for (int64_t q = 0; q < kw; ++q) {
      const int64_t sc = pc + q * ps;
      phase_w_index[t * kw + q] = sc < p.S ? (c * p.R + r) * p.S + sc : -1;
    }
  }
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
    if (small_plane || small_plane_s2) {
      // One call per image's run of groups: their planes are consecutive in x, y and w.
      for (int64_t ng = ng0; ng < ng1;) {
        const int64_t n = ng / p.groups, g0 = ng % p.groups;
        const int64_t g1 = std::min(p.groups, g0 + ng1 - ng);
        (small_plane ? uk.small_plane : uk.small_plane_s2)(
            {x + (n * p.C + g0) * plane, p.H, p.W, w + g0 * Kg * p.R * p.S, p.R, p.S, p.pt, p.pl,
             bias ? bias + g0 * Kg : nullptr, y + (n * p.K + g0 * Kg) * out_plane, p.Ho, p.Wo,
             (g1 - g0) * Kg, Kg});
        ng += g1 - g0;
      }
      return;
    }
    // The group's input planes, zero-padded, shared by its Kg output channels.
    T* xp = padded_planes<T>(p, grid);
    T* flat = flat_layout ? thread_buffer<T>(1, static_cast<size_t>(flat_run)) : nullptr;
    const T** rows = thread_buffer<const T*>(0, static_cast<size_t>(2 * taps));
    const T** wrow = rows + taps;
    // The phase columns' rows of taps: kw weights each, taps * kw in all.
    T* wphase = ps > 1 ? thread_buffer<T>(2, static_cast<size_t>(taps * kw)) : nullptr;
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
          uk.copy_rows(xp + (p.pt + copied) * Wg + p.pl, Wg, src + copied * p.W, p.W,
                       end - copied, p.W);
          copied = end;
        };
        copy_input_to(kPlaneRowBlock + p.R - 1);
        for (int64_t oh = 0; oh < p.Ho; oh += kPlaneRowBlock) {
          const int64_t rows = std::min(kPlaneRowBlock, p.Ho - oh);
          copy_input_to(oh + 2 * kPlaneRowBlock + p.R - 1);
          for (int64_t k = g * Kg; k < (g + 1) * Kg; ++k)
            uk.plane({xp + oh * Wg, Wg, w + k * p.R * p.S, p.R, p.S, p.dw, bias ? bias[k] : T(0),
                      y + (n * p.K + k) * out_plane + oh * p.Wo, p.Wo, rows, p.Wo});
        }
        continue;
      }
      copy_group_planes(p, grid, uk, x, n, g, xp);
      for (int64_t kk = 0; kk < Kg; ++kk) {
        const int64_t k = g * Kg + kk;
        const T* wk = w + k * Cg * p.R * p.S;  // (Cg, R, S) weights of output channel k
        const T b = bias ? bias[k] : T(0);
        T* yk = y + (n * p.K + k) * out_plane;
        if (ps > 1) {
          for (int64_t t = 0; t < taps; ++t) {
            rows[t] = xp + phase_x_off[t];
            wrow[t] = wphase + t * kw;
          }
          for (int64_t e = 0; e < taps * kw; ++e)
            wphase[e] = phase_w_index[e] >= 0 ? wk[phase_w_index[e]] : T(0);
          uk.row({rows, wrow, taps, 0, flat_run, 1, 1, kw, b, flat});
          uk.copy_rows(yk, p.Wo, flat, Wg, p.Ho, p.Wo);
          continue;
        }
        for (int64_t t = 0; t < taps; ++t) wrow[t] = wk + t * p.S;
        if (flat) {
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t r = 0; r < p.R; ++r) rows[c * p.R + r] = xp + c * padded + r * p.dh * Wg;
          uk.row({rows, wrow, taps, 0, flat_run, 1, p.dw, p.S, b, flat});
          uk.copy_rows(yk, p.Wo, flat, Wg, p.Ho, p.Wo);
          continue;
        }
        for (int64_t oh = 0; oh < p.Ho; ++oh) {
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t r = 0; r < p.R; ++r)
              rows[c * p.R + r] = xp + c * padded + (oh * p.sh + r * p.dh) * Wg;
          uk.row({rows, wrow, taps, 0, p.Wo, p.sw, p.dw, p.S, b, yk + oh * p.Wo});
        }
      }
    }
  });
}

const char* depthwise_forward_declines(const Conv2dParams& p) {
  static_assert(kDepthwiseMaxInputsPerGroup == 2 && kDepthwiseMaxOutputsPerGroup == 4,
                "update the messages below");
  if (p.C / p.groups > kDepthwiseMaxInputsPerGroup)
    return "more than 2 input channels per group (blocked kernels reuse loads across channels)";
  if (p.K / p.groups > kDepthwiseMaxOutputsPerGroup)
    return "more than 4 output channels per group (blocked kernels reuse loads across channels)";
  return nullptr;
}

namespace {

// The forward conv whose output is p's input gradient (depthwise_conv2d_input); its padding
// comes out negative where p's padding is wider than its dilated kernel.
Conv2dParams input_as_forward(const Conv2dParams& p) {
  const int64_t eh = (p.R - 1) * p.dh, ew = (p.S - 1) * p.dw;
  Conv2dParams q = p;
  q.C = p.K;
  q.K = p.C;
  q.H = (p.Ho - 1) * p.sh + 1;  // grad_output, zeros inserted
  q.W = (p.Wo - 1) * p.sw + 1;
  q.sh = q.sw = 1;
  q.pt = eh - p.pt;
  q.pl = ew - p.pl;
  q.pb = p.H + eh - q.H - q.pt;  // so that the output is H x W
  q.pr = p.W + ew - q.W - q.pl;
  return q;
}

}  // namespace

const char* depthwise_input_declines(const Conv2dParams& p) {
  static_assert(kDepthwiseMaxInputsPerGroup == 2 && kDepthwiseMaxOutputsPerGroup == 4,
                "update the messages below");
  if (p.K / p.groups > kDepthwiseMaxInputsPerGroup)
    return "more than 2 output channels per group (the gradient's inputs; blocked kernels reuse "
           "loads across channels)";
  if (p.C / p.groups > kDepthwiseMaxOutputsPerGroup)
    return "more than 4 input channels per group (the gradient's outputs; blocked kernels reuse "
           "loads across channels)";
  const Conv2dParams q = input_as_forward(p);
  if (q.pt < 0 || q.pb < 0 || q.pl < 0 || q.pr < 0)
    return "padding wider than the dilated kernel";
  return nullptr;
}

namespace {

// One axis of a strided, undilated input gradient split into its stride phases: dx index
// i = stride * i' + a takes the kernel taps r = first + stride * u (u < taps) from grad_output
// index i' + c - u. So phase a is a stride-1 correlation of grad_output with those taps in
// reverse order, over `size` outputs, reading grad_output's zero-padded copy from `start` on.
struct PhaseAxis {
  int64_t first, taps, size, c, start;
};
inline constexpr int64_t kMaxPhaseStride = 8;
struct PhaseAxes {
  PhaseAxis phase[kMaxPhaseStride];
  int64_t pad;     // zeros before grad_output in the padded copy
  int64_t extent;  // the padded copy's length
};

PhaseAxes phase_axes(int64_t X, int64_t O, int64_t R, int64_t stride, int64_t pad) {
  PhaseAxes ax{};
  for (int64_t a = 0; a < stride; ++a) {
    PhaseAxis& f = ax.phase[a];
    f.first = (a + pad) % stride;
    f.taps = f.first < R ? (R - f.first + stride - 1) / stride : 0;
    f.size = a < X ? (X - a + stride - 1) / stride : 0;
    f.c = (a + pad - f.first) / stride;
    if (f.taps > 0 && f.size > 0) ax.pad = std::max(ax.pad, f.taps - 1 - f.c);
  }
  ax.extent = ax.pad + O;
  for (int64_t a = 0; a < stride; ++a) {
    PhaseAxis& f = ax.phase[a];
    f.start = f.c - f.taps + 1 + ax.pad;
    if (f.taps > 0 && f.size > 0) ax.extent = std::max(ax.extent, f.start + f.size + f.taps - 1);
  }
  return ax;
}

// Whether the input gradient goes by stride phases: one input and one output channel per
// group, strided, undilated, unless zero insertion measured faster. That is where grad_output
// with zeros inserted goes by the small-plane kernel compiled for its size (dx rows at most
// small_plane_width wide, 0 where the ISA has no small-plane kernel; 3x3, 5x5, 7x7), whose
// phases would be narrow planes on kernels read at run time (one thread, 14x14 maps, stride 2:
// by phases 0.50-0.57x as fast with 3x3 and 512 channels, 0.70-0.79x with 5x5 and 7x7; 28x28
// maps, 5x5, 1.6-1.7x faster), and a 3x3 whose phases are at most 8 columns wide elsewhere
// (AVX2, 512 channels at 14x14: by phases 0.71-0.82x as fast).
bool input_goes_by_phases(const Conv2dParams& p, int64_t small_plane_width) {
  if (!(p.sh > 1 || p.sw > 1) || p.dh != 1 || p.dw != 1 || p.C != p.groups ||
      p.K != p.groups || p.sh > kMaxPhaseStride || p.sw > kMaxPhaseStride)
    return false;
  if (ukernels::dwconv_small_plane_compiled(p.R, p.S) && p.W <= small_plane_width) return false;
  return !(p.R == 3 && p.S == 3 && (p.W + p.sw - 1) / p.sw <= 8);
}

// Each channel's taps by stride phase (a, b), ph = a * sw + b: phase ph's taps of channel k at
// wp + w_off[ph] + k * (its taps), rows then columns, each in reverse order (the correlation's
// order). Every tap lands on one phase: K * R * S elements in all.
template <class T>
void pack_phase_weights(const Conv2dParams& p, const PhaseAxes& rows, const PhaseAxes& cols,
                        const T* w, T* wp, int64_t* w_off) {
  int64_t n = 0;
  for (int64_t ph = 0; ph < p.sh * p.sw; ++ph) {
    const PhaseAxis &ra = rows.phase[ph / p.sw], &cb = cols.phase[ph % p.sw];
    w_off[ph] = n;
    for (int64_t k = 0; k < p.K; ++k)
      for (int64_t u = 0; u < ra.taps; ++u)
        for (int64_t v = 0; v < cb.taps; ++v)
          wp[n++] = w[(k * p.R + ra.first + p.sh * (ra.taps - 1 - u)) * p.S + cb.first +
                      p.sw * (cb.taps - 1 - v)];
  }
}

// The phase planes of one dx plane back into it: phase (a, b)'s rows (pitch[b] apart) at
// phase_plane(a, b), each dx row of phase a interleaving its row of every phase (a, b).
template <class T, class PhasePlane>
void interleave_phases(const DwConvUkernel<T>& uk, const Conv2dParams& p, const PhaseAxes& rows,
                       const int64_t* pitch, PhasePlane&& phase_plane, T* d) {
  for (int64_t a = 0; a < p.sh; ++a) {
    const int64_t n = rows.phase[a].size;
    T* first_row = d + a * p.W;  // dx rows a, a + sh, ...
    if (p.sw == 1) {
      uk.copy_rows(first_row, p.sh * p.W, phase_plane(a, 0), pitch[0], n, p.W);
    } else if (p.sw == 2) {
      uk.merge_pairs(first_row, p.sh * p.W, phase_plane(a, 0), pitch[0], phase_plane(a, 1),
                     pitch[1], n, p.W);
    } else {
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < p.W; ++j) {
          const int64_t b = j % p.sw;
          first_row[i * p.sh * p.W + j] = phase_plane(a, b)[i * pitch[b] + j / p.sw];
        }
    }
  }
}

// The input gradient by stride phases: each phase's stride-1 correlation of grad_output with
// its taps into a buffer of phase planes, then the phases interleaved into dx. Over
// grad_output with zeros inserted, 3/4 of a stride-2 kernel's multiply-adds read an inserted
// zero. Phases at most a vector wide go by the small-plane kernel, which reads grad_output's
// planes where they lie (masked loads, no padded copy), a block of channels per call; wider
// ones by the row kernel over one zero-padded copy of each grad_output plane, each phase one
// flat run along that copy's rows (its junk columns, past the phase's width, never read back).
// (By the plane kernel, which works a row in vectors of 16, 8, 4, ..., phases 28 wide ran
// slower than the zero-inserted path.)
template <class T>
void input_by_phases(const DwConvUkernel<T>& uk, const Conv2dParams& p, const T* gy, const T* w,
                     const T* bias, T* dx) {
  const PhaseAxes rows = phase_axes(p.H, p.Ho, p.R, p.sh, p.pt);
  const PhaseAxes cols = phase_axes(p.W, p.Wo, p.S, p.sw, p.pl);
  const int64_t phases = p.sh * p.sw;
  bool small_planes = uk.small_plane != nullptr;  // every phase fits the small-plane kernel
  for (int64_t ph = 0; ph < phases; ++ph) {
    const PhaseAxis &ra = rows.phase[ph / p.sw], &cb = cols.phase[ph % p.sw];
    if (ra.taps > 0 && cb.taps > 0 && ra.size > 0 && cb.size > 0)
      small_planes = small_planes && cb.size <= uk.small_plane_max_width &&
                     cb.taps <= ukernels::kDwConvSmallPlaneMaxS && ra.taps - 1 - ra.c >= 0 &&
                     cb.taps - 1 - cb.c >= 0;
  }
  int64_t w_off[kMaxPhaseStride * kMaxPhaseStride];
  T* wp = thread_buffer<T>(3, static_cast<size_t>(p.K * p.R * p.S));
  pack_phase_weights(p, rows, cols, w, wp, w_off);
  const int64_t planes = p.N * p.C, plane = p.H * p.W, out_plane = p.Ho * p.Wo;
  // Planes per block on the small-plane path: their phase planes stay in L2 until interleaved.
  const int64_t block =
      small_planes ? std::max<int64_t>(1, (256 << 10) / (plane * sizeof(T))) : 1;
  // Phase (a, b)'s planes at out + block * out_off[a * sw + b], its rows pitch[b] apart: dense
  // on the small-plane path, along the padded copy's rows on the wide one.
  int64_t pitch[kMaxPhaseStride], out_off[kMaxPhaseStride * kMaxPhaseStride], on = 0;
  for (int64_t b = 0; b < p.sw; ++b) pitch[b] = small_planes ? cols.phase[b].size : cols.extent;
  for (int64_t ph = 0; ph < phases; ++ph) {
    out_off[ph] = on;
    on += rows.phase[ph / p.sw].size * pitch[ph % p.sw];
  }
  const int64_t padded = rows.extent * cols.extent;  // the wide path's copy of a plane
  const double flops = 2.0 * planes * p.R * p.S * out_plane;
  const double bytes = static_cast<double>(sizeof(T)) * planes * (plane + out_plane);
  const int64_t chunks =
      std::min<int64_t>(planes, threads_for(std::max(flops_ns(flops), stream_ns(bytes))));
  parallel_for(chunks, [&](int64_t chunk) {
    T* out = thread_buffer<T>(7, static_cast<size_t>(block * on));
    T* gp = nullptr;
    const T** tap_rows = thread_buffer<const T*>(0, static_cast<size_t>(2 * p.R));
    const T** tap_w = tap_rows + p.R;
    if (!small_planes) {  // its borders zeroed once per geometry: only the interior is written
      thread_local int64_t geometry[4] = {-1, -1, -1, -1};
      gp = thread_buffer<T>(6, static_cast<size_t>(padded));
      const int64_t key[4] = {p.Ho, p.Wo, rows.pad * cols.extent + cols.pad, padded};
      if (!std::equal(key, key + 4, geometry)) {
        std::fill(gp, gp + padded, T(0));
        std::copy(key, key + 4, geometry);
      }
    }
    const int64_t q1 = planes * (chunk + 1) / chunks;
    for (int64_t q0 = planes * chunk / chunks; q0 < q1;) {
      // Planes [q0, q0 + nb): within one image (the small-plane kernel's weights run with its
      // planes).
      const int64_t k0 = q0 % p.C, nb = std::min({block, q1 - q0, p.C - k0});
      if (!small_planes)
        uk.copy_rows(gp + rows.pad * cols.extent + cols.pad, cols.extent, gy + q0 * out_plane,
                     p.Wo, p.Ho, p.Wo);
      for (int64_t ph = 0; ph < phases; ++ph) {
        const PhaseAxis &ra = rows.phase[ph / p.sw], &cb = cols.phase[ph % p.sw];
        const int64_t size = ra.size * pitch[ph % p.sw], taps = ra.taps * cb.taps;
        T* y = out + nb * out_off[ph];
        const T* wph = wp + w_off[ph] + k0 * taps;
        if (ra.size == 0 || cb.size == 0) continue;
        if (taps == 0) {  // no tap lands on this phase: the bias alone
          for (int64_t l = 0; l < nb; ++l)
            std::fill_n(y + l * size, size, bias ? bias[k0 + l] : T(0));
        } else if (small_planes) {
          uk.small_plane({gy + q0 * out_plane, p.Ho, p.Wo, wph, ra.taps, cb.taps,
                          ra.taps - 1 - ra.c, cb.taps - 1 - cb.c, bias ? bias + k0 : nullptr, y,
                          ra.size, cb.size, nb, 1});
        } else {
          for (int64_t u = 0; u < ra.taps; ++u) {
            tap_rows[u] = gp + (ra.start + u) * cols.extent + cb.start;
            tap_w[u] = wph + u * cb.taps;
          }
          uk.row({tap_rows, tap_w, ra.taps, 0, (ra.size - 1) * cols.extent + cb.size, 1, 1,
                  cb.taps, bias ? bias[k0] : T(0), y});
        }
      }
      for (int64_t l = 0; l < nb; ++l)
        interleave_phases(uk, p, rows, pitch, [&](int64_t a, int64_t b) {
          return out + nb * out_off[a * p.sw + b] + l * rows.phase[a].size * pitch[b];
        }, dx + (q0 + l) * plane);
      q0 += nb;
    }
  });
}

}  // namespace

template <class T>
void depthwise_conv2d_input(const Conv2dParams& p, const T* gy, const T* w, const T* bias,
                            T* dx) {
  if (p.N == 0) return;
  const DwConvUkernel<T>& uk = pick_ukernel<T>();
  if (input_goes_by_phases(p, uk.small_plane ? uk.small_plane_max_width : 0)) {
    input_by_phases(uk, p, gy, w, bias, dx);
    return;
  }
  Conv2dParams q = input_as_forward(p);
  ops::finish_params(q);  // q.Ho, q.Wo = p.H, p.W
  const int64_t Cg = p.C / p.groups, Kg = p.K / p.groups, RS = p.R * p.S;
  // wq[g*Cg + c][k][r][s] = w[g*Kg + k][c][R-1-r][S-1-s] (slots past the forward's: the calling
  // thread runs part of the forward too).
  T* wq = thread_buffer<T>(3, static_cast<size_t>(p.K * Cg * RS));
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t k = 0; k < Kg; ++k) {
        const T* src = w + ((g * Kg + k) * Cg + c) * RS;
        T* dst = wq + ((g * Cg + c) * Kg + k) * RS;
        for (int64_t t = 0; t < RS; ++t) dst[t] = src[RS - 1 - t];
      }
  if (p.sh == 1 && p.sw == 1) {
    depthwise_conv2d_forward(q, gy, wq, bias, dx);
    return;
  }
  // Otherwise strided (dilated, several channels per group, or where input_goes_by_phases found
  // zero insertion faster): a few images at a time, so the zero-inserted copy (stride^2 times
  // grad_output's size) stays within kUpsampledChunkBytes (or one image).
  constexpr int64_t kUpsampledChunkBytes = 8 << 20;
  const int64_t up = q.H * q.W, plane = p.Ho * p.Wo;
  const int64_t image_bytes = p.K * up * static_cast<int64_t>(sizeof(T));
  const int64_t chunk = std::max<int64_t>(1, std::min(p.N, kUpsampledChunkBytes / image_bytes));
  T* gu = thread_buffer<T>(4, static_cast<size_t>(chunk * p.K * up));
  for (int64_t n0 = 0; n0 < p.N; n0 += chunk) {
    q.N = std::min(chunk, p.N - n0);
    const int64_t planes = q.N * p.K;
    const T* gyn = gy + n0 * p.K * plane;
    parallel_for_cost(planes, stream_ns(2.0 * planes * up * sizeof(T)), [&](int64_t k) {
      T* dst = gu + k * up;
      std::fill(dst, dst + up, T(0));
      const T* src = gyn + k * plane;
      for (int64_t i = 0; i < p.Ho; ++i)
        for (int64_t j = 0; j < p.Wo; ++j) dst[i * p.sh * q.W + j * p.sw] = src[i * p.Wo + j];
    });
    depthwise_conv2d_forward(q, gu, wq, bias, dx + n0 * p.C * p.H * p.W);
  }
}

const char* depthwise_weight_declines(const Conv2dParams& p) {
  if (const char* why = depthwise_forward_declines(p)) return why;
  if (!FlatGrid::fits(p)) return "strides differ between the axes, or strided and dilated";
  return nullptr;
}

template <class T>
void depthwise_conv2d_weight(const Conv2dParams& p, const T* x, const T* gy, T* dw) {
  const DwConvUkernel<T>& uk = pick_ukernel<T>();
  const int64_t Cg = p.C / p.groups, Kg = p.K / p.groups, RS = p.R * p.S;
  std::fill(dw, dw + p.K * Cg * RS, T(0));
  if (p.N == 0) return;
  const FlatGrid grid(p, p.sh > 1);
  const int64_t out_plane = p.Ho * p.Wo;
  // Tap (c, r, s)'s offset in the group's planes, the same for every group and image.
  std::vector<int64_t> tap_off(Cg * RS);
  for (int64_t c = 0; c < Cg; ++c)
    for (int64_t r = 0; r < p.R; ++r)
      for (int64_t s = 0; s < p.S; ++s)
        tap_off[(c * p.R + r) * p.S + s] = grid.tap_offset(p, c, r, s);
  const double flops = 2.0 * p.N * p.K * Cg * RS * p.Ho * p.Wo;
  const double bytes =
      static_cast<double>(sizeof(T)) * p.N * (p.C * p.H * p.W + p.K * out_plane);
  const int64_t chunks =
      std::min<int64_t>(p.groups, threads_for(std::max(flops_ns(flops), stream_ns(bytes))));
  parallel_for(chunks, [&](int64_t chunk) {
    const int64_t g0 = p.groups * chunk / chunks, g1 = p.groups * (chunk + 1) / chunks;
    T* xp = padded_planes<T>(p, grid);
    // grad_output along the run (slot 5, its own: its junk columns and the slack past the run
    // stay zero from the first use with this geometry).
    thread_local int64_t run_geometry[3] = {-1, -1, -1};
    T* run = thread_buffer<T>(5, static_cast<size_t>(grid.flat_run));
    const int64_t run_key[3] = {p.Ho, p.Wo, grid.Wg};
    if (!std::equal(run_key, run_key + 3, run_geometry)) {
      std::fill(run, run + grid.flat_run, T(0));
      std::copy(run_key, run_key + 3, run_geometry);
    }
    const T** taps = thread_buffer<const T*>(0, static_cast<size_t>(Cg * RS));
    for (int64_t g = g0; g < g1; ++g)
      for (int64_t n = 0; n < p.N; ++n) {
        copy_group_planes(p, grid, uk, x, n, g, xp);
        for (int64_t t = 0; t < Cg * RS; ++t) taps[t] = xp + tap_off[t];
        for (int64_t k = g * Kg; k < (g + 1) * Kg; ++k) {
          uk.copy_rows(run, grid.Wg, gy + (n * p.K + k) * out_plane, p.Wo, p.Ho, p.Wo);
          uk.taps_dot(run, taps, Cg * RS, grid.flat_run, dw + k * Cg * RS);
        }
      }
  });
}

template void depthwise_conv2d_forward<float>(const Conv2dParams&, const float*, const float*,
                                              const float*, float*);
template void depthwise_conv2d_forward<double>(const Conv2dParams&, const double*,
                                               const double*, const double*, double*);
template void depthwise_conv2d_input<float>(const Conv2dParams&, const float*, const float*,
                                            const float*, float*);
template void depthwise_conv2d_input<double>(const Conv2dParams&, const double*, const double*,
                                             const double*, double*);
template void depthwise_conv2d_weight<float>(const Conv2dParams&, const float*, const float*,
                                             float*);
template void depthwise_conv2d_weight<double>(const Conv2dParams&, const double*, const double*,
                                              double*);

}  // namespace fastconv::algos
