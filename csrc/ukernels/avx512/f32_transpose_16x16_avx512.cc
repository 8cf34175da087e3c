// 16 x 16 float transpose in registers: 32-bit, then 64-bit interleaves within 128-bit lanes,
// then two rounds of 128-bit lane shuffles; see ukernels/transpose.h.
#include <immintrin.h>

#include "ukernels/transpose.h"

namespace fastconv::ukernels {

void f32_transpose_16x16_avx512(const float* src, int64_t ld_src, float* dst, int64_t ld_dst) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * ld_src);
  // t[2i], t[2i+1]: rows 2i and 2i+1 interleaved (columns 0,1 | 4,5 | ... and 2,3 | 6,7 | ...).
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // r[4g + k]: rows 4g..4g+3 of columns k, k+4, k+8, k+12, one 128-bit lane each.
  for (int g = 0; g < 4; ++g) {
    const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
    r[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  // Column k + 4m gathers lane m of r[k], r[4 + k], r[8 + k], r[12 + k].
  for (int k = 0; k < 4; ++k) {
    const __m512 v0 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88);
    const __m512 w0 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xdd);
    const __m512 v1 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
    const __m512 w1 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xdd);
    _mm512_storeu_ps(dst + k * ld_dst, _mm512_shuffle_f32x4(v0, v1, 0x88));
    _mm512_storeu_ps(dst + (k + 4) * ld_dst, _mm512_shuffle_f32x4(w0, w1, 0x88));
    _mm512_storeu_ps(dst + (k + 8) * ld_dst, _mm512_shuffle_f32x4(v0, v1, 0xdd));
    _mm512_storeu_ps(dst + (k + 12) * ld_dst, _mm512_shuffle_f32x4(w0, w1, 0xdd));
  }
}

}  // namespace fastconv::ukernels
