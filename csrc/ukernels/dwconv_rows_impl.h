// The depthwise row kernel of ukernels/dwconv.h, written once and compiled by each ISA's file:
// B outputs stay in vector-extension registers across every tap (one store per output), each
// weight is broadcast once per block. Include only from csrc/ukernels/<isa>/ files.
#pragma once

#include "ukernels/dwconv.h"
#include "ukernels/vecext.h"

namespace fastconv::ukernels {
namespace {

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

// B: outputs per register block, the ISA's lanes for T (a block of two vectors measured
// slower: GCC keeps vector-extension types wider than a register on the stack).
template <class T, int B>
constexpr DwConvUkernel<T> dwconv_ukernel(const char* name) {
  return {name, dwconv_row<T, B>};
}

}  // namespace
}  // namespace fastconv::ukernels
