// The Winograd transforms of ukernels/winograd.h, written once in plain C++ with GCC vector
// extensions and compiled by each ISA's file with that ISA's flags: each transform is a fixed
// sequence of adds and multiplies by constants applied to whole vectors of tiles, so the
// compiler emits it for the file's vector width with no per-ISA source.
// Include only from csrc/ukernels/<isa>/ files; everything here has internal linkage.
#pragma once

#include <cstdint>
#include <type_traits>

#include "ukernels/winograd.h"

namespace fastconv::ukernels {
namespace {

// 1-D transforms along one axis; U is a vector type or a scalar. The 2-D transform applies
// them to the columns, then to the rows (X^T d X = rows(columns(d))).
struct TileF2 {
  static constexpr int m = 2, r = 3, a = 4;
  template <class T, class U>  // B^T d
  static inline void in1d(const U* d, U* r) {
    r[0] = d[0] - d[2];
    r[1] = d[1] + d[2];
    r[2] = d[2] - d[1];
    r[3] = d[1] - d[3];
  }
  template <class T, class U>  // A^T x
  static inline void out1d(const U* x, U* o) {
    o[0] = x[0] + x[1] + x[2];
    o[1] = x[1] - x[2] - x[3];
  }
  template <class U, class T>  // G g
  static inline void filt1d(const U* g, U* u) {
    const U half_sum = (g[0] + g[2]) * T(0.5);
    u[0] = g[0];
    u[1] = half_sum + g[1] * T(0.5);
    u[2] = half_sum - g[1] * T(0.5);
    u[3] = g[2];
  }
};

struct TileF4 {
  static constexpr int m = 4, r = 3, a = 6;
  template <class T, class U>
  static inline void in1d(const U* d, U* r) {
    const U p = d[4] - T(4) * d[2];  // shared by rows 1 and 2
    const U q = d[3] - T(4) * d[1];
    const U s = d[4] - d[2];         // shared by rows 3 and 4
    const U t = T(2) * (d[3] - d[1]);
    r[0] = T(4) * d[0] - T(5) * d[2] + d[4];
    r[1] = p + q;
    r[2] = p - q;
    r[3] = s + t;
    r[4] = s - t;
    r[5] = T(4) * d[1] - T(5) * d[3] + d[5];
  }
  template <class T, class U>
  static inline void out1d(const U* x, U* o) {
    const U sp = x[1] + x[2], sm = x[1] - x[2];
    const U tp = x[3] + x[4], tm = x[3] - x[4];
    o[0] = x[0] + sp + tp;
    o[1] = sm + T(2) * tm;
    o[2] = sp + T(4) * tp;
    o[3] = sm + T(8) * tm + x[5];
  }
  template <class U, class T>
  static inline void filt1d(const U* g, U* u) {
    const U even = g[0] + g[2];
    u[0] = g[0] * T(0.25);
    u[1] = (even + g[1]) * T(-1.0 / 6);
    u[2] = (even - g[1]) * T(-1.0 / 6);
    const U e2 = g[0] * T(1.0 / 24) + g[2] * T(1.0 / 6);
    u[3] = e2 + g[1] * T(1.0 / 12);
    u[4] = e2 - g[1] * T(1.0 / 12);
    u[5] = g[2];
  }
};

// Points 0, +-1, +-2, +-1/2 (and infinity); rows of B^T, A^T and G pair up into even and odd
// parts around the +-p points.
struct TileF6 {
  static constexpr int m = 6, r = 3, a = 8;
  template <class T, class U>
  static inline void in1d(const U* d, U* r) {
    r[0] = d[0] - d[6] + T(5.25) * (d[4] - d[2]);
    r[7] = d[7] - d[1] + T(5.25) * (d[3] - d[5]);
    const U e1 = d[2] + d[6] - T(4.25) * d[4], o1 = d[1] + d[5] - T(4.25) * d[3];
    r[1] = e1 + o1;
    r[2] = e1 - o1;
    const U e2 = T(0.25) * d[2] - T(1.25) * d[4] + d[6];
    const U o2 = T(0.5) * d[1] - T(2.5) * d[3] + T(2) * d[5];
    r[3] = e2 + o2;
    r[4] = e2 - o2;
    const U e3 = T(4) * d[2] - T(5) * d[4] + d[6];
    const U o3 = T(2) * d[1] - T(2.5) * d[3] + T(0.5) * d[5];
    r[5] = e3 + o3;
    r[6] = e3 - o3;
  }
  template <class T, class U>
  static inline void out1d(const U* x, U* o) {
    const U a = x[1] + x[2], b = x[1] - x[2], c = x[3] + x[4], d = x[3] - x[4];
    const U e = x[5] + x[6], f = x[5] - x[6];
    o[0] = x[0] + a + c + e;
    o[1] = b + T(2) * d + T(0.5) * f;
    o[2] = a + T(4) * c + T(0.25) * e;
    o[3] = b + T(8) * d + T(0.125) * f;
    o[4] = a + T(16) * c + T(0.0625) * e;
    o[5] = b + T(32) * d + T(0.03125) * f + x[7];
  }
  template <class U, class T>
  static inline void filt1d(const U* g, U* u) {
    u[0] = g[0];
    u[1] = (g[0] + g[1] + g[2]) * T(-2.0 / 9);
    u[2] = (g[0] - g[1] + g[2]) * T(-2.0 / 9);
    const U e1 = g[0] * T(1.0 / 90) + g[2] * T(2.0 / 45), o1 = g[1] * T(1.0 / 45);
    u[3] = e1 + o1;
    u[4] = e1 - o1;
    const U e2 = g[0] * T(32.0 / 45) + g[2] * T(8.0 / 45), o2 = g[1] * T(16.0 / 45);
    u[5] = e2 + o2;
    u[6] = e2 - o2;
    u[7] = g[2];
  }
};

// F(2x2, 2x2) for 2x2 kernels: y0 = d0 g0 + d1 g1 and y1 = d1 g0 + d2 g1 from the three
// products (d0 - d1) g0, d1 (g0 + g1), (d2 - d1) g1. Every coefficient is +-1, so it rounds
// no worse than the direct sum.
struct TileF2R2 {
  static constexpr int m = 2, r = 2, a = 3;
  template <class T, class U>
  static inline void in1d(const U* d, U* r) {
    r[0] = d[0] - d[1];
    r[1] = d[1];
    r[2] = d[2] - d[1];
  }
  template <class T, class U>
  static inline void out1d(const U* x, U* o) {
    o[0] = x[0] + x[1];
    o[1] = x[1] + x[2];
  }
  template <class U, class T>
  static inline void filt1d(const U* g, U* u) {
    u[0] = g[0];
    u[1] = g[0] + g[1];
    u[2] = g[1];
  }
};

// F(4x4, 2x2) for 2x2 kernels, points 0, +-1, 2 (and infinity): 25 multiplies per 16 outputs
// (F(2x2, 2x2): 36), at transform constants up to 8.
struct TileF4R2 {
  static constexpr int m = 4, r = 2, a = 5;
  template <class T, class U>
  static inline void in1d(const U* d, U* r) {
    const U e = d[3] - d[2];
    r[0] = T(2) * (d[0] - d[2]) - d[1] + d[3];
    r[1] = e - T(2) * d[1];
    r[2] = e + T(2) * (d[1] - d[2]);
    r[3] = d[3] - d[1];
    r[4] = T(2) * (d[1] - d[3]) - d[2] + d[4];
  }
  template <class T, class U>
  static inline void out1d(const U* x, U* o) {
    const U sp = x[1] + x[2], sm = x[1] - x[2];
    o[0] = x[0] + sp + x[3];
    o[1] = sm + T(2) * x[3];
    o[2] = sp + T(4) * x[3];
    o[3] = sm + T(8) * x[3] + x[4];
  }
  template <class U, class T>
  static inline void filt1d(const U* g, U* u) {
    u[0] = g[0] * T(0.5);
    u[1] = (g[0] + g[1]) * T(-0.5);
    u[2] = (g[1] - g[0]) * T(1.0 / 6);
    u[3] = (g[0] + T(2) * g[1]) * T(1.0 / 6);
    u[4] = g[1];
  }
};

template <class T, int B>
struct Lanes {
  typedef T V __attribute__((vector_size(B * sizeof(T))));
};

// B^T d B for one vector of B tiles, element (i, j) of their patches from load(i, j), into
// v[(i * a + j) * v_stride + l0].
template <class T, int B, class Tile, class Load>
inline void transform_input_vector(Load load, T* v, int64_t v_stride, int64_t l0) {
  using V = typename Lanes<T, B>::V;
  constexpr int a = Tile::a;
  V t[a][a];
  for (int j = 0; j < a; ++j) {
    V col[a], r[a];
    for (int i = 0; i < a; ++i) col[i] = load(i, j);
    Tile::template in1d<T>(col, r);
    for (int i = 0; i < a; ++i) t[i][j] = r[i];
  }
  for (int i = 0; i < a; ++i) {
    V r[a];
    Tile::template in1d<T>(t[i], r);
    for (int j = 0; j < a; ++j)
      __builtin_memcpy(v + (i * a + j) * v_stride + l0, &r[j], sizeof(V));
  }
}

template <class T, int B, class Tile>
void winograd_input(const T* d, int64_t lanes, T* v, int64_t v_stride) {
  using V = typename Lanes<T, B>::V;
  constexpr int a = Tile::a;
  for (int64_t l0 = 0; l0 < lanes; l0 += B) {
    auto load = [&](int i, int j) {
      V col;
      __builtin_memcpy(&col, d + (i * a + j) * lanes + l0, sizeof(V));
      return col;
    };
    transform_input_vector<T, B, Tile>(load, v, v_stride, l0);
  }
}

// The input transform reading each lane's patch where it lies: element (i, j) of lane l's
// patch is x[offsets[l] + i * row + j], present where bit l % B of
// row_valid[l / B * a + i] & col_valid[l / B * a + j] is set (zero: padding, or no tile).
template <class T, int B, class Tile, class Gather>
void winograd_input_gathered(const T* x, const int32_t* offsets, const uint32_t* row_valid,
                             const uint32_t* col_valid, int64_t row, int64_t lanes, T* v,
                             int64_t v_stride) {
  using V = typename Lanes<T, B>::V;
  constexpr int a = Tile::a;
  for (int64_t l0 = 0; l0 < lanes; l0 += B) {
    const uint32_t* rv = row_valid + l0 / B * a;
    const uint32_t* cv = col_valid + l0 / B * a;
    auto load = [&](int i, int j) {
      return Gather::template lanes<V, T, B>(x + i * row + j, offsets + l0, rv[i] & cv[j]);
    };
    transform_input_vector<T, B, Tile>(load, v, v_stride, l0);
  }
}

template <class T, int B, class Tile>
void winograd_output(const T* mm, int64_t m_stride, int64_t lanes, T bias, T* y) {
  using V = typename Lanes<T, B>::V;
  constexpr int a = Tile::a, m = Tile::m;
  for (int64_t l0 = 0; l0 < lanes; l0 += B) {
    V t[m][a];
    for (int j = 0; j < a; ++j) {
      V col[a], o[m];
      for (int i = 0; i < a; ++i)
        __builtin_memcpy(&col[i], mm + (i * a + j) * m_stride + l0, sizeof(V));
      Tile::template out1d<T>(col, o);
      for (int i = 0; i < m; ++i) t[i][j] = o[i];
    }
    for (int i = 0; i < m; ++i) {
      V o[m];
      Tile::template out1d<T>(t[i], o);
      for (int j = 0; j < m; ++j) {
        const V r = o[j] + bias;
        __builtin_memcpy(y + (i * m + j) * lanes + l0, &r, sizeof(V));
      }
    }
  }
}

// Filters with their taps in planes, tap (r, s) of lane l at plane(r * R + s)[l]; any lane
// count: whole vectors, then a scalar tail.
template <class T, int B, class Tile, class Planes>
void winograd_filter_planes(Planes plane, int64_t lanes, T* u, int64_t u_stride) {
  using V = typename Lanes<T, B>::V;
  constexpr int a = Tile::a, R = Tile::r;
  int64_t l0 = 0;
  for (; l0 + B <= lanes; l0 += B) {
    V t[a][R];
    for (int s = 0; s < R; ++s) {
      V col[R], r[a];
      for (int q = 0; q < R; ++q)
        __builtin_memcpy(&col[q], plane(q * R + s) + l0, sizeof(V));
      Tile::template filt1d<V, T>(col, r);
      for (int i = 0; i < a; ++i) t[i][s] = r[i];
    }
    for (int i = 0; i < a; ++i) {
      V r[a];
      Tile::template filt1d<V, T>(t[i], r);
      for (int j = 0; j < a; ++j)
        __builtin_memcpy(u + (i * a + j) * u_stride + l0, &r[j], sizeof(V));
    }
  }
  for (int64_t l = l0; l < lanes; ++l) {
    T t[a][R];
    for (int s = 0; s < R; ++s) {
      T col[R], r[a];
      for (int q = 0; q < R; ++q) col[q] = plane(q * R + s)[l];
      Tile::template filt1d<T, T>(col, r);
      for (int i = 0; i < a; ++i) t[i][s] = r[i];
    }
    for (int i = 0; i < a; ++i) {
      T r[a];
      Tile::template filt1d<T, T>(t[i], r);
      for (int j = 0; j < a; ++j) u[(i * a + j) * u_stride + l] = r[j];
    }
  }
}

// Gathers filter taps into planes, taps[q * lanes + l] = g[offsets[l] + tap_off[q]], one
// element at a time. The AVX2 and AVX-512 files pass GatherVia<their traits> instead, or for
// float on AVX-512 loads and a register transpose (element by element the gather cost as much
// as the transform after it: 2 ms of 512x512 filters on one core).
struct GatherTapsByElement {
  // Lanes [0, lanes) of planes taps_stride apart (the tail of a wider gather).
  template <int Taps, class T>
  static void run(const T* g, const int32_t* offsets, const int32_t* tap_off, int64_t lanes,
                  T* taps, int64_t taps_stride) {
    for (int64_t l = 0; l < lanes; ++l)
      for (int q = 0; q < Taps; ++q) taps[q * taps_stride + l] = g[offsets[l] + tap_off[q]];
  }
  template <int Taps, class T>
  static void run(const T* g, const int32_t* offsets, const int32_t* tap_off, int64_t lanes,
                  T* taps) {
    run<Taps>(g, offsets, tap_off, lanes, taps, lanes);
  }
};

// The same with the vector gathers of an ISA's traits Tr (Tr::gather), Tr::L lanes at a time;
// lanes() serves winograd_input_gathered.
template <class Tr>
struct GatherVia {
  template <int Taps, class T>
  static void run(const T* g, const int32_t* offsets, const int32_t* tap_off, int64_t lanes,
                  T* taps) {
    constexpr int L = Tr::L;
    constexpr unsigned all = (1u << L) - 1u;
    int64_t l = 0;
    for (; l + L <= lanes; l += L)
      for (int q = 0; q < Taps; ++q)
        Tr::store(taps + q * lanes + l, Tr::gather(g + tap_off[q], offsets + l, all));
    GatherTapsByElement::run<Taps>(g, offsets + l, tap_off, lanes - l, taps + l, lanes);
  }
  // One vector of B lanes: base[offsets[l]] where bit l of valid is set, else 0.
  template <class V, class T, int B>
  static V lanes(const T* base, const int32_t* offsets, uint32_t valid) {
    static_assert(B == Tr::L, "one traits vector per transform vector");
    return (V)Tr::gather(base, offsets, valid);
  }
};

// Filters where they lie: their taps are gathered into planes first.
template <class T, int B, class Tile, class Gather>
void winograd_filter(const T* g, const int32_t* offsets, const int32_t* tap_off, int64_t lanes,
                     T* u, int64_t u_stride) {
  T taps[Tile::r * Tile::r * kWinogradMaxFilterLanes];
  Gather::template run<Tile::r * Tile::r>(g, offsets, tap_off, lanes, taps);
  winograd_filter_planes<T, B, Tile>([&](int q) { return taps + q * lanes; }, lanes, u, u_stride);
}

// Tap sets of 4x4 filters: all 16 taps gathered into planes once (for float on AVX-512, 16
// loads and a register transpose per 16 filters), each set's transform reading its planes,
// where each phase's own gather read every filter again.
template <class T, int B, class Tile, class Gather>
void winograd_filter_sets(const T* g, const int32_t* offsets, const int32_t* set_taps, int sets,
                          int64_t lanes, T* const* u, int64_t u_stride) {
  constexpr int kTaps = 16, RR = Tile::r * Tile::r;
  static constexpr int32_t kAll[kTaps] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  T taps[kTaps * kWinogradMaxFilterLanes];
  Gather::template run<kTaps>(g, offsets, kAll, lanes, taps);
  for (int s = 0; s < sets; ++s)
    winograd_filter_planes<T, B, Tile>(
        [&](int q) { return taps + set_taps[s * RR + q] * lanes; }, lanes, u[s], u_stride);
}

// The gathered input transform where Gather has vector gathers (a lanes() member), else null:
// without them the input transform reads lane-major patches copied by the caller, since
// gathering element by element measured 15% slower than those copies (r50_3x3_64@56, scalar
// level).
template <class T, int B, class Tile, class Gather>
constexpr decltype(WinogradTransforms<T>::input_gathered) input_gathered_or_null() {
  if constexpr (std::is_same_v<Gather, GatherTapsByElement>) return nullptr;
  else return winograd_input_gathered<T, B, Tile, Gather>;
}

// filter_sets for the 2x2 kernels only (the phases of 4x4 filters), else null.
template <class T, int B, class Tile, class Gather>
constexpr decltype(WinogradTransforms<T>::filter_sets) filter_sets_or_null() {
  if constexpr (Tile::r == 2) return winograd_filter_sets<T, B, Tile, Gather>;
  else return nullptr;
}

template <class T, int B, class Tile, class Gather>
constexpr WinogradTransforms<T> transforms_of() {
  return {winograd_input<T, B, Tile>, winograd_output<T, B, Tile>,
          winograd_filter<T, B, Tile, Gather>, filter_sets_or_null<T, B, Tile, Gather>(),
          input_gathered_or_null<T, B, Tile, Gather>()};
}

template <class T, int B, class Gather = GatherTapsByElement>
constexpr WinogradUkernels<T> winograd_ukernels(const char* name) {
  return WinogradUkernels<T>{name,
                             B,
                             transforms_of<T, B, TileF2, Gather>(),
                             transforms_of<T, B, TileF4, Gather>(),
                             transforms_of<T, B, TileF6, Gather>(),
                             transforms_of<T, B, TileF2R2, Gather>(),
                             transforms_of<T, B, TileF4R2, Gather>()};
}

}  // namespace
}  // namespace fastconv::ukernels
