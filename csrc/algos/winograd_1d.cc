#include "algos/winograd_1d.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "algos/direct_conv.h"
#include "runtime/cpu.h"
#include "runtime/parallel.h"
#include "runtime/workspace.h"
#include "ukernels/conv_direct.h"
#include "ukernels/winograd_1d.h"

namespace fastconv::algos {
namespace {

using ops::Conv2dParams;

constexpr int kTile = 4;    // outputs per tile (m)
constexpr int kTaps = 4;    // most taps per part of a kernel row (row_part)
constexpr int kPoints = 7;  // most transform points, m + kTaps - 1

// G of F(4, q), row p for point p of 0, 1, -1, infinity, 2, -2, 1/2 (the 1 / (scale of B^T's
// row p) folded in): U_p = sum_s kG[q - 1][p][s] g[s] for p < 3 + q.
constexpr double kG[kTaps][kPoints][kTaps] = {
    {{1}, {1.0 / 2}, {1.0 / 2}, {1}},
    {{1.0 / 2, 0}, {1.0 / 2, 1.0 / 2}, {1.0 / 6, -1.0 / 6}, {0, 1}, {1.0 / 6, 1.0 / 3}},
    {{1.0 / 4, 0, 0},
     {1.0 / 6, 1.0 / 6, 1.0 / 6},
     {1.0 / 6, -1.0 / 6, 1.0 / 6},
     {0, 0, 1},
     {1.0 / 24, 1.0 / 12, 1.0 / 6},
     {1.0 / 24, -1.0 / 12, 1.0 / 6}},
    {{1.0 / 4, 0, 0, 0},
     {1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6},
     {1.0 / 18, -1.0 / 18, 1.0 / 18, -1.0 / 18},
     {0, 0, 0, 1.0 / 2},
     {1.0 / 72, 1.0 / 36, 1.0 / 18, 1.0 / 9},
     {1.0 / 120, -1.0 / 60, 1.0 / 30, -1.0 / 15},
     {32.0 / 45, 16.0 / 45, 8.0 / 45, 4.0 / 45}},
};

// A kernel row as at most two 1-D correlations of at most 4 taps ("parts", the first with the
// most): at width stride 2 the even and the odd kernel columns, at stride 1 columns 0-3 and 4-7.
// Tap j of part i is kernel column offset + sw * j; its input is the padded row from column
// offset on, every sw-th column.
struct RowPart {
  int64_t offset, taps;
};
inline RowPart row_part(int64_t S, int64_t sw, int64_t i) {
  if (sw == 2) return {i, i < S ? (S - i + 1) / 2 : 0};
  return {kTaps * i, std::clamp<int64_t>(S - kTaps * i, 0, kTaps)};
}

// Transformed input rows per thread: a band's V for all 7 points within this (L2, shared with
// the packed filters and the block of products).
constexpr int64_t kBandBytes = 256 << 10;

template <class T>
const ukernels::Winograd1dUkernels<T>& pick_transforms();
template <>
const ukernels::Winograd1dUkernels<float>& pick_transforms<float>() {
  using namespace ukernels;
  static const Winograd1dUkernels<float>* k[] = {
      &f32_winograd_f4_1d_scalar, &f32_winograd_f4_1d_avx2, &f32_winograd_f4_1d_avx512};
  return *k[static_cast<int>(active_isa())];
}
template <>
const ukernels::Winograd1dUkernels<double>& pick_transforms<double>() {
  using namespace ukernels;
  static const Winograd1dUkernels<double>* k[] = {
      &f64_winograd_f4_1d_scalar, &f64_winograd_f4_1d_avx2, &f64_winograd_f4_1d_avx512};
  return *k[static_cast<int>(active_isa())];
}

// The shape of the work. The parts with taps (nparts of them; part i has taps[i], the first
// the most, at kernel column offset[i]) each run F(4, taps[i]) at its first 3 + taps[i] points,
// so point p has products from the first parts_at[p] parts: pairs (part, c) are kept part-major,
// and those parts' pairs are a prefix. A band of `band` output rows reads `in_rows` padded input
// rows, kept as sh row phases of `phase_rows` rows of Wt tiles each (plane values) per pair and
// point.
struct Geometry {
  int64_t Cg, Kg, Wt, Wrow;  // Wrow: padded input row as transformed (with over-read slack)
  int64_t nparts, points;    // parts with taps; points of part 0 (3 + its taps)
  int64_t taps[2] = {0, 0}, offset[2] = {0, 0}, parts_at[kPoints] = {};
  int64_t band, bands, in_rows, phase_rows, plane, pair_stride, point_stride;
  std::vector<int64_t> tap_off;  // per kernel row, within a pair's planes

  Geometry(const Conv2dParams& p, int64_t block) {
    Cg = p.C / p.groups;
    Kg = p.K / p.groups;
    Wt = (p.Wo + kTile - 1) / kTile;
    const int64_t Wt_up = (Wt + block - 1) / block * block;
    Wrow = (kTile * Wt_up + kPoints) * p.sw + kTaps;
    nparts = 0;
    for (int64_t pc = 0; pc < 2; ++pc) {
      const RowPart part = row_part(p.S, p.sw, pc);
      offset[pc] = part.offset;
      if ((taps[pc] = part.taps) > 0) nparts = pc + 1;
    }
    points = 3 + taps[0];
    for (int64_t pt = 0; pt < points; ++pt)
      for (int64_t pc = 0; pc < nparts; ++pc) parts_at[pt] += pt < 3 + taps[pc];
    set_band(p, 1);
  }
  void set_band(const Conv2dParams& p, int64_t rows) {
    band = rows;
    bands = (p.Ho + band - 1) / band;
    in_rows = (band - 1) * p.sh + (p.R - 1) * p.dh + 1;
    phase_rows = (in_rows + p.sh - 1) / p.sh;
    plane = phase_rows * Wt;
    pair_stride = p.sh * plane;
    point_stride = nparts * Cg * pair_stride;
    tap_off.resize(p.R);
    for (int64_t r = 0; r < p.R; ++r)
      tap_off[r] = ((r * p.dh) % p.sh) * plane + ((r * p.dh) / p.sh) * Wt;
  }
  int64_t v_elems(int64_t slack) const { return points * point_stride + slack; }
  // Packed filters of one (group, k-block, point): every pair's R rows of KB filters.
  int64_t filter_block(const Conv2dParams& p, int64_t KB) const { return nparts * Cg * p.R * KB; }
  // Multiply-adds of the products per output tile, kernel row and output channel.
  int64_t products() const {
    int64_t n = 0;
    for (int64_t pt = 0; pt < points; ++pt) n += parts_at[pt] * Cg;
    return n;
  }
};

// U_p = G g for the filter rows of one filter, row i's Q taps at f[i * row_stride + j * sw]:
// u[p * u_stride + i * KB] for p < 3 + Q, i < rows.
template <int Q, class T>
void transform_filter_rows(const T* f, int64_t rows, int64_t row_stride, int64_t sw, T* u,
                           int64_t KB, int64_t u_stride) {
  for (int64_t i = 0; i < rows; ++i, f += row_stride, u += KB) {
    double g[Q];
    for (int j = 0; j < Q; ++j) g[j] = f[j * sw];
    for (int pt = 0; pt < 3 + Q; ++pt) {
      double v = 0;
      for (int j = 0; j < Q; ++j) v += kG[Q - 1][pt][j] * g[j];
      u[pt * u_stride] = static_cast<T>(v);
    }
  }
}

// U as the direct tile's packed weights, one block of pairs * R * KB per (group, k-block,
// point): u[((g * nkb + b) * points + p) * block + ((pc * Cg + c) * R + r) * KB + k] for the
// pairs of the parts that have point p. Each (group, k-block) is one item on the pool: a
// filter row at a time, the G of its part's tap count a compile-time table (with the tap count
// and table looked up per value it took 1.4 ns per multiply-add, 6% of the stem at N=1 and 20%
// of 7x7 convs of 128 channels on 17x17 maps at N=8).
template <class T>
void transform_filters(const Conv2dParams& p, const Geometry& geo, int64_t KB, const T* w, T* u) {
  if (KB > 16) throw std::logic_error("winograd_1d: micro-kernel block wider than 16");
  const int64_t nkb = (geo.Kg + KB - 1) / KB, block = geo.filter_block(p, KB);
  const int64_t k_stride = geo.Cg * p.R * p.S;
  // Scalar double arithmetic: measured about 0.6 ns per multiply-add (7 * 4 + 6 * 3 of them per
  // filter row of a 7-wide kernel).
  double mads = 0;
  for (int64_t i = 0; i < geo.nparts; ++i) mads += (3 + geo.taps[i]) * geo.taps[i];
  const double cost_ns = 0.6 * mads * p.K * geo.Cg * p.R;
  parallel_for_cost(p.groups * nkb, cost_ns, [&](int64_t gb) {
    const int64_t g = gb / nkb, b = gb % nkb;
    const int64_t kvalid = std::min(KB, geo.Kg - b * KB);
    T* ub = u + gb * geo.points * block;
    for (int64_t k = 0; k < KB; ++k) {
      if (k >= kvalid) {  // padding filters: zero
        for (int64_t pt = 0; pt < geo.points; ++pt)
          for (int64_t i = 0; i < block / KB; ++i) ub[pt * block + i * KB + k] = T(0);
        continue;
      }
      // The filter's rows in order (read once, in sequence), each part's taps in turn.
      const T* f = w + (g * geo.Kg + b * KB + k) * k_stride;
      for (int64_t pc = 0; pc < geo.nparts; ++pc) {
        T* dst = ub + pc * geo.Cg * p.R * KB + k;
        const T* fp = f + geo.offset[pc];
        const int64_t rows = geo.Cg * p.R;
        switch (geo.taps[pc]) {
          case 1: transform_filter_rows<1>(fp, rows, p.S, p.sw, dst, KB, block); break;
          case 2: transform_filter_rows<2>(fp, rows, p.S, p.sw, dst, KB, block); break;
          case 3: transform_filter_rows<3>(fp, rows, p.S, p.sw, dst, KB, block); break;
          default: transform_filter_rows<4>(fp, rows, p.S, p.sw, dst, KB, block);
        }
      }
    }
  });
}

// Rows of the band from output row oh0: each padded input row it reads, zero-padded into `row`
// (Wrow values), then transformed, each part into its own pair's planes.
template <class T>
void transform_band(const Conv2dParams& p, const Geometry& geo,
                    const ukernels::Winograd1dUkernels<T>& tr, const T* xg, int64_t oh0, T* row,
                    T* v) {
  const int64_t rows = std::min(geo.in_rows, p.H + p.pt + p.pb - oh0 * p.sh);
  for (int64_t c = 0; c < geo.Cg; ++c)
    for (int64_t u = 0; u < rows; ++u) {
      const int64_t z = oh0 * p.sh + u - p.pt;  // source row
      T* dst = v + c * geo.pair_stride + (u % p.sh) * geo.plane + (u / p.sh) * geo.Wt;
      if (z < 0 || z >= p.H) {
        for (int64_t pc = 0; pc < geo.nparts; ++pc)
          for (int64_t pt = 0; pt < 3 + geo.taps[pc]; ++pt)
            std::memset(dst + pt * geo.point_stride + pc * geo.Cg * geo.pair_stride, 0,
                        sizeof(T) * static_cast<size_t>(geo.Wt));
        continue;
      }
      const T* src = xg + (c * p.H + z) * p.W;
      const int64_t j0 = std::min(geo.Wrow, p.pl), j1 = std::min(geo.Wrow, p.pl + p.W);
      for (int64_t j = 0; j < j0; ++j) row[j] = T(0);
      for (int64_t j = j0; j < j1; ++j) row[j] = src[j - p.pl];
      for (int64_t j = j1; j < geo.Wrow; ++j) row[j] = T(0);
      for (int64_t pc = 0; pc < geo.nparts; ++pc)
        tr.input(row + geo.offset[pc], p.sw, static_cast<int>(geo.taps[pc]), geo.Wt,
                 dst + pc * geo.Cg * geo.pair_stride, geo.point_stride);
    }
}

// Output rows per band: those whose bands' tiles compute the fewest positions (a band's last
// tile is partial: the stem's 14-row bands, 392 positions, took 9 tiles of 48 for 8.2 tiles'
// work; 12-row ones take 7 exact), among bands whose transformed inputs fit kBandBytes and,
// where the batch is small, that give each thread 4 items; the larger on a tie.
int64_t band_rows(const Conv2dParams& p, const Geometry& geo, int64_t MP, size_t elem) {
  const int64_t pairs = geo.nparts * geo.Cg, Wt = geo.Wt;
  int64_t most = 1;
  for (int64_t r = 2; r <= p.Ho; ++r) {
    const int64_t phase_rows = ((r - 1) * p.sh + (p.R - 1) * p.dh + p.sh) / p.sh;
    if (geo.points * pairs * p.sh * phase_rows * Wt * static_cast<int64_t>(elem) > kBandBytes)
      break;
    most = r;
  }
  // Whatever L2 holds, bands of at least two tiles' positions (at 256 channels a 14-wide output
  // got 2-row bands, 8 positions a tile of 48: 0.18x im2col's speed), and of one where the
  // threads want more bands.
  const int64_t tile_rows = std::min(p.Ho, (MP + Wt - 1) / Wt);
  most = std::max(most, std::min(p.Ho, 2 * tile_rows));
  const int64_t images = p.N * p.groups;
  const int64_t want_bands = (4 * max_threads() + images - 1) / images;
  most = std::max(tile_rows, std::min(most, p.Ho / std::min(p.Ho, want_bands)));
  int64_t best = most, best_tiles = -1;
  for (int64_t r = most; r >= std::max<int64_t>(1, most / 2); --r) {
    const int64_t full = p.Ho / r, rest = p.Ho % r;
    const int64_t tiles = full * ((r * Wt + MP - 1) / MP) + (rest * Wt + MP - 1) / MP;
    if (best_tiles < 0 || tiles < best_tiles) best = r, best_tiles = tiles;
  }
  return best;
}

}  // namespace

const char* winograd_1d_declines(const Conv2dParams& p) {
  if (p.sw > 2) return "needs a width stride of 1 or 2";
  if (p.dw != 1) return "needs a width dilation of 1";
  if (p.S > 2 * kTaps) return "needs a kernel at most 8 wide";
  return nullptr;
}

const char* winograd_1d_auto_declines(const Conv2dParams& p) {
  int64_t products = 0;  // per 4 outputs, kernel row and channel pair; direct does 4 * S
  for (int64_t pc = 0; pc < 2; ++pc)
    if (const int64_t q = row_part(p.S, p.sw, pc).taps) products += 3 + q;
  if (2 * products >= kTile * p.S)
    return "not under half direct's multiplies (wants 4, 7 or 8 taps a row at stride 1, 7 or 8 "
           "at stride 2)";
  if (p.R < kWinograd1dAutoMinRows)
    return "fewer than 4 kernel rows: too few products for each transformed input row";
  static_assert(kWinograd1dAutoMinRows == 4, "the reason above quotes it");
  if (p.N * p.Ho * ((p.Wo + kTile - 1) / kTile) < kWinograd1dAutoMinTiles)
    return "fewer than 512 tiles of 4 outputs (N x Ho x ceil(Wo / 4)): too few to repay the "
           "call's filter transform";
  static_assert(kWinograd1dAutoMinTiles == 512, "the reason above quotes it");
  return nullptr;
}

namespace {

// Elements of transform_filters' result.
int64_t filter_elems(const Conv2dParams& p, const Geometry& geo, int64_t KB) {
  return p.groups * ((geo.Kg + KB - 1) / KB) * geo.points * geo.filter_block(p, KB);
}

// The forward conv with the filters transformed (u, by transform_filters for uk's KB).
template <class T>
void forward(const Conv2dParams& p, const ukernels::ConvDirectUkernel<T>& uk,
             const ukernels::Winograd1dUkernels<T>& tr, const T* u, const T* x, const T* bias,
             T* y) {
  const int64_t KB = uk.kb, MP = uk.max_pos, B = tr.block;
  Geometry geo(p, B);
  geo.set_band(p, band_rows(p, geo, MP, sizeof(T)));
  const int64_t points = geo.points;
  const int64_t nkb = (geo.Kg + KB - 1) / KB;
  const int64_t ublock = geo.filter_block(p, KB);

  const int64_t items = p.N * p.groups * geo.bands;
  const int64_t Mstride = MP + B;  // a product row, with the output transform's over-read
  const int64_t slack = MP + 64;   // the direct tile reads up to MP past its last position
  const double flops = 2.0 * p.N * p.K * p.Ho * geo.Wt * geo.products() * p.R;
  parallel_for_cost(items, flops_ns(flops), [&](int64_t item) {
    const int64_t band = item % geo.bands, ng = item / geo.bands;
    const int64_t g = ng % p.groups, n = ng / p.groups;
    const int64_t oh0 = band * geo.band, rows = std::min(geo.band, p.Ho - oh0);
    T* v = thread_scratch(ScratchSlot::winograd_1d_inputs).get<T>(
        static_cast<size_t>(geo.v_elems(slack) + geo.Wrow + B));
    T* row = v + geo.v_elems(slack);
    T* m = thread_scratch(ScratchSlot::winograd_1d_products).get<T>(
        static_cast<size_t>(2 * points * KB * Mstride));
    transform_band(p, geo, tr, x + (n * p.C + g * geo.Cg) * p.H * p.W, oh0, row, v);
    std::memset(v + points * geo.point_stride, 0, sizeof(T) * static_cast<size_t>(slack));

    const int64_t P = rows * geo.Wt, plane_out = p.Ho * p.Wo;
    const bool whole_rows = p.Wo == kTile * geo.Wt;  // tiles map onto the output contiguously
    // Output channels [k_lo, k_hi) of the block of positions from pos0 (products in mb).
    auto output = [&](const T* mb, int64_t pos0, int64_t npos, int64_t k0, int64_t k_lo,
                      int64_t k_hi) {
      for (int64_t k = k_lo; k < k_hi; ++k) {
        const T bk = bias ? bias[k0 + k] : T(0);
        T* yk = y + (n * p.K + k0 + k) * plane_out + oh0 * p.Wo;
        const T* mk = mb + k * Mstride;
        if (whole_rows) {
          tr.output(mk, KB * Mstride, static_cast<int>(points), npos, kTile * npos, bk,
                    yk + kTile * pos0);
          continue;
        }
        for (int64_t s = pos0; s < pos0 + npos;) {  // row by row: the last tile is partial
          const int64_t oh = s / geo.Wt, t = s - oh * geo.Wt;
          const int64_t e = std::min(pos0 + npos, (oh + 1) * geo.Wt);
          tr.output(mk + (s - pos0), KB * Mstride, static_cast<int>(points), e - s,
                    std::min(kTile * (e - s), p.Wo - kTile * t), bk, yk + oh * p.Wo + kTile * t);
          s = e;
        }
      }
    };
    // Set once: value-initialising it per tile (a rep stos) took 12% of the stem at N=1.
    ukernels::ConvTileArgs<T> a{};
    a.x_cstride = geo.pair_stride;
    a.tap_off = geo.tap_off.data();
    a.taps = p.R;
    a.y_stride = Mstride;
    // The output transform of each block of positions runs a point's share at a time between
    // the next block's tiles, so its stores, which miss (the stem's output, 3.2 MB an image,
    // outgrows L2), drain while the tiles compute: in one burst after the tiles they filled the
    // store buffer and stalled the transform (20% of the stem's time at N=8).
    for (int64_t b = 0; b < nkb; ++b) {
      const int64_t k0 = g * geo.Kg + b * KB, kvalid = std::min(KB, geo.Kg - b * KB);
      const T* pending = nullptr;  // the products of the block whose output is pending
      int64_t prev = 0, prev_n = 0;  // and its positions
      for (int64_t i = 0, pos0 = 0; pos0 < P; ++i, pos0 += MP) {
        const int64_t npos = std::min(MP, P - pos0);
        T* mb = m + (i % 2) * points * KB * Mstride;
        for (int64_t pt = 0; pt < points; ++pt) {
          a.x = v + pt * geo.point_stride + pos0;
          a.channels = geo.parts_at[pt] * geo.Cg;
          a.w = u + ((g * nkb + b) * points + pt) * ublock;
          a.y = mb + pt * KB * Mstride;
          a.npos = npos;
          uk.tile(a);
          if (pending)
            output(pending, prev, prev_n, k0, kvalid * pt / points, kvalid * (pt + 1) / points);
        }
        pending = mb;
        prev = pos0;
        prev_n = npos;
      }
      output(pending, prev, prev_n, k0, 0, kvalid);
    }
  });
}

}  // namespace

template <class T>
void Winograd1dWeights<T>::pack(const Conv2dParams& p, const T* w) {
  conv_ = &direct_ukernel<T>();
  transforms_ = &pick_transforms<T>();
  const Geometry geo(p, transforms_->block);
  data_ = buf_.get<T>(static_cast<size_t>(filter_elems(p, geo, conv_->kb)));
  transform_filters(p, geo, conv_->kb, w, data_);
}

template <class T>
void winograd_1d_conv2d_forward(const Conv2dParams& p, const T* x, const Winograd1dWeights<T>& w,
                                const T* bias, T* y) {
  if (p.N == 0) return;
  forward(p, w.tile_ukernel(), w.transforms(), w.data(), x, bias, y);
}

template <class T>
void winograd_1d_conv2d_forward(const Conv2dParams& p, const T* x, const T* w, const T* bias,
                                T* y) {
  if (p.N == 0) return;
  const ukernels::ConvDirectUkernel<T>& uk = direct_ukernel<T>();
  const ukernels::Winograd1dUkernels<T>& tr = pick_transforms<T>();
  const Geometry geo(p, tr.block);
  T* u = thread_scratch(ScratchSlot::winograd_1d_filters)
             .get<T>(static_cast<size_t>(filter_elems(p, geo, uk.kb)));
  transform_filters(p, geo, uk.kb, w, u);
  forward(p, uk, tr, u, x, bias, y);
}

template class Winograd1dWeights<float>;
template class Winograd1dWeights<double>;
template void winograd_1d_conv2d_forward<float>(const Conv2dParams&, const float*,
                                                const Winograd1dWeights<float>&, const float*,
                                                float*);
template void winograd_1d_conv2d_forward<double>(const Conv2dParams&, const double*,
                                                 const Winograd1dWeights<double>&,
                                                 const double*, double*);
template void winograd_1d_conv2d_forward<float>(const Conv2dParams&, const float*, const float*,
                                                const float*, float*);
template void winograd_1d_conv2d_forward<double>(const Conv2dParams&, const double*,
                                                 const double*, const double*, double*);

}  // namespace fastconv::algos
