#include "ops/pad.h"

#include <stdexcept>

#include "algos/pool.h"

namespace fastconv::ops {

PadMode parse_pad_mode(const std::string& mode) {
  if (mode == "constant") return PadMode::constant;
  if (mode == "reflect") return PadMode::reflect;
  if (mode == "replicate") return PadMode::replicate;
  if (mode == "circular") return PadMode::circular;
  throw std::invalid_argument("pad: mode must be 'constant', 'reflect', 'replicate' or "
                              "'circular', got '" + mode + "'");
}

void check_pad_params(const PadParams& p) {
  if (p.N < 0 || p.C < 0 || p.H < 0 || p.W < 0) throw std::invalid_argument("pad: bad input shape");
  if (p.left < 0 || p.right < 0 || p.top < 0 || p.bottom < 0)
    throw std::invalid_argument("pad: pads must be >= 0 (crops are done before the kernel)");
  if (p.mode != PadMode::constant && (p.H < 1 || p.W < 1))
    throw std::invalid_argument("pad: non-constant modes need a non-empty input");
  if (p.mode == PadMode::reflect &&
      (p.left >= p.W || p.right >= p.W || p.top >= p.H || p.bottom >= p.H))
    throw std::invalid_argument("pad: reflect padding must be smaller than the input size");
  if (p.mode == PadMode::circular &&
      (p.left > p.W || p.right > p.W || p.top > p.H || p.bottom > p.H))
    throw std::invalid_argument("pad: circular padding must not exceed the input size");
}

template <class T>
void pad(const PadParams& p, const T* x, T* y, T value) {
  algos::pad_planes(p, x, y, value);
}

template void pad<float>(const PadParams&, const float*, float*, float);
template void pad<double>(const PadParams&, const double*, double*, double);

}  // namespace fastconv::ops
