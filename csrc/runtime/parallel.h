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

// Runs body(i) for i in [0, n) on the pool; static schedule, so a given i always runs on the
// same thread for the same thread count (deterministic reductions stay deterministic). Each
// pool thread flushes denormals for the region's duration, as the calling thread does.
template <class F>
void parallel_for(int64_t n, F&& body) {
#ifdef FASTCONV_HAVE_OPENMP
  const int threads = max_threads();
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
  for (int64_t i = 0; i < n; ++i) body(i);
}

inline int thread_index() {
#ifdef FASTCONV_HAVE_OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

}  // namespace fastconv
