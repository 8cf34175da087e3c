#include "algos/pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "runtime/cpu.h"
#include "runtime/parallel.h"
#include "ukernels/pool.h"

namespace fastconv::algos {
namespace {

using ops::PoolParams;

// Estimated cost of one pass that reads every input plane and writes every output plane (or
// the reverse): the threads it is worth (runtime/parallel.h).
template <class T>
double plane_pass_ns(const PoolParams& p) {
  return stream_ns(static_cast<double>(p.N * p.C) * (p.H * p.W + p.Ho * p.Wo) * sizeof(T));
}
template <class T>
double plane_pass_ns(const ops::PadParams& p) {
  const double out = static_cast<double>(p.H + p.top + p.bottom) * (p.W + p.left + p.right);
  return stream_ns(static_cast<double>(p.N * p.C) * (p.H * p.W + out) * sizeof(T));
}
using ukernels::PoolRowUkernels;

template <class T>
const PoolRowUkernels<T>& pick_ukernels();

template <>
const PoolRowUkernels<float>& pick_ukernels<float>() {
  using namespace ukernels;
  static const PoolRowUkernels<float>* k[] = {&f32_pool_rows_scalar, &f32_pool_rows_avx2,
                                              &f32_pool_rows_avx512};
  return *k[static_cast<int>(active_isa())];
}

template <>
const PoolRowUkernels<double>& pick_ukernels<double>() {
  using namespace ukernels;
  static const PoolRowUkernels<double>* k[] = {&f64_pool_rows_scalar, &f64_pool_rows_avx2,
                                               &f64_pool_rows_avx512};
  return *k[static_cast<int>(active_isa())];
}

int64_t ceil_div(int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

// Outputs [lo, hi) of a row whose window of `span` columns lies inside [0, W); the rest of
// the row are clipped windows.
void interior(int64_t W, int64_t Wo, int64_t sw, int64_t pw, int64_t span, int64_t* lo,
              int64_t* hi) {
  *lo = std::min(ceil_div(pw, sw), Wo);
  const int64_t last = W - span + pw;  // largest window start (in padded columns) that fits
  const int64_t end = last < 0 ? 0 : std::min(last / sw + 1, Wo);
  *hi = std::max(*lo, end);
}

// Output row as clipped windows [0, a), the interior run [a, b) for the row micro-kernel, and
// clipped windows [b, Wo): the one shape every pooling pass shares.
template <class One, class Run>
void split_row(int64_t Wo, int64_t a, int64_t b, One&& one, Run&& run) {
  for (int64_t ow = 0; ow < a; ++ow) one(ow);
  if (b > a) run(a, b);
  for (int64_t ow = b; ow < Wo; ++ow) one(ow);
}

// One max/min window with clipping: the definition every fast path must agree with.
template <class T>
void max_window(const PoolParams& p, const T* plane, int64_t oh, int64_t ow, bool is_min, T* y,
                int64_t* idx) {
  int64_t hs = oh * p.sh - p.ph, ws = ow * p.sw - p.pw;
  const int64_t he = std::min(hs + (p.kh - 1) * p.dh + 1, p.H);
  const int64_t we = std::min(ws + (p.kw - 1) * p.dw + 1, p.W);
  // The first tap inside the input (a window may start far into a huge padding).
  hs += ceil_div(-hs, p.dh) * p.dh;
  ws += ceil_div(-ws, p.dw) * p.dw;
  T best = is_min ? std::numeric_limits<T>::infinity() : -std::numeric_limits<T>::infinity();
  int64_t bi = hs * p.W + ws;
  for (int64_t h = hs; h < he; h += p.dh)
    for (int64_t w = ws; w < we; w += p.dw) {
      const T v = plane[h * p.W + w];
      if ((is_min ? v < best : v > best) || std::isnan(v)) {
        best = v;
        bi = h * p.W + w;
      }
    }
  *y = best;
  if (idx) *idx = bi;
}

// Average-pool window of output (oh, ow): clipped bounds and divisor, as torch defines them.
struct AvgWindow {
  int64_t hs, he, ws, we;
  int64_t divisor;
  bool empty() const { return hs >= he || ws >= we; }
};

AvgWindow avg_window(const PoolParams& p, int64_t oh, int64_t ow, bool include_pad,
                     int64_t divisor_override) {
  AvgWindow a;
  a.hs = oh * p.sh - p.ph;
  a.ws = ow * p.sw - p.pw;
  a.he = std::min(a.hs + p.kh, p.H + p.ph);
  a.we = std::min(a.ws + p.kw, p.W + p.pw);
  const int64_t pool_size = (a.he - a.hs) * (a.we - a.ws);
  a.hs = std::max<int64_t>(a.hs, 0);
  a.ws = std::max<int64_t>(a.ws, 0);
  a.he = std::min(a.he, p.H);
  a.we = std::min(a.we, p.W);
  a.divisor = divisor_override != 0 ? divisor_override
              : include_pad         ? pool_size
                                    : (a.he - a.hs) * (a.we - a.ws);
  return a;
}

}  // namespace

template <class T>
void max_pool2d_planes(const PoolParams& p, const T* x, T* y, int64_t* idx, bool is_min) {
  const PoolRowUkernels<T>& uk = pick_ukernels<T>();
  auto row_kernel = is_min ? uk.min : uk.max;
  int64_t lo, hi;
  interior(p.W, p.Wo, p.sw, p.pw, (p.kw - 1) * p.dw + 1, &lo, &hi);
  parallel_for_cost(p.N * p.C, plane_pass_ns<T>(p), [&](int64_t nc) {
    const T* plane = x + nc * p.H * p.W;
    T* yp = y + nc * p.Ho * p.Wo;
    int64_t* ip = idx ? idx + nc * p.Ho * p.Wo : nullptr;
    // A window covers at most H input rows, however tall the kernel.
    std::vector<const T*> rows(std::min(p.kh, p.H));
    std::vector<int64_t> row_index(rows.size());
    for (int64_t oh = 0; oh < p.Ho; ++oh) {
      T* yrow = yp + oh * p.Wo;
      int64_t* irow = ip ? ip + oh * p.Wo : nullptr;
      int64_t nrows = 0;
      // Taps r in [r0, r1) land inside the input: h = hs + r * dh in [0, H).
      const int64_t hs = oh * p.sh - p.ph;
      const int64_t r0 = ceil_div(-hs, p.dh), r1 = std::min(p.kh, ceil_div(p.H - hs, p.dh));
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t h = hs + r * p.dh;
        rows[nrows] = plane + h * p.W;
        row_index[nrows++] = h * p.W;
      }
      split_row(
          p.Wo, nrows ? lo : p.Wo, nrows ? hi : p.Wo,
          [&](int64_t ow) {
            max_window(p, plane, oh, ow, is_min, yrow + ow, irow ? irow + ow : nullptr);
          },
          [&](int64_t a, int64_t b) {
            row_kernel({rows.data(), row_index.data(), nrows, a * p.sw - p.pw, b - a, p.sw,
                        p.dw, p.kw, yrow + a, irow ? irow + a : nullptr});
          });
    }
  });
}

template <class T>
void max_pool2d_backward_planes(const PoolParams& p, const T* gy, const int64_t* idx, T* dx) {
  const int64_t plane = p.H * p.W, out = p.Ho * p.Wo;
  parallel_for_cost(p.N * p.C, plane_pass_ns<T>(p), [&](int64_t nc) {
    T* d = dx + nc * plane;
    const T* g = gy + nc * out;
    const int64_t* ind = idx + nc * out;
    std::memset(d, 0, sizeof(T) * static_cast<size_t>(plane));
    for (int64_t i = 0; i < out; ++i)
      if (ind[i] >= 0 && ind[i] < plane) d[ind[i]] += g[i];
  });
}

template <class T>
void avg_pool2d_planes(const PoolParams& p, const T* x, T* y, bool include_pad,
                       int64_t divisor_override) {
  const PoolRowUkernels<T>& uk = pick_ukernels<T>();
  int64_t lo, hi;
  interior(p.W, p.Wo, p.sw, p.pw, p.kw, &lo, &hi);
  parallel_for_cost(p.N * p.C, plane_pass_ns<T>(p), [&](int64_t nc) {
    const T* plane = x + nc * p.H * p.W;
    T* yp = y + nc * p.Ho * p.Wo;
    std::vector<const T*> rows(std::min(p.kh, p.H));  // a window's rows inside the input
    auto one = [&](int64_t oh, int64_t ow) {
      const AvgWindow a = avg_window(p, oh, ow, include_pad, divisor_override);
      T acc = T(0);
      if (!a.empty())
        for (int64_t h = a.hs; h < a.he; ++h)
          for (int64_t w = a.ws; w < a.we; ++w) acc += plane[h * p.W + w];
      yp[oh * p.Wo + ow] = a.empty() ? T(0) : acc / static_cast<T>(a.divisor);
    };
    for (int64_t oh = 0; oh < p.Ho; ++oh) {
      // Interior outputs share the row's window in h, hence one divisor.
      const AvgWindow win = avg_window(p, oh, lo, include_pad, divisor_override);
      const bool fast = win.he > win.hs;
      split_row(
          p.Wo, fast ? lo : p.Wo, fast ? hi : p.Wo, [&](int64_t ow) { one(oh, ow); },
          [&](int64_t a, int64_t b) {
            for (int64_t h = win.hs; h < win.he; ++h) rows[h - win.hs] = plane + h * p.W;
            uk.avg({rows.data(), win.he - win.hs, a * p.sw - p.pw, b - a, p.sw, p.kw,
                    static_cast<T>(win.divisor), yp + oh * p.Wo + a});
          });
    }
  });
}

template <class T>
void avg_pool2d_backward_planes(const PoolParams& p, const T* gy, T* dx, bool include_pad,
                                int64_t divisor_override) {
  const PoolRowUkernels<T>& uk = pick_ukernels<T>();
  int64_t lo, hi;
  interior(p.W, p.Wo, p.sw, p.pw, p.kw, &lo, &hi);
  parallel_for_cost(p.N * p.C, plane_pass_ns<T>(p), [&](int64_t nc) {
    T* d = dx + nc * p.H * p.W;
    const T* g = gy + nc * p.Ho * p.Wo;
    std::memset(d, 0, sizeof(T) * static_cast<size_t>(p.H * p.W));
    std::vector<T*> rows(std::min(p.kh, p.H));
    auto one = [&](int64_t oh, int64_t ow) {
      const AvgWindow a = avg_window(p, oh, ow, include_pad, divisor_override);
      if (a.empty()) return;
      const T v = g[oh * p.Wo + ow] / static_cast<T>(a.divisor);
      for (int64_t h = a.hs; h < a.he; ++h)
        for (int64_t w = a.ws; w < a.we; ++w) d[h * p.W + w] += v;
    };
    for (int64_t oh = 0; oh < p.Ho; ++oh) {
      const AvgWindow win = avg_window(p, oh, lo, include_pad, divisor_override);
      const bool fast = win.he > win.hs;
      split_row(
          p.Wo, fast ? lo : p.Wo, fast ? hi : p.Wo, [&](int64_t ow) { one(oh, ow); },
          [&](int64_t a, int64_t b) {
            for (int64_t h = win.hs; h < win.he; ++h) rows[h - win.hs] = d + h * p.W;
            uk.avg_backward({rows.data(), win.he - win.hs, a * p.sw - p.pw, b - a, p.sw, p.kw,
                             static_cast<T>(win.divisor), g + oh * p.Wo + a});
          });
    }
  });
}

namespace {

// Source index of padded coordinate i (relative to the input's first element) in [0, n), or
// -1 for the constant. Total functions: even an unchecked size cannot index out of bounds.
int64_t pad_source(int64_t i, int64_t n, ops::PadMode mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case ops::PadMode::constant: return -1;
    case ops::PadMode::replicate: return i < 0 ? 0 : n - 1;
    case ops::PadMode::circular: return ((i % n) + n) % n;
    case ops::PadMode::reflect: {
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      const int64_t k = ((i % period) + period) % period;
      return k < n ? k : period - k;
    }
  }
  return -1;
}

}  // namespace

template <class T>
void pad_planes(const ops::PadParams& p, const T* x, T* y, T value) {
  const int64_t Ho = p.H + p.top + p.bottom, Wo = p.W + p.left + p.right;
  // The column map of the borders is the same for every row: compute it once.
  std::vector<int64_t> cols;
  for (int64_t ow = 0; ow < p.left; ++ow) cols.push_back(pad_source(ow - p.left, p.W, p.mode));
  for (int64_t ow = p.left + p.W; ow < Wo; ++ow)
    cols.push_back(pad_source(ow - p.left, p.W, p.mode));
  parallel_for_cost(p.N * p.C, plane_pass_ns<T>(p), [&](int64_t nc) {
    const T* xp = x + nc * p.H * p.W;
    T* yp = y + nc * Ho * Wo;
    for (int64_t oh = 0; oh < Ho; ++oh) {
      T* orow = yp + oh * Wo;
      const int64_t h = pad_source(oh - p.top, p.H, p.mode);
      if (h < 0) {
        std::fill(orow, orow + Wo, value);
        continue;
      }
      const T* xrow = xp + h * p.W;
      for (int64_t ow = 0; ow < p.left; ++ow)
        orow[ow] = cols[ow] < 0 ? value : xrow[cols[ow]];
      std::memcpy(orow + p.left, xrow, sizeof(T) * static_cast<size_t>(p.W));
      for (int64_t i = p.left, ow = p.left + p.W; ow < Wo; ++ow, ++i)
        orow[ow] = cols[i] < 0 ? value : xrow[cols[i]];
    }
  });
}

#define FASTCONV_INSTANTIATE(T)                                                               \
  template void max_pool2d_planes<T>(const PoolParams&, const T*, T*, int64_t*, bool);       \
  template void max_pool2d_backward_planes<T>(const PoolParams&, const T*, const int64_t*,   \
                                              T*);                                           \
  template void avg_pool2d_planes<T>(const PoolParams&, const T*, T*, bool, int64_t);        \
  template void avg_pool2d_backward_planes<T>(const PoolParams&, const T*, T*, bool,         \
                                              int64_t);                                      \
  template void pad_planes<T>(const ops::PadParams&, const T*, T*, T);
FASTCONV_INSTANTIATE(float)
FASTCONV_INSTANTIATE(double)
#undef FASTCONV_INSTANTIATE

}  // namespace fastconv::algos
