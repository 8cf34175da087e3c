// The depthwise row kernel of ukernels/dwconv.h, written once and compiled by each ISA's file:
// B outputs stay in vector-extension registers across every tap (one store per output), each
// weight is broadcast once per block. Include only from csrc/ukernels/<isa>/ files.
#pragma once

#include "ukernels/dwconv.h"
#include "ukernels/lanes.h"
#include "ukernels/vecext.h"

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include <cstdint>
#include <type_traits>
#include <utility>

namespace fastconv::ukernels {
namespace {

template <class T>
constexpr T kZero = T(0);

// U blocks of B outputs at once: U independent accumulator chains hide the FMA latency (one
// chain of R*S dependent FMAs per block would leave the pipes idle).
template <class T, int SW, int B, int U>
inline void dwconv_block(const DwConvRowArgs<T>& a, int64_t j) {
  using V = typename Block<T, B>::V;
  const int64_t sw = SW ? SW : a.sw;
  V acc[U];
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u) acc[u] = V{} + a.bias;
  for (int64_t t = 0; t < a.nrows; ++t) {
    const T* row = a.rows[t] + a.col0 + j * sw;
    const T* w = a.wrow[t];
    for (int64_t s = 0; s < a.kw; ++s) {
      const T ws = w[s];
#pragma GCC unroll 8
      for (int u = 0; u < U; ++u)
        acc[u] += ws * load_strided<T, B, SW>(row + s * a.dw + u * B * sw, sw);
    }
  }
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u) __builtin_memcpy(a.y + j + u * B, &acc[u], sizeof(V));
}

// The last 0..U whole blocks of a run as one call with that many chains.
template <class T, int SW, int B, int U>
inline void dwconv_tail_blocks(const DwConvRowArgs<T>& a, int64_t j, int64_t blocks) {
  if (blocks == U) return dwconv_block<T, SW, B, U>(a, j);
  if constexpr (U > 1) dwconv_tail_blocks<T, SW, B, U - 1>(a, j, blocks);
}

// Blocks of 8B, then the whole blocks left as one call (a 112-wide row is 7 chains at once:
// one chain is R*S dependent FMAs, latency-bound, so one vector at a time ran at a quarter of
// the FMA throughput), then the remainder in blocks of B/2, ..., 1 (no read past the run).
template <class T, int SW, int B>
void dwconv_run(const DwConvRowArgs<T>& a, int64_t j = 0) {
  if constexpr (B >= 4) {
    for (; j + 8 * B <= a.n; j += 8 * B) dwconv_block<T, SW, B, 8>(a, j);
    const int64_t blocks = (a.n - j) / B;
    dwconv_tail_blocks<T, SW, B, 8>(a, j, blocks);
    j += blocks * B;
  } else {
    for (; j + B <= a.n; j += B) dwconv_block<T, SW, B, 1>(a, j);
  }
  if constexpr (B > 1) dwconv_run<T, SW, B / 2>(a, j);
}

template <class T, int B>
void dwconv_row(const DwConvRowArgs<T>& a) {
  if (a.sw == 1) return dwconv_run<T, 1, B>(a);
  if (a.sw == 2) return dwconv_run<T, 2, B>(a);
  dwconv_run<T, 0, B>(a);
}

// v[s] = elements s, ..., s + B - 1 of the pair (lo, hi): the input vector shifted by s columns,
// formed in registers from two loads. On AVX-512 by valignd: GCC 12 lowers the shuffle to
// vpermi2ps, which overwrites one of its inputs and takes its index vector from memory, so
// shifts came with register copies and constant loads (the float small-plane kernels: 252
// copies and 122 loads, now 103 and none; paired, one thread: dw_512@14 at N=1 1.07x, 5x5
// on 672 channels and 7x7 on 256 at 14x14 1.05-1.06x at N=1 and 8).
template <int Shift, class V, size_t... L>
inline V shifted(V lo, V hi, std::index_sequence<L...>) {
#ifdef __AVX512F__
  if constexpr (sizeof(V) == 64) {
    if constexpr (Shift == 0) return lo;
    else if constexpr (sizeof...(L) == 16)
      return (V)_mm512_alignr_epi32((__m512i)hi, (__m512i)lo, Shift);
    else if constexpr (sizeof...(L) == 8)
      return (V)_mm512_alignr_epi64((__m512i)hi, (__m512i)lo, Shift);
  }
#endif
  return __builtin_shufflevector(lo, hi, (Shift + static_cast<int>(L))...);
}
template <class V, int B, int S, size_t... Sh>
inline void shifted_columns(V lo, V hi, V (&v)[S], std::index_sequence<Sh...>) {
  ((v[Sh] = shifted<Sh>(lo, hi, std::make_index_sequence<B>{})), ...);
}
// The same for two planes interleaved lane by lane: column s is 2s lanes on (lanes past the
// pair's end repeat its last; their outputs are never stored).
template <int Shift, class V, size_t... L>
inline V shifted_clamped(V lo, V hi, std::index_sequence<L...>) {
  constexpr int kLast = 2 * static_cast<int>(sizeof...(L)) - 1;
  // Under a vector's shift nothing reaches past the pair: a plain shift (valignd).
  if constexpr (Shift < static_cast<int>(sizeof...(L)))
    return shifted<Shift>(lo, hi, std::index_sequence<L...>{});
  return __builtin_shufflevector(
      lo, hi, (Shift + static_cast<int>(L) < kLast ? Shift + static_cast<int>(L) : kLast)...);
}
template <class V, int B, int S, size_t... Sh>
inline void shifted_pair_columns(V lo, V hi, V (&v)[S], std::index_sequence<Sh...>) {
  ((v[Sh] = shifted_clamped<2 * Sh>(lo, hi, std::make_index_sequence<B>{})), ...);
}

// v[s] = elements s, s + 2, ..., s + 2 (B - 1) of the pair (lo, hi), those past the pair's end
// repeating its last (lanes whose window runs past the pair are never stored): a stride-2 row's
// kernel column s, one permute (vpermt2ps on AVX-512).
template <int Shift, class V, size_t... L>
inline V every_other(V lo, V hi, std::index_sequence<L...>) {
  constexpr int kLast = 2 * static_cast<int>(sizeof...(L)) - 1;
  return __builtin_shufflevector(
      lo, hi, (Shift + 2 * static_cast<int>(L) < kLast ? Shift + 2 * static_cast<int>(L)
                                                        : kLast)...);
}
// On AVX-512 the even and the odd elements are permuted out once, and column 2m or 2m + 1 is
// then those shifted by m lanes (valignd; lanes past the pair, never stored, hold whatever the
// shift brings in): each permute of its own takes an index vector, which GCC 12 loads from
// memory, and overwrites an input, which costs a register copy.
template <class V, int B, int S, size_t... Sh>
inline void strided_columns(V lo, V hi, V (&v)[S], std::index_sequence<Sh...>) {
#ifdef __AVX512F__
  if constexpr (sizeof(V) == 64 && S > 2) {
    const V even = every_other<0>(lo, hi, std::make_index_sequence<B>{});
    const V odd = every_other<1>(lo, hi, std::make_index_sequence<B>{});
    ((v[Sh] = Sh % 2 ? shifted<Sh / 2>(odd, odd, std::make_index_sequence<B>{})
                     : shifted<Sh / 2>(even, even, std::make_index_sequence<B>{})),
     ...);
    return;
  }
#endif
  ((v[Sh] = every_other<Sh>(lo, hi, std::make_index_sequence<B>{})), ...);
}

// The lanes of e and o alternating, e's first: lanes 0..B/2-1 of each (zip_low), then lanes
// B/2..B-1 (zip_high).
template <class V, size_t... L>
inline V zip_low(V e, V o, std::index_sequence<L...>) {
  constexpr size_t B = sizeof...(L);
  return __builtin_shufflevector(e, o, (L % 2 ? B + L / 2 : L / 2)...);
}
template <class V, size_t... L>
inline V zip_high(V e, V o, std::index_sequence<L...>) {
  constexpr size_t B = sizeof...(L);
  return __builtin_shufflevector(e, o, (L % 2 ? B + B / 2 + L / 2 : B / 2 + L / 2)...);
}

// The even and the odd lanes of the pair (a, b): elements 0, 2, ... and 1, 3, ... of a followed
// by b.
template <class V, size_t... L>
inline V pick_even(V a, V b, std::index_sequence<L...>) {
  return __builtin_shufflevector(a, b, (2 * L)...);
}
template <class V, size_t... L>
inline V pick_odd(V a, V b, std::index_sequence<L...>) {
  return __builtin_shufflevector(a, b, (2 * L + 1)...);
}

// RB output rows x U vectors of B outputs: per input row q and kernel column s, U vectors are
// loaded once and feed every output row i with kernel row r = q - i in range (a row at a time,
// each vector fed R*S FMAs from R*S loads: the loads, half of them split across cache lines,
// bounded the kernel at about a third of the FMA peak). KR x KS > 0: the kernel size known at
// compile time, so the q, s and i loops unroll and the range tests vanish (3x3 with runtime
// sizes: dw_32@112 N=8 1.89 -> 1.67 ms on one thread). KS > 0 and columns not dilated: each
// input row is U + 1 loads, the other kernel columns' vectors shifted from them in registers
// (S unaligned loads per vector instead: the 3x3 block ran 20-25% slower). Not in 128-bit
// vectors (the scalar level's SSE2: two shuffles a shift, dw_32@112 3.2 -> 4.7 ms).
template <class T, int B, int RB, int U, int KR, int KS>
inline void dwconv_plane_block(const DwConvPlaneArgs<T>& a, int64_t i0, int64_t j) {
  using V = typename Block<T, B>::V;
  const int64_t R = KR ? KR : a.R, S = KS ? KS : a.S;
  V acc[RB][U];
#pragma GCC unroll 8
  for (int i = 0; i < RB; ++i)
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) acc[i][u] = V{} + a.bias;
  const int64_t qn = RB + R - 1;
#pragma GCC unroll 16
  for (int64_t q = 0; q < qn; ++q) {
    const T* xr = a.x + (i0 + q) * a.x_pitch + j;
    auto accumulate = [&](int64_t s, const V (&v)[U]) {
#pragma GCC unroll 8
      for (int i = 0; i < RB; ++i) {
        const int64_t r = q - i;
        if (r < 0 || r >= R) continue;
        const T ws = a.w[r * S + s];
#pragma GCC unroll 8
        for (int u = 0; u < U; ++u) acc[i][u] += ws * v[u];
      }
    };
    if constexpr (KS > 1 && KS <= B && sizeof(V) >= 32) {
      if (a.dw == 1) {
        V row[U + 1];
#pragma GCC unroll 8
        for (int u = 0; u <= U; ++u) __builtin_memcpy(&row[u], xr + u * B, sizeof(V));
        V cols[U][KS];
#pragma GCC unroll 8
        for (int u = 0; u < U; ++u)
          shifted_columns<V, B, KS>(row[u], row[u + 1], cols[u], std::make_index_sequence<KS>{});
#pragma GCC unroll 8
        for (int s = 0; s < KS; ++s) {
          V v[U];
#pragma GCC unroll 8
          for (int u = 0; u < U; ++u) v[u] = cols[u][s];
          accumulate(s, v);
        }
        continue;
      }
    }
#pragma GCC unroll 8
    for (int64_t s = 0; s < S; ++s) {
      V v[U];
#pragma GCC unroll 8
      for (int u = 0; u < U; ++u) __builtin_memcpy(&v[u], xr + s * a.dw + u * B, sizeof(V));
      accumulate(s, v);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < RB; ++i)
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u)
      __builtin_memcpy(a.y + (i0 + i) * a.y_pitch + j + u * B, &acc[i][u], sizeof(V));
}

// The columns of RB rows: blocks of UMAX vectors, the whole vectors left as one block, then
// the remainder in blocks of B/2, ..., 1 (no write past the row; the shifted loads read up to
// B elements past it, see DwConvPlaneArgs).
template <class T, int B, int RB, int UMAX, int KR, int KS>
void dwconv_plane_cols(const DwConvPlaneArgs<T>& a, int64_t i0, int64_t j = 0) {
  for (; j + UMAX * B <= a.n; j += UMAX * B)
    dwconv_plane_block<T, B, RB, UMAX, KR, KS>(a, i0, j);
  const int64_t left = (a.n - j) / B;
  if constexpr (UMAX > 1) {
    if (left >= 1) {
      if (left == 1) dwconv_plane_block<T, B, RB, 1, KR, KS>(a, i0, j);
      if constexpr (UMAX > 2) {
        if (left == 2) dwconv_plane_block<T, B, RB, 2, KR, KS>(a, i0, j);
        if constexpr (UMAX > 3)
          if (left == 3) dwconv_plane_block<T, B, RB, 3, KR, KS>(a, i0, j);
      }
      j += left * B;
    }
  }
  if constexpr (B > 1) dwconv_plane_cols<T, B / 2, RB, 1, KR, KS>(a, i0, j);
}

// Blocks of 4 output rows, then the 1-3 left.
template <class T, int B, int UMAX, int KR, int KS>
void dwconv_plane_sized(const DwConvPlaneArgs<T>& a) {
  int64_t i = 0;
  for (; i + 4 <= a.rows; i += 4) dwconv_plane_cols<T, B, 4, UMAX, KR, KS>(a, i);
  if (a.rows - i == 3) dwconv_plane_cols<T, B, 3, UMAX, KR, KS>(a, i);
  if (a.rows - i == 2) dwconv_plane_cols<T, B, 2, UMAX, KR, KS>(a, i);
  if (a.rows - i == 1) dwconv_plane_cols<T, B, 1, UMAX, KR, KS>(a, i);
}

// 3x3, the depthwise layers' kernel (MobileNet, EfficientNet's stride-1 blocks), compiled for
// its size; every other size with runtime loops.
template <class T, int B, int UMAX>
void dwconv_plane(const DwConvPlaneArgs<T>& a) {
  if (a.R == 3 && a.S == 3) return dwconv_plane_sized<T, B, UMAX, 3, 3>(a);
  dwconv_plane_sized<T, B, UMAX, 0, 0>(a);
}

// One row in vectors of B, then B/2, ..., 1 elements.
template <class T, int B>
inline void copy_row_blocks(T* dst, const T* src, int64_t n, int64_t j = 0) {
  using V = typename Block<T, B>::V;
  for (; j + B <= n; j += B) {
    V v;
    __builtin_memcpy(&v, src + j, sizeof(V));
    __builtin_memcpy(dst + j, &v, sizeof(V));
  }
  if constexpr (B > 1) copy_row_blocks<T, B / 2>(dst, src, n, j);
}

template <class T, int B>
void copy_rows_blocks(T* dst, int64_t dst_pitch, const T* src, int64_t src_pitch, int64_t rows,
                      int64_t n) {
  for (int64_t i = 0; i < rows; ++i)
    copy_row_blocks<T, B>(dst + i * dst_pitch, src + i * src_pitch, n);
}

// The same with a masked move for the partial vector, for ISA traits Tr that have
// load_masked / store_masked.
template <class Tr>
void copy_rows_masked(typename Tr::T* dst, int64_t dst_pitch, const typename Tr::T* src,
                      int64_t src_pitch, int64_t rows, int64_t n) {
  constexpr int L = Tr::L;
  const int64_t full = n / L * L;
  const unsigned tail = (1u << (n - full)) - 1u;
  for (int64_t i = 0; i < rows; ++i, dst += dst_pitch, src += src_pitch) {
    for (int64_t j = 0; j < full; j += L) Tr::store(dst + j, Tr::load(src + j));
    if (tail) Tr::store_masked(dst + full, tail, Tr::load_masked(src + full, tail));
  }
}

// Element (ih, iw) of an input plane W wide, also for rows and columns outside the plane (a
// tap's vector can start before its row, a padding row lies outside the plane): the address is
// formed as an integer, and the lanes that fall outside are masked off, unread.
template <class T>
inline const T* plane_element(const T* plane, int64_t W, int64_t ih, int64_t iw) {
  return reinterpret_cast<const T*>(
      reinterpret_cast<uintptr_t>(plane) +
      static_cast<uintptr_t>((ih * W + iw) * static_cast<int64_t>(sizeof(T))));
}

// The input plane of each output plane of a small-plane call in turn, x[q / kg], stepped rather
// than divided (a 64-bit division per plane: 1.06x on dw_512@14 at N=1, paired).
template <class T>
struct InputPlanes {
  const T* plane;
  int64_t size, kg, taken = 0;
  explicit InputPlanes(const DwConvSmallPlaneArgs<T>& a) : plane(a.x), size(a.H * a.W), kg(a.kg) {}
  void next() {
    if (++taken == kg) {
      taken = 0;
      plane += size;
    }
  }
  const T* take() {  // this output plane's input plane, then on to the next output plane
    const T* p = plane;
    next();
    return p;
  }
};

// tap(u, s) for each output row u < kRows and kernel column s < kS of one input row. Row by
// row, each output row's taps are one chain of kS dependent FMAs; for 7x7 the rows go column by
// column instead, the chains interleaved (7x7 on 96 channels at 56x56, N=8, paired: 1.15-1.27x
// as fast, on 768 at 7x7 two planes to a vector 1.05x; 3x3 and 5x5 0.96-0.99x that way).
template <int kRows, int kS, class Tap>
inline void for_each_tap(Tap&& tap) {
  if constexpr (kS >= 7) {
#pragma GCC unroll 8
    for (int s = 0; s < kS; ++s)
#pragma GCC unroll 8
      for (int u = 0; u < kRows; ++u) tap(u, s);
  } else {
#pragma GCC unroll 8
    for (int u = 0; u < kRows; ++u)
#pragma GCC unroll 8
      for (int s = 0; s < kS; ++s) tap(u, s);
  }
}

// What a call's input rows are read as: output rows of one strip, from lo alone or from lo and
// hi, or several strips. One strip is compiled apart, its masks fixed for the call: with the
// strip loop and masks indexed per strip, one-strip planes ran 4-17% slower (512 channels on
// 14x14 maps, 576 and 672 on 14x14 at stride 2).
enum class Strips { one_lo, one_pair, many };

// Strip k of a small-plane call: outputs [k * strip, (k + 1) * strip) of each row, its input pair
// from column first_col (lanes outside the row masked off; all set inside the plane).
struct SmallPlaneStrip {
  int64_t first_col;
  unsigned out_mask, lo_mask, hi_mask;

  template <int L>
  static SmallPlaneStrip make(int64_t k, int64_t strip, int64_t stride, int64_t W, int64_t Wo,
                              int64_t pl) {
    const int64_t c = k * strip * stride - pl;
    return {c, lanes_below(min64(strip, Wo - k * strip)),
            lanes_below(min64(L, W - c)) & ~lanes_below(-c),
            lanes_below(min64(L, W - c - L)) & ~lanes_below(-c - L)};
  }
};

// run(rows) with rows an integral_constant: blocks of equal height, at most sizeof...(Rows)
// (8) rows, Ho rows in all: a 14-row plane is two blocks of 7 (dw_512@14 at N=1: 0.025 ms in
// blocks of 4, which compute 16 rows; 0.023 in blocks of 7; 0.028 in blocks of 8).
template <int... Rows, class Run>
inline void with_block_rows(int64_t Ho, std::integer_sequence<int, Rows...>, Run&& run) {
  constexpr int kMaxRows = sizeof...(Rows);
  const int64_t blocks = (Ho + kMaxRows - 1) / kMaxRows;
  const int64_t rows = (Ho + blocks - 1) / blocks;
  ((rows == Rows + 1 ? run(std::integral_constant<int, Rows + 1>{}) : void()), ...);
}

// The small-plane kernel of ukernels/dwconv.h for ISA traits Tr with masked moves, a kR x kS
// kernel compiled for its size (3x3, 5x5 and 7x7: the depthwise layers' kernels, MobileNet's,
// EfficientNet's, ConvNeXt's; the 5x5 and 7x7 weights do not all fit registers and are
// reloaded, from L1):
// each input row is loaded once, lanes j of `lo` holding columns j - pl (those outside the row
// masked off, so zero) and `hi` the next L columns (only where the row reaches them); tap
// column s is lanes s, ..., s + L - 1 of the pair, formed in registers (shifted_columns,
// valignd), and the row feeds every output row of the block that its window covers. Before,
// each output row loaded each of its 9 taps, most of them split across cache lines (dw_512@14
// at N=1: 0.036 -> 0.024 ms, at N=8: 0.293 -> 0.254 on one thread). kRows output rows at a
// time, kRows independent FMA chains; rows outside the plane add nothing and rows past the
// output are not stored (see kSkipByBranch for how). At stride kSt = 2 (both axes) the
// block's kRows output rows read (kRows - 1) * 2 + kR input rows, output row u taking kernel
// row r from input row 2u + r, and tap column s is lanes s, s + 2, ... of the pair
// (strided_columns). Wider output rows are cut into strips of dwconv_small_plane_strip outputs,
// each strip's pair loaded from its own first column: the same arithmetic, no padded copy or
// phase split (which took half of a 5x5 stride-2 layer on 56x56 maps; see depthwise_conv.cc).
template <class Tr, int kR, int kS, int kSt, int kRows, Strips kStrips>
void dwconv_small_plane_rows(const DwConvSmallPlaneArgs<typename Tr::T>& args) {
  using T = typename Tr::T;
  using V = typename Tr::V;
  constexpr int L = Tr::L;
  const DwConvSmallPlaneArgs<T> a = args;  // a copy: stores to y cannot alias it
  constexpr int64_t kStrip = dwconv_small_plane_strip(kS, kSt, L);  // outputs per strip
  constexpr bool kHi = kStrips != Strips::one_lo;
  // Rows outside the plane and rows past the output: one strip skips them by a branch (one
  // compare per row, the padding rows' FMAs not done), several strips give them an all-clear
  // mask (a masked load of no lanes reads nothing, zero). Per-row masks, worked out by a compare,
  // a select and a mask move per row, cost one-strip planes their speed (paired, one thread,
  // branch against mask: dw_512@14 1.18-1.20x at N=1, 0.99 at N=8; 5x5 on 672 channels at 14x14
  // 1.13-1.15x, 7x7 on 256 1.22x, 3x3 stride 2 on 576 1.10x at N=1); with several strips the
  // branch read 0.95x (dw_64s2@56) and 0.91-1.06x (dw_32@112).
  constexpr bool kSkipByBranch = kStrips != Strips::many;
  // At most kDwConvSmallPlaneMaxStrips (dwconv.h), each worked out once per call.
  const int64_t strips = kStrips == Strips::many ? (a.Wo + kStrip - 1) / kStrip : 1;
  SmallPlaneStrip strip_of[kStrips == Strips::many ? kDwConvSmallPlaneMaxStrips : 1];
  for (int64_t k = 0; k < strips; ++k)
    strip_of[k] = SmallPlaneStrip::make<L>(k, kStrip, kSt, a.W, a.Wo, a.pl);
  const int64_t out_plane = a.Ho * a.Wo;
  InputPlanes<T> xq(a);
  for (int64_t q = 0; q < a.planes; ++q, xq.next()) {
    const T* w = a.w + q * kR * kS;
    V wv[kR * kS];
#pragma GCC unroll 16
    for (int t = 0; t < kR * kS; ++t) wv[t] = Tr::bcast(w + t);
    const V bias = Tr::bcast(a.bias ? a.bias + q : &kZero<T>);
    T* y = a.y + q * out_plane;
    // Each row's first vector one pitch after the last, as an integer (a block's first rows may
    // lie above the plane), and a row inside when ih < H unsigned (rows above wrap to huge): a
    // pointer bump and a compare per row, where working each row's address and bounds out
    // afresh cost more instructions than its FMAs (dw_512@14 at N=1, one thread: 0.0240 ->
    // 0.0229 ms).
    const uintptr_t pitch = static_cast<uintptr_t>(a.W) * sizeof(T);
    uintptr_t block_row = reinterpret_cast<uintptr_t>(plane_element(xq.plane, a.W, -a.pt, 0));
    for (int64_t i0 = 0; i0 < a.Ho; i0 += kRows, block_row += kRows * kSt * pitch) {
      const uint64_t ih0 = static_cast<uint64_t>(i0 * kSt - a.pt);
      for (int64_t k = 0; k < strips; ++k) {
        const SmallPlaneStrip strip = strip_of[k];
        V acc[kRows];
#pragma GCC unroll 8
        for (int u = 0; u < kRows; ++u) acc[u] = bias;
        uintptr_t row_addr =
            block_row + static_cast<uintptr_t>(strip.first_col * static_cast<int64_t>(sizeof(T)));
#pragma GCC unroll 32
        for (int qr = 0; qr < (kRows - 1) * kSt + kR; ++qr, row_addr += pitch) {
          const bool inside = ih0 + qr < static_cast<uint64_t>(a.H);
          if (kSkipByBranch && !inside) continue;
          // An empty asm that "changes" the address keeps it one pointer bump a row: without it
          // GCC works out every row's offset once a plane and, short of general registers,
          // parks them in vector registers, a move back per row (3x3, one strip, paired:
          // dw_512@14 at N=1 1.12-1.14x in three runs, 576 at 14x14 stride 2 1.02-1.04x; 5x5
          // read 0.98-0.99x with it, so only 3x3).
          if constexpr (kSkipByBranch && kS == 3) asm("" : "+r"(row_addr));
          const T* row = reinterpret_cast<const T*>(row_addr);
          const V lo = Tr::load_masked(row, inside ? strip.lo_mask : 0u);
          const V hi = kHi ? Tr::load_masked(row + L, inside ? strip.hi_mask : 0u) : Tr::zero();
          V v[kS];
          if constexpr (kSt == 1)
            shifted_columns<V, L, kS>(lo, hi, v, std::make_index_sequence<kS>{});
          else
            strided_columns<V, L, kS>(lo, hi, v, std::make_index_sequence<kS>{});
          for_each_tap<kRows, kS>([&](int u, int s) {
            const int r = qr - kSt * u;
            if (r >= 0 && r < kR) acc[u] = Tr::fma(wv[r * kS + s], v[s], acc[u]);
          });
        }
        T* yu = y + i0 * a.Wo + k * kStrip;
#pragma GCC unroll 8
        for (int u = 0; u < kRows; ++u, yu += a.Wo) {
          const bool stored = i0 + u < a.Ho;
          if (kSkipByBranch && !stored) continue;
          Tr::store_masked(yu, stored ? strip.out_mask : 0u, acc[u]);
        }
      }
    }
  }
}

// Every other kernel size, read at run time: each output row loads each of its taps, four rows
// at a time (four independent FMA chains).
template <class Tr>
void dwconv_small_plane_any(const DwConvSmallPlaneArgs<typename Tr::T>& args) {
  using T = typename Tr::T;
  using V = typename Tr::V;
  constexpr int kRows = 4;
  const DwConvSmallPlaneArgs<T> a = args;
  const int64_t R = a.R, S = a.S;
  // Lanes j of tap column s that read inside the row: pl - s <= j < W + pl - s, and j < Wo.
  const unsigned out_mask = lanes_below(a.Wo);
  unsigned mask[kDwConvSmallPlaneMaxS];
  for (int64_t s = 0; s < S; ++s)
    mask[s] = out_mask & lanes_below(a.W + a.pl - s) & ~lanes_below(a.pl - s);
  const int64_t out_plane = a.Ho * a.Wo;
  InputPlanes<T> xq(a);
  for (int64_t q = 0; q < a.planes; ++q, xq.next()) {
    const T* w = a.w + q * R * S;
    const V bias = Tr::bcast(a.bias ? a.bias + q : &kZero<T>);
    T* y = a.y + q * out_plane;
    for (int64_t i0 = 0; i0 < a.Ho; i0 += kRows) {
      V acc[kRows];
#pragma GCC unroll 4
      for (int u = 0; u < kRows; ++u) acc[u] = bias;
      for (int64_t r = 0; r < R; ++r)
        for (int64_t s = 0; s < S; ++s) {
          const V ws = Tr::bcast(w + r * S + s);
#pragma GCC unroll 4
          for (int u = 0; u < kRows; ++u) {
            const int64_t ih = i0 + u + r - a.pt;
            const unsigned lanes = ih >= 0 && ih < a.H ? mask[s] : 0u;
            acc[u] = Tr::fma(ws, Tr::load_masked(plane_element(xq.plane, a.W, ih, s - a.pl), lanes),
                             acc[u]);
          }
        }
#pragma GCC unroll 4
      for (int u = 0; u < kRows; ++u)
        Tr::store_masked(y + (i0 + u) * a.Wo, i0 + u < a.Ho ? out_mask : 0u, acc[u]);
    }
  }
}

// Two planes per vector, for output rows of at most half a vector at stride 1 (3x3, 5x5 and 7x7
// kernels on 7x7 maps and the like; dwconv_small_plane_pairs_fit): output planes q and q + 1
// interleaved lane by lane (q's outputs in the even lanes), so one FMA computes a row of both
// where one plane alone left more than half its lanes idle. An input row of each plane is one
// masked load (L columns from -pl), the two zipped into lo and hi; tap column s is lanes 2s,
// ..., 2s + L - 1 of the pair (one valignd), each weight a broadcast (plane q's, plane q + 1's)
// pair, and each output row two permutes and two masked stores. Takes an even number of planes.
template <class Tr, int kR, int kS, int kRows>
void dwconv_small_plane_pairs_rows(const DwConvSmallPlaneArgs<typename Tr::T>& args) {
  using T = typename Tr::T;
  using V = typename Tr::V;
  constexpr int L = Tr::L;
  constexpr auto kLanes = std::make_index_sequence<L>{};
  const DwConvSmallPlaneArgs<T> a = args;  // a copy: stores to y cannot alias it
  const unsigned row_mask = lanes_below(min64(L, a.W + a.pl)) & ~lanes_below(a.pl);
  const unsigned out_mask = lanes_below(a.Wo);
  const int64_t out_plane = a.Ho * a.Wo;
  const uintptr_t pitch = static_cast<uintptr_t>(a.W) * sizeof(T);
  InputPlanes<T> xq(a);
  for (int64_t q = 0; q < a.planes; q += 2) {
    const T* plane_a = xq.take();
    const T* plane_b = xq.take();
    // The weights as (q, q + 1) pairs, each pair one broadcast.
    const T* w = a.w + q * kR * kS;
    T wpair[2 * kR * kS];
    for (int t = 0; t < kR * kS; ++t) {
      wpair[2 * t] = w[t];
      wpair[2 * t + 1] = w[kR * kS + t];
    }
    const T bias_pair[2] = {a.bias ? a.bias[q] : T(0), a.bias ? a.bias[q + 1] : T(0)};
    const V bias = Tr::bcast_pair(bias_pair);
    T* ya = a.y + q * out_plane;
    T* yb = ya + out_plane;
    uintptr_t block_a = reinterpret_cast<uintptr_t>(plane_element(plane_a, a.W, -a.pt, -a.pl));
    uintptr_t block_b = reinterpret_cast<uintptr_t>(plane_element(plane_b, a.W, -a.pt, -a.pl));
    for (int64_t i0 = 0; i0 < a.Ho;
         i0 += kRows, block_a += kRows * pitch, block_b += kRows * pitch) {
      V acc[kRows];
#pragma GCC unroll 8
      for (int u = 0; u < kRows; ++u) acc[u] = bias;
      const uint64_t ih0 = static_cast<uint64_t>(i0 - a.pt);
#pragma GCC unroll 32
      for (int qr = 0; qr < kRows - 1 + kR; ++qr) {
        // Padding rows masked, not branched around as dwconv_small_plane_rows does: a branch
        // here read 0.80x (768 channels at 7x7, N=1 and 8, paired).
        const unsigned lanes = ih0 + qr < static_cast<uint64_t>(a.H) ? row_mask : 0u;
        const V va = Tr::load_masked(reinterpret_cast<const T*>(block_a + qr * pitch), lanes);
        const V vb = Tr::load_masked(reinterpret_cast<const T*>(block_b + qr * pitch), lanes);
        const V lo = zip_low(va, vb, kLanes), hi = zip_high(va, vb, kLanes);
        V v[kS];
        shifted_pair_columns<V, L, kS>(lo, hi, v, std::make_index_sequence<kS>{});
        for_each_tap<kRows, kS>([&](int u, int s) {
          const int r = qr - u;
          if (r >= 0 && r < kR)
            acc[u] = Tr::fma(Tr::bcast_pair(wpair + 2 * (r * kS + s)), v[s], acc[u]);
        });
      }
#pragma GCC unroll 8
      for (int u = 0; u < kRows; ++u) {
        const unsigned lanes = i0 + u < a.Ho ? out_mask : 0u;
        Tr::store_masked(ya + (i0 + u) * a.Wo, lanes, pick_even(acc[u], acc[u], kLanes));
        Tr::store_masked(yb + (i0 + u) * a.Wo, lanes, pick_odd(acc[u], acc[u], kLanes));
      }
    }
  }
}

// Lanes j < B/2 of x[M + j], lanes j >= B/2 of y[M + j - B/2]: the low halves of x and y from
// element M on, side by side.
template <int M, class V, size_t... L>
inline V halves_from(V x, V y, std::index_sequence<L...>) {
  constexpr int B = sizeof...(L), H = B / 2;
  constexpr auto lane = [](int l) { return l < H ? M + l : B + M + l - H; };
  return __builtin_shufflevector(x, y, lane(static_cast<int>(L))...);
}
// v[s] for s = 2m + p: halves_from<m> of the evens (p = 0) or the odds of two rows.
template <class V, int B, int S, size_t... Sh>
inline void halves_columns(V even_a, V odd_a, V even_b, V odd_b, V (&v)[S],
                           std::index_sequence<Sh...>) {
  ((v[Sh] = Sh % 2 ? halves_from<Sh / 2>(odd_a, odd_b, std::make_index_sequence<B>{})
                   : halves_from<Sh / 2>(even_a, even_b, std::make_index_sequence<B>{})),
   ...);
}
// Lane 0 of p in the low half, lane 1 in the high half.
template <class V, size_t... L>
inline V spread_pair(V p, std::index_sequence<L...>) {
  return __builtin_shufflevector(p, p, (L < sizeof...(L) / 2 ? 0 : 1)...);
}

// The same at stride 2, for output rows of at most half a vector (dwconv.h's
// dwconv_small_plane_s2_pairs_fit: 5x5 stride 2 on 14x14 maps, 7 outputs a row): output planes
// q and q + 1 in the low and the high half of the vectors, so one FMA computes a row of both
// where one plane alone left more than half its lanes idle. Each plane's input row is its pair
// of masked loads from column -pl, its even and odd elements permuted out once each; tap column
// s = 2m + p is elements m, m + 1, ... of plane q's evens (p = 0) or odds in the low half and
// plane q + 1's in the high half (one two-source permute). Each weight is the (q, q + 1) pair
// spread over the halves, once a pair of planes; a row of the high half is shifted down for its
// store. Padding rows are masked, as in dwconv_small_plane_pairs_rows. Takes an even number of
// planes.
template <class Tr, int kR, int kS, int kRows>
void dwconv_small_plane_s2_pairs_rows(const DwConvSmallPlaneArgs<typename Tr::T>& args) {
  using T = typename Tr::T;
  using V = typename Tr::V;
  constexpr int L = Tr::L, H = L / 2;
  constexpr auto kLanes = std::make_index_sequence<L>{};
  const DwConvSmallPlaneArgs<T> a = args;  // a copy: stores to y cannot alias it
  const SmallPlaneStrip strip = SmallPlaneStrip::make<L>(0, H, 2, a.W, a.Wo, a.pl);
  const int64_t out_plane = a.Ho * a.Wo;
  const uintptr_t pitch = static_cast<uintptr_t>(a.W) * sizeof(T);
  InputPlanes<T> xq(a);
  for (int64_t q = 0; q < a.planes; q += 2) {
    const T* plane_a = xq.take();
    const T* plane_b = xq.take();
    const T* w = a.w + q * kR * kS;
    V wv[kR * kS];
    for (int t = 0; t < kR * kS; ++t) {
      const T pair[2] = {w[t], w[kR * kS + t]};
      wv[t] = spread_pair(Tr::bcast_pair(pair), kLanes);
    }
    const T bias_pair[2] = {a.bias ? a.bias[q] : T(0), a.bias ? a.bias[q + 1] : T(0)};
    const V bias = spread_pair(Tr::bcast_pair(bias_pair), kLanes);
    T* ya = a.y + q * out_plane;
    T* yb = ya + out_plane;
    uintptr_t block_a = reinterpret_cast<uintptr_t>(plane_element(plane_a, a.W, -a.pt, -a.pl));
    uintptr_t block_b = reinterpret_cast<uintptr_t>(plane_element(plane_b, a.W, -a.pt, -a.pl));
    for (int64_t i0 = 0; i0 < a.Ho;
         i0 += kRows, block_a += 2 * kRows * pitch, block_b += 2 * kRows * pitch) {
      V acc[kRows];
#pragma GCC unroll 8
      for (int u = 0; u < kRows; ++u) acc[u] = bias;
      const uint64_t ih0 = static_cast<uint64_t>(2 * i0 - a.pt);
#pragma GCC unroll 32
      for (int qr = 0; qr < 2 * (kRows - 1) + kR; ++qr) {
        const bool inside = ih0 + qr < static_cast<uint64_t>(a.H);
        const unsigned lo_mask = inside ? strip.lo_mask : 0u;
        const unsigned hi_mask = inside ? strip.hi_mask : 0u;
        const T* row_a = reinterpret_cast<const T*>(block_a + qr * pitch);
        const T* row_b = reinterpret_cast<const T*>(block_b + qr * pitch);
        const V lo_a = Tr::load_masked(row_a, lo_mask);
        const V hi_a = Tr::load_masked(row_a + L, hi_mask);
        const V lo_b = Tr::load_masked(row_b, lo_mask);
        const V hi_b = Tr::load_masked(row_b + L, hi_mask);
        const V even_a = every_other<0>(lo_a, hi_a, kLanes);
        const V odd_a = every_other<1>(lo_a, hi_a, kLanes);
        const V even_b = every_other<0>(lo_b, hi_b, kLanes);
        const V odd_b = every_other<1>(lo_b, hi_b, kLanes);
        V v[kS];
        halves_columns<V, L, kS>(even_a, odd_a, even_b, odd_b, v, std::make_index_sequence<kS>{});
        for_each_tap<kRows, kS>([&](int u, int s) {
          const int r = qr - 2 * u;
          if (r >= 0 && r < kR) acc[u] = Tr::fma(wv[r * kS + s], v[s], acc[u]);
        });
      }
#pragma GCC unroll 8
      for (int u = 0; u < kRows; ++u) {
        const unsigned lanes = i0 + u < a.Ho ? strip.out_mask : 0u;
        Tr::store_masked(ya + (i0 + u) * a.Wo, lanes, acc[u]);
        Tr::store_masked(yb + (i0 + u) * a.Wo, lanes, shifted<H>(acc[u], acc[u], kLanes));
      }
    }
  }
}

// The K x K kernel compiled for its size, if a's kernel is K x K (each tap of each output row
// loaded, as dwconv_small_plane_any does, ran 5x5 and 7x7 2.0-2.8x slower: 672 channels on 14x14
// maps at N=1 and 8, one thread, 0.36 -> 0.15 and 2.7 -> 1.1 ms; 7x7, 256 channels, 1.8 -> 0.84
// ms at N=8).
template <class Tr, int K, int kSt = 1>
inline bool dwconv_small_plane_square(const DwConvSmallPlaneArgs<typename Tr::T>& a) {
  if (a.R != K || a.S != K) return false;
  constexpr auto kRowBlocks = std::make_integer_sequence<int, 8>{};
  DwConvSmallPlaneArgs<typename Tr::T> rest = a;  // the planes not gone in pairs
  const bool pairs = kSt == 1 ? dwconv_small_plane_pairs_fit(K, a.Wo, Tr::L)
                              : dwconv_small_plane_s2_pairs_fit(K, a.Wo, Tr::L);
  if (pairs && a.planes >= 2) {
    const int64_t q = a.planes / 2 * 2;
    rest.planes = q;
    with_block_rows(a.Ho, kRowBlocks, [&](auto rows) {
      if constexpr (kSt == 1)
        dwconv_small_plane_pairs_rows<Tr, K, K, rows()>(rest);
      else
        dwconv_small_plane_s2_pairs_rows<Tr, K, K, rows()>(rest);
    });
    if (q == a.planes) return true;
    rest.x = a.x + q / a.kg * a.H * a.W;  // the last plane of an odd count, alone
    rest.w = a.w + q * K * K;
    rest.bias = a.bias ? a.bias + q : nullptr;
    rest.y = a.y + q * a.Ho * a.Wo;
    rest.planes = 1;
    rest.kg = 1;
  }
  auto run = [&](auto strips) {
    with_block_rows(rest.Ho, kRowBlocks, [&](auto rows) {
      dwconv_small_plane_rows<Tr, K, K, kSt, rows(), decltype(strips)::value>(rest);
    });
  };
  if (rest.Wo > dwconv_small_plane_strip(K, kSt, Tr::L))
    run(std::integral_constant<Strips, Strips::many>{});
  else if (rest.W + rest.pl > Tr::L) run(std::integral_constant<Strips, Strips::one_pair>{});
  else run(std::integral_constant<Strips, Strips::one_lo>{});
  return true;
}

// The sizes here are dwconv_small_plane_compiled's (dwconv.h).
template <class Tr>
void dwconv_small_plane(const DwConvSmallPlaneArgs<typename Tr::T>& a) {
  if (dwconv_small_plane_square<Tr, 3>(a) || dwconv_small_plane_square<Tr, 5>(a) ||
      dwconv_small_plane_square<Tr, 7>(a))
    return;
  dwconv_small_plane_any<Tr>(a);
}

// The same at stride 2 (both axes), 3x3, 5x5 and 7x7 only, output rows whose windows lie within
// the pair of vectors from column -pl (2 * (Wo - 1) + S <= 2 * L): tap column s of an input
// row is lanes s, s + 2, s + 4, ... of the pair, picked in registers (strided_columns).
template <class Tr>
void dwconv_small_plane_s2(const DwConvSmallPlaneArgs<typename Tr::T>& a) {
  if (!(dwconv_small_plane_square<Tr, 3, 2>(a) || dwconv_small_plane_square<Tr, 5, 2>(a) ||
        dwconv_small_plane_square<Tr, 7, 2>(a)))
    __builtin_trap();  // the caller checks the kernel size (dwconv.h)
}

// The sum of v's B lanes, half onto half (log2 B adds deep; lane by lane the sum was one chain
// of B dependent adds per tap: a 3x3 stride-2 weight gradient on 14x14 maps with 576 channels,
// N=8, one thread, 0.98-1.34 -> 0.59-0.85 ms).
template <class V, size_t... L>
inline auto low_half(V v, std::index_sequence<L...>) {
  return __builtin_shufflevector(v, v, L...);
}
template <class V, size_t... L>
inline auto high_half(V v, std::index_sequence<L...>) {
  return __builtin_shufflevector(v, v, (L + sizeof...(L))...);
}
template <class T, int B>
inline T sum_by_halves(typename Block<T, B>::V v) {
  if constexpr (B == 1) {
    return v[0];
  } else {
    constexpr auto half = std::make_index_sequence<B / 2>{};
    return sum_by_halves<T, B / 2>(low_half(v, half) + high_half(v, half));
  }
}

// Eight taps' dot products at a time (U <= 8), each its own accumulator chain, one load of g
// serving all of them.
template <class T, int B, int U>
inline void taps_dot_block(const T* g, const T* const* x, int64_t n, T* out) {
  using V = typename Block<T, B>::V;
  const T* xu[U];
  V acc[U];
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u) {
    xu[u] = x[u];
    acc[u] = V{};
  }
  for (int64_t j = 0; j < n; j += B) {
    V gv;
    __builtin_memcpy(&gv, g + j, sizeof(V));
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) {
      V xv;
      __builtin_memcpy(&xv, xu[u] + j, sizeof(V));
      acc[u] += gv * xv;
    }
  }
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u) out[u] += sum_by_halves<T, B>(acc[u]);
}
template <class T, int B, int U>
inline void taps_dot_tail(const T* g, const T* const* x, int64_t count, int64_t n, T* out) {
  if (count == U) return taps_dot_block<T, B, U>(g, x, n, out);
  if constexpr (U > 1) taps_dot_tail<T, B, U - 1>(g, x, count, n, out);
}
template <class T, int B>
void dwconv_taps_dot(const T* g, const T* const* x, int64_t count, int64_t n, T* out) {
  static_assert(16 % B == 0, "runs are whole multiples of 16");
  constexpr int U = 8;
  int64_t i = 0;
  for (; i + U <= count; i += U) taps_dot_block<T, B, U>(g, x + i, n, out + i);
  if (i < count) taps_dot_tail<T, B, U>(g, x + i, count - i, n, out + i);
}

// split_pairs, one row: whole pairs of B-vectors, then element by element.
template <class T, int B>
inline void split_pairs_row(T* __restrict even, T* __restrict odd, const T* __restrict src,
                            int64_t n) {
  using V = typename Block<T, B>::V;
  int64_t j = 0;
  for (; j + 2 * B <= n; j += 2 * B) {
    V a, b;
    __builtin_memcpy(&a, src + j, sizeof(V));
    __builtin_memcpy(&b, src + j + B, sizeof(V));
    const V e = pick_even(a, b, std::make_index_sequence<B>{});
    const V o = pick_odd(a, b, std::make_index_sequence<B>{});
    __builtin_memcpy(even + j / 2, &e, sizeof(V));
    __builtin_memcpy(odd + j / 2, &o, sizeof(V));
  }
  for (; j + 1 < n; j += 2) {
    even[j / 2] = src[j];
    odd[j / 2] = src[j + 1];
  }
  if (j < n) even[j / 2] = src[j];
}
template <class T, int B>
void split_pairs_blocks(T* even, T* odd, int64_t dst_pitch, const T* src, int64_t src_pitch,
                        int64_t rows, int64_t n) {
  for (int64_t i = 0; i < rows; ++i)
    split_pairs_row<T, B>(even + i * dst_pitch, odd + i * dst_pitch, src + i * src_pitch, n);
}

// A row of n elements as pairs of L-lanes vectors: the whole pairs' elements [0, full), and the
// rest's lanes in the pair's first and second vector (lo, hi) and in its even and odd columns.
struct PairRow {
  int64_t full;
  unsigned lo, hi, even_tail, odd_tail;
  PairRow(int64_t n, int L) : full(n / (2 * L) * (2 * L)) {
    const int64_t r = n - full;
    lo = lanes_below(r);
    hi = lanes_below(r - L);
    even_tail = lanes_below((r + 1) / 2);
    odd_tail = lanes_below(r / 2);
  }
};

// split_pairs: whole pairs of vectors, then the rest as one masked pair (a 14-wide row: no
// element loop, which took half of a stride-2 depthwise weight gradient on 14x14 maps).
template <class Tr>
void split_pairs_masked(typename Tr::T* even, typename Tr::T* odd, int64_t dst_pitch,
                        const typename Tr::T* src, int64_t src_pitch, int64_t rows, int64_t n) {
  using V = typename Tr::V;
  constexpr int L = Tr::L;
  constexpr auto lanes = std::make_index_sequence<L>{};
  const PairRow pr(n, L);
  for (int64_t i = 0; i < rows; ++i, even += dst_pitch, odd += dst_pitch, src += src_pitch) {
    for (int64_t j = 0; j < pr.full; j += 2 * L) {
      const V a = Tr::load(src + j), b = Tr::load(src + j + L);
      Tr::store(even + j / 2, pick_even(a, b, lanes));
      Tr::store(odd + j / 2, pick_odd(a, b, lanes));
    }
    if (pr.lo) {
      const V a = Tr::load_masked(src + pr.full, pr.lo);
      const V b = Tr::load_masked(src + pr.full + L, pr.hi);
      Tr::store_masked(even + pr.full / 2, pr.even_tail, pick_even(a, b, lanes));
      Tr::store_masked(odd + pr.full / 2, pr.odd_tail, pick_odd(a, b, lanes));
    }
  }
}

// merge_pairs, one row: whole pairs of B-vectors, then element by element.
template <class T, int B>
inline void merge_pairs_row(T* __restrict dst, const T* __restrict even,
                            const T* __restrict odd, int64_t n) {
  using V = typename Block<T, B>::V;
  int64_t j = 0;
  for (; j + 2 * B <= n; j += 2 * B) {
    V e, o;
    __builtin_memcpy(&e, even + j / 2, sizeof(V));
    __builtin_memcpy(&o, odd + j / 2, sizeof(V));
    const V lo = zip_low(e, o, std::make_index_sequence<B>{});
    const V hi = zip_high(e, o, std::make_index_sequence<B>{});
    __builtin_memcpy(dst + j, &lo, sizeof(V));
    __builtin_memcpy(dst + j + B, &hi, sizeof(V));
  }
  for (; j + 1 < n; j += 2) {
    dst[j] = even[j / 2];
    dst[j + 1] = odd[j / 2];
  }
  if (j < n) dst[j] = even[j / 2];
}
template <class T, int B>
void merge_pairs_blocks(T* dst, int64_t dst_pitch, const T* even, int64_t even_pitch,
                        const T* odd, int64_t odd_pitch, int64_t rows, int64_t n) {
  for (int64_t i = 0; i < rows; ++i)
    merge_pairs_row<T, B>(dst + i * dst_pitch, even + i * even_pitch, odd + i * odd_pitch, n);
}

// merge_pairs: whole pairs of vectors, then the rest as one masked pair.
template <class Tr>
void merge_pairs_masked(typename Tr::T* dst, int64_t dst_pitch, const typename Tr::T* even,
                        int64_t even_pitch, const typename Tr::T* odd, int64_t odd_pitch,
                        int64_t rows, int64_t n) {
  using V = typename Tr::V;
  constexpr int L = Tr::L;
  constexpr auto lanes = std::make_index_sequence<L>{};
  const PairRow pr(n, L);
  for (int64_t i = 0; i < rows; ++i, dst += dst_pitch, even += even_pitch, odd += odd_pitch) {
    for (int64_t j = 0; j < pr.full; j += 2 * L) {
      const V e = Tr::load(even + j / 2), o = Tr::load(odd + j / 2);
      Tr::store(dst + j, zip_low(e, o, lanes));
      Tr::store(dst + j + L, zip_high(e, o, lanes));
    }
    if (pr.lo) {
      const V e = Tr::load_masked(even + pr.full / 2, pr.even_tail);
      const V o = Tr::load_masked(odd + pr.full / 2, pr.odd_tail);
      Tr::store_masked(dst + pr.full, pr.lo, zip_low(e, o, lanes));
      Tr::store_masked(dst + pr.full + L, pr.hi, zip_high(e, o, lanes));
    }
  }
}

// B: outputs per register block, the ISA's lanes for T (a block of two vectors measured
// slower: GCC keeps vector-extension types wider than a register on the stack). The plane
// kernel keeps 4 rows x UMAX vectors of accumulators: 2 with 16 vector registers, 4 with 32.
template <class T, int B>
constexpr DwConvUkernel<T> dwconv_ukernel(const char* name) {
  return {name, dwconv_row<T, B>, dwconv_plane<T, B, 2>, copy_rows_blocks<T, B>, nullptr, 0,
          dwconv_taps_dot<T, B>, split_pairs_blocks<T, B>, merge_pairs_blocks<T, B>, nullptr};
}
template <class T, int B, class Tr>
constexpr DwConvUkernel<T> dwconv_ukernel_masked(const char* name) {
  return {name, dwconv_row<T, B>, dwconv_plane<T, B, 4>, copy_rows_masked<Tr>,
          dwconv_small_plane<Tr>, Tr::L, dwconv_taps_dot<T, B>, split_pairs_masked<Tr>,
          merge_pairs_masked<Tr>, dwconv_small_plane_s2<Tr>};
}

}  // namespace
}  // namespace fastconv::ukernels
