#include "algos/im2col_gemm.h"

#include <atomic>
#include <cstring>

#include "runtime/parallel.h"
#include "runtime/workspace.h"

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
  ColumnRange(const Conv2dParams& p, int64_t s) {
    off = s * p.dw - p.pl;
    lo = off >= 0 ? 0 : min64(ceil_div(-off, p.sw), p.Wo);
    hi = p.W - 1 - off < 0 ? 0 : min64((p.W - 1 - off) / p.sw + 1, p.Wo);
    hi = max64(hi, lo);
  }
};

// col2im: adds a tile of col (output rows [oh0, oh1), layout of ColPanels::pack) back into the
// input-shaped dxg, channels [c0, c1).
template <class T>
void col2im_tile(const Conv2dParams& p, const T* col, int64_t c0, int64_t c1, int64_t oh0,
                 int64_t oh1, T* dxg) {
  const int64_t ncols = (oh1 - oh0) * p.Wo;
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t r = 0; r < p.R; ++r)
      for (int64_t s = 0; s < p.S; ++s) {
        const ColumnRange cr(p, s);
        const T* src = col + ((c * p.R + r) * p.S + s) * ncols;
        for (int64_t oh = oh0; oh < oh1; ++oh, src += p.Wo) {
          const int64_t ih = oh * p.sh - p.pt + r * p.dh;
          if (ih < 0 || ih >= p.H) continue;
          T* dst = dxg + (c * p.H + ih) * p.W + cr.off;
          if (p.sw == 1)
            for (int64_t ow = cr.lo; ow < cr.hi; ++ow) dst[ow] += src[ow];
          else
            for (int64_t ow = cr.lo; ow < cr.hi; ++ow) dst[ow * p.sw] += src[ow];
        }
      }
}

// col of one image and group as a GEMM B operand whose columns start at output position p0:
// packed panels are written straight from the image, so col itself never exists.
template <class T>
struct ColPanels {
  const Conv2dParams* p;
  const T* xg;  // the group's first input channel
  int64_t p0;   // first output position (oh * Wo + ow) of column 0

  // B(k = (c*R + r)*S + s, j) = x_padded[c][oh*sh + r*dh][ow*sw + s*dw], (oh, ow) of p0 + j.
  static void pack(const void* ctx, T* dst, int nr, int64_t j0, int64_t valid, int64_t k0,
                   int64_t kc) {
    const ColPanels& cp = *static_cast<const ColPanels*>(ctx);
    const Conv2dParams& p = *cp.p;
    const int64_t pos0 = cp.p0 + j0;
    const int64_t oh_first = pos0 / p.Wo, ow_first = pos0 % p.Wo;
    int64_t s = k0 % p.S, r = (k0 / p.S) % p.R, c = k0 / (p.R * p.S);
    for (int64_t k = 0; k < kc; ++k) {
      T* d = dst + k * nr;
      const T* xc = cp.xg + c * p.H * p.W;
      const int64_t iw_off = s * p.dw - p.pl, ih_off = r * p.dh - p.pt;
      int64_t j = 0, oh = oh_first, ow = ow_first;
      while (j < valid) {
        const int64_t run = min64(valid - j, p.Wo - ow);
        const int64_t ih = oh * p.sh + ih_off;
        if (ih < 0 || ih >= p.H) {
          for (int64_t t = 0; t < run; ++t) d[j + t] = T(0);
        } else {
          const T* row = xc + ih * p.W;
          const int64_t iw0 = ow * p.sw + iw_off;
          if (p.sw == 1 && iw0 >= 0 && iw0 + run <= p.W) {
            std::memcpy(d + j, row + iw0, run * sizeof(T));
          } else {
            for (int64_t t = 0; t < run; ++t) {
              const int64_t iw = iw0 + t * p.sw;
              d[j + t] = (iw >= 0 && iw < p.W) ? row[iw] : T(0);
            }
          }
        }
        j += run;
        ++oh;
        ow = 0;
      }
      for (int64_t jj = valid; jj < nr; ++jj) d[jj] = T(0);
      if (++s == p.S) {
        s = 0;
        if (++r == p.R) {
          r = 0;
          ++c;
        }
      }
    }
  }

  // The transpose, for the weight gradient: B(k = position p0 + k, j = (c*R + r)*S + s).
  static void pack_transposed(const void* ctx, T* dst, int nr, int64_t j0, int64_t valid,
                              int64_t k0, int64_t kc) {
    const ColPanels& cp = *static_cast<const ColPanels*>(ctx);
    const Conv2dParams& p = *cp.p;
    const int64_t pos0 = cp.p0 + k0;
    const int64_t oh_first = pos0 / p.Wo, ow_first = pos0 % p.Wo;
    for (int64_t jj = 0; jj < valid; ++jj) {
      const int64_t crs = j0 + jj;
      const int64_t s = crs % p.S, r = (crs / p.S) % p.R, c = crs / (p.R * p.S);
      const T* xc = cp.xg + c * p.H * p.W;
      const int64_t iw_off = s * p.dw - p.pl, ih_off = r * p.dh - p.pt;
      T* d = dst + jj;
      int64_t k = 0, oh = oh_first, ow = ow_first;
      while (k < kc) {
        const int64_t run = min64(kc - k, p.Wo - ow);
        const int64_t ih = oh * p.sh + ih_off;
        if (ih < 0 || ih >= p.H) {
          for (int64_t t = 0; t < run; ++t) d[(k + t) * nr] = T(0);
        } else {
          const T* row = xc + ih * p.W;
          const int64_t iw0 = ow * p.sw + iw_off;
          for (int64_t t = 0; t < run; ++t) {
            const int64_t iw = iw0 + t * p.sw;
            d[(k + t) * nr] = (iw >= 0 && iw < p.W) ? row[iw] : T(0);
          }
        }
        k += run;
        ++oh;
        ow = 0;
      }
    }
    if (valid < nr)
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t jj = valid; jj < nr; ++jj) dst[k * nr + jj] = T(0);
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
Schedule schedule(const Conv2dParams& p, size_t elem, bool split_tiles) {
  const Shape sh(p);
  Schedule s;
  s.jobs = p.N * sh.G;
  s.threads = gemm::gemm_threads(sh.Kg, s.jobs * sh.P, sh.CRS);
  s.rows = im2col_tile_rows(p, elem);
  s.tiles = ceil_div(p.Ho, s.rows);
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

int64_t im2col_tile_rows(const Conv2dParams& p, size_t elem) {
  int64_t rows = min64(max64(1, ceil_div(kIm2colTileColumns, p.Wo)), p.Ho);
  if (im2col_is_pointwise(p)) return rows;
  const int64_t row_bytes = Shape(p).CRS * p.Wo * static_cast<int64_t>(elem);
  if (rows * row_bytes > kIm2colTileBytes) rows = max64(1, kIm2colTileBytes / row_bytes);
  return rows;
}

int64_t im2col_tile_bytes(const Conv2dParams& p, size_t elem) {
  if (im2col_is_pointwise(p)) return 0;
  return im2col_tile_rows(p, elem) * Shape(p).CRS * p.Wo * static_cast<int64_t>(elem);
}

int64_t im2col_last_tile_bytes() { return g_last_tile_bytes.load(); }

template <class T>
void Im2colWeights<T>::pack(const Conv2dParams& p, const T* w) {
  const Shape sh(p);
  groups.resize(sh.G);
  for (int64_t g = 0; g < sh.G; ++g)
    groups[g].pack(sh.Kg, sh.CRS, gemm::Operand<T>{w + g * sh.Kg * sh.CRS, sh.CRS, 1});
}

template <class T>
void im2col_conv2d_forward(const Conv2dParams& p, const T* x, const Im2colWeights<T>& w,
                           const T* bias, T* y) {
  const Shape sh(p);
  const bool pointwise = im2col_is_pointwise(p);
  const Schedule s = schedule(p, sizeof(T), true);
  g_last_tile_bytes.store(0);
  for_each_item(s, [&](int64_t, int64_t job, int64_t tile) {
    const int64_t n = job / sh.G, g = job % sh.G;
    const int64_t oh0 = s.oh0(tile), oh1 = min64(oh0 + s.rows, p.Ho);
    const int64_t ncols = (oh1 - oh0) * p.Wo;
    const T* xg = x + (n * p.C + g * sh.Cg) * sh.HW;
    T* yt = y + (n * p.K + g * sh.Kg) * sh.P + oh0 * p.Wo;
    if (bias)
      for (int64_t k = 0; k < sh.Kg; ++k) {
        T* row = yt + k * sh.P;
        const T b = bias[g * sh.Kg + k];
        for (int64_t j = 0; j < ncols; ++j) row[j] = b;
      }
    if (pointwise) {
      gemm::gemm(w.groups[g], ncols, gemm::Operand<T>{xg + oh0 * p.W, sh.HW, 1}, yt, sh.P,
                 bias != nullptr, 1);
    } else {
      const ColPanels<T> col{&p, xg, oh0 * p.Wo};
      gemm::gemm(w.groups[g], ncols, gemm::PanelSource<T>{ColPanels<T>::pack, &col}, yt, sh.P,
                 bias != nullptr, 1);
    }
  });
}

template <class T>
void im2col_conv2d_forward(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y) {
  Im2colWeights<T> packed;
  packed.pack(p, w);
  im2col_conv2d_forward(p, x, packed, bias, y);
}

template <class T>
void im2col_conv2d_input(const Conv2dParams& p, const T* gy, const T* w, T* dx) {
  const Shape sh(p);
  // dcol = W_g^T * grad_output: the transposed weights are a stride choice, packed once.
  std::vector<gemm::PackedA<T>> wt(sh.G);
  for (int64_t g = 0; g < sh.G; ++g)
    wt[g].pack(sh.CRS, sh.Kg, gemm::Operand<T>{w + g * sh.Kg * sh.CRS, 1, sh.CRS});
  auto gy_tile = [&](int64_t n, int64_t g, int64_t oh0) {
    return gemm::Operand<T>{gy + (n * p.K + g * sh.Kg) * sh.P + oh0 * p.Wo, sh.P, 1};
  };
  if (im2col_is_pointwise(p)) {
    g_last_tile_bytes.store(0);
    const Schedule s = schedule(p, sizeof(T), true);
    for_each_item(s, [&](int64_t, int64_t job, int64_t tile) {
      const int64_t n = job / sh.G, g = job % sh.G;
      const int64_t oh0 = s.oh0(tile), oh1 = min64(oh0 + s.rows, p.Ho);
      gemm::gemm(wt[g], (oh1 - oh0) * p.Wo, gy_tile(n, g, oh0),
                 dx + (n * p.C + g * sh.Cg) * sh.HW + oh0 * p.W, sh.HW, false, 1);
    });
    return;
  }
  // Tiles of one image overlap in dx (neighbouring output rows read the same input rows), so
  // col2im of one (image, group) stays on one thread; with too few images the threads share
  // each tile's GEMM and then split col2im by channel instead.
  const Schedule s = schedule(p, sizeof(T), false);
  auto one_tile = [&](int64_t n, int64_t g, int64_t tile, int threads, T* dcol) {
    const int64_t oh0 = s.oh0(tile), oh1 = min64(oh0 + s.rows, p.Ho);
    const int64_t ncols = (oh1 - oh0) * p.Wo;
    gemm::gemm(wt[g], ncols, gy_tile(n, g, oh0), dcol, ncols, false, threads);
    T* dxg = dx + (n * p.C + g * sh.Cg) * sh.HW;
    if (threads <= 1) {
      col2im_tile(p, dcol, 0, sh.Cg, oh0, oh1, dxg);
    } else {
      parallel_for(threads, [&](int64_t t) {
        int64_t c0, c1;
        split(sh.Cg, threads, static_cast<int>(t), &c0, &c1);
        col2im_tile(p, dcol, c0, c1, oh0, oh1, dxg);
      });
    }
  };
  const int64_t tile_elems = s.rows * p.Wo * sh.CRS;
  g_last_tile_bytes.store(tile_elems * static_cast<int64_t>(sizeof(T)));
  if (s.threads <= 1 || balance(s.jobs, s.threads) >= 0.75) {
    const int threads = s.threads;
    auto run = [&](int64_t t) {
      int64_t j0, j1;
      split(s.jobs, threads, static_cast<int>(t), &j0, &j1);
      T* dcol = thread_scratch(ScratchSlot::im2col).get<T>(tile_elems);
      for (int64_t job = j0; job < j1; ++job) {
        const int64_t n = job / sh.G, g = job % sh.G;
        std::memset(dx + (n * p.C + g * sh.Cg) * sh.HW, 0, sh.Cg * sh.HW * sizeof(T));
        for (int64_t tile = 0; tile < s.tiles; ++tile) one_tile(n, g, tile, 1, dcol);
      }
    };
    if (threads <= 1) run(0);
    else parallel_for(threads, run);
  } else {
    T* dcol = thread_scratch(ScratchSlot::im2col).get<T>(tile_elems);
    std::memset(dx, 0, p.N * p.C * sh.HW * sizeof(T));
    for (int64_t job = 0; job < s.jobs; ++job)
      for (int64_t tile = 0; tile < s.tiles; ++tile)
        one_tile(job / sh.G, job % sh.G, tile, s.threads, dcol);
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
  const bool pointwise = im2col_is_pointwise(p);
  const Schedule s = schedule(p, sizeof(T), true);
  g_last_tile_bytes.store(0);
  // Each thread sums its items into its own dW (thread 0 into the output), then the partials are
  // added in thread order: no races, and the same sum for the same thread count.
  T* partials = s.threads > 1
                    ? thread_scratch(ScratchSlot::partial).get<T>((s.threads - 1) * dw_elems)
                    : nullptr;
  auto run = [&](int64_t t) {
    int64_t i0, i1;
    split(s.items(), s.threads, static_cast<int>(t), &i0, &i1);
    T* acc = t == 0 ? dw : partials + (t - 1) * dw_elems;
    std::memset(acc, 0, dw_elems * sizeof(T));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t job = i / s.tiles, tile = i % s.tiles;
      const int64_t n = job / sh.G, g = job % sh.G;
      const int64_t oh0 = s.oh0(tile), oh1 = min64(oh0 + s.rows, p.Ho);
      const int64_t ncols = (oh1 - oh0) * p.Wo;
      const T* xg = x + (n * p.C + g * sh.Cg) * sh.HW;
      gemm::Operand<T> g_rows{gy + (n * p.K + g * sh.Kg) * sh.P + oh0 * p.Wo, sh.P, 1};
      T* dst = acc + g * sh.Kg * sh.CRS;
      if (pointwise) {
        gemm::gemm(sh.Kg, sh.CRS, ncols, g_rows, gemm::Operand<T>{xg + oh0 * p.W, 1, sh.HW}, dst,
                   sh.CRS, true, 1);
      } else {
        const ColPanels<T> col{&p, xg, oh0 * p.Wo};
        gemm::gemm(sh.Kg, sh.CRS, ncols, g_rows,
                   gemm::PanelSource<T>{ColPanels<T>::pack_transposed, &col}, dst, sh.CRS, true, 1);
      }
    }
  };
  if (s.threads <= 1) {
    run(0);
    return;
  }
  parallel_for(s.threads, run);
  parallel_for(s.threads, [&](int64_t t) {
    int64_t e0, e1;
    split(dw_elems, s.threads, static_cast<int>(t), &e0, &e1);
    for (int u = 1; u < s.threads; ++u)
      for (int64_t e = e0; e < e1; ++e) dw[e] += partials[(u - 1) * dw_elems + e];
  });
}

#define FASTCONV_INSTANTIATE(T)                                                                  \
  template struct Im2colWeights<T>;                                                              \
  template void im2col_conv2d_forward<T>(const Conv2dParams&, const T*, const Im2colWeights<T>&, \
                                         const T*, T*);                                          \
  template void im2col_conv2d_forward<T>(const Conv2dParams&, const T*, const T*, const T*, T*); \
  template void im2col_conv2d_input<T>(const Conv2dParams&, const T*, const T*, T*);             \
  template void im2col_conv2d_weight<T>(const Conv2dParams&, const T*, const T*, T*);
FASTCONV_INSTANTIATE(float)
FASTCONV_INSTANTIATE(double)
#undef FASTCONV_INSTANTIATE

}  // namespace fastconv::algos
