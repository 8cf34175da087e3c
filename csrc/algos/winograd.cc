#include "algos/winograd.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "algos/interleave.h"
#include "runtime/cpu.h"
#include "runtime/parallel.h"

namespace fastconv::algos {
namespace {

using ops::Conv2dParams;
using ukernels::GemmUkernel;
using ukernels::WinogradTransforms;
using ukernels::WinogradUkernels;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

double balance(int64_t units, int threads) {
  return static_cast<double>(units) / (threads * ceil_div(units, threads));
}

template <class T>
const WinogradUkernels<T>& active_transforms();
template <>
const WinogradUkernels<float>& active_transforms<float>() {
  using namespace ukernels;
  static const WinogradUkernels<float>* k[] = {&f32_winograd_scalar, &f32_winograd_avx2,
                                               &f32_winograd_avx512};
  return *k[static_cast<int>(active_isa())];
}
template <>
const WinogradUkernels<double>& active_transforms<double>() {
  using namespace ukernels;
  static const WinogradUkernels<double>* k[] = {&f64_winograd_scalar, &f64_winograd_avx2,
                                                &f64_winograd_avx512};
  return *k[static_cast<int>(active_isa())];
}

template <class T>
const WinogradTransforms<T>& transforms_for(const WinogradUkernels<T>& uk, int m, int r) {
  if (r == 2) return m == 4 ? uk.f4r2 : uk.f2r2;
  return m == 2 ? uk.f2 : m == 4 ? uk.f4 : uk.f6;
}

int64_t tile_count(int64_t out, int m) { return ceil_div(out, m); }

// Where one tile of a block reads and writes.
struct TileSpot {
  int64_t n;         // image
  int64_t ih0, iw0;  // input patch origin (may be negative: padding)
  int64_t oh0, ow0;  // output tile origin
  int64_t in_off;    // offset of the patch origin in channel 0 of the group's input (interior)
  int64_t out_off;   // offset of the tile origin in output channel 0 of the image
  bool interior;     // the whole patch lies inside the input
  bool full;         // the whole tile lies inside the output
};

// How one call's tiles are cut into blocks and shared among threads.
struct Schedule {
  int m, a, X;
  int64_t th, tw, per_image, total;  // tiles per column, per row, per image, in all
  int64_t panels;                    // NR-wide tile panels per block
  int64_t block;                     // tiles per block (panels * NR)
  int64_t blocks, kparts, items;
  int64_t whole;  // work units (group, block) run whole; the others split into kparts items
  int threads;
};

template <class T>
Schedule schedule(const Conv2dParams& p, const WinogradWeights<T>& w) {
  Schedule s;
  s.m = w.tile();
  s.a = s.m + w.kernel() - 1;
  s.X = s.a * s.a;
  s.th = tile_count(p.Ho, s.m);
  s.tw = tile_count(p.Wo, s.m);
  s.per_image = s.th * s.tw;
  s.total = p.N * s.per_image;
  const int64_t nr = w.gemm_ukernel().nr;
  // Every block streams all of U once, while the GEMMs only need one xi plane of V and M in
  // L2 at a time. So blocks hold V (X x Cg x block) and M (X x Kg x block) in half of L2, or,
  // when U is large (it leaves L3 at 512 channels), in a quarter of U's size: fewer passes
  // over U for V and M that spill to L3 (measured: vgg 512@28 about 1.2x faster, 256@56 the
  // same).
  const int64_t panel_bytes = s.X * (w.c_per_group() + w.k_per_group()) * nr * sizeof(T);
  const int64_t u_bytes = s.X * w.k_per_group() * w.c_per_group() * sizeof(T);
  s.panels = max64(1, min64(4, max64(kL2Bytes / 2, u_bytes / 4) / panel_bytes));
  s.panels = min64(s.panels, ceil_div(s.total, nr));
  s.block = s.panels * nr;
  s.blocks = ceil_div(s.total, s.block);
  const int64_t work = s.blocks * w.groups();
  s.threads = gemm::gemm_threads(w.k_per_group() * s.X, s.total * w.groups(), w.c_per_group(),
                                 sizeof(T));
  // Output-channel parts of a unit repeat its input transform, so units are split only where
  // threads would idle: all of them when there are too few to go round, else the last round's
  // (7 blocks on 2 threads: 6 whole and the 7th in halves; r50_3x3_64@56 at N=1).
  s.kparts = 1;
  s.whole = work;
  // One round with a partial last block idles too, where the GEMMs outweigh the repeated input
  // transforms: F(2x2) (r50_3x3_256@14 at N=1, 49 tiles as blocks of 32 and 17 on two threads:
  // 0.67 -> 0.60 ms); F(4x4)'s input transform costs several times as much per element
  // (r50_3x3_128@28 at N=1 went 0.47 -> 0.51 ms).
  const bool one_uneven_round = s.m == 2 && work <= s.threads && s.total % s.block != 0;
  if (s.threads > 1 && (work % s.threads != 0 || one_uneven_round)) {
    s.kparts = min64(w.k_panels(), s.threads);
    s.whole = balance(work, s.threads) < 0.85 || one_uneven_round ? 0 : work - work % s.threads;
  }
  s.items = s.whole + (work - s.whole) * s.kparts;
  if (s.items < s.threads) s.threads = static_cast<int>(s.items);
  return s;
}

// The distance between the X planes of U, V and M, which the transforms touch all at once: a
// multiple of 4 KiB would put all X streams in the same L1 set (12 ways) and evict lines
// before they are complete, so planes are a whole number of 4 KiB pages plus 64 bytes apart.
int64_t skewed(int64_t elems, size_t elem_bytes) {
  const int64_t page = 4096 / static_cast<int64_t>(elem_bytes);
  return ceil_div(elems, page) * page + 64 / static_cast<int64_t>(elem_bytes);
}

// Per-thread scratch, kept for the life of the (pool) thread.
struct Scratch {
  AlignedBuffer v, mm, patch, out, spots, offsets, masks;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// Patch and tile copies with the tile size known at compile time, so the common interior case
// is a fully unrolled sequence of moves. They are scalar: tiles sit in the vector lanes, so a
// patch row is a column of the lane-major buffer (the copies take about a third of the time
// at 64 channels, less with more channels).
template <int A, class T>
inline void copy_patch(const T* src, int64_t W, T* patch, int64_t nr) {
#pragma GCC unroll 8
  for (int i = 0; i < A; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < A; ++j) patch[(i * A + j) * nr] = src[i * W + j];
}

// `count` whole tiles side by side from lanes [0, count) of out (planes nr apart) into dst.
template <int M, class T>
inline void store_tile_run(const T* __restrict out, int64_t nr, int64_t count, T* __restrict dst,
                           int64_t Wo) {
#pragma GCC unroll 8
  for (int i = 0; i < M; ++i) {
    T* __restrict row = dst + i * Wo;
    const T* __restrict planes = out + i * M * nr;
    for (int64_t l = 0; l < count; ++l)
#pragma GCC unroll 8
      for (int j = 0; j < M; ++j) row[l * M + j] = planes[j * nr + l];
  }
}

// One block of tiles (images, tile rows and columns in raster order) x one group x one range of
// output-channel panels: transform in, X GEMMs, transform out.
template <class T, int kM, int kR>
void run_block(const Conv2dParams& p, const T* x, const WinogradWeights<T>& w, const T* bias,
               T* y, const Schedule& s, int64_t g, int64_t blk, int64_t kp0, int64_t kp1) {
  const GemmUkernel<T>& uk = w.gemm_ukernel();
  const WinogradTransforms<T>& tr = transforms_for(w.transforms(), s.m, w.kernel());
  const int64_t nr = uk.nr, mr = uk.mr;
  const int64_t Cg = w.c_per_group(), Kg = w.k_per_group();
  const int64_t t0 = blk * s.block, count = min64(s.block, s.total - t0);
  const int64_t panels = ceil_div(count, nr);
  const int64_t ld = panels * nr;                // columns of V and M
  const int64_t krows = min64(kp1 * mr, Kg) - kp0 * mr;
  constexpr int a = kM + kR - 1, m = kM, X = a * a;

  Scratch& sc = scratch();
  const int64_t v_xi = skewed(panels * Cg * nr, sizeof(T));
  const int64_t m_xi = skewed(krows * ld, sizeof(T));
  T* v = sc.v.get<T>(X * v_xi);
  T* mm = sc.mm.get<T>(X * m_xi);
  T* patch = sc.patch.get<T>(X * nr);
  T* out = sc.out.get<T>(m * m * nr);
  TileSpot* spots = sc.spots.get<TileSpot>(ld);

  for (int64_t i = 0; i < count; ++i) {
    const int64_t t = t0 + i, n = t / s.per_image, r = t % s.per_image;
    TileSpot& sp = spots[i];
    sp.n = n;
    sp.oh0 = r / s.tw * m;
    sp.ow0 = r % s.tw * m;
    sp.ih0 = sp.oh0 - p.pt;
    sp.iw0 = sp.ow0 - p.pl;
    sp.interior = sp.ih0 >= 0 && sp.iw0 >= 0 && sp.ih0 + a <= p.H && sp.iw0 + a <= p.W;
    sp.full = sp.oh0 + m <= p.Ho && sp.ow0 + m <= p.Wo;
    sp.in_off = n * p.C * p.H * p.W + sp.ih0 * p.W + sp.iw0;
    sp.out_off = n * p.K * p.Ho * p.Wo + sp.oh0 * p.Wo + sp.ow0;
  }

  // Input transform, straight into NR-wide B panels: V[xi][panel][c][lane]. The transform
  // gathers each lane's patch where it lies (offsets within a channel plane of the group,
  // masks for padding and for lanes past the last tile) where the ISA has vector gathers and
  // the input is small enough for 32-bit offsets; else patches are copied into lane-major
  // order first (r50_3x3_64@56, one thread: 0.87 -> 0.74 ms by AVX-512 gathers).
  const int64_t HW = p.H * p.W;
  const bool gathered = tr.input_gathered && p.N * p.C * HW < INT32_MAX;
  const int64_t vb = w.transforms().block;
  int32_t* offsets = sc.offsets.get<int32_t>(nr);
  uint32_t* row_valid = sc.masks.get<uint32_t>(2 * a * (nr / vb));
  uint32_t* col_valid = row_valid + a * (nr / vb);
  for (int64_t tp = 0; tp < panels; ++tp) {
    const int64_t lanes = min64(nr, count - tp * nr);
    const TileSpot* ps = spots + tp * nr;
    if (gathered) {
      std::fill(row_valid, row_valid + 2 * a * (nr / vb), 0u);
      for (int64_t l = 0; l < nr; ++l) {
        offsets[l] = 0;
        if (l >= lanes) continue;
        const TileSpot& sp = ps[l];
        offsets[l] = static_cast<int32_t>(sp.n * p.C * HW + sp.ih0 * p.W + sp.iw0);
        const uint32_t bit = 1u << (l % vb);
        for (int i = 0; i < a; ++i) {
          if (sp.ih0 + i >= 0 && sp.ih0 + i < p.H) row_valid[l / vb * a + i] |= bit;
          if (sp.iw0 + i >= 0 && sp.iw0 + i < p.W) col_valid[l / vb * a + i] |= bit;
        }
      }
      for (int64_t c = 0; c < Cg; ++c)
        tr.input_gathered(x + (g * Cg + c) * HW, offsets, row_valid, col_valid, p.W, nr,
                          v + (tp * Cg + c) * nr, v_xi);
      continue;
    }
    // Lanes past the last tile transform zeros (their GEMM columns are computed, never stored).
    if (tp == 0 || lanes < nr) std::memset(patch, 0, X * nr * sizeof(T));
    for (int64_t c = 0; c < Cg; ++c) {
      const T* plane = x + (g * Cg + c) * HW;
      for (int64_t l = 0; l < lanes; ++l) {
        const TileSpot& sp = ps[l];
        if (sp.interior) {
          copy_patch<a>(plane + sp.in_off, p.W, patch + l, nr);
        } else {
          const T* src = plane + sp.n * p.C * HW;
          for (int i = 0; i < a; ++i) {
            const int64_t ih = sp.ih0 + i;
            const bool row_in = ih >= 0 && ih < p.H;
            for (int j = 0; j < a; ++j) {
              const int64_t iw = sp.iw0 + j;
              patch[(i * a + j) * nr + l] =
                  row_in && iw >= 0 && iw < p.W ? src[ih * p.W + iw] : T(0);
            }
          }
        }
      }
      tr.input(patch, nr, v + (tp * Cg + c) * nr, v_xi);
    }
  }

  // X GEMMs: M[xi] (krows x ld) = U[xi] (rows of panels kp0..kp1) * V[xi]. The depth is cut
  // to the GEMM's KC so an A panel stays in L1 across the tile panels.
  const int64_t kc_max = gemm::blocking_for(uk).kc;
  for (int64_t xi = 0; xi < X; ++xi) {
    const T* vx = v + xi * v_xi;
    T* mx = mm + xi * m_xi;
    for (int64_t c0 = 0; c0 < Cg; c0 += kc_max) {
      const int64_t kc = min64(kc_max, Cg - c0);
      for (int64_t kp = kp0; kp < kp1; ++kp) {
        const T* ap = w.panel(g, xi, kp) + c0 * mr;
        const int64_t rows = min64(mr, Kg - kp * mr);
        T* crow = mx + (kp - kp0) * mr * ld;
        for (int64_t tp = 0; tp < panels; ++tp)
          uk.fn(kc, ap, vx + (tp * Cg + c0) * nr, crow + tp * nr, ld, rows,
                min64(nr, count - tp * nr), c0 > 0, nullptr);
      }
    }
  }

  // Output transform and scatter into y (tiles at the bottom and right edges are clipped).
  const int64_t HWo = p.Ho * p.Wo;
  for (int64_t kl = 0; kl < krows; ++kl) {
    const int64_t k = kp0 * mr + kl;
    const T b = bias ? bias[g * Kg + k] : T(0);
    for (int64_t tp = 0; tp < panels; ++tp) {
      const int64_t lanes = min64(nr, count - tp * nr);
      tr.output(mm + kl * ld + tp * nr, m_xi, nr, b, out);
      const TileSpot* ps = spots + tp * nr;
      T* yk = y + (g * Kg + k) * HWo;
      for (int64_t l = 0; l < lanes; ++l) {
        const TileSpot& sp = ps[l];
        T* dst = yk + sp.out_off;
        if (sp.full) {
          // Whole tiles side by side in one tile row: each output row interleaves their
          // lanes of the row's m planes (vectorised), not tile by tile, element by element.
          int64_t e = l + 1;
          while (e < lanes && ps[e].full && ps[e].out_off == ps[e - 1].out_off + m) ++e;
          store_tile_run<m>(out + l, nr, e - l, dst, p.Wo);
          l = e - 1;
          continue;
        }
        const int64_t hi = min64(m, p.Ho - sp.oh0), wj = min64(m, p.Wo - sp.ow0);
        for (int64_t i = 0; i < hi; ++i, dst += p.Wo)
          for (int64_t j = 0; j < wj; ++j) dst[j] = out[(i * m + j) * nr + l];
      }
    }
  }
}

}  // namespace

bool winograd_on_space_to_depth(const Conv2dParams& p) {
  return p.R == 4 && p.S == 4 && p.sh == 2 && p.sw == 2 && p.dh == 1 && p.dw == 1;
}

const char* winograd_declines(const Conv2dParams& p) {
  if (winograd_on_space_to_depth(p)) return nullptr;
  if (!(p.R == 3 && p.S == 3) && !(p.R == 2 && p.S == 2))
    return "needs a 3x3 or 2x2 kernel (or a 4x4 one with stride 2)";
  if (p.sh != 1 || p.sw != 1) return "needs stride 1 (or stride 2 with a 4x4 kernel)";
  if (p.H % p.dh || p.pt % p.dh || p.pb % p.dh || p.W % p.dw || p.pl % p.dw || p.pr % p.dw)
    return "dilation > 1 needs the image size and padding to be multiples of the dilation";
  return nullptr;
}

Conv2dParams winograd_phase_params(const Conv2dParams& p) {
  Conv2dParams q = p;
  if (winograd_on_space_to_depth(p)) {
    q.C = 4 * p.C;
    q.H = p.Ho + 1;
    q.W = p.Wo + 1;
    q.R = q.S = 2;
    q.sh = q.sw = 1;
    q.pt = q.pb = q.pl = q.pr = 0;
    ops::finish_params(q);
    return q;
  }
  q.N = p.N * p.dh * p.dw;
  q.H = p.H / p.dh;
  q.W = p.W / p.dw;
  q.pt = p.pt / p.dh;
  q.pb = p.pb / p.dh;
  q.pl = p.pl / p.dw;
  q.pr = p.pr / p.dw;
  q.dh = q.dw = 1;
  ops::finish_params(q);
  return q;
}

namespace {

// GEMM columns of one tile size: the tiles of q (3x3 or 2x2) rounded up to whole NR panels
// (F(4x4) on a 14x14 image has 16 tiles, half a 32-wide panel, where F(2x2) has 49 of 64),
// plus, when the filters are transformed in this call, their transform in GEMM-column
// equivalents; each column is Kg x Cg multiplies at each of the (m + R - 1)^2 positions.
int64_t winograd_columns(const Conv2dParams& q, int m, bool weights_cached) {
  const int64_t nr = gemm::active_ukernel<float>().nr;
  const int64_t filter = weights_cached ? 0 : kWinogradFilterTransformColumns;
  const int64_t tiles = q.N * tile_count(q.Ho, m) * tile_count(q.Wo, m);
  return (m + q.R - 1) * (m + q.R - 1) * (ceil_div(tiles, nr) * nr + filter);
}

// GEMM columns of the better of F(2x2, 2x2) and F(4x4, 2x2) over N images of Ho x Wo
// outputs, the filter transform of the call counted unless the weights were transformed
// earlier (as in winograd_columns).
int64_t kernel2_columns(int64_t N, int64_t Ho, int64_t Wo, bool weights_cached) {
  Conv2dParams q;
  q.N = N;
  q.Ho = Ho;
  q.Wo = Wo;
  q.R = q.S = 2;
  return min64(winograd_columns(q, 2, weights_cached), winograd_columns(q, 4, weights_cached));
}

// "auto" on a 4x4 stride-2 conv (p) on its space-to-depth phases, forward (one 2x2 conv over
// four phase channels per channel) or input gradient (four 2x2 convs, one per phase of dx):
// taken when the better 2x2 tile's multiplies, the call's filter transform counted (unless the
// filters were transformed earlier: weights_cached), are fewer than the 4x4 kernel's 16 per
// output. Measured at N=8 (wall clock, one / two threads):
// dcgan_d2 2.28 / 1.33 ms against direct's 4.06 / 2.00, dcgan_d3 2.87 / 1.90 against im2col's
// 4.12 / 2.09; at N=1 dcgan_d3 (16 tiles, declined) 1.02 against 0.52.
const char* space_to_depth_auto_declines(const Conv2dParams& p, bool input_grad,
                                         bool weights_cached) {
  const int64_t Cg = p.C / p.groups, Kg = p.K / p.groups;
  if ((input_grad ? Cg : 4 * Cg) < kWinogradAutoMinChannels || Kg < kWinogradAutoMinChannels)
    return "fewer than 32 channels per group: the direct kernels are faster";
  int64_t columns = 0;
  if (input_grad) {
    for (int64_t a = 0; a < 2; ++a)
      for (int64_t b = 0; b < 2; ++b)
        columns += kernel2_columns(p.N, (p.H - a + 1) / 2, (p.W - b + 1) / 2, weights_cached);
  } else {
    columns = 4 * kernel2_columns(p.N, p.Ho, p.Wo, weights_cached);
  }
  if (columns >= 16 * p.N * p.Ho * p.Wo)
    return weights_cached
               ? "4x4 stride 2: Winograd on the phases does no fewer multiplies than the 4x4 "
                 "kernel (too few tiles)"
               : "4x4 stride 2: Winograd on the phases does no fewer multiplies than the 4x4 "
                 "kernel once the filter transform of the call is counted (too few tiles)";
  return nullptr;
}

// winograd_auto_declines and winograd_prepared_auto_declines: the same channel rule, and a
// least number of tiles (with the tile each would run) that differs with who transforms the
// filters.
const char* auto_declines(const Conv2dParams& dilated, bool weights_cached) {
  if (winograd_on_space_to_depth(dilated))
    return space_to_depth_auto_declines(dilated, false, weights_cached);
  const Conv2dParams p = winograd_phase_params(dilated);
  if (p.C / p.groups < kWinogradAutoMinChannels || p.K / p.groups < kWinogradAutoMinChannels)
    return "fewer than 32 channels per group: the direct kernels are faster";
  const int m = winograd_default_tile(p, weights_cached);
  const int64_t tiles = p.N * tile_count(p.Ho, m) * tile_count(p.Wo, m);
  if (!weights_cached && tiles < kWinogradFilterTransformColumns)
    return "too few tiles to repay the filter transform of a call";
  static_assert(kWinogradPreparedMinTiles == 16, "the reason below names the threshold");
  if (weights_cached && tiles < kWinogradPreparedMinTiles)
    return "fewer than 16 tiles: reading the transformed filters costs more than the "
           "multiplies they save";
  return nullptr;
}

}  // namespace

const char* winograd_auto_declines(const Conv2dParams& p) { return auto_declines(p, false); }

const char* winograd_prepared_auto_declines(const Conv2dParams& p) {
  return auto_declines(p, true);
}

const char* winograd_input_auto_declines(const Conv2dParams& p) {
  if (winograd_on_space_to_depth(p)) return space_to_depth_auto_declines(p, true, false);
  return winograd_auto_declines(winograd_input_params(p));
}

int winograd_named_tile(const char* name, const Conv2dParams& p) {
  const std::string n(name);
  if (n == "winograd") return winograd_default_tile(p, true);
  if (n == "winograd_f2") return 2;
  if (n == "winograd_f4") return 4;
  if (n == "winograd_f6") return 6;
  return 0;
}

int winograd_default_tile(const Conv2dParams& dilated, bool weights_cached) {
  const Conv2dParams p = winograd_phase_params(dilated);
  return winograd_columns(p, 4, weights_cached) < winograd_columns(p, 2, weights_cached) ? 4 : 2;
}

namespace {

// A 4x4 stride-2 conv is a 2x2 stride-1 conv on the 2x2 space-to-depth phases of its padded
// input: output (i, j) reads padded input (2i + r, 2j + s), which is phase (r % 2, s % 2) at
// (i + r / 2, j + s / 2). F(2x2, 2x2) runs it with 9 multiplies per 4 outputs and phase channel
// and F(4x4, 2x2) with 25 per 16, four phase channels per channel, where the 4x4 kernel does 16
// per output (1.78x / 2.56x fewer).
// Phase channels are ordered (group, phase, channel); phase images are Ho + 1 by Wo + 1 (rows
// past the padded input are zeros), so the 2x2 conv needs no padding and writes y directly.
template <class T>
const T* space_to_depth_input(const Conv2dParams& p, const Conv2dParams& q, const T* x) {
  T* xq = thread_scratch(ScratchSlot::winograd_phases_in).get<T>(q.N * q.C * q.H * q.W);
  const int64_t Cg = p.C / p.groups, plane = q.H * q.W;
  parallel_for_cost(p.N * p.C, stream_ns(8.0 * p.N * p.C * plane * sizeof(T)), [&](int64_t nc) {
    const int64_t n = nc / p.C, c = nc % p.C, g = c / Cg, cg = c % Cg;
    const T* src = x + nc * p.H * p.W;
    for (int64_t phase = 0; phase < 4; ++phase) {
      const int64_t a = phase / 2, b = phase % 2;
      T* dst = xq + (n * q.C + (g * 4 + phase) * Cg + cg) * plane;
      // Columns j0 <= j < j1 read input columns 2j + b - pl inside the image.
      const int64_t j0 = min64(q.W, max64(0, (p.pl - b + 1) / 2));
      const int64_t last = p.W - 1 + p.pl - b;  // 2j <= last: j <= last / 2, none if last < 0
      const int64_t j1 = last < 0 ? j0 : max64(j0, min64(q.W, last / 2 + 1));
      for (int64_t i = 0; i < q.H; ++i) {
        const int64_t ih = 2 * i + a - p.pt;
        T* row = dst + i * q.W;
        if (ih < 0 || ih >= p.H) {
          std::fill(row, row + q.W, T(0));
          continue;
        }
        const T* in = src + ih * p.W;
        std::fill(row, row + j0, T(0));
        for (int64_t j = j0; j < j1; ++j) row[j] = in[2 * j + b - p.pl];
        std::fill(row + j1, row + q.W, T(0));
      }
    }
  });
  return xq;
}

}  // namespace

namespace {

// The transformed filters of the calling thread's plan-less calls, forward or input gradient,
// kept for the next call (a plan keeps its own): buffer 0 for the call's own transforms, and
// `count` in all where each of the call's pool threads, or each phase of a 4x4 stride-2 input
// gradient, has its own. Pass the pointer to workers: a lambda running on another thread would
// name that thread's own thread_local.
template <class T>
WinogradWeights<T>* call_weights(int count = 1) {
  thread_local std::vector<WinogradWeights<T>> w;
  if (static_cast<int>(w.size()) < count) w.resize(count);
  return w.data();
}

// w (K, C / groups, R, S) as it lies.
template <class T>
WinogradFilters<T> filters_in_place(const Conv2dParams& p, const T* w) {
  const int64_t taps = p.R * p.S, Cg = p.C / p.groups, Kg = p.K / p.groups;
  WinogradFilters<T> f{w, Kg * Cg * taps, Cg * taps, taps, {}};
  for (int64_t q = 0; q < taps; ++q) f.taps[q] = static_cast<int32_t>(q);
  return f;
}

// The 2x2 filters of the space-to-depth phase conv of a 4x4 stride-2 p (winograd_phase_params):
// its input channel phase * Cg + c is filter c's 2x2 subgrid from tap (phase / 2, phase % 2),
// taps 2 apart, read in place. The channel offsets live in a per-thread buffer, valid until
// the calling thread's next call.
template <class T>
WinogradFilters<T> space_to_depth_filters(const Conv2dParams& p, const T* w) {
  const int64_t Cg = p.C / p.groups, Kg = p.K / p.groups;
  thread_local std::vector<int64_t> phase_channels;
  phase_channels.resize(static_cast<size_t>(4 * Cg));
  for (int64_t phase = 0; phase < 4; ++phase)
    for (int64_t c = 0; c < Cg; ++c)
      phase_channels[phase * Cg + c] = c * 16 + (phase / 2) * 4 + phase % 2;
  WinogradFilters<T> f{w, Kg * Cg * 16, Cg * 16, 16, {}};
  f.c_offsets = phase_channels.data();
  const int32_t subgrid[4] = {0, 2, 8, 10};
  std::copy(subgrid, subgrid + 4, f.taps);
  return f;
}

}  // namespace

template <class T>
void WinogradWeights<T>::pack(const Conv2dParams& p, const T* w, int m) {
  if (winograd_on_space_to_depth(p)) {
    pack(winograd_phase_params(p), space_to_depth_filters(p, w), m);
    return;
  }
  pack(p, filters_in_place(p, w), m);
}

template <class T>
void WinogradWeights<T>::lay_out(const Conv2dParams& p, int m) {
  m_ = m;
  r_ = static_cast<int>(p.R);
  G_ = p.groups;
  Kg_ = p.K / p.groups;
  Cg_ = p.C / p.groups;
  gemm_ = &gemm::active_ukernel<T>();
  transforms_ = &active_transforms<T>();
  const int64_t X = (m + r_ - 1) * (m + r_ - 1);
  kpanels_ = ceil_div(Kg_, gemm_->mr);
  u_xi_ = skewed(kpanels_ * Cg_ * gemm_->mr, sizeof(T));
  data_ = buf_.get<T>(max64(1, G_ * X * u_xi_));
}

namespace {

// panels(g, kp0, kp1) for every group's MR-row panels of filters, on the pool where there are
// `filters` enough (below a few thousand the transform takes microseconds, less than a
// fork/join), each thread a contiguous range of (group, panel) jobs, one call per group.
template <class Panels>
void for_panel_ranges(int64_t groups, int64_t kpanels, int64_t filters, Panels&& panels) {
  const int64_t jobs = groups * kpanels;
  const int threads = jobs > 1 && filters >= 4096 ? max_threads() : 1;
  auto run = [&](int64_t j0, int64_t j1) {
    for (int64_t jb = j0; jb < j1;) {
      const int64_t g = jb / kpanels, end = min64(j1, (g + 1) * kpanels);
      panels(g, jb - g * kpanels, end - g * kpanels);
      jb = end;
    }
  };
  if (threads > 1) {
    parallel_for(threads, [&](int64_t t) { run(jobs * t / threads, jobs * (t + 1) / threads); });
  } else {
    run(0, jobs);
  }
}

}  // namespace

template <class T>
template <class Transform>
void WinogradWeights<T>::for_each_chunk(const WinogradFilters<T>& f, int32_t max_tap, int64_t g,
                                        int64_t kp0, int64_t kp1, Transform&& transform) const {
  const int64_t mr = gemm_->mr;
  // A panel's filters are transformed kChunk input channels per transform call: the call's
  // lanes are (channel, row) pairs in the packed order, so each of the X outputs is one
  // contiguous run of whole cache lines (and the planes are skewed, so the X runs do not
  // compete for one cache set). Lane c * MR + r reads filter (r, c) of the chunk, offsets[lane]
  // elements from its first filter; the rows of a last, partial panel read row 0 and are zeroed
  // after the transform.
  constexpr int64_t kChunk = 16;
  static_assert(kChunk * 32 <= ukernels::kWinogradMaxFilterLanes, "MR <= 32 for every GEMM kernel");
  // Input channel c's offset from its group's base, and the largest offset within one call
  // from the call's first channel (the gathers take 32-bit offsets).
  auto c_off = [&](int64_t c) { return f.c_offsets ? f.c_offsets[c] : c * f.c_stride; };
  int64_t span = 0;
  for (int64_t c0 = 0; c0 < Cg_; c0 += kChunk)
    for (int64_t c = c0; c < min64(Cg_, c0 + kChunk); ++c) {
      const int64_t d = c_off(c) - c_off(c0);
      span = max64(span, d < 0 ? -d : d);
    }
  if ((mr - 1) * f.k_stride + span + max_tap > INT32_MAX)
    throw std::length_error("winograd: filters too large");
  // With evenly spaced channels every chunk has the same offsets: worked out again only for a
  // partial panel, not per chunk (per chunk they took 4-5% of a one-image r50_3x3_256@14).
  int32_t offsets[kChunk * 32];
  int64_t offsets_rows = -1;  // the rows the offsets were worked out for, where they are shared
  for (int64_t kp = kp0; kp < kp1; ++kp) {
    const int64_t rows = min64(mr, Kg_ - kp * mr);
    auto fill_offsets = [&](int64_t c0, int64_t cn) {
      for (int64_t c = 0; c < cn; ++c)
        for (int64_t r = 0; r < mr; ++r)
          offsets[c * mr + r] =
              static_cast<int32_t>((r < rows ? r : 0) * f.k_stride + c_off(c0 + c) - c_off(c0));
    };
    if (!f.c_offsets && rows != offsets_rows) {
      fill_offsets(0, min64(kChunk, Cg_));
      offsets_rows = rows;
    }
    for (int64_t c0 = 0; c0 < Cg_; c0 += kChunk) {
      const int64_t cn = min64(kChunk, Cg_ - c0);
      if (f.c_offsets) fill_offsets(c0, cn);
      transform(f.base + g * f.g_stride + kp * mr * f.k_stride + c_off(c0), offsets, cn * mr,
                (g * (m_ + r_ - 1) * (m_ + r_ - 1)) * u_xi_ + kp * Cg_ * mr + c0 * mr, rows);
    }
  }
}

// Rows [rows, MR) of `channels` channels of a panel's planes from u, which the transform filled
// from a copy of row 0.
template <class T>
void WinogradWeights<T>::zero_rows(T* u, int64_t channels, int64_t rows) const {
  const int64_t mr = gemm_->mr, X = (m_ + r_ - 1) * (m_ + r_ - 1);
  if (rows < mr)
    for (int64_t xi = 0; xi < X; ++xi)
      for (int64_t c = 0; c < channels; ++c)
        std::fill(u + xi * u_xi_ + c * mr + rows, u + xi * u_xi_ + (c + 1) * mr, T(0));
}

template <class T>
void WinogradWeights<T>::transform_panels(const WinogradFilters<T>& f, int64_t g, int64_t kp0,
                                          int64_t kp1) {
  const WinogradTransforms<T>& tr = transforms_for(*transforms_, m_, r_);
  int32_t max_tap = 0;
  for (int64_t q = 0; q < r_ * r_; ++q) max_tap = f.taps[q] > max_tap ? f.taps[q] : max_tap;
  for_each_chunk(f, max_tap, g, kp0, kp1,
                 [&](const T* src, const int32_t* offsets, int64_t lanes, int64_t u_off,
                     int64_t rows) {
                   tr.filter(src, offsets, f.taps, lanes, data_ + u_off, u_xi_);
                   zero_rows(data_ + u_off, lanes / gemm_->mr, rows);
                 });
}

template <class T>
void WinogradWeights<T>::transform_all_sets(WinogradWeights* const* w,
                                            const WinogradFilters<T>* f, int sets) {
  constexpr int kMaxSets = 4;
  if (sets < 1 || sets > kMaxSets) throw std::logic_error("winograd: 1 to 4 filter sets");
  const WinogradWeights& w0 = *w[0];
  const int rr = w0.r_ * w0.r_;
  int32_t set_taps[kMaxSets * 16];
  for (int s = 0; s < sets; ++s) {
    const WinogradWeights& ws = *w[s];
    if (ws.m_ != w0.m_ || ws.r_ != w0.r_ || ws.G_ != w0.G_ || ws.Kg_ != w0.Kg_ ||
        ws.Cg_ != w0.Cg_ || ws.u_xi_ != w0.u_xi_)
      throw std::logic_error("winograd: filter sets need weights laid out alike");
    for (int q = 0; q < rr; ++q) {
      if (f[s].taps[q] < 0 || f[s].taps[q] >= 16)
        throw std::logic_error("winograd: filter sets take taps within 4x4 filters");
      set_taps[s * rr + q] = f[s].taps[q];
    }
  }
  const WinogradTransforms<T>& tr = transforms_for(*w0.transforms_, w0.m_, w0.r_);
  if (!tr.filter_sets) throw std::logic_error("winograd: filter sets are for 2x2 kernels");
  for_panel_ranges(w0.G_, w0.kpanels_, w0.Kg_ * w0.Cg_ * w0.G_ * sets,
                   [&](int64_t g, int64_t kp0, int64_t kp1) {
    constexpr int32_t kLastTap = 15;  // filter_sets reads all 16 taps of each 4x4 filter
    w0.for_each_chunk(f[0], kLastTap, g, kp0, kp1, [&](const T* src, const int32_t* offsets,
                                                 int64_t lanes, int64_t u_off, int64_t rows) {
      T* u[kMaxSets];
      for (int s = 0; s < sets; ++s) u[s] = w[s]->data_ + u_off;
      tr.filter_sets(src, offsets, set_taps, sets, lanes, u, w0.u_xi_);
      for (int s = 0; s < sets; ++s) w0.zero_rows(u[s], lanes / w0.gemm_->mr, rows);
    });
  });
}

template <class T>
void WinogradWeights<T>::pack(const Conv2dParams& p, const WinogradFilters<T>& f, int m) {
  lay_out(p, m);
  transform_all(f);
}

template <class T>
void WinogradWeights<T>::transform_all(const WinogradFilters<T>& f) {
  for_panel_ranges(G_, kpanels_, Kg_ * Cg_ * G_, [&](int64_t g, int64_t kp0, int64_t kp1) {
    transform_panels(f, g, kp0, kp1);
  });
}

namespace {

// A dilated conv as an undilated one on its phases: output (d*i + a, d*j + b) only reads
// input (d*i' + a, d*j' + b), so each of the dh*dw phase images is an ordinary 3x3 conv
// (padding / d) of the matching input phase, and the phases run as one batch of N*dh*dw images.
template <class T>
void forward_by_phases(const Conv2dParams& p, const T* x, const WinogradWeights<T>& w,
                       const T* bias, T* y) {
  const Conv2dParams q = winograd_phase_params(p);
  const int64_t dh = p.dh, dw = p.dw, phases = dh * dw;
  T* xq = thread_scratch(ScratchSlot::winograd_phases_in).get<T>(q.N * q.C * q.H * q.W);
  T* yq = thread_scratch(ScratchSlot::winograd_phases_out).get<T>(q.N * q.K * q.Ho * q.Wo);
  // Both moves go plane by plane: element (i, j) of phase (a, b) is (d*i + a, d*j + b).
  auto move = [&](const T* src, T* dst, int64_t channels, int64_t H, int64_t W, bool split) {
    const int64_t h = H / dh, wd = W / dw;
    parallel_for_cost(p.N * channels, stream_ns(2.0 * p.N * channels * H * W * sizeof(T)),
                      [&](int64_t nc) {
      const int64_t n = nc / channels, c = nc % channels;
      for (int64_t a = 0; a < dh; ++a)
        for (int64_t b = 0; b < dw; ++b) {
          const int64_t phase_plane = ((n * phases + a * dw + b) * channels + c) * h * wd;
          const int64_t full_plane = nc * H * W;
          for (int64_t i = 0; i < h; ++i)
            for (int64_t j = 0; j < wd; ++j) {
              const int64_t full = full_plane + (i * dh + a) * W + j * dw + b;
              const int64_t part = phase_plane + i * wd + j;
              if (split) dst[part] = src[full];
              else dst[full] = src[part];
            }
        }
    });
  };
  move(x, xq, p.C, p.H, p.W, true);
  winograd_conv2d_forward(q, xq, w, bias, yq);
  move(yq, y, p.K, p.Ho, p.Wo, false);
}

// Item `it` of s, for a stride-1, undilated p; before_item(g, kp0, kp1) runs first (where the
// filters are transformed in the call: the panels that item alone uses).
template <class T, class BeforeItem>
void run_item(const Conv2dParams& p, const T* x, const WinogradWeights<T>& w, const T* bias,
              T* y, const Schedule& s, int64_t it, BeforeItem&& before_item) {
  int64_t unit = it, part = 0, parts = 1;
  if (it >= s.whole) {
    unit = s.whole + (it - s.whole) / s.kparts;
    part = (it - s.whole) % s.kparts;
    parts = s.kparts;
  }
  const int64_t g = unit / s.blocks, blk = unit % s.blocks;
  const int64_t kp0 = w.k_panels() * part / parts, kp1 = w.k_panels() * (part + 1) / parts;
  if (kp0 >= kp1) return;
  before_item(g, kp0, kp1);
  if (w.kernel() == 2 && s.m == 4) run_block<T, 4, 2>(p, x, w, bias, y, s, g, blk, kp0, kp1);
  else if (w.kernel() == 2) run_block<T, 2, 2>(p, x, w, bias, y, s, g, blk, kp0, kp1);
  else if (s.m == 4) run_block<T, 4, 3>(p, x, w, bias, y, s, g, blk, kp0, kp1);
  else if (s.m == 6) run_block<T, 6, 3>(p, x, w, bias, y, s, g, blk, kp0, kp1);
  else run_block<T, 2, 3>(p, x, w, bias, y, s, g, blk, kp0, kp1);
}

// Items [0, items) by `threads` threads, item(it, thread). Items are taken first come, first
// served: each writes its own outputs with no reduction, so results do not depend on which
// thread runs what, and a thread the host deschedules for a while (a shared machine) holds up
// only the item it is on.
template <class F>
void run_shared(int threads, int64_t items, F&& item) {
  if (threads <= 1) {
    for (int64_t it = 0; it < items; ++it) item(it, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  parallel_for(threads, [&](int64_t t) {
    for (int64_t it = next.fetch_add(1); it < items; it = next.fetch_add(1)) item(it, t);
  });
}

// A stride-1, undilated p by the items of s.
template <class T, class BeforeItem>
void run_items(const Conv2dParams& p, const T* x, const WinogradWeights<T>& w, const T* bias,
               T* y, const Schedule& s, BeforeItem&& before_item) {
  run_shared(s.threads, s.items,
             [&](int64_t it, int64_t) { run_item(p, x, w, bias, y, s, it, before_item); });
}

// A plan-less run of the stride-1 conv q with filters f: transformed into the calling thread's
// buffer first, or, where each (group, output-channel panel) has one item that uses it (one
// block of tiles, as at N=1), by that item (one fork/join less, and each thread's transformed
// filters stay in its own L2; with the per-panel offsets above, r50_3x3_256@14 at N=1 on two
// threads 0.697 -> 0.688 ms, dcgan_g4 at N=1 0.331 -> 0.321 ms).
template <class T>
void transform_and_run(const Conv2dParams& q, const T* x, const WinogradFilters<T>& f, int m,
                       const T* bias, T* y) {
  WinogradWeights<T>& w = *call_weights<T>();
  w.lay_out(q, m);
  if (q.dh > 1 || q.dw > 1) {
    w.transform_all(f);
    winograd_conv2d_forward(q, x, w, bias, y);
    return;
  }
  const Schedule s = schedule(q, w);
  if (s.blocks > 1 && s.whole == 0 && s.kparts == s.threads && s.threads > 1) {
    // Every unit split by output channels, one part per thread: thread t transforms the
    // filters of part t and runs part t of every block, in one parallel region. Its
    // transformed filters stay in its own L2 and nothing waits between the transform and the
    // GEMMs (two regions, with the parts taken first come, first served: r50_3x3_256@14 at N=1
    // on two threads 0.661 -> 0.584 ms forward, 0.736 -> 0.661 input gradient).
    parallel_for(s.threads, [&](int64_t t) {
      const int64_t kp0 = w.k_panels() * t / s.kparts, kp1 = w.k_panels() * (t + 1) / s.kparts;
      if (kp0 >= kp1) return;
      for (int64_t g = 0; g < q.groups; ++g) {
        w.transform_panels(f, g, kp0, kp1);
        for (int64_t blk = 0; blk < s.blocks; ++blk)
          run_item(q, x, w, bias, y, s, (g * s.blocks + blk) * s.kparts + t,
                   [](int64_t, int64_t, int64_t) {});
      }
    });
    return;
  }
  if (s.blocks > 1) {
    w.transform_all(f);
    run_items(q, x, w, bias, y, s, [](int64_t, int64_t, int64_t) {});
    return;
  }
  run_items(q, x, w, bias, y, s,
            [&](int64_t g, int64_t kp0, int64_t kp1) { w.transform_panels(f, g, kp0, kp1); });
}

// The items of four phase convs with schedules s[0..3] in one parallel region, first come,
// first served: item(phase, item within the phase, thread).
template <class Item>
void run_phase_items(int threads, const Schedule* s, Item&& item) {
  int64_t first[5] = {0};
  for (int i = 0; i < 4; ++i) first[i + 1] = first[i] + s[i].items;
  run_shared(threads, first[4], [&](int64_t k, int64_t t) {
    int i = 0;
    while (k >= first[i + 1]) ++i;
    item(i, k - first[i], t);
  });
}

// The four phases of a 4x4 stride-2 input gradient (stride-1 convs q[i] with filters f[i], into
// y + offset[i]). Where each is one block of tiles, their items run in one parallel region,
// whole phases where there are enough to go round, each transforming its phase's filters into
// its thread's buffer: phase by phase, each phase's items split its output channels, repeated
// its input transform and forked and joined on their own (dcgan_g4 at N=1 on two threads:
// 0.272 -> 0.216 ms). Otherwise (several blocks, as at N=8) each phase's filters are
// transformed before its items run, and where w is larger than L2, so that each phase would
// read it again from L3, all four phases' filters first, in one pass over w: each filter read
// once (dcgan_g3 at N=8, 2 MB of filters: 3.14 -> 3.01 ms on one thread, 1.83 -> 1.79 on two),
// and then the four phases' items in one parallel region, taken first come, first served (one
// fork/join where there were four, and no thread idles at the end of each phase; on two
// threads 1.650 -> 1.633 ms, medians of 9).
// With w in L2, phase by phase stays faster, each phase's transformed filters still in L2 when
// its GEMMs read them (dcgan_g4 at N=8, 512 KB: 2.27 against 2.46 ms in one pass; at N=1 the
// items' own transforms: 0.400 against 0.422).
template <class T>
void transform_and_run_phases(const Conv2dParams* q, const WinogradFilters<T>* f, const T* x,
                              const T* bias, T* y, const int64_t* offset) {
  WinogradWeights<T>* w = call_weights<T>(4 > max_threads() ? 4 : max_threads());
  Schedule s[4];
  int m[4];
  bool together = true, one_tile = true;
  int threads = 1;
  for (int i = 0; i < 4; ++i) {
    m[i] = winograd_default_tile(q[i], false);
    w[0].lay_out(q[i], m[i]);
    s[i] = schedule(q[i], w[0]);
    together = together && s[i].blocks == 1;
    one_tile = one_tile && m[i] == m[0];
    threads = s[i].threads > threads ? s[i].threads : threads;
  }
  if (!together) {
    // The 4x4 filters: the phase convs' output channels (dx) by their input channels.
    const int64_t w_bytes = q[0].C * q[0].K / q[0].groups * 16 * static_cast<int64_t>(sizeof(T));
    if (one_tile && w_bytes > kL2Bytes) {
      WinogradWeights<T>* phases[4] = {&w[0], &w[1], &w[2], &w[3]};
      for (int i = 0; i < 4; ++i) w[i].lay_out(q[i], m[i]);
      WinogradWeights<T>::transform_all_sets(phases, f, 4);
      run_phase_items(threads, s, [&](int i, int64_t it, int64_t) {
        run_item(q[i], x, w[i], bias, y + offset[i], s[i], it,
                 [](int64_t, int64_t, int64_t) {});
      });
      return;
    }
    for (int i = 0; i < 4; ++i)
      transform_and_run(q[i], x, f[i], m[i], bias, y + offset[i]);
    return;
  }
  for (int i = 0; i < 4; ++i) {
    if (4 * q[i].groups >= threads) {  // whole units: every phase's input transformed once
      s[i].kparts = 1;
      s[i].whole = s[i].items = s[i].blocks * q[i].groups;
    }
  }
  run_phase_items(threads, s, [&](int i, int64_t it, int64_t t) {
    WinogradWeights<T>& wt = w[t];  // a buffer per thread, one for all four phases on one thread
    wt.lay_out(q[i], m[i]);
    run_item(q[i], x, wt, bias, y + offset[i], s[i], it,
             [&](int64_t g, int64_t kp0, int64_t kp1) { wt.transform_panels(f[i], g, kp0, kp1); });
  });
}

}  // namespace

template <class T>
void winograd_conv2d_forward(const Conv2dParams& p, const T* x, const WinogradWeights<T>& w,
                             const T* bias, T* y) {
  if (p.N == 0) return;
  if (winograd_on_space_to_depth(p)) {
    const Conv2dParams q = winograd_phase_params(p);
    winograd_conv2d_forward(q, space_to_depth_input(p, q, x), w, bias, y);
    return;
  }
  if (p.dh > 1 || p.dw > 1) {
    forward_by_phases(p, x, w, bias, y);
    return;
  }
  run_items(p, x, w, bias, y, schedule(p, w), [](int64_t, int64_t, int64_t) {});
}

template <class T>
void winograd_conv2d_forward(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y,
                             int m) {
  if (p.N == 0) return;
  m = m ? m : winograd_default_tile(p, false);
  if (winograd_on_space_to_depth(p)) {
    const Conv2dParams q = winograd_phase_params(p);
    transform_and_run(q, space_to_depth_input(p, q, x), space_to_depth_filters(p, w), m, bias, y);
    return;
  }
  transform_and_run(p, x, filters_in_place(p, w), m, bias, y);
}

// The input gradient of a 4x4 stride-2 conv (the transposed convs of a DCGAN generator): input
// pixel (2i + a, 2j + b) receives grad_output (i + u, j + v) through tap (a + pt - 2u,
// b + pl - 2v) wherever that lies in the kernel, which for each phase (a, b) is two values of
// u, e - 1 and e with e = (a + pt) / 2 (and the same across). So each of the four phases of dx
// is a 2x2 stride-1 conv of grad_output (padded by 1 - e before, channels swapped), run by the
// 2x2 tiles (F(2x2, 2x2): 9 multiplies per 4 outputs, F(4x4, 2x2): 25 per 16, where the kernel
// does 16 per output), followed by a copy into every other row and column of dx.
namespace {

// The 2x2 conv that computes phase (a, b) of dx; its padding may come out negative (then the
// phase has no such form: padding above 2).
Conv2dParams input_phase_params(const Conv2dParams& p, int64_t a, int64_t b) {
  Conv2dParams q = p;
  q.C = p.K;
  q.K = p.C;
  q.H = p.Ho;
  q.W = p.Wo;
  q.R = q.S = 2;
  q.sh = q.sw = 1;
  q.pt = 1 - (a + p.pt) / 2;
  q.pl = 1 - (b + p.pl) / 2;
  q.pb = (p.H - a + 1) / 2 + 1 - p.Ho - q.pt;  // (H - a + 1) / 2 rows of dx are in phase a
  q.pr = (p.W - b + 1) / 2 + 1 - p.Wo - q.pl;
  return q;
}

bool input_phases_fit(const Conv2dParams& p) {
  for (int64_t phase = 0; phase < 4; ++phase) {
    const Conv2dParams q = input_phase_params(p, phase / 2, phase % 2);
    if (q.pt < 0 || q.pb < 0 || q.pl < 0 || q.pr < 0) return false;
  }
  return true;
}

template <class T>
void space_to_depth_conv2d_input(const Conv2dParams& p, const T* gy, const T* w, const T* bias,
                                 T* dx) {
  const int64_t Kg = p.K / p.groups, Cg = p.C / p.groups;
  Conv2dParams q[4];
  // Each phase's 2x2 filters are read straight out of the 4x4 ones: the phase conv's filter
  // from input (grad_output) channel k to output (dx) channel c of group g is w's filter
  // (g*Kg + k, c) at taps tap[t * 2 + v] (rearranging them into a copy first, channel by
  // channel, cost 15% of dcgan_g4 at N=1).
  WinogradFilters<T> f[4];
  for (int64_t phase = 0; phase < 4; ++phase) {
    const int64_t a = phase / 2, b = phase % 2;
    q[phase] = input_phase_params(p, a, b);
    ops::finish_params(q[phase]);
    f[phase] = {w, Kg * Cg * 16, 16, Cg * 16, {}};
    for (int64_t t = 0; t < 2; ++t)
      for (int64_t v = 0; v < 2; ++v)
        f[phase].taps[t * 2 + v] = static_cast<int32_t>(
            (a + p.pt - 2 * (t - q[phase].pt)) * 4 + b + p.pl - 2 * (v - q[phase].pl));
  }
  // Each phase's conv into its own part of one buffer, then dx row by row: row 2i + a
  // interleaves row i of phases (a, 0) and (a, 1).
  int64_t offset[5] = {0};
  for (int64_t phase = 0; phase < 4; ++phase)
    offset[phase + 1] = offset[phase] + q[phase].N * q[phase].K * q[phase].Ho * q[phase].Wo;
  T* zq = thread_scratch(ScratchSlot::winograd_phases_out).get<T>(offset[4]);
  transform_and_run_phases(q, f, gy, bias, zq, offset);
  parallel_for_cost(p.N * p.C, stream_ns(2.0 * p.N * p.C * p.H * p.W * sizeof(T)),
                    [&](int64_t nc) {
    T* plane = dx + nc * p.H * p.W;
    for (int64_t ih = 0; ih < p.H; ++ih) {
      const int64_t a = ih % 2, i = ih / 2;
      const Conv2dParams &q0 = q[a * 2], &q1 = q[a * 2 + 1];
      const T* even = zq + offset[a * 2] + (nc * q0.Ho + i) * q0.Wo;
      const T* odd = zq + offset[a * 2 + 1] + (nc * q1.Ho + i) * q1.Wo;
      interleave_pair(plane + ih * p.W, even, odd, p.W);
    }
  });
}

}  // namespace

Conv2dParams winograd_input_params(const Conv2dParams& p) {
  Conv2dParams q = p;
  q.C = p.K;
  q.K = p.C;
  q.H = p.Ho;
  q.W = p.Wo;
  q.pt = (p.R - 1) * p.dh - p.pt;
  q.pb = (p.R - 1) * p.dh - p.pb;
  q.pl = (p.S - 1) * p.dw - p.pl;
  q.pr = (p.S - 1) * p.dw - p.pr;
  ops::finish_params(q);
  if (q.Ho != p.H || q.Wo != p.W) throw std::logic_error("winograd input gradient: bad geometry");
  return q;
}

const char* winograd_input_declines(const Conv2dParams& p) {
  if (winograd_on_space_to_depth(p)) {
    if (!input_phases_fit(p))
      return "a 4x4 stride-2 input gradient needs padding <= 2 (and the matching output size)";
    return nullptr;
  }
  if (p.R != 3 || p.S != 3) return "needs a 3x3 kernel (or a 4x4 one with stride 2)";
  if (p.sh != 1 || p.sw != 1) return "needs stride 1 (or stride 2 with a 4x4 kernel)";
  if (p.pt > 2 * p.dh || p.pb > 2 * p.dh || p.pl > 2 * p.dw || p.pr > 2 * p.dw)
    return "needs padding <= 2 x dilation on every side";
  return winograd_declines(winograd_input_params(p));
}

template <class T>
void winograd_conv2d_input(const Conv2dParams& p, const T* gy, const T* w, const T* bias,
                           T* dx) {
  if (p.N == 0) return;  // no images: nothing to write (and no tiles to schedule)
  if (winograd_on_space_to_depth(p)) {
    space_to_depth_conv2d_input(p, gy, w, bias, dx);
    return;
  }
  const Conv2dParams q = winograd_input_params(p);
  const int64_t G = p.groups, Kg = p.K / G, Cg = p.C / G;
  // Its filter from grad_output channel k to dx channel c of group g is w's filter
  // (g*Kg + k, c) flipped, tap t at 8 - t: read in place (a flipped copy took a serial pass,
  // a cache miss per filter).
  WinogradFilters<T> f{w, Kg * Cg * 9, 9, Cg * 9, {}};
  for (int t = 0; t < 9; ++t) f.taps[t] = 8 - t;
  transform_and_run(q, gy, f, winograd_default_tile(q, false), bias, dx);
}

template class WinogradWeights<float>;
template class WinogradWeights<double>;
template void winograd_conv2d_forward<float>(const Conv2dParams&, const float*,
                                             const WinogradWeights<float>&, const float*, float*);
template void winograd_conv2d_forward<double>(const Conv2dParams&, const double*,
                                              const WinogradWeights<double>&, const double*,
                                              double*);
template void winograd_conv2d_forward<float>(const Conv2dParams&, const float*, const float*,
                                             const float*, float*, int);
template void winograd_conv2d_forward<double>(const Conv2dParams&, const double*, const double*,
                                              const double*, double*, int);
template void winograd_conv2d_input<float>(const Conv2dParams&, const float*, const float*,
                                           const float*, float*);
template void winograd_conv2d_input<double>(const Conv2dParams&, const double*, const double*,
                                            const double*, double*);

}  // namespace fastconv::algos
