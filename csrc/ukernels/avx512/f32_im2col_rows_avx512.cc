// im2col panel rows, stride 1 and 2: the shared algorithm of ukernels/im2col_rows_impl.h.
#include "ukernels/avx512/simd_avx512.h"
#include "ukernels/im2col_rows_impl.h"

namespace fastconv::ukernels {

void f32_im2col_rows_avx512(const Im2colRowsArgs<float>& a) { im2col_rows<F32Traits, 1>(a); }
void f32_im2col_rows_s2_avx512(const Im2colRowsArgs<float>& a) { im2col_rows<F32Traits, 2>(a); }

}  // namespace fastconv::ukernels
