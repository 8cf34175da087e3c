// AVX-512 FMA throughput probe; see fma_peak.h.
#include "ukernels/intrinsics.h"

#include "ukernels/fma_peak.h"

namespace fastconv::ukernels {

float f32_fma_peak_avx512(int64_t iterations, float seed) {
  constexpr int kChains = f32_fma_peak_avx512_chains, kLanes = f32_fma_peak_avx512_lanes;
  // acc = acc * a + b with a just below 1 keeps every chain finite and non-denormal for any
  // number of steps, and an unknown seed stops the compiler from folding the loop.
  const __m512 a = _mm512_set1_ps(1.0f - 1e-7f), b = _mm512_set1_ps(1e-7f);
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(seed + static_cast<float>(i));
  for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
  alignas(64) float lanes[kLanes];
  _mm512_store_ps(lanes, sum);
  float total = 0.0f;
  for (int l = 0; l < kLanes; ++l) total += lanes[l];
  return total;
}

}  // namespace fastconv::ukernels
