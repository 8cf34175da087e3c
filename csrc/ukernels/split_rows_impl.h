// The stride-2 phase split of ukernels/conv_direct.h (SplitRowsArgs), shared by the vector
// ISAs. Include only from a file under csrc/ukernels/<isa>/, after that ISA's traits header
// (simd_<isa>.h), whose traits have masked moves and even_lanes / odd_lanes(a, b): lanes
// 0, 2, 4, ... / 1, 3, 5, ... of the 2L elements a, b.
#pragma once

#include <cstdint>

#include "ukernels/conv_direct.h"
#include "ukernels/lanes.h"

namespace fastconv::ukernels {
namespace {

// Each source row is read once, two vectors at a time, and dealt to its two phase rows: the
// portable split copied each phase row on its own, four floats a shuffle, and set up every row
// anew (~10% of r50_3x3s2_128@56 at N=1). Loads are masked to [lo, hi), so the padding comes
// out 0 without a branch and nothing outside the row is read.
template <class Tr>
void split_rows_s2(const SplitRowsArgs<typename Tr::T>& a) {
  using T = typename Tr::T;
  constexpr int L = Tr::L;
  constexpr int64_t kSize = sizeof(T);
  const unsigned last = lanes_below(a.len - (a.len - 1) / L * L);  // the last vector's lanes
  for (int64_t z = 0; z < a.rows; ++z) {
    if (a.dst_off[z] < 0) continue;
    T* d = a.dst + a.dst_off[z];
    // Formed as an integer: x's first element may lie before the source row (padding).
    const uintptr_t x = reinterpret_cast<uintptr_t>(a.src) +
                        static_cast<uintptr_t>((z * a.src_ld - a.shift) * kSize);
    auto at = [x](int64_t e) {
      return reinterpret_cast<const T*>(x + static_cast<uintptr_t>(e * kSize));
    };
    for (int64_t j = 0; j < a.len; j += L) {
      const int64_t e = 2 * j;  // x index of the pair of vectors
      const typename Tr::V v0 =
          Tr::load_masked(at(e), lanes_below(a.hi - e) & ~lanes_below(a.lo - e));
      const typename Tr::V v1 =
          Tr::load_masked(at(e + L), lanes_below(a.hi - e - L) & ~lanes_below(a.lo - e - L));
      if (j + L < a.len) {
        Tr::store(d + j, Tr::even_lanes(v0, v1));
        Tr::store(d + a.phase + j, Tr::odd_lanes(v0, v1));
      } else {
        Tr::store_masked(d + j, last, Tr::even_lanes(v0, v1));
        Tr::store_masked(d + a.phase + j, last, Tr::odd_lanes(v0, v1));
      }
    }
  }
}

}  // namespace
}  // namespace fastconv::ukernels
