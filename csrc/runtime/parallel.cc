#include "runtime/parallel.h"

#include <atomic>

namespace fastconv {
namespace {

// The pool size is kept here rather than in OpenMP's per-thread ICV: another library sharing
// the OpenMP runtime (numba's "omp" threading layer) resets that ICV, and Python threads
// other than the one that called set_num_threads would not see it.
std::atomic<int>& requested() {
#ifdef FASTCONV_HAVE_OPENMP
  static std::atomic<int> n{omp_get_max_threads()};
#else
  static std::atomic<int> n{1};
#endif
  return n;
}

}  // namespace

int max_threads() { return requested().load(std::memory_order_relaxed); }

void set_max_threads(int n) {
#ifdef FASTCONV_HAVE_OPENMP
  if (n > 0) requested().store(n, std::memory_order_relaxed);
#else
  (void)n;
#endif
}

}  // namespace fastconv
