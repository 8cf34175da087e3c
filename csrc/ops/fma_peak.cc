#include "ops/fma_peak.h"

#include <chrono>
#include <cstdint>
#include <vector>

#include "runtime/cpu.h"
#include "runtime/parallel.h"
#include "ukernels/fma_peak.h"

namespace fastconv::ops {
namespace {

struct Probe {
  float (*fn)(int64_t, float);
  int flops_per_step;
};

Probe active_probe() {
  using namespace ukernels;
  static const Probe probes[] = {
      {f32_fma_peak_scalar, 2 * f32_fma_peak_scalar_chains * f32_fma_peak_scalar_lanes},
      {f32_fma_peak_avx2, 2 * f32_fma_peak_avx2_chains * f32_fma_peak_avx2_lanes},
      {f32_fma_peak_avx512, 2 * f32_fma_peak_avx512_chains * f32_fma_peak_avx512_lanes}};
  return probes[static_cast<int>(active_isa())];
}

// Seconds for every thread to run `iterations` steps. The volatile sink keeps results alive.
double timed_run(const Probe& probe, int threads, int64_t iterations) {
  static volatile float sink;
  std::vector<float> results(threads);
  const auto start = std::chrono::steady_clock::now();
#ifdef FASTCONV_HAVE_OPENMP
  // One probe per thread, all at once: the pool helpers split work, here every thread must
  // run the full probe, so the region is spelled out.
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    results[t] = probe.fn(iterations, static_cast<float>(t) * 1e-3f);
  }
#else
  results[0] = probe.fn(iterations, 0.0f);
#endif
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (float r : results) sink = sink + r;
  return seconds;
}

}  // namespace

double fma_peak_gflops(int threads) {
  if (threads < 1) threads = max_threads();
#ifndef FASTCONV_HAVE_OPENMP
  threads = 1;
#endif
  const Probe probe = active_probe();
  // Grow the step count until one run lasts ~10 ms: long enough for the clock to ramp up and
  // the timer to be exact, short enough that a few samples cost ~0.1 s.
  int64_t iterations = 1 << 14;
  while (timed_run(probe, threads, iterations) < 0.01 && iterations < (int64_t{1} << 34))
    iterations *= 2;
  double best = 0.0;
  for (int sample = 0; sample < 5; ++sample) {
    const double seconds = timed_run(probe, threads, iterations);
    const double flops = static_cast<double>(probe.flops_per_step) * iterations * threads;
    if (flops / seconds > best) best = flops / seconds;
  }
  return best * 1e-9;
}

}  // namespace fastconv::ops
