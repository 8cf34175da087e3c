// 16 x 16 float transpose: ukernels/avx512/transpose_16x16_avx512.h between loads and stores;
// see ukernels/transpose.h.
#include "ukernels/avx512/transpose_16x16_avx512.h"
#include "ukernels/transpose.h"

namespace fastconv::ukernels {

void f32_transpose_16x16_avx512(const float* src, int64_t ld_src, float* dst, int64_t ld_dst) {
  __m512 r[16], c[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * ld_src);
  transpose_16x16(r, c);
  for (int k = 0; k < 16; ++k) _mm512_storeu_ps(dst + k * ld_dst, c[k]);
}

}  // namespace fastconv::ukernels
