// Flush-to-zero / denormals-are-zero while a kernel runs. A denormal operand costs about a
// hundred cycles per instruction on x86; activations and gradients decay into that range in
// training. The bits are per thread (MXCSR), so the calling thread sets them around each kernel
// (bindings/arrays.h: KernelScope) and every pool thread inside each parallel region
// (runtime/parallel.h); both restore the caller's value on exit.
#pragma once

#include <xmmintrin.h>

namespace fastconv {

class DenormalsAreZero {
 public:
  DenormalsAreZero() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushBits); }
  ~DenormalsAreZero() { _mm_setcsr(saved_); }
  DenormalsAreZero(const DenormalsAreZero&) = delete;
  DenormalsAreZero& operator=(const DenormalsAreZero&) = delete;

  static constexpr unsigned kFlushToZero = 0x8000;      // MXCSR.FTZ: denormal results -> 0
  static constexpr unsigned kDenormalsAreZero = 0x0040; // MXCSR.DAZ: denormal inputs -> 0
  static constexpr unsigned kFlushBits = kFlushToZero | kDenormalsAreZero;

 private:
  unsigned saved_;
};

// The calling thread's FTZ/DAZ bits (for tests: they must be unchanged after any kernel).
inline unsigned flush_bits() { return _mm_getcsr() & DenormalsAreZero::kFlushBits; }

}  // namespace fastconv
