// Baseline multiply-add throughput probe; see fma_peak.h. Without an FMA instruction in the
// x86-64 baseline each step is a multiply and an add (still 2 FLOPs).
#include "ukernels/fma_peak.h"

namespace fastconv::ukernels {

float f32_fma_peak_scalar(int64_t iterations, float seed) {
  constexpr int kChains = f32_fma_peak_scalar_chains;  // one lane
  const float a = 1.0f - 1e-7f, b = 1e-7f;
  float acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = seed + static_cast<float>(i);
  for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * a + b;
  }
  float total = 0.0f;
  for (int i = 0; i < kChains; ++i) total += acc[i];
  return total;
}

}  // namespace fastconv::ukernels
