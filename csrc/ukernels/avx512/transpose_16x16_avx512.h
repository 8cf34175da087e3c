// 16 x 16 float transpose in registers. Include only from csrc/ukernels/avx512/ files.
#pragma once

#include "ukernels/intrinsics.h"

namespace fastconv::ukernels {
namespace {

// out[k] = column k of the rows r[0..15], for k < Cols: 32-bit, then 64-bit interleaves within
// 128-bit lanes, then two rounds of 128-bit lane shuffles. Columns from Cols on are not formed
// (their shuffles are dead code).
template <int Cols = 16>
inline void transpose_16x16(const __m512 (&r)[16], __m512 (&out)[16]) {
  __m512 t[16], u[16];
  // t[2i], t[2i+1]: rows 2i and 2i+1 interleaved (columns 0,1 | 4,5 | ... and 2,3 | 6,7 | ...).
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // u[4g + k]: rows 4g..4g+3 of columns k, k+4, k+8, k+12, one 128-bit lane each.
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
    u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  // Column k + 4m gathers lane m of u[k], u[4 + k], u[8 + k], u[12 + k].
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    const __m512 v0 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88);
    const __m512 w0 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xdd);
    const __m512 v1 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
    const __m512 w1 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xdd);
    if (k < Cols) out[k] = _mm512_shuffle_f32x4(v0, v1, 0x88);
    if (k + 4 < Cols) out[k + 4] = _mm512_shuffle_f32x4(w0, w1, 0x88);
    if (k + 8 < Cols) out[k + 8] = _mm512_shuffle_f32x4(v0, v1, 0xdd);
    if (k + 12 < Cols) out[k + 12] = _mm512_shuffle_f32x4(w0, w1, 0xdd);
  }
}

}  // namespace
}  // namespace fastconv::ukernels
