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

// Elements [e, e + L) of a row x (x[j * kStride] is element j) whose lanes in [lo, hi) read the
// input, the rest masked off (read nothing, come out 0). Stride 2 reads source elements
// [2 lo, 2 hi - 1): the evens are the row's, the odds between them lie inside the input too.
template <class Tr, int kStride, class At>
inline typename Tr::V load_run(At at, int64_t e, int64_t lo, int64_t hi) {
  constexpr int L = Tr::L;
  if constexpr (kStride == 1)
    return Tr::load_masked(at(e), lanes_below(hi - e) & ~lanes_below(lo - e));
  const int64_t s = 2 * e;
  return Tr::even_lanes(
      Tr::load_masked(at(s), lanes_below(2 * hi - 1 - s) & ~lanes_below(2 * lo - s)),
      Tr::load_masked(at(s + L), lanes_below(2 * hi - 1 - s - L) & ~lanes_below(2 * lo - s - L)));
}

// The same for a vector wholly inside the input.
template <class Tr, int kStride, class At>
inline typename Tr::V load_inside(At at, int64_t e) {
  if constexpr (kStride == 1) return Tr::load(at(e));
  return Tr::even_lanes(Tr::load(at(2 * e)), Tr::load(at(2 * e + Tr::L)));
}

// A row is whole vectors, loads masked where they reach padding and a store masked at the run's
// end. Element by element, in the baseline ISA's 4-wide copies and their scalar ends, the pack
// of r50_3x3_64@56 took ~30% of its im2col time.
template <class Tr, int kStride>
void im2col_rows(const Im2colRowsArgs<typename Tr::T>& a) {
  using T = typename Tr::T;
  constexpr int L = Tr::L;
  constexpr int64_t kSize = sizeof(T), kPrefetchAhead = 192;  // bytes past the row's end
  const unsigned last = lanes_below(a.len - (a.len - 1) / L * L);  // the last vector's lanes
  int64_t c = a.first_tap / a.taps, t = a.first_tap % a.taps;
  for (int64_t i = 0; i < a.rows; ++i) {
    T* d = a.dst + i * a.ld;
    const int64_t lo = a.lo[t], hi = a.hi[t];
    // Formed as an integer: the row's first element may lie outside the input (padding).
    const uintptr_t x = reinterpret_cast<uintptr_t>(a.src) +
                        static_cast<uintptr_t>((c * a.channel_stride + a.off[t]) * kSize);
    auto at = [x](int64_t e) {
      return reinterpret_cast<const T*>(x + static_cast<uintptr_t>(e * kSize));
    };
    // The next panel over this output row reads the input row on from where this one stops,
    // from memory the first time: two of its lines, three lines on, are prefetched
    // (r50_3x3s2_128@56 at N=8, one thread, 14.4 -> 13.8 ms, vgg_128@112 at N=1 23.1 -> 21.0;
    // one, two, five or seven lines on measured no better).
    if (hi > lo) {
      const char* end = reinterpret_cast<const char*>(at(hi * kStride));
      __builtin_prefetch(end + kPrefetchAhead);
      __builtin_prefetch(end + kPrefetchAhead + 64);
    }
    if (++t == a.taps) {
      t = 0;
      ++c;
    }
    int64_t e = 0;
    // Up to the last vector, those wholly inside [lo, hi) (for stride 2 every source element
    // they load: [2e, 2e + 2L) within [0, 2 hi - 1)) go unmasked.
    if (lo == 0)
      for (; e + L < hi; e += L) Tr::store(d + e, load_inside<Tr, kStride>(at, e));
    for (; e + L < a.len; e += L) Tr::store(d + e, load_run<Tr, kStride>(at, e, lo, hi));
    Tr::store_masked(d + e, last, load_run<Tr, kStride>(at, e, lo, hi));
  }
}

}  // namespace
}  // namespace fastconv::ukernels
