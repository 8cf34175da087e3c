// Transpose micro-kernels (portable declarations; no intrinsics).
//
// One call transposes a block x block tile of floats: dst[j * ld_dst + i] = src[i * ld_src + j]
// for i, j < block. csrc/algos/ runs them over the full tiles of a matrix and transposes the
// edges element by element; the scalar level has no kernel (nullptr: element by element).
#pragma once

#include <cstdint>

namespace fastconv::ukernels {

struct TransposeUkernel {
  const char* name;
  int block;
  void (*fn)(const float* src, int64_t ld_src, float* dst, int64_t ld_dst);
};

void f32_transpose_8x8_avx2(const float* src, int64_t ld_src, float* dst, int64_t ld_dst);
void f32_transpose_16x16_avx512(const float* src, int64_t ld_src, float* dst, int64_t ld_dst);

}  // namespace fastconv::ukernels
