// Stride phases back into one plane: the input gradients that are computed one stride phase at
// a time (direct_conv.cc, winograd.cc) write each phase as a dense plane, then interleave them.
#pragma once

#include <cstdint>

namespace fastconv::algos {

// dst[2j] = even[j], dst[2j + 1] = odd[j] for 2j, 2j + 1 < n (an odd n ends on an even column).
template <class T>
inline void interleave_pair(T* __restrict dst, const T* __restrict even,
                            const T* __restrict odd, int64_t n) {
  for (int64_t j = 0; j < n / 2; ++j) {
    dst[2 * j] = even[j];
    dst[2 * j + 1] = odd[j];
  }
  if (n % 2) dst[n - 1] = even[n / 2];
}

}  // namespace fastconv::algos
