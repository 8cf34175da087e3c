// The one thread pool: OpenMP. Kernels call these helpers instead of omp_* directly so a build
// without OpenMP still works (serially).
#pragma once

#include <cstdint>

#include "runtime/fpenv.h"

#ifdef FASTCONV_HAVE_OPENMP
#include <omp.h>
#endif

namespace fastconv {

int max_threads();
void set_max_threads(int n);

// Sizing a region by its work. A fork/join costs a few microseconds, and when the host has
// lent the other core elsewhere a pool thread can start a scheduler tick late (tiny convs were
// seen taking 20-40 ms), so each thread should get at least kMinNsPerThread of work. Costs are
// rough single-core estimates; only their order of magnitude matters.
inline constexpr double kMinNsPerThread = 20000;
inline double stream_ns(double bytes) { return bytes / 8; }    // memory-bound passes
inline double flops_ns(double flops) { return flops / 50; }    // vectorised arithmetic
// Threads worth using for a region of this many estimated nanoseconds.
inline int threads_for(double cost_ns) {
  int t = max_threads();
  while (t > 1 && cost_ns / t < kMinNsPerThread) --t;
  return t;
}

// Runs body(i) for i in [0, n) on the pool (at most `threads` of it); static schedule, so a
// given i always runs on the same thread for the same thread count (deterministic reductions
// stay deterministic). Each pool thread flushes denormals for the region's duration, as the
// calling thread does. Bodies must not depend on how many threads run them.
template <class F>
void parallel_for(int64_t n, F&& body, int threads) {
#ifdef FASTCONV_HAVE_OPENMP
  if (threads > max_threads()) threads = max_threads();
  if (n > 1 && threads > 1) {
#pragma omp parallel num_threads(threads)
    {
      DenormalsAreZero flush;
#pragma omp for schedule(static)
      for (int64_t i = 0; i < n; ++i) body(i);
    }
    return;
  }
#endif
  (void)threads;
  for (int64_t i = 0; i < n; ++i) body(i);
}

template <class F>
void parallel_for(int64_t n, F&& body) {
  parallel_for(n, body, max_threads());
}

// The same, sized by the region's estimated cost (stream_ns / flops_ns): small regions run on
// the calling thread.
template <class F>
void parallel_for_cost(int64_t n, double cost_ns, F&& body) {
  parallel_for(n, body, threads_for(cost_ns));
}

inline int thread_index() {
#ifdef FASTCONV_HAVE_OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

}  // namespace fastconv
