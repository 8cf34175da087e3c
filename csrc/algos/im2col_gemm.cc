#include "algos/im2col_gemm.h"

#include <atomic>
#include <cstring>
#include <vector>

#include "runtime/cpu.h"
#include "runtime/parallel.h"
#include "runtime/workspace.h"
#include "ukernels/im2col.h"
#include "ukernels/transpose.h"

namespace fastconv::algos {
namespace {

using ops::Conv2dParams;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

std::atomic<int64_t> g_last_tile_bytes{0};

double balance(int64_t units, int threads) {
  return static_cast<double>(units) / (threads * ceil_div(units, threads));
}

void split(int64_t n, int parts, int part, int64_t* begin, int64_t* end) {
  *begin = n * part / parts;
  *end = n * (part + 1) / parts;
}

// The active ISA's float block transpose (block 0: none, element by element).
const ukernels::TransposeUkernel& transpose_ukernel() {
  static const ukernels::TransposeUkernel k[] = {
      {"f32_transpose_scalar", 0, nullptr},
      {"f32_transpose_8x8_avx2", 8, ukernels::f32_transpose_8x8_avx2},
      {"f32_transpose_16x16_avx512", 16, ukernels::f32_transpose_16x16_avx512}};
  return k[static_cast<int>(active_isa())];
}

template <class T>
const ukernels::Im2colUkernel<T>& im2col_ukernel();

template <>
const ukernels::Im2colUkernel<float>& im2col_ukernel<float>() {
  using namespace ukernels;
  static const Im2colUkernel<float> k[] = {
      {"f32_im2col_rows_scalar", nullptr, nullptr},
      {"f32_im2col_rows_avx2", f32_im2col_rows_avx2, f32_im2col_rows_s2_avx2},
      {"f32_im2col_rows_avx512", f32_im2col_rows_avx512, f32_im2col_rows_s2_avx512}};
  return k[static_cast<int>(active_isa())];
}

template <>
const ukernels::Im2colUkernel<double>& im2col_ukernel<double>() {
  using namespace ukernels;
  static const Im2colUkernel<double> k[] = {
      {"f64_im2col_rows_scalar", nullptr, nullptr},
      {"f64_im2col_rows_avx2", f64_im2col_rows_avx2, f64_im2col_rows_s2_avx2},
      {"f64_im2col_rows_avx512", f64_im2col_rows_avx512, f64_im2col_rows_s2_avx512}};
  return k[static_cast<int>(active_isa())];
}

// Fills im2col panel rows (ukernels/im2col.h) with the active ISA's kernel for the stride, or
// a plain loop where it has none (the scalar level, strides above 2) or the call has more taps
// than the kernels' mask table holds (ColPanels never makes such calls).
template <class T>
class Im2colRows {
 public:
  explicit Im2colRows(int64_t stride)
      : stride_(stride),
        fn_(stride == 1 ? im2col_ukernel<T>().stride1
                        : stride == 2 ? im2col_ukernel<T>().stride2 : nullptr) {}

  void operator()(const ukernels::Im2colRowsArgs<T>& a) const {
    if (fn_ && a.taps <= ukernels::kIm2colRowsMaxTaps) return fn_(a);
    int64_t c = a.first_tap / a.taps, j = a.first_tap % a.taps;
    for (int64_t i = 0; i < a.rows; ++i) {
      T* d = a.dst + i * a.ld;
      const T* src = a.src + c * a.channel_stride + a.off[j];
      const int64_t lo = a.lo[j], hi = a.hi[j];
      for (int64_t e = 0; e < lo; ++e) d[e] = T(0);
      for (int64_t e = lo; e < hi; ++e) d[e] = src[e * stride_];
      for (int64_t e = hi; e < a.len; ++e) d[e] = T(0);
      if (++j == a.taps) {
        j = 0;
        ++c;
      }
    }
  }

 private:
  int64_t stride_;
  ukernels::Im2colRowsFn<T> fn_;
};

// dst[j * ld_dst + i] = src[i * ld_src + j] for i < rows, j < cols, in 16 x 16 blocks so the
// strided side of the copy stays within a few L1 lines (a row-at-a-time loop with a 1 KiB
// stride thrashes L1 sets). Full float blocks go through the ISA's register transpose (element
// by element, the channels-last copy was 7-9% of a weight gradient: r50_3x3_64@56, dcgan_d2).
template <class T>
void transpose(const T* src, int64_t ld_src, int64_t rows, int64_t cols, T* dst, int64_t ld_dst) {
  constexpr int64_t kB = 16;
  int64_t vb = 0;
  void (*block)(const float*, int64_t, float*, int64_t) = nullptr;
  if constexpr (sizeof(T) == sizeof(float)) {
    const ukernels::TransposeUkernel& uk = transpose_ukernel();
    vb = uk.block;
    block = uk.fn;
  }
  for (int64_t i0 = 0; i0 < rows; i0 += kB) {
    const int64_t i1 = min64(i0 + kB, rows);
    for (int64_t j0 = 0; j0 < cols; j0 += kB) {
      const int64_t j1 = min64(j0 + kB, cols);
      if constexpr (sizeof(T) == sizeof(float)) {
        if (block && i1 - i0 == kB && j1 - j0 == kB) {
          for (int64_t i = i0; i < i1; i += vb)
            for (int64_t j = j0; j < j1; j += vb)
              block(src + i * ld_src + j, ld_src, dst + j * ld_dst + i, ld_dst);
          continue;
        }
      }
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = j0; j < j1; ++j) dst[j * ld_dst + i] = src[i * ld_src + j];
    }
  }
}

// dst[r * (count * len) + i * len + j] = src[i * image_stride + r * len + j]: `rows` planes of
// `len` elements from each of `count` images, side by side in one matrix.
template <class T>
void gather_planes(const T* src, int64_t image_stride, int64_t count, int64_t rows, int64_t len,
                   T* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < count; ++i)
      std::memcpy(dst + (r * count + i) * len, src + i * image_stride + r * len,
                  len * sizeof(T));
}

// Sizes shared by the three ops.
struct Shape {
  int64_t G, Cg, Kg, RS, CRS, HW, P;
  explicit Shape(const Conv2dParams& p)
      : G(p.groups), Cg(p.C / p.groups), Kg(p.K / p.groups), RS(p.R * p.S),
        CRS(p.C / p.groups * p.R * p.S), HW(p.H * p.W), P(p.Ho * p.Wo) {}
};

// Output columns [ow_lo, ow_hi) of kernel column s read inside the input row; the rest read
// padding. Input column of ow is ow * sw + off.
struct ColumnRange {
  int64_t off, lo, hi;
  ColumnRange() = default;
  ColumnRange(const Conv2dParams& p, int64_t s) {
    off = s * p.dw - p.pl;
    lo = off >= 0 ? 0 : min64(ceil_div(-off, p.sw), p.Wo);
    hi = p.W - 1 - off < 0 ? 0 : min64((p.W - 1 - off) / p.sw + 1, p.Wo);
    hi = max64(hi, lo);
  }
};

// d[2i] += a[i], d[2i + 1] += b[i] for i < n.
template <class T>
void add_interleaved(T* __restrict d, const T* __restrict a, const T* __restrict b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    d[2 * i] += a[i];
    d[2 * i + 1] += b[i];
  }
}

// col2im: adds a tile of col (output rows [oh0, oh1), row (c*R + r)*S + s at col + that * ld)
// back into the input-shaped dxg, channels [c0, c1).
template <class T>
void col2im_tile(const Conv2dParams& p, const T* col, int64_t ld, int64_t c0, int64_t c1,
                 int64_t oh0, int64_t oh1, T* dxg) {
  // Stride 2, dilation 1: taps s and s + 1 land on the even and odd columns of one run, added
  // as one contiguous interleaved pass (which vectorises) instead of two strided scalar ones.
  const bool pairs = p.sw == 2 && p.dw == 1;
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t r = 0; r < p.R; ++r)
      for (int64_t s = 0; s < p.S;) {
        const bool pair = pairs && s + 1 < p.S;
        const ColumnRange cr(p, s), cr1 = pair ? ColumnRange(p, s + 1) : cr;
        const int64_t lo = max64(cr.lo, cr1.lo), hi = max64(lo, min64(cr.hi, cr1.hi));
        const T* src = col + ((c * p.R + r) * p.S + s) * ld;
        for (int64_t oh = oh0; oh < oh1; ++oh, src += p.Wo) {
          const int64_t ih = oh * p.sh - p.pt + r * p.dh;
          if (ih < 0 || ih >= p.H) continue;
          T* dst = dxg + (c * p.H + ih) * p.W + cr.off;
          if (p.sw == 1) {
            for (int64_t ow = cr.lo; ow < cr.hi; ++ow) dst[ow] += src[ow];
          } else if (!pair) {
            for (int64_t ow = cr.lo; ow < cr.hi; ++ow) dst[ow * p.sw] += src[ow];
          } else {
            const T* src1 = src + ld;  // tap s + 1, one input column to the right
            // Either tap's columns outside the common range [lo, hi) (clamped to its own
            // range, so disjoint ranges are safe too).
            for (int64_t ow = cr.lo; ow < min64(lo, cr.hi); ++ow) dst[2 * ow] += src[ow];
            for (int64_t ow = cr1.lo; ow < min64(lo, cr1.hi); ++ow) dst[2 * ow + 1] += src1[ow];
            add_interleaved(dst + 2 * lo, src + lo, src1 + lo, hi - lo);
            for (int64_t ow = max64(hi, cr.lo); ow < cr.hi; ++ow) dst[2 * ow] += src[ow];
            for (int64_t ow = max64(hi, cr1.lo); ow < cr1.hi; ++ow) dst[2 * ow + 1] += src1[ow];
          }
        }
        s += pair ? 2 : 1;
      }
}

// Where each (tap, position) of col lands in an input channel plane: lands[(r*S + s)*P + q] is
// the offset of tap (r, s) at output position q, or -1 (padding).
void landing_offsets(const Conv2dParams& p, int64_t* lands) {
  const int64_t P = p.Ho * p.Wo;
  for (int64_t r = 0; r < p.R; ++r)
    for (int64_t s = 0; s < p.S; ++s)
      for (int64_t q = 0; q < P; ++q) {
        const int64_t ih = q / p.Wo * p.sh - p.pt + r * p.dh;
        const int64_t iw = q % p.Wo * p.sw - p.pl + s * p.dw;
        lands[(r * p.S + s) * P + q] =
            ih >= 0 && ih < p.H && iw >= 0 && iw < p.W ? ih * p.W + iw : -1;
      }
}

// col2im of a tile of `count` whole images side by side (image i's positions at columns
// [i*P, (i+1)*P) of each row, images img_stride apart in dx), channels [c0, c1), with the
// landing offsets of landing_offsets, worked out once per call for every channel and image:
// per image, rows of a 2x2 map are 4 values each, and col2im_tile's per-row index arithmetic
// cost more than the adds (col2im was 52% of a 64-image 4x4 stride-2 input gradient).
template <class T>
void col2im_images(const Conv2dParams& p, const int64_t* lands, const T* col, int64_t ld,
                   int64_t count, int64_t img_stride, int64_t c0, int64_t c1, T* dx) {
  const int64_t P = p.Ho * p.Wo, RS = p.R * p.S;
  // Image by image within a channel: the image's plane stays in L1 while every tap adds to it
  // (image-innermost strided every add by img_stride, often a multiple of 4 KiB: one L1 set).
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t i = 0; i < count; ++i) {
      T* plane = dx + i * img_stride + c * p.H * p.W;
      const T* rows = col + c * RS * ld + i * P;
      for (int64_t rs = 0; rs < RS; ++rs) {
        const T* row = rows + rs * ld;
        const int64_t* at = lands + rs * P;
        for (int64_t q = 0; q < P; ++q)
          if (at[q] >= 0) plane[at[q]] += row[q];
      }
    }
}

// col2im from dcol^T, whose rows are the positions of `count` whole images (image i's at rows
// [i*P, (i+1)*P)) and whose columns are (c, r, s) for channels [0, channels): a position's
// taps of one channel are one run of R*S, and with undilated kernel columns each kernel row's
// S taps land on S consecutive columns of dx. Positions outer, channels inner, so dcol^T is read
// in order (channels outer, in blocks of 16 KiB of dx planes, measured no faster).
template <int kS, class T>
inline void add_run(T* __restrict dst, const T* __restrict src, int64_t s0, int64_t s1) {
  if constexpr (kS > 0) {
    if (s0 == 0 && s1 == kS) {
#pragma GCC unroll 8
      for (int s = 0; s < kS; ++s) dst[s] += src[s];
      return;
    }
  }
  for (int64_t s = s0; s < s1; ++s) dst[s] += src[s];
}

template <int kS, class T>
void col2im_positions_sized(const Conv2dParams& p, const T* col_t, int64_t ld, int64_t count,
                            int64_t img_stride, int64_t channels, T* dx) {
  const int64_t RS = p.R * p.S, HW = p.H * p.W;
  for (int64_t i = 0; i < count; ++i)
    for (int64_t oh = 0; oh < p.Ho; ++oh) {
      const int64_t ih0 = oh * p.sh - p.pt;
      const int64_t r0 = ih0 >= 0 ? 0 : ceil_div(-ih0, p.dh);
      const int64_t r1 = min64(p.R, ih0 >= p.H ? 0 : ceil_div(p.H - ih0, p.dh));
      for (int64_t ow = 0; ow < p.Wo; ++ow) {
        const int64_t iw0 = ow * p.sw - p.pl;
        const int64_t s0 = iw0 >= 0 ? 0 : ceil_div(-iw0, p.dw);
        const int64_t s1 = min64(p.S, iw0 >= p.W ? 0 : ceil_div(p.W - iw0, p.dw));
        const T* v = col_t + ((i * p.Ho + oh) * p.Wo + ow) * ld;
        T* out = dx + i * img_stride + ih0 * p.W + iw0;
        for (int64_t c = 0; c < channels; ++c, v += RS, out += HW)
          for (int64_t r = r0; r < r1; ++r) {
            T* row = out + r * p.dh * p.W;
            const T* taps = v + r * p.S;
            if (p.dw == 1) {
              add_run<kS>(row, taps, s0, s1);
            } else {
              for (int64_t s = s0; s < s1; ++s) row[s * p.dw] += taps[s];
            }
          }
      }
    }
}

template <class T>
void col2im_positions(const Conv2dParams& p, const T* col_t, int64_t ld, int64_t count,
                      int64_t img_stride, int64_t channels, T* dx) {
  if (p.S == 4) return col2im_positions_sized<4>(p, col_t, ld, count, img_stride, channels, dx);
  if (p.S == 3) return col2im_positions_sized<3>(p, col_t, ld, count, img_stride, channels, dx);
  col2im_positions_sized<0>(p, col_t, ld, count, img_stride, channels, dx);
}

// The (c, r, s) of col row k = (c*R + r)*S + s, stepped one row at a time.
struct ColRow {
  int64_t c, r, s;
  ColRow(const Conv2dParams& p, int64_t k) : c(k / (p.R * p.S)), r(k / p.S % p.R), s(k % p.S) {}
  void next(const Conv2dParams& p) {
    if (++s < p.S) return;
    s = 0;
    if (++r < p.R) return;
    r = 0;
    ++c;
  }
};

// col of one image and group as a GEMM B operand whose columns start at output position p0:
// packed panels are written straight from the image, so col itself never exists.
template <class T>
struct ColPanels {
  const Conv2dParams* p;
  const T* xg;         // the group's first input channel
  int64_t p0;          // first output position (oh * Wo + ow) of column 0
  int64_t img_stride;  // elements between images: columns past Ho * Wo continue in the next

  // B(k = (c*R + r)*S + s, j) = x_padded[c][oh*sh + r*dh][ow*sw + s*dw], (oh, ow) of p0 + j.
  //
  // The panel's columns split into runs along one output row each (a 48-wide panel over 28
  // output columns: 2-3 runs), the same for every row of col, so the runs are worked out once
  // and each row k of col is then a strided copy per run, clipped to the input. A tap's offset
  // and clipping are the same in every channel but for the channel's plane: worked out once
  // per run and tap, and the active ISA's row kernel (ukernels/im2col.h) copies all the rows.
  // Worked out per row and run, with a copy loop per row, this bookkeeping and the copies took
  // 30% of r50_3x3_64@56's im2col time at N=8 (19% now, N=1 1.87 -> 1.50 ms on one thread).
  // Software prefetch of the channels ahead, which that slower pack needed, no longer pays
  // (N=8, one thread, a prefetch per row two channels ahead: r50_3x3s2_128@56 13.4 ms with and
  // without, r50_3x3_64@56 13.1 with, 12.7 without).
  static void pack(const void* ctx, T* dst, int nr, int64_t j0, int64_t valid, int64_t k0,
                   int64_t kc) {
    const ColPanels& cp = *static_cast<const ColPanels*>(ctx);
    const Conv2dParams& p = *cp.p;
    const int64_t P = p.Ho * p.Wo, HW = p.H * p.W;
    if (valid <= 0) {
      std::memset(dst, 0, sizeof(T) * static_cast<size_t>(kc * nr));
      return;
    }
    struct Run {
      int64_t j, len, oh, ow;
      const T* x;  // its image's channel 0 (of the group)
    };
    constexpr int64_t kMaxRuns = 64, kMaxTaps = ukernels::kIm2colRowsMaxTaps;
    Run runs[kMaxRuns];
    // Per run, a tap's offset from the run's first element and the elements [lo, hi) that read
    // inside the input: the same for every channel, so worked out once per tap and run.
    int64_t tap_off[kMaxTaps], tap_lo[kMaxTaps], tap_hi[kMaxTaps];
    const Im2colRows<T> fill_rows(p.sw);
    // Each kernel column's range once per panel (it costs divisions).
    constexpr int64_t kMaxCachedS = 16;
    ColumnRange cached[kMaxCachedS];
    for (int64_t s = 0; s < min64(p.S, kMaxCachedS); ++s) cached[s] = ColumnRange(p, s);
    auto set_tap = [&](int64_t i, const Run& u, int64_t c, int64_t r, int64_t s) {
      const int64_t ih = u.oh * p.sh + r * p.dh - p.pt;
      const ColumnRange& cr = s < kMaxCachedS ? cached[s] : ColumnRange(p, s);
      tap_off[i] = c * HW + ih * p.W + u.ow * p.sw + cr.off;
      tap_lo[i] = tap_hi[i] = u.len;
      if (ih >= 0 && ih < p.H) {
        tap_lo[i] = min64(max64(cr.lo - u.ow, 0), u.len);
        tap_hi[i] = max64(min64(cr.hi - u.ow, u.len), tap_lo[i]);
      }
    };
    const int64_t RS = p.R * p.S;
    // The columns kMaxRuns runs at a time: one pass for any panel of up to 64 columns.
    for (int64_t jc = 0; jc < valid;) {
      int64_t nruns = 0;
      for (int64_t j = jc, pos = cp.p0 + j0 + jc; j < valid && nruns < kMaxRuns; ++nruns) {
        const int64_t q = pos % P, oh = q / p.Wo, ow = q % p.Wo;
        const int64_t len = min64(valid - j, p.Wo - ow);
        runs[nruns] = {j, len, oh, ow, cp.xg + pos / P * cp.img_stride};
        j += len;
        pos += len;
      }
      jc = runs[nruns - 1].j + runs[nruns - 1].len;
      for (int64_t q = 0; q < nruns; ++q) {
        const Run& u = runs[q];
        if (RS <= kMaxTaps) {
          for (int64_t r = 0; r < p.R; ++r)
            for (int64_t s = 0; s < p.S; ++s) set_tap(r * p.S + s, u, 0, r, s);
          fill_rows(ukernels::Im2colRowsArgs<T>{dst + u.j, nr, u.x, HW, tap_off, tap_lo, tap_hi,
                                                RS, k0, kc, u.len});
          continue;
        }
        // Kernels of more than kMaxTaps taps: kMaxTaps rows at a time, each its own tap.
        ColRow t(p, k0);
        for (int64_t kb = 0; kb < kc; kb += kMaxTaps) {
          const int64_t kn = min64(kMaxTaps, kc - kb);
          for (int64_t k = 0; k < kn; ++k, t.next(p)) set_tap(k, u, t.c, t.r, t.s);
          fill_rows(ukernels::Im2colRowsArgs<T>{dst + kb * nr + u.j, nr, u.x, 0, tap_off, tap_lo,
                                                tap_hi, kn, 0, kn, u.len});
        }
      }
    }
    if (valid < nr)
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t jj = valid; jj < nr; ++jj) dst[k * nr + jj] = T(0);
  }
};

// col^T for the weight gradient, with its columns in (r, s, c) order: B(k, j) for output
// position p0 + k and j = (r*S + s)*Cg + c. Packed from a channels-last copy of the input rows
// the tile reads (xt[(ih - ih_lo)*W + iw][c]), each panel row is a few contiguous channel runs;
// packing straight from NCHW would transpose every element once per tap instead. Positions
// past Ho * Wo continue in the next image, whose copy follows at xt + img_elems.
template <class T>
struct ChannelsLastPanels {
  const Conv2dParams* p;
  const T* xt;
  int64_t ih_lo, Cg, p0, img_elems;

  static void pack(const void* ctx, T* dst, int nr, int64_t j0, int64_t valid, int64_t k0,
                   int64_t kc) {
    const ChannelsLastPanels& cp = *static_cast<const ChannelsLastPanels*>(ctx);
    const Conv2dParams& p = *cp.p;
    // The panel's columns as runs of consecutive channels of one tap (the same for every k).
    struct Run { int64_t jj, len, c, ih_off, iw_off; };
    Run runs[64];
    int nruns = 0;
    for (int64_t jj = 0; jj < valid;) {
      const int64_t j = j0 + jj, rs = j / cp.Cg, c = j % cp.Cg;
      const int64_t len = min64(valid - jj, cp.Cg - c);
      runs[nruns++] = {jj, len, c, (rs / p.S) * p.dh - p.pt, (rs % p.S) * p.dw - p.pl};
      jj += len;
    }
    // Runs of one kernel row that are adjacent in xt (dilation 1 in W: tap s + 1 starts where
    // tap s ends) merge into one copy wherever all of them are inside the input row, which
    // keeps the copies long when there are few channels.
    int merged_end[64];
    for (int q = nruns - 1; q >= 0; --q) {
      const Run& u = runs[q];
      const bool joins = q + 1 < nruns && runs[q + 1].ih_off == u.ih_off &&
                         (runs[q + 1].iw_off - u.iw_off) * cp.Cg + runs[q + 1].c - u.c == u.len;
      merged_end[q] = joins ? merged_end[q + 1] : q + 1;
    }
    const int64_t pos0 = cp.p0 + k0, P = p.Ho * p.Wo;
    int64_t oh = pos0 % P / p.Wo, ow = pos0 % p.Wo;
    const T* xt = cp.xt + pos0 / P * cp.img_elems;
    for (int64_t k = 0; k < kc; ++k) {
      T* d = dst + k * nr;
      for (int q = 0; q < nruns;) {
        const Run& u = runs[q];
        const int e = merged_end[q];
        if (e - q > 1) {
          const Run& last = runs[e - 1];
          const int64_t ih = oh * p.sh + u.ih_off;
          const int64_t iw = ow * p.sw + u.iw_off, iw_last = ow * p.sw + last.iw_off;
          if (ih >= 0 && ih < p.H && iw >= 0 && iw_last < p.W) {
            std::memcpy(d + u.jj, xt + ((ih - cp.ih_lo) * p.W + iw) * cp.Cg + u.c,
                        (last.jj + last.len - u.jj) * sizeof(T));
            q = e;
            continue;
          }
        }
        for (; q < e; ++q) {
          const Run& v = runs[q];
          const int64_t ih = oh * p.sh + v.ih_off, iw = ow * p.sw + v.iw_off;
          if (ih >= 0 && ih < p.H && iw >= 0 && iw < p.W)
            std::memcpy(d + v.jj, xt + ((ih - cp.ih_lo) * p.W + iw) * cp.Cg + v.c,
                        v.len * sizeof(T));
          else
            for (int64_t t = 0; t < v.len; ++t) d[v.jj + t] = T(0);
        }
      }
      for (int64_t jj = valid; jj < nr; ++jj) d[jj] = T(0);
      if (++ow == p.Wo) {
        ow = 0;
        if (++oh == p.Ho) {
          oh = 0;
          xt += cp.img_elems;
        }
      }
    }
  }
};

// How the (image, group, row tile) items of one call are cut and shared among threads.
struct Schedule {
  int threads;
  int64_t rows, tiles, jobs;  // rows per tile, tiles per image and group, images * groups
  int64_t items() const { return jobs * tiles; }
  int64_t oh0(int64_t tile) const { return tile * rows; }
};

// Tiles are at most im2col_tile_rows() rows; when the items would leave threads idle, tiles are
// cut smaller (never larger, so the workspace bound holds) until the threads balance.
Schedule schedule(const Conv2dParams& p, size_t elem, bool split_tiles,
                  int64_t max_tile_bytes = kIm2colTileBytes) {
  const Shape sh(p);
  Schedule s;
  s.jobs = p.N * sh.G;
  s.threads = gemm::gemm_threads(sh.Kg, s.jobs * sh.P, sh.CRS, static_cast<int64_t>(elem));
  s.rows = im2col_tile_rows(p, elem, max_tile_bytes);
  s.tiles = ceil_div(p.Ho, s.rows);
  // As many tiles, as even as they go: threads share items by count (r50_3x3s2_128@56 at N=1
  // went as tiles of 18 and 10 rows to two threads, 1.06 ms against 0.90 for direct).
  s.rows = ceil_div(p.Ho, s.tiles);
  if (split_tiles)
    while (s.threads > 1 && balance(s.items(), s.threads) < 0.9 && s.rows > 1) {
      s.rows = ceil_div(p.Ho, s.tiles + 1);
      s.tiles = ceil_div(p.Ho, s.rows);
    }
  return s;
}

template <class F>
void for_each_item(const Schedule& s, F&& item) {
  auto run = [&](int64_t t) {
    int64_t i0, i1;
    split(s.items(), s.threads, static_cast<int>(t), &i0, &i1);
    for (int64_t i = i0; i < i1; ++i) item(t, i / s.tiles, i % s.tiles);
  };
  if (s.threads <= 1) run(0);
  else parallel_for(s.threads, run);
}

}  // namespace

bool im2col_is_pointwise(const Conv2dParams& p) {
  return p.R == 1 && p.S == 1 && p.sh == 1 && p.sw == 1 && p.pt == 0 && p.pb == 0 && p.pl == 0 &&
         p.pr == 0;
}

int64_t im2col_tile_rows(const Conv2dParams& p, size_t elem, int64_t max_bytes) {
  // At most kIm2colTileColumns positions: the weight gradient's GEMM depth then fits one KC block.
  int64_t rows = min64(max64(1, kIm2colTileColumns / p.Wo), p.Ho);
  if (im2col_is_pointwise(p)) return rows;
  const int64_t row_bytes = Shape(p).CRS * p.Wo * static_cast<int64_t>(elem);
  if (rows * row_bytes > max_bytes) rows = max64(1, max_bytes / row_bytes);
  return rows;
}

bool im2col_weight_batches_images(const Conv2dParams& p, size_t elem) {
  return p.N > 1 && p.Ho * p.Wo < kIm2colTileColumns && im2col_tile_rows(p, elem) >= p.Ho;
}

int64_t im2col_last_tile_bytes() { return g_last_tile_bytes.load(); }

namespace {

// A forward call whose maps are smaller than a tile runs several whole images per GEMM (wider B
// panels): as many as fit a tile while every thread still gets a GEMM. 0: the maps are not
// small (the call runs tiles of output rows).
//
// A 1x1 conv reads its images in place, so batching them costs it a copy into packed panels;
// that pays only for maps of at most kIm2colPointwiseBatchMaxPositions, which fill one or two
// register tiles' widths, partly (7x7 maps, 49 columns: 48 and 1), and only for two images or
// more. Measured (one thread, N=8): 2048->512 and 512->2048 on 7x7 maps 1.14x and 1.19x faster,
// 832->384 1.10x (two threads: 2048->512 1.13x); on 14x14 maps, whose 196 columns fill four
// 48-wide tiles, 0.87-0.92x.
int64_t small_map_batch(const Conv2dParams& p, const Schedule& s) {
  const int64_t P = p.Ho * p.Wo;
  if (s.tiles != 1 || P >= kIm2colTileColumns) return 0;
  const int64_t batch = max64(1, min64(kIm2colTileColumns / P, p.N / s.threads));
  if (im2col_is_pointwise(p) && (P > kIm2colPointwiseBatchMaxPositions || batch < 2)) return 0;
  return batch;
}

}  // namespace

template <class T>
void Im2colWeights<T>::pack(const Conv2dParams& p, const T* w, bool in_place) {
  const Shape sh(p);
  if (static_cast<int64_t>(groups.size()) < sh.G) groups.resize(sh.G);
  // The forward's GEMM width, for the micro-kernel choice: the images batched into one GEMM for
  // small maps (dcgan_d2 and d3 at N=8 pick 8x48 for 512 columns, not 14x32 for one 256- or
  // 64-position image: 1.05x and 1.07x faster on one thread), else the widest tile.
  const int64_t batch = small_map_batch(p, schedule(p, sizeof(T), true));
  const int64_t n_hint = batch > 0 ? batch * sh.P : im2col_tile_rows(p, sizeof(T)) * p.Wo;
  for (int64_t g = 0; g < sh.G; ++g) {
    const gemm::Operand<T> wg{w + g * sh.Kg * sh.CRS, sh.CRS, 1};
    if (in_place) groups[g].view(sh.Kg, sh.CRS, wg, n_hint);
    else groups[g].pack(sh.Kg, sh.CRS, wg, n_hint);
  }
}

template <class T>
void im2col_conv2d_forward(const Conv2dParams& p, const T* x, const Im2colWeights<T>& w,
                           const T* bias, T* y) {
  const Shape sh(p);
  const bool pointwise = im2col_is_pointwise(p);
  Schedule s = schedule(p, sizeof(T), true);
  g_last_tile_bytes.store(0);  // set below for small maps
  // Maps smaller than a tile: one or more whole images per GEMM (wider B panels); their outputs
  // are not adjacent in y, so such a GEMM writes a small per-thread block that is copied out.
  // (Packed from a zero-padded copy of the images, element by element, these ran 0-6% slower:
  // r50_3x3_256@14 at N=1 and 8, r50_3x3_512@7 and dcgan_d3 at N=8.)
  const int64_t small_batch = small_map_batch(p, s);
  const bool small_maps = small_batch > 0;
  const int64_t batch = small_maps ? small_batch : 1;
  if (small_maps) {
    s.jobs = ceil_div(p.N, batch) * sh.G;
    g_last_tile_bytes.store(sh.Kg * batch * sh.P * static_cast<int64_t>(sizeof(T)));
  }
  for_each_item(s, [&](int64_t, int64_t job, int64_t tile) {
    const int64_t g = job % sh.G;
    const T* bias_g = bias ? bias + g * sh.Kg : nullptr;  // the GEMM starts its rows from it
    if (small_maps) {
      const int64_t n0 = job / sh.G * batch, n1 = min64(p.N, n0 + batch);
      const int64_t ncols = (n1 - n0) * sh.P;
      T* out = thread_scratch(ScratchSlot::transposed).get<T>(sh.Kg * ncols);
      const ColPanels<T> col{&p, x + (n0 * p.C + g * sh.Cg) * sh.HW, 0, p.C * sh.HW};
      gemm::gemm(w.groups[g], ncols, gemm::PanelSource<T>{ColPanels<T>::pack, &col}, out, ncols,
                 false, 1, bias_g);
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t k = 0; k < sh.Kg; ++k)
          std::memcpy(y + (n * p.K + g * sh.Kg + k) * sh.P, out + k * ncols + (n - n0) * sh.P,
                      sh.P * sizeof(T));
      return;
    }
    const int64_t n = job / sh.G;
    const int64_t oh0 = s.oh0(tile), oh1 = min64(oh0 + s.rows, p.Ho);
    const int64_t ncols = (oh1 - oh0) * p.Wo;
    const T* xg = x + (n * p.C + g * sh.Cg) * sh.HW;
    T* yt = y + (n * p.K + g * sh.Kg) * sh.P + oh0 * p.Wo;
    if (pointwise) {
      gemm::gemm(w.groups[g], ncols, gemm::Operand<T>{xg + oh0 * p.W, sh.HW, 1}, yt, sh.P, false,
                 1, bias_g);
    } else {
      const ColPanels<T> col{&p, xg, oh0 * p.Wo, p.C * sh.HW};
      gemm::gemm(w.groups[g], ncols, gemm::PanelSource<T>{ColPanels<T>::pack, &col}, yt, sh.P,
                 false, 1, bias_g);
    }
  });
}

template <class T>
void im2col_conv2d_forward(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y) {
  // Packed anew each call, into buffers kept per calling thread (fresh multi-megabyte blocks
  // would page-fault on every call, about 0.4 ms per MB here), unless the call has too few
  // columns in all to amortise the packing pass (gemm::kAInPlaceMaxColumns).
  thread_local Im2colWeights<T> packed;
  packed.pack(p, w, p.N * p.Ho * p.Wo <= gemm::kAInPlaceMaxColumns);
  im2col_conv2d_forward(p, x, packed, bias, y);
}

// The input gradient's starting value, which col2im adds onto: channels [0, channels) of
// `images` images (image_stride apart, planes of hw) from first, each its bias (bias[c], or 0
// where bias is null).
template <class T>
void fill_planes(T* first, int64_t image_stride, int64_t images, int64_t channels, int64_t hw,
                 const T* bias) {
  for (int64_t n = 0; n < images; ++n)
    for (int64_t c = 0; c < channels; ++c) {
      T* plane = first + n * image_stride + c * hw;
      if (bias) std::fill_n(plane, hw, bias[c]);
      else std::memset(plane, 0, hw * sizeof(T));
    }
}

// The input gradient of a call whose images all fit one tile (N*Ho*Wo <= kIm2colTileColumns)
// and whose grad_output is at most kIm2colInputByChannelsMaxBytes:
// per group, dcol^T (N*Ho*Wo x Cg*R*S) = grad_output^T * W_g, grad_output^T packed once and W_g
// read as the GEMM's B operand, row by row, once per call (packing W^T instead reads MR
// elements from each row in turn: 18% of dcgan_g2 at N=8). The columns go in chunks of whole
// channels, each small enough that its dcol^T stays in L2 while col2im_positions scatters it
// (no transpose back: dcgan_g2 at N=8 4.44 -> 3.98 ms, dcgan_g3 at N=1 0.653 -> 0.620 on one
// thread); threads take whole chunks (disjoint channels of dx: no races).
template <class T>
void im2col_input_by_channels(const Conv2dParams& p, int threads, const T* gy, const T* w,
                              const T* bias, T* dx) {
  const Shape sh(p);
  const int64_t cols = p.N * sh.P, elem = static_cast<int64_t>(sizeof(T));
  int64_t chunk = max64(1, kIm2colInputChunkBytes / (cols * sh.RS * elem));
  chunk = min64(chunk, ceil_div(sh.Cg, threads));  // a chunk for every thread
  const int64_t chunks = ceil_div(sh.Cg, chunk);
  if (chunks < threads) threads = static_cast<int>(chunks);
  g_last_tile_bytes.store(cols * chunk * sh.RS * elem);
  thread_local gemm::PackedA<T> gyt_buffer;
  gemm::PackedA<T>& gyt = gyt_buffer;  // the caller's, read by every thread
  for (int64_t g = 0; g < sh.G; ++g) {
    const T* gyg = gy + g * sh.Kg * sh.P;
    gemm::Operand<T> a{gyg, 1, sh.P};  // grad_output^T of one image, read where it lies
    if (p.N > 1) {  // the images' planes side by side, one matrix
      T* gb = thread_scratch(ScratchSlot::transposed).get<T>(sh.Kg * cols);
      for (int64_t k = 0; k < sh.Kg; ++k)
        for (int64_t n = 0; n < p.N; ++n)
          std::memcpy(gb + k * cols + n * sh.P, gyg + n * p.K * sh.P + k * sh.P, sh.P * elem);
      a = {gb, 1, cols};
    }
    gyt.pack(cols, sh.Kg, a, chunk * sh.RS);
    const T* wg = w + g * sh.Kg * sh.CRS;
    T* dxg = dx + g * sh.Cg * sh.HW;
    auto run = [&](int64_t t) {
      T* dcol_t = thread_scratch(ScratchSlot::transposed_col).get<T>(cols * chunk * sh.RS);
      int64_t q0, q1;
      split(chunks, threads, static_cast<int>(t), &q0, &q1);
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t c0 = q * chunk, c1 = min64(sh.Cg, c0 + chunk), n_cols = (c1 - c0) * sh.RS;
        gemm::gemm(gyt, n_cols, gemm::Operand<T>{wg + c0 * sh.RS, sh.CRS, 1}, dcol_t, n_cols,
                   false, 1);
        T* dxc = dxg + c0 * sh.HW;  // channel c0 of image 0; channels counted from it
        fill_planes(dxc, p.C * sh.HW, p.N, c1 - c0, sh.HW, bias ? bias + g * sh.Cg + c0 : bias);
        col2im_positions(p, dcol_t, n_cols, p.N, p.C * sh.HW, c1 - c0, dxc);
      }
    };
    if (threads <= 1) run(0);
    else parallel_for(threads, run);
  }
}

template <class T>
void im2col_conv2d_input(const Conv2dParams& p, const T* gy, const T* w, const T* bias, T* dx) {
  if (p.N == 0) return;  // no images: nothing to write (and no columns to cut into chunks)
  const Shape sh(p);
  // dcol = W_g^T * grad_output: the transposed weights are a stride choice, packed once.
  // Buffers reused across calls. A reference, because a lambda running on another thread
  // would name that thread's own thread_local.
  thread_local std::vector<gemm::PackedA<T>> wt_cache;
  std::vector<gemm::PackedA<T>>& wt = wt_cache;
  auto pack_transposed_weights = [&] {
    if (static_cast<int64_t>(wt.size()) < sh.G) wt.resize(sh.G);
    for (int64_t g = 0; g < sh.G; ++g)
      wt[g].pack(sh.CRS, sh.Kg, gemm::Operand<T>{w + g * sh.Kg * sh.CRS, 1, sh.CRS},
                 min64(sh.P * p.N, kIm2colTileColumns));
  };
  auto gy_tile = [&](int64_t n, int64_t g, int64_t oh0) {
    return gemm::Operand<T>{gy + (n * p.K + g * sh.Kg) * sh.P + oh0 * p.Wo, sh.P, 1};
  };
  if (im2col_is_pointwise(p)) {
    g_last_tile_bytes.store(0);
    pack_transposed_weights();
    const Schedule s = schedule(p, sizeof(T), true);
    for_each_item(s, [&](int64_t, int64_t job, int64_t tile) {
      const int64_t n = job / sh.G, g = job % sh.G;
      const int64_t oh0 = s.oh0(tile), oh1 = min64(oh0 + s.rows, p.Ho);
      gemm::gemm(wt[g], (oh1 - oh0) * p.Wo, gy_tile(n, g, oh0),
                 dx + (n * p.C + g * sh.Cg) * sh.HW + oh0 * p.W, sh.HW, false, 1,
                 bias ? bias + g * sh.Cg : bias);
    });
    return;
  }
  // A tile is a range of output rows of one image or, when a whole image is smaller than a
  // tile, several whole images side by side (so small maps still give the GEMM wide panels).
  // Tiles of one image overlap in dx (neighbouring output rows read the same input rows), so
  // col2im of one (image batch, group) stays on one thread; with too few batches the threads
  // share each tile's GEMM and then split col2im by channel instead.
  const Schedule s = schedule(p, sizeof(T), false, kIm2colInputTileBytes);
  const int64_t elem = static_cast<int64_t>(sizeof(T));
  // One output position whose kernel covers exactly the unpadded input (a DCGAN generator's
  // first layer, 1x1 -> RxS): col row (c, r, s) of image n is dx[n][c][r][s], so the rows of
  // dcol^T are dx's images and the GEMM writes them in place: no transpose, no col2im (which
  // cost 50% of dcgan_g1 at N=8: 8192 one-element rows per image).
  const bool dcol_t_shape_is_dx = p.Ho == 1 && p.Wo == 1 && p.H == p.R && p.W == p.S &&
                                  p.pt == 0 && p.pl == 0 && p.dh == 1 && p.dw == 1;
  if (!dcol_t_shape_is_dx && p.N * sh.P <= kIm2colTileColumns &&
      p.N * sh.P * sh.Kg * elem <= kIm2colInputByChannelsMaxBytes)
    return im2col_input_by_channels(p, s.threads, gy, w, bias, dx);
  int64_t batch = 1;
  if (s.tiles == 1 && sh.P > 0)
    batch = max64(1, min64(p.N, min64(kIm2colTileColumns / sh.P,
                                      kIm2colInputTileBytes / (sh.CRS * sh.P * elem))));
  const int64_t batches = ceil_div(p.N, batch);
  const int64_t jobs = batches * sh.G;
  const int64_t tile_cols = batch * s.rows * p.Wo;
  const int64_t tile_elems = tile_cols * sh.CRS;
  // Few columns (a transposed conv from 1x1 maps at a batch too large for one tile, or from
  // maps whose col rows are too long for more than a few per tile): packing W^T would cost more
  // than the product, so dcol^T = grad_output^T * W runs instead, with W packed as the B operand
  // in its own row order, and dcol^T is transposed back (small: few columns).
  const bool few_columns = tile_cols <= kIm2colInputFewColumns;
  const bool dcol_t_is_dx = few_columns && dcol_t_shape_is_dx;
  g_last_tile_bytes.store(tile_elems * elem * (few_columns && !dcol_t_is_dx ? 2 : 1));
  if (!few_columns) pack_transposed_weights();
  // Whole images of short rows go through col2im_images (measured, one thread, N=8/64: 4x4
  // stride-2 input gradients from 2x2 maps 35% faster, from 4x4 maps 7%; from 8x8 maps no gain
  // over col2im_tile's vectorised rows), with one landing table for the call (the caller's,
  // read by every thread).
  constexpr int64_t kShortRow = 8;
  const bool short_rows = batch > 1 && p.Wo < kShortRow;
  thread_local std::vector<int64_t> lands_buffer;
  if (short_rows) {
    lands_buffer.resize(static_cast<size_t>(p.R * p.S * sh.P));
    landing_offsets(p, lands_buffer.data());
  }
  const int64_t* lands = lands_buffer.data();
  auto one_tile = [&](int64_t job, int64_t tile, int threads, T* dcol) {
    const int64_t g = job % sh.G, n0 = job / sh.G * batch, n1 = min64(p.N, n0 + batch);
    const int64_t oh0 = s.oh0(tile), oh1 = min64(oh0 + s.rows, p.Ho);
    const int64_t rowcols = (oh1 - oh0) * p.Wo, ncols = (n1 - n0) * rowcols;
    gemm::Operand<T> b = gy_tile(n0, g, oh0);
    if (n1 - n0 > 1) {  // whole images: gather their grad_output planes into one matrix
      T* gb = thread_scratch(ScratchSlot::transposed).get<T>(sh.Kg * ncols);
      for (int64_t k = 0; k < sh.Kg; ++k)
        for (int64_t n = n0; n < n1; ++n)
          std::memcpy(gb + k * ncols + (n - n0) * sh.P, gy + (n * p.K + g * sh.Kg + k) * sh.P,
                      sh.P * sizeof(T));
      b = {gb, ncols, 1};
    }
    if (dcol_t_is_dx) {  // onto the bias that start_dx wrote, if any
      gemm::gemm(ncols, sh.CRS, sh.Kg, gemm::Operand<T>{b.p, b.cs, b.rs},
                 gemm::Operand<T>{w + g * sh.Kg * sh.CRS, sh.CRS, 1},
                 dx + (n0 * p.C + g * sh.Cg) * sh.HW, p.C * sh.HW, bias != nullptr, threads);
      return;
    }
    if (few_columns) {
      T* dcol_t = thread_scratch(ScratchSlot::transposed_col).get<T>(ncols * sh.CRS);
      gemm::gemm(ncols, sh.CRS, sh.Kg, gemm::Operand<T>{b.p, b.cs, b.rs},
                 gemm::Operand<T>{w + g * sh.Kg * sh.CRS, sh.CRS, 1}, dcol_t, sh.CRS, false,
                 threads);
      transpose(dcol_t, sh.CRS, ncols, sh.CRS, dcol, ncols);
    } else {
      gemm::gemm(wt[g], ncols, b, dcol, ncols, false, threads);
    }
    T* dxg = dx + (n0 * p.C + g * sh.Cg) * sh.HW;
    if (short_rows && n1 - n0 > 1) {
      if (threads <= 1) {
        col2im_images(p, lands, dcol, ncols, n1 - n0, p.C * sh.HW, 0, sh.Cg, dxg);
      } else {
        parallel_for(threads, [&](int64_t t) {
          int64_t c0, c1;
          split(sh.Cg, threads, static_cast<int>(t), &c0, &c1);
          col2im_images(p, lands, dcol, ncols, n1 - n0, p.C * sh.HW, c0, c1, dxg);
        });
      }
      return;
    }
    for (int64_t n = n0; n < n1; ++n) {
      const T* dn = dcol + (n - n0) * rowcols;
      T* dxn = dxg + (n - n0) * p.C * sh.HW;
      if (threads <= 1) {
        col2im_tile(p, dn, ncols, 0, sh.Cg, oh0, oh1, dxn);
      } else {
        parallel_for(threads, [&](int64_t t) {
          int64_t c0, c1;
          split(sh.Cg, threads, static_cast<int>(t), &c0, &c1);
          col2im_tile(p, dn, ncols, c0, c1, oh0, oh1, dxn);
        });
      }
    }
  };
  auto start_dx = [&](int64_t job) {
    const int64_t g = job % sh.G, n0 = job / sh.G * batch, n1 = min64(p.N, n0 + batch);
    fill_planes(dx + (n0 * p.C + g * sh.Cg) * sh.HW, p.C * sh.HW, n1 - n0, sh.Cg, sh.HW,
                bias ? bias + g * sh.Cg : bias);
  };
  if (s.threads <= 1 || balance(jobs, s.threads) >= 0.75) {
    const int threads = jobs < s.threads ? static_cast<int>(jobs) : s.threads;
    auto run = [&](int64_t t) {
      int64_t j0, j1;
      split(jobs, threads, static_cast<int>(t), &j0, &j1);
      T* dcol = thread_scratch(ScratchSlot::im2col).get<T>(tile_elems);
      for (int64_t job = j0; job < j1; ++job) {
        start_dx(job);
        for (int64_t tile = 0; tile < s.tiles; ++tile) one_tile(job, tile, 1, dcol);
      }
    };
    if (threads <= 1) run(0);
    else parallel_for(threads, run);
  } else {
    T* dcol = thread_scratch(ScratchSlot::im2col).get<T>(tile_elems);
    fill_planes(dx, p.C * sh.HW, p.N, p.C, sh.HW, bias);
    for (int64_t job = 0; job < jobs; ++job)
      for (int64_t tile = 0; tile < s.tiles; ++tile) one_tile(job, tile, s.threads, dcol);
  }
}

template <class T>
void im2col_conv2d_weight(const Conv2dParams& p, const T* x, const T* gy, T* dw) {
  const Shape sh(p);
  const int64_t dw_elems = p.K * sh.CRS;
  if (p.N == 0) {
    std::memset(dw, 0, dw_elems * sizeof(T));
    return;
  }
  // Maps smaller than a tile: several whole images per GEMM, so its depth (the positions
  // summed over) stays long; one image of a 2x2 map would make a depth-4 product whose dW
  // load and store cost more than its multiply-adds. Threads then split the images, not rows.
  const bool batched = im2col_weight_batches_images(p, sizeof(T));
  const bool pointwise = im2col_is_pointwise(p);
  Schedule s = schedule(p, sizeof(T), !batched);
  int64_t batch = 1;
  if (batched) {
    batch = max64(1, min64(kIm2colTileColumns / sh.P, ceil_div(p.N, s.threads)));
    s.jobs = ceil_div(p.N, batch) * sh.G;
  }
  const int64_t slab_rows_max = batch > 1  ? batch * p.H
                                : pointwise ? 0
                                            : min64(p.H, s.rows * p.sh + (p.R - 1) * p.dh);
  g_last_tile_bytes.store(slab_rows_max * p.W * sh.Cg * static_cast<int64_t>(sizeof(T)));
  // Each thread sums its items into its own dW, kept in (k, r, s, c) order to match the
  // channels-last panels; the partials are then added in thread order (no races, the same sum
  // for the same thread count) and permuted into (k, c, r, s).
  T* partials = thread_scratch(ScratchSlot::partial).get<T>(s.threads * dw_elems);
  auto run = [&](int64_t t) {
    int64_t i0, i1;
    split(s.items(), s.threads, static_cast<int>(t), &i0, &i1);
    T* acc = partials + t * dw_elems;
    std::memset(acc, 0, dw_elems * sizeof(T));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t job = i / s.tiles, tile = i % s.tiles;
      const int64_t g = job % sh.G, n0 = job / sh.G * batch, n1 = min64(p.N, n0 + batch);
      const int64_t oh0 = s.oh0(tile), oh1 = min64(oh0 + s.rows, p.Ho);
      const int64_t rowcols = (oh1 - oh0) * p.Wo, ncols = (n1 - n0) * rowcols;
      // Input rows this tile reads (whole images when batched); none means the tile sees only
      // padding and adds nothing.
      const int64_t ih_lo = batch > 1 ? 0 : max64(0, oh0 * p.sh - p.pt);
      const int64_t ih_hi =
          batch > 1 ? p.H : min64(p.H, (oh1 - 1) * p.sh - p.pt + (p.R - 1) * p.dh + 1);
      if (ih_hi <= ih_lo) continue;
      // grad_output's tile is the A operand as it lies (Kg rows, positions along the depth);
      // several images are gathered side by side first.
      gemm::Operand<T> g_rows{gy + (n0 * p.K + g * sh.Kg) * sh.P + oh0 * p.Wo, sh.P, 1};
      if (n1 - n0 > 1) {
        T* gb = thread_scratch(ScratchSlot::transposed).get<T>(sh.Kg * ncols);
        gather_planes(gy + (n0 * p.K + g * sh.Kg) * sh.P, p.K * sh.P, n1 - n0, sh.Kg, sh.P, gb);
        g_rows = {gb, ncols, 1};
      }
      T* dw_g = acc + g * sh.Kg * sh.CRS;
      if (pointwise) {  // B = x^T as it lies (positions along the depth), gathered likewise
        gemm::Operand<T> x_cols{x + (n0 * p.C + g * sh.Cg) * sh.HW + oh0 * p.W, 1, sh.HW};
        if (n1 - n0 > 1) {
          T* xb = thread_scratch(ScratchSlot::im2col).get<T>(sh.Cg * ncols);
          gather_planes(x + (n0 * p.C + g * sh.Cg) * sh.HW, p.C * sh.HW, n1 - n0, sh.Cg, sh.HW,
                        xb);
          x_cols = {xb, 1, ncols};
        }
        gemm::gemm(sh.Kg, sh.Cg, ncols, g_rows, x_cols, dw_g, sh.CRS, true, 1);
        continue;
      }
      const int64_t slab = (ih_hi - ih_lo) * p.W;
      T* xt = thread_scratch(ScratchSlot::im2col).get<T>((n1 - n0) * slab * sh.Cg);
      for (int64_t n = n0; n < n1; ++n)
        transpose(x + (n * p.C + g * sh.Cg) * sh.HW + ih_lo * p.W, sh.HW, sh.Cg, slab,
                  xt + (n - n0) * slab * sh.Cg, sh.Cg);
      const ChannelsLastPanels<T> colt{&p, xt, ih_lo, sh.Cg, oh0 * p.Wo, slab * sh.Cg};
      gemm::gemm(sh.Kg, sh.CRS, ncols, g_rows,
                 gemm::PanelSource<T>{ChannelsLastPanels<T>::pack, &colt}, dw_g, sh.CRS, true,
                 1, gemm::AMode::in_place);  // grad_output rows as they lie: no packing pass
    }
  };
  if (s.threads <= 1) run(0);
  else parallel_for(s.threads, run);
  auto reduce = [&](int64_t t) {
    int64_t k0, k1;
    split(p.K, s.threads, static_cast<int>(t), &k0, &k1);
    for (int64_t k = k0; k < k1; ++k)
      for (int64_t rs = 0; rs < sh.RS; ++rs)
        for (int64_t c = 0; c < sh.Cg; ++c) {
          const int64_t e = k * sh.CRS + rs * sh.Cg + c;
          T sum = partials[e];
          for (int u = 1; u < s.threads; ++u) sum += partials[u * dw_elems + e];
          dw[(k * sh.Cg + c) * sh.RS + rs] = sum;
        }
  };
  if (s.threads <= 1) reduce(0);
  else parallel_for(s.threads, reduce);
}

#define FASTCONV_INSTANTIATE(T)                                                                  \
  template struct Im2colWeights<T>;                                                              \
  template void im2col_conv2d_forward<T>(const Conv2dParams&, const T*, const Im2colWeights<T>&, \
                                         const T*, T*);                                          \
  template void im2col_conv2d_forward<T>(const Conv2dParams&, const T*, const T*, const T*, T*); \
  template void im2col_conv2d_input<T>(const Conv2dParams&, const T*, const T*, const T*, T*);  \
  template void im2col_conv2d_weight<T>(const Conv2dParams&, const T*, const T*, T*);
FASTCONV_INSTANTIATE(float)
FASTCONV_INSTANTIATE(double)
#undef FASTCONV_INSTANTIATE

}  // namespace fastconv::algos
