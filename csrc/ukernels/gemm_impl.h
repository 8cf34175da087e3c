// The GEMM micro-kernel algorithm, shared by every ISA. Include only from a file under
// csrc/ukernels/<isa>/, after that ISA's traits header (simd_<isa>.h): everything here is a
// template in an anonymous namespace instantiated with the file's internal-linkage traits, so
// no inline function compiled with ISA flags can leak into portable code.
#pragma once

#include <type_traits>

#include "ukernels/gemm.h"

#define FASTCONV_GEMM_UNROLL _Pragma("GCC unroll 32")

namespace fastconv::ukernels {
namespace {

// Where the kernel reads its MR x kc block of A: a packed MR-panel, a[k * MR + i], or MR rows
// of A in place, a[i * lda + k] (no packing for an A used against few columns of B).
template <class Tr, int MR>
struct PackedPanel {
  const typename Tr::T* p;
  typename Tr::V bcast(int i) const { return Tr::bcast(p + i); }
  void next() { p += MR; }
};
template <class Tr>
struct RowsInPlace {
  const typename Tr::T* p;
  int64_t lda;
  typename Tr::V bcast(int i) const { return Tr::bcast(p + i * lda); }
  void next() { ++p; }
};

// A full tile's accumulators at the start: C's rows when accumulating, else zero, plus the row
// bias. A fresh tile's rows are prefetched for the store at the end, every line of them (an
// unaligned row of NV vectors spans NV + 1 lines; with only its first and last, the middle line
// of an 8x48 tile's rows missed at the store: r50_1x1_64-256@56 at N=1 and 8, one thread, 1.07x
// faster).
template <class Tr, int MR, int NV>
inline void start_full_tile(typename Tr::V (&acc)[MR][NV], typename Tr::T* c, int64_t ldc,
                            bool accumulate, const typename Tr::T* row_bias) {
  using V = typename Tr::V;
  constexpr int L = Tr::L;
  FASTCONV_GEMM_UNROLL
  for (int i = 0; i < MR; ++i) {
    const V bias = row_bias ? Tr::bcast(row_bias + i) : Tr::zero();
    if (accumulate) {
      FASTCONV_GEMM_UNROLL
      for (int v = 0; v < NV; ++v) acc[i][v] = Tr::load(c + i * ldc + v * L) + bias;
    } else {
      FASTCONV_GEMM_UNROLL
      for (int v = 0; v < NV; ++v) __builtin_prefetch(c + i * ldc + v * L, 1);
      __builtin_prefetch(c + i * ldc + NV * L - 1, 1);
      FASTCONV_GEMM_UNROLL
      for (int v = 0; v < NV; ++v) acc[i][v] = bias;
    }
  }
}

// The k loop: acc += (MR x kc block of A) * (kc x NV vectors of B, rows ldb apart). Per k, NV
// loads of B and MR broadcasts of A, each broadcast feeding NV FMAs. With bdst, each vector of B
// loaded is also stored there, packed (NV vectors a row): the first A panel packing B for the
// others (gemm_tile_packing_b).
template <class Tr, int MR, int NV, class AReader>
inline void multiply_tile(typename Tr::V (&acc)[MR][NV], int64_t kc, AReader a,
                          const typename Tr::T* __restrict b, int64_t ldb,
                          typename Tr::T* __restrict bdst) {
  using V = typename Tr::V;
  constexpr int L = Tr::L;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    V bv[NV];
    FASTCONV_GEMM_UNROLL
    for (int v = 0; v < NV; ++v) bv[v] = Tr::load(b + v * L);
    if (bdst) {
      FASTCONV_GEMM_UNROLL
      for (int v = 0; v < NV; ++v) Tr::store(bdst + v * L, bv[v]);
      bdst += NV * L;
    }
    FASTCONV_GEMM_UNROLL
    for (int i = 0; i < MR; ++i) {
      const V ai = a.bcast(i);
      FASTCONV_GEMM_UNROLL
      for (int v = 0; v < NV; ++v) acc[i][v] = Tr::fma(ai, bv[v], acc[i][v]);
    }
    a.next();
    b += ldb;
  }
}

// MR rows x NV vectors of C live in registers for the whole k loop (multiply_tile; B's rows ldb
// apart: a packed panel's width, or B's row stride where B is read in place). The accumulators
// start from C when accumulating and from the row bias when there is one, so the result is
// stored once and no add pass is needed.
template <class Tr, int MR, int NV, class AReader>
inline void gemm_tile_vectors(int64_t kc, AReader a, const typename Tr::T* __restrict b,
                              int64_t ldb, typename Tr::T* c, int64_t ldc, int64_t m, int64_t n,
                              bool accumulate, const typename Tr::T* row_bias) {
  using T = typename Tr::T;
  using V = typename Tr::V;
  constexpr int L = Tr::L;
  constexpr int TW = NV * L;  // the tile's width
  const bool full = m == MR && n == TW;
  // Edge tiles go through a small buffer: the register tile is always full-size (the packed
  // panels are zero-padded), only the rows/columns that exist are copied to and from C (and only
  // the bias of rows that exist is read).
  alignas(64) T edge[MR * TW];
  T* ct = c;
  int64_t ct_ld = ldc;
  if (!full) {
    ct = edge;
    ct_ld = TW;
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < TW; ++j)
        edge[i * TW + j] = i < m && j < n ? (accumulate ? c[i * ldc + j] : T(0)) +
                                                (row_bias ? row_bias[i] : T(0))
                                          : T(0);
  }
  V acc[MR][NV];
  if (!full) {
    FASTCONV_GEMM_UNROLL
    for (int i = 0; i < MR; ++i)
      FASTCONV_GEMM_UNROLL
      for (int v = 0; v < NV; ++v) acc[i][v] = Tr::load(edge + i * TW + v * L);
  } else {
    start_full_tile<Tr>(acc, c, ldc, accumulate, row_bias);
  }
  multiply_tile<Tr>(acc, kc, a, b, ldb, nullptr);
  FASTCONV_GEMM_UNROLL
  for (int i = 0; i < MR; ++i)
    FASTCONV_GEMM_UNROLL
    for (int v = 0; v < NV; ++v) Tr::store(ct + i * ct_ld + v * L, acc[i][v]);
  if (!full)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = edge[i * TW + j];
}

// A full MR x (NV vectors) tile reading B's rows in place (ldb apart) and writing each vector it
// loads into the packed panel bdst (NV * L wide): the driver's first A panel packs B this way
// for the others, so the arithmetic hides B's reads. (Prefetching B's rows 24 ahead into L2, as
// their stride defeats the hardware prefetchers, measured slower: dcgan_g3 1.05x -> 1.03x.)
template <class Tr, int MR, int NV>
inline void gemm_tile_packing_b(int64_t kc, const typename Tr::T* __restrict a,
                                const typename Tr::T* __restrict b, int64_t ldb,
                                typename Tr::T* __restrict bdst, typename Tr::T* c, int64_t ldc,
                                bool accumulate, const typename Tr::T* row_bias) {
  using V = typename Tr::V;
  constexpr int L = Tr::L;
  V acc[MR][NV];
  start_full_tile<Tr>(acc, c, ldc, accumulate, row_bias);
  multiply_tile<Tr>(acc, kc, PackedPanel<Tr, MR>{a}, b, ldb, bdst);
  FASTCONV_GEMM_UNROLL
  for (int i = 0; i < MR; ++i)
    FASTCONV_GEMM_UNROLL
    for (int v = 0; v < NV; ++v) Tr::store(c + i * ldc + v * L, acc[i][v]);
}

// The tile with only as many vectors as its n columns need (at most NV).
template <class Tr, int MR, int NV, class AReader>
inline void gemm_tile_upto(int64_t kc, AReader a, const typename Tr::T* __restrict b, int64_t ldb,
                           typename Tr::T* c, int64_t ldc, int64_t m, int64_t n, bool accumulate,
                           const typename Tr::T* row_bias) {
  if constexpr (NV > 1) {
    if (n <= (NV - 1) * Tr::L) {
      gemm_tile_upto<Tr, MR, NV - 1>(kc, a, b, ldb, c, ldc, m, n, accumulate, row_bias);
      return;
    }
  }
  gemm_tile_vectors<Tr, MR, NV>(kc, a, b, ldb, c, ldc, m, n, accumulate, row_bias);
}

// A partial panel's m rows as the smallest of 2, 4 and 8 rows that holds them (128 output
// channels are 9 panels of 14 rows and one of 2, which cost as much as a whole one).
template <class Tr, int MR, int NV, class AReader>
inline void gemm_tile_rows(int64_t kc, AReader a, const typename Tr::T* __restrict b, int64_t ldb,
                           typename Tr::T* c, int64_t ldc, int64_t m, int64_t n, bool accumulate,
                           const typename Tr::T* row_bias) {
  if constexpr (MR > 2) {
    if (m <= 2)
      return gemm_tile_upto<Tr, 2, NV>(kc, a, b, ldb, c, ldc, m, n, accumulate, row_bias);
  }
  if constexpr (MR > 4) {
    if (m <= 4)
      return gemm_tile_upto<Tr, 4, NV>(kc, a, b, ldb, c, ldc, m, n, accumulate, row_bias);
  }
  if constexpr (MR > 8) {
    if (m <= 8)
      return gemm_tile_upto<Tr, 8, NV>(kc, a, b, ldb, c, ldc, m, n, accumulate, row_bias);
  }
  gemm_tile_upto<Tr, MR, NV>(kc, a, b, ldb, c, ldc, m, n, accumulate, row_bias);
}

// Traits with masked vector loads (Tr::load_masked).
template <class Tr, class = void>
struct HasMaskedLoad : std::false_type {};
template <class Tr>
struct HasMaskedLoad<Tr, decltype(void(Tr::load_masked(nullptr, 0u)))> : std::true_type {};

// Most columns handled across the rows, below: one vector of a tile's MR rows per column.
constexpr int kGemmColumnsAcrossRows = 4;

// C (m x COLS) (+)= A (a packed MR x kc panel) * B (kc x COLS, ldb apart from one k to the
// next), one vector of the MR rows per column: for the few columns past a tile's last whole
// vector, where a vector of B would do L columns' work for one or two (49 Winograd tiles, a
// 14x14 image at N=1, ran as 64 columns). Each column sums four accumulators, k by k in turn,
// so the FMA latency is hidden.
template <class Tr, int MR, int COLS>
inline void gemm_columns(int64_t kc, const typename Tr::T* __restrict a,
                         const typename Tr::T* __restrict b, int64_t ldb, typename Tr::T* c,
                         int64_t ldc, int64_t m, bool accumulate, const typename Tr::T* row_bias) {
  using T = typename Tr::T;
  using V = typename Tr::V;
  static_assert(MR <= Tr::L, "a tile's rows fit one vector");
  constexpr unsigned rows = (1u << MR) - 1u;
  constexpr int U = 4;
  V acc[COLS][U];
  FASTCONV_GEMM_UNROLL
  for (int j = 0; j < COLS; ++j)
    FASTCONV_GEMM_UNROLL
    for (int u = 0; u < U; ++u) acc[j][u] = Tr::zero();
  int64_t k = 0;
  for (; k + U <= kc; k += U)
    FASTCONV_GEMM_UNROLL
    for (int u = 0; u < U; ++u) {
      const V ak = Tr::load_masked(a + (k + u) * MR, rows);
      FASTCONV_GEMM_UNROLL
      for (int j = 0; j < COLS; ++j)
        acc[j][u] = Tr::fma(ak, Tr::bcast(b + (k + u) * ldb + j), acc[j][u]);
    }
  for (; k < kc; ++k) {
    const V ak = Tr::load_masked(a + k * MR, rows);
    FASTCONV_GEMM_UNROLL
    for (int j = 0; j < COLS; ++j) acc[j][0] = Tr::fma(ak, Tr::bcast(b + k * ldb + j), acc[j][0]);
  }
  FASTCONV_GEMM_UNROLL
  for (int j = 0; j < COLS; ++j) {
    alignas(64) T sum[Tr::L];
    Tr::store(sum, (acc[j][0] + acc[j][1]) + (acc[j][2] + acc[j][3]));
    for (int64_t i = 0; i < m; ++i)
      c[i * ldc + j] = (accumulate ? c[i * ldc + j] : T(0)) + (row_bias ? row_bias[i] : T(0)) +
                       sum[i];
  }
}

// An MR x (NV vectors) tile of C (m x n of it exist), computed only as far as its rows and
// columns need. Where A is a packed panel and the ISA has masked loads, the few columns past
// the last whole vector go across the rows.
template <class Tr, int MR, int NV, class AReader>
inline void gemm_tile(int64_t kc, AReader a, const typename Tr::T* __restrict b, int64_t ldb,
                      typename Tr::T* c, int64_t ldc, int64_t m, int64_t n, bool accumulate,
                      const typename Tr::T* row_bias) {
  constexpr int L = Tr::L;
  if constexpr (std::is_same_v<AReader, PackedPanel<Tr, MR>> && HasMaskedLoad<Tr>::value &&
                MR <= L) {
    const int64_t whole = n / L * L, rest = n - whole;
    if (rest > 0 && rest <= kGemmColumnsAcrossRows) {
      if (whole > 0)
        gemm_tile_rows<Tr, MR, NV>(kc, a, b, ldb, c, ldc, m, whole, accumulate, row_bias);
      const typename Tr::T* bc = b + whole;
      typename Tr::T* cc = c + whole;
      switch (rest) {
        case 1: gemm_columns<Tr, MR, 1>(kc, a.p, bc, ldb, cc, ldc, m, accumulate, row_bias); break;
        case 2: gemm_columns<Tr, MR, 2>(kc, a.p, bc, ldb, cc, ldc, m, accumulate, row_bias); break;
        case 3: gemm_columns<Tr, MR, 3>(kc, a.p, bc, ldb, cc, ldc, m, accumulate, row_bias); break;
        default: gemm_columns<Tr, MR, 4>(kc, a.p, bc, ldb, cc, ldc, m, accumulate, row_bias);
      }
      return;
    }
  }
  gemm_tile_rows<Tr, MR, NV>(kc, a, b, ldb, c, ldc, m, n, accumulate, row_bias);
}

}  // namespace
}  // namespace fastconv::ukernels

// Defines an ISA's MR x (NV vectors) tile: `name` on a packed A panel and a packed B panel,
// `name`_a_in_place on MR rows of A read in place (all MR rows must exist; the driver packs
// partial panels), `name`_b_in_place on a packed A panel and NV vectors of B's rows read in
// place, ldb apart (all n columns must exist; whole vectors are read).
#define FASTCONV_DEFINE_GEMM(Traits, MR, NV, name)                                              \
  void name(int64_t kc, const Traits::T* a, const Traits::T* b, Traits::T* c, int64_t ldc,    \
            int64_t m, int64_t n, bool accumulate, const Traits::T* row_bias) {              \
    gemm_tile<Traits, MR, NV>(kc, PackedPanel<Traits, MR>{a}, b, NV * Traits::L, c, ldc, m, n, \
                              accumulate, row_bias);                                         \
  }                                                                                          \
  void name##_a_in_place(int64_t kc, const Traits::T* a, int64_t lda, const Traits::T* b,    \
                         Traits::T* c, int64_t ldc, int64_t m, int64_t n, bool accumulate,   \
                         const Traits::T* row_bias) {                                        \
    gemm_tile<Traits, MR, NV>(kc, RowsInPlace<Traits>{a, lda}, b, NV * Traits::L, c, ldc, m, \
                              n, accumulate, row_bias);                                      \
  }                                                                                          \
  void name##_b_in_place(int64_t kc, const Traits::T* a, const Traits::T* b, int64_t ldb,    \
                         Traits::T* c, int64_t ldc, int64_t m, int64_t n, bool accumulate,   \
                         const Traits::T* row_bias) {                                        \
    gemm_tile<Traits, MR, NV>(kc, PackedPanel<Traits, MR>{a}, b, ldb, c, ldc, m, n,          \
                              accumulate, row_bias);                                         \
  }                                                                                          \
  void name##_packing_b(int64_t kc, const Traits::T* a, const Traits::T* b, int64_t ldb,     \
                        Traits::T* bdst, Traits::T* c, int64_t ldc, bool accumulate,         \
                        const Traits::T* row_bias) {                                         \
    gemm_tile_packing_b<Traits, MR, NV>(kc, a, b, ldb, bdst, c, ldc, accumulate, row_bias);  \
  }
