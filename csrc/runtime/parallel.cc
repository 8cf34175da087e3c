#include "runtime/parallel.h"

namespace fastconv {

int max_threads() {
#ifdef FASTCONV_HAVE_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

void set_max_threads(int n) {
#ifdef FASTCONV_HAVE_OPENMP
  if (n > 0) omp_set_num_threads(n);
#else
  (void)n;
#endif
}

}  // namespace fastconv
