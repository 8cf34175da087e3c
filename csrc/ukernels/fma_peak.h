// FMA throughput probes (portable declarations; no intrinsics): the machine's peak, which
// `fastconv bench` divides by to report "% of peak".
//
// f32_fma_peak_<isa>(iterations, seed) runs independent multiply-add chains of the ISA's
// widest float vector for `iterations` steps and returns a value that depends on every chain,
// so the compiler cannot drop the work. FLOPs = 2 * chains * lanes * iterations.
// The chains must outnumber FMA latency x FMA pipes (4 x 2 on current cores), or the probe
// measures latency, and must fit in the register file with the two constants, or it measures
// spills: 24 of 32 zmm for AVX-512, 12 of 16 ymm/xmm otherwise.
#pragma once

#include <cstdint>

namespace fastconv::ukernels {

constexpr int f32_fma_peak_avx512_chains = 24, f32_fma_peak_avx512_lanes = 16;
constexpr int f32_fma_peak_avx2_chains = 12, f32_fma_peak_avx2_lanes = 8;
constexpr int f32_fma_peak_scalar_chains = 12, f32_fma_peak_scalar_lanes = 1;

float f32_fma_peak_avx512(int64_t iterations, float seed);
float f32_fma_peak_avx2(int64_t iterations, float seed);
float f32_fma_peak_scalar(int64_t iterations, float seed);  // mul + add: no FMA in the baseline

}  // namespace fastconv::ukernels
