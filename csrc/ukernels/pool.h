// Pooling row micro-kernels (portable declarations; no intrinsics).
//
// A call handles a run of n consecutive outputs of one output row whose windows lie inside the
// input along w (csrc/algos/pool.cc handles the clipped windows at the ends of a row, and clips
// rows along h before the call). Output j, window row r, tap s reads
//   rows[r][col0 + j * sw + s * dw]
// so every tap is a strided run: the loops are tap-outer, output-inner, which keeps each
// output's taps in window order (first extreme wins ties; the last NaN wins) and lets the
// compiler vectorise the inner loop for this ISA.
#pragma once

#include <cstdint>

namespace fastconv::ukernels {

template <class T>
struct MaxPoolRowArgs {
  const T* const* rows;      // nrows in-bounds input rows of the window (h already clipped)
  const int64_t* row_index;  // rows[r] - plane: flat index of each row's column 0
  int64_t nrows;
  int64_t col0;              // column of output 0's first tap
  int64_t n, sw, dw, kw;
  T* y;                      // n outputs, overwritten
  int64_t* idx;              // n indices (h * W + w), or null when not wanted
};

template <class T>
struct AvgPoolRowArgs {
  const T* const* rows;
  int64_t nrows;
  int64_t col0, n, sw, kw;   // dilation 1 (avg_pool2d has none)
  T divisor;                 // the same for every output of the run
  T* y;                      // overwritten
};

template <class T>
struct AvgPoolBackwardRowArgs {
  T* const* rows;            // gradient rows of the input, accumulated (+=)
  int64_t nrows;
  int64_t col0, n, sw, kw;
  T divisor;
  const T* grad;             // n output gradients
};

template <class T>
struct PoolRowUkernels {
  const char* name;
  void (*max)(const MaxPoolRowArgs<T>&);
  void (*min)(const MaxPoolRowArgs<T>&);
  void (*avg)(const AvgPoolRowArgs<T>&);
  void (*avg_backward)(const AvgPoolBackwardRowArgs<T>&);
};

extern const PoolRowUkernels<float> f32_pool_rows_scalar;
extern const PoolRowUkernels<double> f64_pool_rows_scalar;
extern const PoolRowUkernels<float> f32_pool_rows_avx2;
extern const PoolRowUkernels<double> f64_pool_rows_avx2;
extern const PoolRowUkernels<float> f32_pool_rows_avx512;
extern const PoolRowUkernels<double> f64_pool_rows_avx512;

}  // namespace fastconv::ukernels
