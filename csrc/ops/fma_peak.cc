#include "ops/fma_peak.h"

#include <time.h>

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

// CPU time of the calling thread. The peak is a property of the cores, so time a core spends
// running other processes (this machine is shared) must not count against it.
double thread_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

volatile float sink;  // keeps the probes' results, so their work cannot be dropped

// Runs the probe on every thread at once (all cores busy, as in a real kernel); returns the
// summed rate of the threads in FLOP/s and the longest thread time in seconds.
void timed_run(const Probe& probe, int threads, int64_t iterations, double* rate,
               double* seconds) {
  std::vector<double> thread_time(threads, 0.0);
  std::vector<float> results(threads, 0.0f);
  auto run = [&](int t) {
    const double start = thread_seconds();
    results[t] = probe.fn(iterations, static_cast<float>(t) * 1e-3f);
    thread_time[t] = thread_seconds() - start;
  };
#ifdef FASTCONV_HAVE_OPENMP
  // Every thread runs the whole probe, so this is a plain parallel region rather than the
  // work-splitting parallel_for.
#pragma omp parallel num_threads(threads)
  run(omp_get_thread_num());
#else
  run(0);
#endif
  *rate = 0.0;
  *seconds = 0.0;
  for (int t = 0; t < threads; ++t) {
    sink = sink + results[t];
    *rate += static_cast<double>(probe.flops_per_step) * iterations / thread_time[t];
    if (thread_time[t] > *seconds) *seconds = thread_time[t];
  }
}

}  // namespace

double fma_peak_gflops(int threads) {
  if (threads < 1) threads = max_threads();
#ifndef FASTCONV_HAVE_OPENMP
  threads = 1;
#endif
  const Probe probe = active_probe();
  double rate = 0.0, seconds = 0.0, best = 0.0;
  // Grow the step count until one run lasts ~10 ms: long enough for the clock to ramp up and
  // the timer to be exact, short enough that a few samples cost ~0.1 s.
  int64_t iterations = 1 << 14;
  for (;;) {
    timed_run(probe, threads, iterations, &rate, &seconds);
    if (seconds >= 0.01 || iterations >= (int64_t{1} << 34)) break;
    iterations *= 2;
  }
  for (int sample = 0; sample < 5; ++sample) {
    timed_run(probe, threads, iterations, &rate, &seconds);
    if (rate > best) best = rate;
  }
  return best * 1e-9;
}

}  // namespace fastconv::ops
