// The im2col row micro-kernels of ukernels/im2col.h, shared by the vector ISAs. Include only
// from a file under csrc/ukernels/<isa>/, after that ISA's traits header (simd_<isa>.h), whose
// traits have masked moves (load_masked, store_masked) and even_lanes(a, b): lanes 0, 2, 4, ...
// of the 2L elements a, b.
#pragma once

#include <cstdint>

#include "ukernels/im2col.h"
#include "ukernels/lanes.h"

namespace fastconv::ukernels {
namespace {

// A row is whole vectors: vector v holds elements [v L, v L + L); its lanes in [lo, hi) read
// the input and the rest are masked off (read nothing, come out 0); a masked store ends the
// run. Stride 2 reads source elements [2 lo, 2 hi - 1): the evens are the row's, the odds
// between them lie inside the input too.
//
// Every channel's row of a tap has the same masks, so they are worked out once per tap into
// a table, and a row is then a fixed number of masked loads, permutes and stores, with no
// branch that depends on the tap. Worked out per row (four lane masks a vector, ~20 scalar
// operations, and loops whose trip counts changed from tap to tap), the bookkeeping took
// most of the pack's time: r50_3x3s2_128@56's pack was 18% of its im2col time at N=1 on
// one thread.
template <class Tr, int kStride>
struct Im2colRowKernel {
  using T = typename Tr::T;
  using V = typename Tr::V;
  static constexpr int L = Tr::L;
  static constexpr int kMaxVectors = 4;  // a GEMM panel row is at most three on every ISA
  static constexpr int64_t kSize = sizeof(T), kPrefetchAhead = 192;  // bytes past the row's end
  using TapMasks = unsigned[kMaxVectors][kStride];

  // Vector v of the elements at x on (a row's, from some e0), its loads masked by m[v].
  static V load(uintptr_t x, int64_t v, const TapMasks& m) {
    auto at = [x](int64_t e) {
      return reinterpret_cast<const T*>(x + static_cast<uintptr_t>(e * kSize));
    };
    const int64_t s = kStride * v * L;
    if constexpr (kStride == 1) {
      return Tr::load_masked(at(s), m[v][0]);
    } else {
      return Tr::even_lanes(Tr::load_masked(at(s), m[v][0]), Tr::load_masked(at(s + L), m[v][1]));
    }
  }

  // The load masks of a tap's row, clipped to [lo, hi), for the vectors of elements
  // [e0, e0 + vectors L).
  static void masks(int64_t e0, int vectors, int64_t lo, int64_t hi, TapMasks& m) {
    for (int v = 0; v < vectors; ++v) {
      const int64_t s = kStride * (e0 + v * L);
      for (int h = 0; h < kStride; ++h)  // stride 2: the two loads, L source elements apart
        m[v][h] = lanes_below(kStride * hi - (kStride - 1) - s - h * L) &
                  ~lanes_below(kStride * lo - s - h * L);
    }
  }

  // Rows [0, a.rows) over elements [e0, e0 + kVectors L), the last vector's store masked by
  // `last`; tap t's masks in table[t].
  template <int kVectors>
  static void copy(const Im2colRowsArgs<T>& a, int64_t e0, unsigned last, const TapMasks* table) {
    int64_t c = a.first_tap / a.taps, t = a.first_tap % a.taps;
    for (int64_t i = 0; i < a.rows; ++i) {
      // Formed as an integer: the row's first element may lie outside the input (padding).
      const uintptr_t row = reinterpret_cast<uintptr_t>(a.src) +
                            static_cast<uintptr_t>((c * a.channel_stride + a.off[t]) * kSize);
      // The next panel over this output row reads the input row on from where this one stops,
      // from memory the first time: two of its lines, three lines on, are prefetched
      // (r50_3x3s2_128@56 at N=8, one thread, 14.4 -> 13.8 ms, vgg_128@112 at N=1 23.1 -> 21.0;
      // one, two, five or seven lines on measured no better). A prefetch never faults, so a
      // row wholly in the padding prefetches too, rather than branch.
      const char* end = reinterpret_cast<const char*>(row) + a.hi[t] * kStride * kSize;
      __builtin_prefetch(end + kPrefetchAhead);
      __builtin_prefetch(end + kPrefetchAhead + 64);
      const uintptr_t x = row + static_cast<uintptr_t>(kStride * e0 * kSize);
      T* d = a.dst + i * a.ld + e0;
      for (int v = 0; v + 1 < kVectors; ++v) Tr::store(d + v * L, load(x, v, table[t]));
      Tr::store_masked(d + (kVectors - 1) * L, last, load(x, kVectors - 1, table[t]));
      if (++t == a.taps) {
        t = 0;
        ++c;
      }
    }
  }

  static void rows(const Im2colRowsArgs<T>& a) {
    TapMasks table[kIm2colRowsMaxTaps];
    // The taps in use: all of them, or those of the first a.rows rows.
    const int64_t first_t = a.first_tap % a.taps, used = min64(a.taps, a.rows);
    constexpr int64_t kChunk = kMaxVectors * L;  // longer rows in chunks of kMaxVectors vectors
    for (int64_t e0 = 0; e0 < a.len; e0 += kChunk) {
      const int64_t len = min64(kChunk, a.len - e0);
      const int vectors = static_cast<int>((len + L - 1) / L);
      for (int64_t j = 0, t = first_t; j < used; ++j, t = t + 1 == a.taps ? 0 : t + 1)
        masks(e0, vectors, a.lo[t], a.hi[t], table[t]);
      const unsigned last = lanes_below(len - (vectors - 1) * L);
      switch (vectors) {
        case 1: copy<1>(a, e0, last, table); break;
        case 2: copy<2>(a, e0, last, table); break;
        case 3: copy<3>(a, e0, last, table); break;
        default: copy<4>(a, e0, last, table); break;
      }
    }
  }
};

template <class Tr, int kStride>
void im2col_rows(const Im2colRowsArgs<typename Tr::T>& a) {
  Im2colRowKernel<Tr, kStride>::rows(a);
}

}  // namespace
}  // namespace fastconv::ukernels
