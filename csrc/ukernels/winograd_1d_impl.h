// The F(4, 4) transforms of ukernels/winograd_1d.h, written once in plain C++ with GCC vector
// extensions and compiled by each ISA's file with its flags (B tiles per vector).
// Include only from csrc/ukernels/<isa>/ files; everything here has internal linkage.
#pragma once

#include <cstdint>
#include <utility>

#include "ukernels/vecext.h"
#include "ukernels/winograd_1d.h"

namespace fastconv::ukernels {
namespace {

// v = B^T d for F(4, Q), Q = 1..4, at the first 3 + Q of the points 0, 1, -1, infinity, 2, -2,
// 1/2 (each F(4, Q)'s points are the smaller ones' and one more, so all share A^T's columns;
// rows scaled to small integers, G carries the scales).
template <class T, int Q, class U>
inline void winograd_f4_1d_in(const U* d, U* v) {
  if constexpr (Q == 1) {
    v[0] = d[0] - d[2];
    v[1] = d[1] + d[2];
    v[2] = d[2] - d[1];
    v[3] = d[3] - d[1];
  } else if constexpr (Q == 2) {
    v[0] = T(2) * (d[0] - d[2]) - d[1] + d[3];
    v[1] = T(2) * d[1] + d[2] - d[3];
    v[2] = T(3) * d[2] - T(2) * d[1] - d[3];
    v[3] = T(2) * (d[1] - d[3]) - d[2] + d[4];
    v[4] = d[3] - d[1];
  } else if constexpr (Q == 3) {
    v[0] = T(4) * d[0] - T(5) * d[2] + d[4];
    v[1] = T(4) * (d[1] + d[2]) - d[3] - d[4];
    v[2] = T(4) * (d[2] - d[1]) + d[3] - d[4];
    v[3] = T(4) * d[1] - T(5) * d[3] + d[5];
    v[4] = T(2) * (d[3] - d[1]) - d[2] + d[4];
    v[5] = T(2) * (d[1] - d[3]) - d[2] + d[4];
  } else {
    v[0] = T(4) * d[0] - T(8) * d[1] - T(5) * d[2] + T(10) * d[3] + d[4] - T(2) * d[5];
    v[1] = T(4) * (d[2] - d[1]) + T(9) * d[3] - d[4] - T(2) * d[5];
    v[2] = T(-4) * d[1] + T(12) * d[2] - T(7) * d[3] - T(3) * d[4] + T(2) * d[5];
    v[3] = T(-4) * d[1] + T(8) * d[2] + T(5) * d[3] - T(10) * d[4] - d[5] + T(2) * d[6];
    v[4] = T(2) * (d[1] + d[5]) + T(3) * (d[4] - d[2]) - T(4) * d[3];
    v[5] = T(2) * (d[1] - d[5]) + T(5) * (d[4] - d[2]);
    v[6] = T(4) * d[1] - T(5) * d[3] + d[5];
  }
}

// o = A^T m over the first A points: o[j] = sum over the finite points a of a^j m[a], plus
// m[infinity] in o[3].
template <class T, int A, class U>
inline void winograd_f4_1d_out(const U* m, U* o) {
  const U sp = m[1] + m[2], sm = m[1] - m[2];  // points +-1
  o[0] = m[0] + sp;
  o[1] = sm;
  o[2] = sp;
  o[3] = sm + m[3];
  if constexpr (A >= 5) {  // point 2
    o[0] += m[4];
    o[1] += T(2) * m[4];
    o[2] += T(4) * m[4];
    o[3] += T(8) * m[4];
  }
  if constexpr (A >= 6) {  // point -2
    o[0] += m[5];
    o[1] -= T(2) * m[5];
    o[2] += T(4) * m[5];
    o[3] -= T(8) * m[5];
  }
  if constexpr (A >= 7) {  // point 1/2
    o[0] += m[6];
    o[1] += T(0.5) * m[6];
    o[2] += T(0.25) * m[6];
    o[3] += T(0.125) * m[6];
  }
}

// Elements 2 l + Odd of the 2B elements a, b.
template <class V, int Odd, size_t... L>
inline V half_lanes(V a, V b, std::index_sequence<L...>) {
  return __builtin_shufflevector(a, b, (2 * L + Odd)...);
}

// The sequence held in Ways vectors, split into its residues modulo Ways: out[q][l] is element
// Ways * l + q. Log2(Ways) rounds of even/odd splits (Ways / 2 shuffles each per residue class).
template <class V, int B, int Ways>
inline void deinterleave(const V* in, V* out) {
  if constexpr (Ways == 1) {
    out[0] = in[0];
  } else {
    V even[Ways / 2], odd[Ways / 2], re[Ways / 2], ro[Ways / 2];
    for (int i = 0; i < Ways / 2; ++i) {
      even[i] = half_lanes<V, 0>(in[2 * i], in[2 * i + 1], std::make_index_sequence<B>());
      odd[i] = half_lanes<V, 1>(in[2 * i], in[2 * i + 1], std::make_index_sequence<B>());
    }
    deinterleave<V, B, Ways / 2>(even, re);
    deinterleave<V, B, Ways / 2>(odd, ro);
    for (int q = 0; q < Ways / 2; ++q) {
      out[2 * q] = re[q];
      out[2 * q + 1] = ro[q];
    }
  }
}

// Tile l's inputs x[(4 l + j) * Step] gathered by shuffles: the 4 * Step * B values from x and
// those one tile further on, split into their residues modulo 4 * Step (the scalar gather it
// replaces, 7 loads a tile, was 7% of the 7x7 stem).
template <class T, int B, int Step>
inline void gather_tiles(const T* x, typename Block<T, B>::V* d) {
  using V = typename Block<T, B>::V;
  constexpr int Ways = 4 * Step;
  V in[Ways], res[Ways], next[Ways];
  __builtin_memcpy(in, x, sizeof(in));
  deinterleave<V, B, Ways>(in, res);
  __builtin_memcpy(in, x + Ways, sizeof(in));
  deinterleave<V, B, Ways>(in, next);
  for (int j = 0; j < 4; ++j) d[j] = res[j * Step];
  for (int j = 4; j < 7; ++j) d[j] = next[(j - 4) * Step];
}

template <class T, int B, int Step, int Q>
void winograd_f4_1d_input(const T* x, int64_t tiles, T* v, int64_t v_stride) {
  using V = typename Block<T, B>::V;
  for (int64_t t0 = 0; t0 < tiles; t0 += B) {
    V d[7], r[7];
    gather_tiles<T, B, Step>(x + 4 * t0 * Step, d);
    winograd_f4_1d_in<T, Q>(d, r);
    if (t0 + B <= tiles) {
      for (int p = 0; p < 3 + Q; ++p) __builtin_memcpy(v + p * v_stride + t0, &r[p], sizeof(V));
    } else {
      for (int p = 0; p < 3 + Q; ++p)
        for (int64_t l = 0; l < tiles - t0; ++l) v[p * v_stride + t0 + l] = r[p][l];
    }
  }
}

template <class T, int B, int Q>
void winograd_f4_1d_input_q(const T* x, int64_t step, int64_t tiles, T* v, int64_t v_stride) {
  if (step == 1) winograd_f4_1d_input<T, B, 1, Q>(x, tiles, v, v_stride);
  else winograd_f4_1d_input<T, B, 2, Q>(x, tiles, v, v_stride);
}

template <class T, int B>
void winograd_f4_1d_input_any(const T* x, int64_t step, int taps, int64_t tiles, T* v,
                              int64_t v_stride) {
  switch (taps) {
    case 1: winograd_f4_1d_input_q<T, B, 1>(x, step, tiles, v, v_stride); break;
    case 2: winograd_f4_1d_input_q<T, B, 2>(x, step, tiles, v, v_stride); break;
    case 3: winograd_f4_1d_input_q<T, B, 3>(x, step, tiles, v, v_stride); break;
    default: winograd_f4_1d_input_q<T, B, 4>(x, step, tiles, v, v_stride); break;
  }
}

// out[4 l + j] = o[j][l]: pairs (o0, o1) and (o2, o3) zipped, then the pairs alternated.
template <class V, int B, size_t... L>
inline void interleave4(const V* o, V* out, std::index_sequence<L...>) {
  constexpr int H = B / 2;
  // zip: lanes l of a and b alternate, the low half (lo) or the high half (hi) of the lanes
  const V z01lo = __builtin_shufflevector(o[0], o[1], (L % 2 ? B : 0) + L / 2 ...);
  const V z01hi = __builtin_shufflevector(o[0], o[1], (L % 2 ? B : 0) + H + L / 2 ...);
  const V z23lo = __builtin_shufflevector(o[2], o[3], (L % 2 ? B : 0) + L / 2 ...);
  const V z23hi = __builtin_shufflevector(o[2], o[3], (L % 2 ? B : 0) + H + L / 2 ...);
  if constexpr (B == 2) {
    out[0] = z01lo;
    out[1] = z23lo;
    out[2] = z01hi;
    out[3] = z23hi;
  } else {
    // Output vector k takes pairs k * B / 4 .. of its zipped (o0, o1) half and of (o2, o3).
    constexpr int Q = B / 4;
    out[0] = __builtin_shufflevector(z01lo, z23lo, ((L / 2) % 2 ? B : 0) + (L / 4) * 2 + L % 2 ...);
    out[1] = __builtin_shufflevector(z01lo, z23lo,
                                     ((L / 2) % 2 ? B : 0) + 2 * Q + (L / 4) * 2 + L % 2 ...);
    out[2] = __builtin_shufflevector(z01hi, z23hi, ((L / 2) % 2 ? B : 0) + (L / 4) * 2 + L % 2 ...);
    out[3] = __builtin_shufflevector(z01hi, z23hi,
                                     ((L / 2) % 2 ? B : 0) + 2 * Q + (L / 4) * 2 + L % 2 ...);
  }
}

template <class T, int B, int A>
void winograd_f4_1d_output(const T* m, int64_t m_stride, int64_t tiles, int64_t count, T bias,
                           T* y) {
  using V = typename Block<T, B>::V;
  for (int64_t t0 = 0; t0 < tiles; t0 += B) {
    V in[7], o[4], out[4];
    for (int p = 0; p < A; ++p) __builtin_memcpy(&in[p], m + p * m_stride + t0, sizeof(V));
    winograd_f4_1d_out<T, A>(in, o);
    for (int j = 0; j < 4; ++j) o[j] += bias;
    interleave4<V, B>(o, out, std::make_index_sequence<B>());
    const int64_t left = count - 4 * t0;
    if (left >= 4 * B) {
      for (int j = 0; j < 4; ++j) __builtin_memcpy(y + 4 * t0 + j * B, &out[j], sizeof(V));
    } else {
      const T* flat = reinterpret_cast<const T*>(out);
      for (int64_t e = 0; e < left; ++e) y[4 * t0 + e] = flat[e];
    }
  }
}

template <class T, int B>
void winograd_f4_1d_output_any(const T* m, int64_t m_stride, int points, int64_t tiles,
                               int64_t count, T bias, T* y) {
  switch (points) {
    case 4: winograd_f4_1d_output<T, B, 4>(m, m_stride, tiles, count, bias, y); break;
    case 5: winograd_f4_1d_output<T, B, 5>(m, m_stride, tiles, count, bias, y); break;
    case 6: winograd_f4_1d_output<T, B, 6>(m, m_stride, tiles, count, bias, y); break;
    default: winograd_f4_1d_output<T, B, 7>(m, m_stride, tiles, count, bias, y); break;
  }
}

template <class T, int B>
constexpr Winograd1dUkernels<T> winograd_f4_1d_ukernels(const char* name) {
  return {name, B, winograd_f4_1d_input_any<T, B>, winograd_f4_1d_output_any<T, B>};
}

}  // namespace
}  // namespace fastconv::ukernels
