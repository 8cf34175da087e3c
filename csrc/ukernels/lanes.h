// Lane masks for the vector ISAs' masked moves. Include only from csrc/ukernels/<isa>/ files
// (through an *_impl.h header): internal linkage, like everything compiled with ISA flags.
#pragma once

#include <cstdint>

namespace fastconv::ukernels {
namespace {

// The smaller of a and b (std::min is an inline function with external linkage: see README.md).
inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// The low n lanes of a mask (none for n <= 0).
inline unsigned lanes_below(int64_t n) {
  return n <= 0 ? 0u : n >= 32 ? ~0u : (1u << n) - 1u;
}

}  // namespace
}  // namespace fastconv::ukernels
