// pad: constant / reflect / replicate / circular padding of the last two dims, pads >= 0
// (negative constant pads are crops, done by the Python layer before the call).
#pragma once

#include <cstdint>
#include <string>

namespace fastconv::ops {

enum class PadMode { constant, reflect, replicate, circular };

struct PadParams {
  int64_t N, C, H, W;
  int64_t left, right, top, bottom;
  PadMode mode;
};

// Parses the mode name and checks the sizes; throws std::invalid_argument (ValueError).
PadMode parse_pad_mode(const std::string& mode);
void check_pad_params(const PadParams& p);

template <class T>
void pad(const PadParams& p, const T* x, T* y, T value);

}  // namespace fastconv::ops
